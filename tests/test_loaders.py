"""Loading files: every supported format gives text; everything else is refused with a reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.clean import clean_lines
from ingest.loaders import SkipFile, discover, load

JA = "関西広域連合の数値目標は、国内シェア25%、GRP額約150兆円である。"


def _texts(doc_pages: list[list[str]]) -> list[str]:
    return [ln.text for page in doc_pages for ln in clean_lines(page) if ln.text]


def test_txt_utf8_with_and_without_bom(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text(f"見出し\n\n{JA}\n", encoding="utf-8")
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + f"{JA}\n".encode())
    assert load(plain).pages == [["見出し", "", JA]]
    assert load(bom).pages == [[JA]]  # no stray U+FEFF in the first line
    assert load(plain).paged is False


def test_markdown(tmp_path: Path) -> None:
    f = tmp_path / "notes.md"
    f.write_text(f"# 数値目標\n\n- {JA}\n", encoding="utf-8")
    doc = load(f)
    assert doc.pages == [["# 数値目標", "", f"- {JA}"]]
    assert len(doc.sha256) == 64


def test_shift_jis_file_is_decoded(tmp_path: Path) -> None:
    f = tmp_path / "sjis.txt"
    f.write_bytes(f"【数値目標】\r\n{JA}\r\n".encode("shift_jis"))
    assert load(f).pages == [["【数値目標】", JA]]


def test_html_title_headings_table_and_no_script(tmp_path: Path) -> None:
    f = tmp_path / "page.html"
    f.write_text(
        "<!doctype html><html><head><title> 関西 ビジョン </title>"
        "<style>p{color:red}</style></head><body>"
        "<script>var x = '隠す';</script>"
        f"<h2>数値目標</h2><p>{JA}</p>"
        "<table><tr><td>国内シェア</td><td>25%</td></tr></table>"
        "<p>産学官 &amp; 金融</p></body></html>",
        encoding="utf-8",
    )
    doc = load(f)
    assert doc.title == "関西 ビジョン"
    texts = _texts(doc.pages)
    assert texts == ["## 数値目標", JA, "国内シェア | 25%", "産学官 & 金融"]
    joined = "\n".join(texts)
    assert "隠す" not in joined and "color" not in joined


def test_pdf_pages_text_and_title(tmp_path: Path, pdf_bytes: Callable[..., bytes]) -> None:
    f = tmp_path / "report.pdf"
    f.write_bytes(
        pdf_bytes(
            [["Kansai Industrial Vision", "GRP target 150 trillion yen."], ["Second page text."]],
            title="Kansai PDF",
        )
    )
    doc = load(f)
    assert doc.paged is True
    assert doc.title == "Kansai PDF"
    assert len(doc.pages) == 2
    assert "GRP target 150 trillion yen." in "\n".join(doc.pages[0])
    assert "Second page text." in "\n".join(doc.pages[1])
    assert "Second page" not in "\n".join(doc.pages[0])


def test_broken_pdf_is_refused_with_reason(tmp_path: Path) -> None:
    f = tmp_path / "broken.pdf"
    f.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF\n")
    with pytest.raises(SkipFile, match="PDF"):
        load(f)


def test_pdf_without_text_is_refused(tmp_path: Path, pdf_bytes: Callable[..., bytes]) -> None:
    f = tmp_path / "scan.pdf"
    f.write_bytes(pdf_bytes([[]]))
    with pytest.raises(SkipFile, match="no extractable text"):
        load(f)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\r\n\t", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        ("controls.md", bytes(range(1, 9)) * 100, "binary"),
        ("latin1.txt", b"\xff\xfe\xfa caf\xe9", "not UTF-8 or Shift_JIS"),
    ],
)
def test_unusable_files_are_refused_with_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(SkipFile, match=reason):
        load(f)


def test_sidecar_gives_title_and_bad_sidecar_is_a_reason(tmp_path: Path) -> None:
    f = tmp_path / "vision.txt"
    f.write_text(JA, encoding="utf-8")
    (tmp_path / "vision.meta.json").write_text(
        json.dumps({"title": "関西広域産業ビジョン", "heading_aliases": {"a": "b"}}),
        encoding="utf-8",
    )
    doc = load(f)
    assert doc.title == "関西広域産業ビジョン"
    assert doc.meta["heading_aliases"] == {"a": "b"}
    (tmp_path / "vision.meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SkipFile, match=r"vision\.meta\.json is not valid JSON"):
        load(f)


def test_discover_reports_unsupported_and_missing(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text(JA, encoding="utf-8")
    (folder / "sub" / "b.md").write_text(JA, encoding="utf-8")
    (folder / "sub" / "c.HTML").write_text(f"<p>{JA}</p>", encoding="utf-8")
    (folder / "d.docx").write_bytes(b"PK\x03\x04")
    (folder / "a.meta.json").write_text("{}", encoding="utf-8")  # a sidecar, not a document
    (folder / ".hidden.txt").write_text(JA, encoding="utf-8")
    lone = tmp_path / "slides.pptx"
    lone.write_bytes(b"PK")

    files, skipped = discover([folder, lone, tmp_path / "missing", folder / "a.txt"])

    assert [f.relative_to(folder).as_posix() for f in files] == ["a.txt", "sub/b.md", "sub/c.HTML"]
    reasons = {p.name: r for p, r in skipped}
    assert set(reasons) == {"d.docx", "slides.pptx", "missing"}
    assert reasons["d.docx"] == "unsupported file type '.docx'"
    assert reasons["slides.pptx"].startswith("unsupported file type '.pptx' (use .txt")
    assert reasons["missing"] == "no such file or folder"
