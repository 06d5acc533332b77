"""``kansai-assistant`` as a user runs it: exit codes, one-line errors, the JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from tests.conftest import CORPUS_DOC_ID

RESULT_KEYS = {"doc_id", "title", "section", "position", "text", "score"}


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def _ix(index_dir: Path) -> list[str]:
    return ["--index", str(index_dir), "--embedder", "fake"]


@pytest.fixture
def built(index_dir: Path, corpus_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["ingest", str(corpus_dir), *_ix(index_dir)]) == 0
    out = capsys.readouterr().out
    assert "indexed 1 new" in out
    return index_dir


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def test_search_json_has_the_documented_shape(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "数値目標", "--json", "--k", "3", *_ix(built)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    data = json.loads(out[0])
    assert set(data) == {"query", "results"}
    assert data["query"] == "数値目標"
    assert 1 <= len(data["results"]) <= 3
    for r in data["results"]:
        assert set(r) >= RESULT_KEYS
        assert r["doc_id"] == CORPUS_DOC_ID
        assert set(r["position"]) >= {"line_start", "line_end", "page_start", "page_end"}
        assert isinstance(r["score"], float) and r["text"]
    assert "数値目標" in "".join(r["section"] + r["text"] for r in data["results"])


def test_search_text_output_names_section_and_lines(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "令和5年度事業", "--k", "1", *_ix(built)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] ")
    assert "令和5年度事業" in out and "(lines " in out


def test_second_ingest_says_up_to_date(built: Path, corpus_dir: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["ingest", str(corpus_dir), "--json", *_ix(built)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["up_to_date"] is True and report["embedded"] == 0


def test_batch_gives_one_json_line_per_question(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "q.jsonl"
    questions = ["数値目標", "スタートアップ", "令和5年度事業"]
    batch.write_text(
        "\n".join(json.dumps({"question": q}, ensure_ascii=False) for q in questions) + "\n",
        encoding="utf-8",
    )
    assert main(["search", "--batch", str(batch), "--k", "2", *_ix(built)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(ln)["query"] for ln in lines] == questions
    assert all(len(json.loads(ln)["results"]) == 2 for ln in lines)


def test_batch_bad_line_gives_an_error_object_and_exit_1(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"question": "数値目標"}\nnot json\n{"question": "   "}\n', encoding="utf-8")
    assert main(["search", "--batch", str(batch), *_ix(built)]) == 1
    lines = [json.loads(ln) for ln in capsys.readouterr().out.strip().splitlines()]
    assert len(lines) == 3
    assert lines[0]["query"] == "数値目標" and lines[0]["results"]
    assert lines[1]["line"] == 2 and lines[1]["error"]
    assert lines[2]["line"] == 3 and "empty" in lines[2]["error"]


def test_search_without_an_index_says_to_run_ingest(
    index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "数値目標", *_ix(index_dir)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "kansai-assistant ingest" in _one_error_line(captured.err)


def test_corrupt_manifest_names_the_fix_and_the_fix_works(
    built: Path, corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gen = built / (built / "CURRENT").read_text(encoding="utf-8").strip()
    (gen / "manifest.json").write_text("{garbage", encoding="utf-8")
    assert main(["search", "数値目標", *_ix(built)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "damaged" in line and "kansai-assistant ingest --rebuild" in line

    assert main(["ingest", str(corpus_dir), "--rebuild", *_ix(built)]) == 0
    capsys.readouterr()
    assert main(["search", "数値目標", "--json", *_ix(built)]) == 0
    assert json.loads(capsys.readouterr().out)["results"]


def test_unsupported_file_exits_3_with_the_reason(
    index_dir: Path, corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus_dir / "slides.pptx").write_bytes(b"PK\x03\x04")
    assert main(["ingest", str(corpus_dir), *_ix(index_dir)]) == 3
    captured = capsys.readouterr()
    assert (
        "skipped " in captured.err and "slides.pptx: unsupported file type '.pptx'" in captured.err
    )
    assert "indexed 1 new" in captured.out  # the rest is still indexed


def test_only_unsupported_files_is_an_error(
    index_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "a.docx"
    f.write_bytes(b"PK")
    assert main(["ingest", str(f), *_ix(index_dir)]) == 1
    assert "nothing to index" in _one_error_line(capsys.readouterr().err)


def test_documents_and_delete(
    built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = tmp_path / "extra.md"
    extra.write_text("# 追加\n\n追加の文書です。\n", encoding="utf-8")
    assert main(["ingest", str(extra), *_ix(built)]) == 0
    capsys.readouterr()
    assert main(["documents", "--json", *_ix(built)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert sorted(d["doc_id"] for d in info["documents"]) == ["extra", CORPUS_DOC_ID]
    assert info["chunks"] == sum(d["chunks"] for d in info["documents"])

    assert main(["delete", "nope", *_ix(built)]) == 1
    assert "no document with id nope" in _one_error_line(capsys.readouterr().err)

    assert main(["delete", "extra", *_ix(built)]) == 0
    assert "removed extra" in capsys.readouterr().out
    assert main(["documents", "--json", *_ix(built)]) == 0
    assert [d["doc_id"] for d in json.loads(capsys.readouterr().out)["documents"]] == [
        CORPUS_DOC_ID
    ]


def test_deleting_the_last_document_is_refused_clearly(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["delete", CORPUS_DOC_ID, *_ix(built)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "the index would be empty" in line and "invalid settings" not in line
    assert main(["search", "数値目標", "--json", *_ix(built)]) == 0  # still serving
    assert json.loads(capsys.readouterr().out)["results"]


def test_search_without_query_is_a_usage_error(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", *_ix(built)]) == 2
    assert "search needs a QUERY" in _one_error_line(capsys.readouterr().err)
