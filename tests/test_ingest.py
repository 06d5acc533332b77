"""Ingest with the deterministic fake embedder: incremental, idempotent, crash-safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.embedding.fake import CountingEmbedder, HashingEmbedder
from assistant.errors import IngestError, NotFound
from assistant.index.layout import IndexLayout
from assistant.retrieval.searcher import Searcher
from assistant.settings import Settings
from assistant.text.tokenizer import SudachiTokenizer
from ingest.pipeline import Ingestor
from tests.conftest import CORPUS_DOC_ID, PROJECT

SECTIONS = {
    "数値目標": "関西の経済、産業の国内シェアを25%、GRP額を約150兆円とすることをめざす。",
    "スタートアップ": "ディープテック分野のスタートアップを関西に集積させ、世界と伍する拠点とする。",
    "人材": "多様な価値観の人材が活躍できる柔軟な働き方の環境を関西全体で整備していく。",
    "万博": "大阪・関西万博のインパクトを活用し、関西の強みを国内外に発信していく。",
}


def _write_doc(path: Path, sections: dict[str, str]) -> None:
    path.write_text(
        "\n".join(f"# {h}\n\n{body}\n" for h, body in sections.items()), encoding="utf-8"
    )


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    _write_doc(d / "vision.md", SECTIONS)
    _write_doc(d / "other.md", {"観光": "インバウンドの回復に向け、関西各地の魅力を発信する。"})
    return d


def _ingestor(settings: Settings, embedder: object, tok: SudachiTokenizer) -> Ingestor:
    return Ingestor(settings, embedder, tok)  # type: ignore[arg-type]


def _search(settings: Settings, tok: SudachiTokenizer, query: str) -> list[tuple[str, str]]:
    s = Searcher(settings, HashingEmbedder(), tok)
    return [(p.doc_id, p.text) for p in s.search(query, k=3)]


def test_first_ingest_embeds_everything_second_embeds_nothing(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    first = _ingestor(fake_settings, counting, sudachi).ingest([docs])
    assert sorted(first.added) == ["other", "vision"]
    assert first.chunks == len(SECTIONS) + 1
    assert first.embedded == first.chunks == counting.passages_embedded
    assert not first.up_to_date and not first.skipped

    second = _ingestor(fake_settings, counting, sudachi).ingest([docs])
    assert second.up_to_date is True
    assert second.embedded == 0
    assert counting.passages_embedded == first.chunks  # not one more
    assert second.generation == first.generation
    assert sorted(second.unchanged) == ["other", "vision"]
    assert IndexLayout(fake_settings.index_dir).read_manifest().generation == first.generation


def test_changing_one_file_re_embeds_only_its_changed_chunks(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    _ingestor(fake_settings, counting, sudachi).ingest([docs])
    before = counting.passages_embedded
    changed = dict(SECTIONS, 人材="リスキリングによる産業人材のアップグレードを関西で推進する。")
    _write_doc(docs / "vision.md", changed)

    report = _ingestor(fake_settings, counting, sudachi).ingest([docs])

    assert report.changed == ["vision"] and report.unchanged == ["other"]
    assert report.embedded == 1
    assert counting.passages_embedded - before == 1
    assert report.reused_vectors == report.chunks - 1
    hits = _search(fake_settings, sudachi, "リスキリング")
    assert hits[0] == ("vision", changed["人材"])
    all_text = [t for _, t in _search(fake_settings, sudachi, "柔軟な働き方")]
    assert SECTIONS["人材"] not in all_text


def test_removing_a_file_from_an_ingested_folder_deletes_its_document(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    _ingestor(fake_settings, counting, sudachi).ingest([docs])
    (docs / "other.md").unlink()
    report = _ingestor(fake_settings, counting, sudachi).ingest([docs])
    assert report.removed == ["other"]
    assert report.embedded == 0
    assert set(IndexLayout(fake_settings.index_dir).read_manifest().documents) == {"vision"}
    assert all(d == "vision" for d, _ in _search(fake_settings, sudachi, "インバウンド 観光"))


def test_ingesting_a_single_file_keeps_the_other_documents(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    _ingestor(fake_settings, counting, sudachi).ingest([docs / "vision.md"])
    report = _ingestor(fake_settings, counting, sudachi).ingest([docs / "other.md"])
    assert report.added == ["other"] and report.removed == []
    assert set(IndexLayout(fake_settings.index_dir).read_manifest().documents) == {
        "vision",
        "other",
    }


def test_delete_removes_a_document(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    _ingestor(fake_settings, counting, sudachi).ingest([docs])
    report = _ingestor(fake_settings, counting, sudachi).remove(["vision"])
    assert report.removed == ["vision"]
    manifest = IndexLayout(fake_settings.index_dir).read_manifest()
    assert set(manifest.documents) == {"other"} and manifest.chunk_count == 1
    assert {d for d, _ in _search(fake_settings, sudachi, "数値目標")} == {"other"}
    with pytest.raises(NotFound, match="no document with id nope"):
        _ingestor(fake_settings, counting, sudachi).remove(["nope"])


def test_switching_embedder_version_forces_a_rebuild_with_a_reason(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    first = _ingestor(fake_settings, counting, sudachi).ingest([docs])
    other = CountingEmbedder(HashingEmbedder(dim=128))
    report = _ingestor(fake_settings, other, sudachi).ingest([docs])
    assert "embedding model changed" in report.rebuilt_reason
    assert "hashing=1;dim=256" in report.rebuilt_reason
    assert "hashing=1;dim=128" in report.rebuilt_reason
    assert report.embedded == other.passages_embedded == first.chunks
    assert report.reused_vectors == 0
    manifest = IndexLayout(fake_settings.index_dir).read_manifest()
    assert manifest.embedder == "hashing=1;dim=128" and manifest.dim == 128


def test_rebuild_flag_re_embeds_and_says_why(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    _ingestor(fake_settings, counting, sudachi).ingest([docs])
    report = _ingestor(fake_settings, counting, sudachi).ingest([docs], rebuild=True)
    assert report.rebuilt_reason == "--rebuild requested"
    assert report.embedded == report.chunks and not report.up_to_date


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_indexed(
    docs: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    (docs / "empty.txt").write_bytes(b"")
    (docs / "latin1.txt").write_bytes(b"\xff\xfe\xfa caf\xe9")
    (docs / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (docs / "slides.pptx").write_bytes(b"PK\x03\x04")
    report = _ingestor(fake_settings, counting, sudachi).ingest([docs])
    reasons = {Path(p).name: r for p, r in report.skipped}
    assert reasons == {
        "empty.txt": "empty file",
        "latin1.txt": "not UTF-8 or Shift_JIS text (convert it to UTF-8)",
        "image.txt": "looks binary (NUL bytes), not text",
        "slides.pptx": "unsupported file type '.pptx'",
    }
    assert sorted(report.added) == ["other", "vision"]
    assert _search(fake_settings, sudachi, "数値目標")[0][0] == "vision"


def test_nothing_to_index_is_an_error_naming_the_cause(
    tmp_path: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "empty.md").write_bytes(b"")
    with pytest.raises(IngestError, match=r"all 1 file\(s\) were skipped"):
        _ingestor(fake_settings, counting, sudachi).ingest([tmp_path / "bad"])
    assert IndexLayout(fake_settings.index_dir).current_generation() is None


def test_real_corpus_document_id_title_and_sections(
    corpus_dir: Path, fake_settings: Settings, counting: CountingEmbedder, sudachi: SudachiTokenizer
) -> None:
    report = _ingestor(fake_settings, counting, sudachi).ingest([corpus_dir])
    assert report.added == [CORPUS_DOC_ID]
    entry = IndexLayout(fake_settings.index_dir).read_manifest().documents[CORPUS_DOC_ID]
    assert entry.title == "関西広域産業ビジョン(2023年改訂版)【素案】"  # from the sidecar
    hits = Searcher(fake_settings, HashingEmbedder(), sudachi).search(
        "令和5年度事業", k=1, method="bm25"
    )
    assert "令和5年度事業" in hits[0].section


def test_pdf_pages_are_recorded_in_positions(
    tmp_path: Path,
    fake_settings: Settings,
    counting: CountingEmbedder,
    sudachi: SudachiTokenizer,
    pdf_bytes: Callable[..., bytes],
) -> None:
    f = tmp_path / "en.pdf"
    page2 = [f"Hydrogen supply chain model number {i} for the Kansai region." for i in range(8)]
    f.write_bytes(pdf_bytes([["Kansai growth plan."] * 3, page2]))
    report = _ingestor(fake_settings, counting, sudachi).ingest([f])
    assert report.added == ["en"]
    hits = Searcher(fake_settings, HashingEmbedder(), sudachi).search(
        "hydrogen supply chain", k=5, method="bm25"
    )
    assert hits and all("Hydrogen supply chain" in h.text for h in hits)
    assert {(h.position["page_start"], h.position["page_end"]) for h in hits} == {(2, 2)}
    assert all(h.position["line_start"] >= 1 for h in hits)


# ---- crashes ----------------------------------------------------------------------------
def _gens(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


def test_embedder_crash_mid_ingest_keeps_the_previous_generation(
    docs: Path,
    fake_settings: Settings,
    counting: CountingEmbedder,
    sudachi: SudachiTokenizer,
    failing_embedder: Callable[[int], object],
) -> None:
    first = _ingestor(fake_settings, counting, sudachi).ingest([docs])
    before = _search(fake_settings, sudachi, "数値目標 GRP")
    for i in range(12):
        _write_doc(
            docs / f"new{i}.md", {f"新規{i}": f"新しい文書{i}の本文で、関西の産業を説明する。"}
        )
    settings = fake_settings.model_copy(update={"embed_batch_size": 2})
    dying = failing_embedder(2)
    with pytest.raises(RuntimeError, match="embedding backend died"):
        _ingestor(settings, dying, sudachi).ingest([docs])
    assert dying.calls == 3  # it really got part-way

    layout = IndexLayout(fake_settings.index_dir)
    assert layout.current_marker() == first.generation
    assert _search(fake_settings, sudachi, "数値目標 GRP") == before
    assert _gens(fake_settings.index_dir) == [first.generation]

    again = _ingestor(fake_settings, counting, sudachi).ingest([docs])
    assert len(again.added) == 12 and again.embedded == 12
    assert layout.current_marker() == again.generation != first.generation


@pytest.mark.slow
def test_kill_9_during_ingest_keeps_serving_and_next_ingest_cleans_up(
    docs: Path, tmp_path: Path, fake_settings: Settings, sudachi: SudachiTokenizer
) -> None:
    """A real ``kansai-assistant ingest`` process SIGKILLed while it writes the new generation."""
    first = _ingestor(fake_settings, HashingEmbedder(), sudachi).ingest([docs])
    before = _search(fake_settings, sudachi, "数値目標 GRP")
    for d in range(4):  # ~400 chunks: the store phase takes long enough to be hit
        _write_doc(
            docs / f"big{d}.md",
            {f"第{d}章 第{s}節": f"関西の産業{d}-{s}に関する説明文です。" * 10 for s in range(100)},
        )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ingest",
            str(docs),
            "--index",
            str(fake_settings.index_dir),
            "--embedder",
            "fake",
        ],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("KANSAI_")},
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        for line in proc.stderr:  # the CLI reports progress on stderr
            if line.strip().startswith("store") or time.monotonic() > deadline:
                break
        else:
            pytest.fail("the ingest finished before it could be killed")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()

    layout = IndexLayout(fake_settings.index_dir)
    assert layout.current_marker() == first.generation
    abandoned = [g for g in _gens(fake_settings.index_dir) if g != first.generation]
    assert len(abandoned) == 1
    assert not (fake_settings.index_dir / abandoned[0] / "COMPLETE").exists()
    assert _search(fake_settings, sudachi, "数値目標 GRP") == before

    report = _ingestor(fake_settings, HashingEmbedder(), sudachi).ingest([docs])
    assert len(report.added) == 4 and report.chunks > 400
    assert not (fake_settings.index_dir / abandoned[0]).exists()
    assert set(_gens(fake_settings.index_dir)) == {first.generation, report.generation}
    manifest = json.loads(
        (fake_settings.index_dir / report.generation / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["chunk_count"] == report.chunks
    assert _search(fake_settings, sudachi, "関西の産業3-99")[0][0] == "big3"
