"""Load files into source lines: .txt, .md, .html/.htm and .pdf.

This is where a file's format is chosen (``LoadedDoc.format``): e-Gov statute HTML is
recognised by its markup and parsed by :mod:`ingest.statute`; other HTML, text, markdown and
PDF go to the generic converter (:mod:`ingest.converters` maps formats to converters).

A file that cannot be used raises :class:`SkipFile` with the reason; the pipeline reports it
by name and goes on with the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.statute import is_egov_statute

if TYPE_CHECKING:
    from pypdf import PdfReader

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
# In a folder, these are about the documents (attribution, licence), not documents themselves.
NOT_DOCUMENTS = frozenset({"readme", "license", "licence", "notice", "copying"})
# Limits against hostile PDFs (decompression bombs, huge page trees): far above real documents.
MAX_PDF_PAGES = 2000
MAX_PDF_TEXT_CHARS = 20_000_000
MAX_PDF_STREAM_BYTES = 16_000_000  # one decompressed stream (pypdf's own default is 75 MB)


class SkipFile(Exception):
    """This file is skipped; ``str(exc)`` is the reason shown to the user."""


@dataclass
class LoadedDoc:
    path: Path
    sha256: str
    pages: list[list[str]]  # raw lines per page (one page for non-PDF files)
    title: str = ""
    meta: dict[str, object] = field(default_factory=dict)
    paged: bool = False
    format: str = "text"  # which converter chunks it (ingest.converters.CONVERTERS)
    parsed: Any = None  # a format's own parse (ingest.statute.Statute for e-Gov statutes)


def discover(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders; return (files to load, [(path, reason)] for what is skipped up front)."""
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        if not p.exists():
            skipped.append((p, "no such file or folder"))
        elif p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith(".") and not f.name.endswith(".meta.json"):
                    if f.stem.lower() in NOT_DOCUMENTS:
                        continue
                    if f.suffix.lower() in SUPPORTED:
                        files.append(f)
                    elif f.suffix.lower() not in (".json", ".jsonl"):
                        skipped.append((f, f"unsupported file type '{f.suffix or '(none)'}'"))
        elif p.suffix.lower() in SUPPORTED:
            files.append(p)
        else:
            skipped.append(
                (p, f"unsupported file type '{p.suffix or '(none)'}' (use {', '.join(SUPPORTED)})")
            )
    seen: set[Path] = set()
    unique = []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique, skipped


def load(path: Path) -> LoadedDoc:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise SkipFile("empty file")
    # the sidecar (title, heading levels) changes how the file is read: it is part of its hash
    side = path.with_name(path.name.rsplit(".", 1)[0] + ".meta.json")
    extra = side.read_bytes() if side.is_file() else b""
    digest = hashlib.sha256(data + extra).hexdigest() if extra else hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        doc = _load_pdf(path, data, digest)
    else:
        text = decode_text(data)
        if suffix in (".html", ".htm") and is_egov_statute(text):
            doc = _load_statute(path, text, digest)
        else:
            fmt = "text"
            if suffix in (".html", ".htm"):
                title, text = html_to_text(text)
                fmt = "html"
            else:
                title = ""
            doc = LoadedDoc(
                path=path, sha256=digest, pages=[text.splitlines()], title=title, format=fmt
            )
    if not any(line.strip() for page in doc.pages for line in page):
        raise SkipFile("no text in file")
    doc.meta = {**doc.meta, **_sidecar(path)}
    if isinstance(doc.meta.get("title"), str):
        doc.title = str(doc.meta["title"])
    return doc


def _load_statute(path: Path, html: str, digest: str) -> LoadedDoc:
    from ingest.statute import FORMAT, parse

    statute = parse(html, path, doc_id="")
    if not statute.units:
        raise SkipFile("e-Gov statute page without articles")
    return LoadedDoc(
        path=path,
        sha256=digest,
        pages=[statute.lines],
        title=statute.law_name,
        meta=statute.meta(),
        format=FORMAT,
        parsed=statute,
    )


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else strict Shift_JIS; binary junk is refused."""
    if b"\x00" in data[:8192]:
        raise SkipFile("looks binary (NUL bytes), not text")
    for enc in ("utf-8-sig", "cp932"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _control_ratio(text) > 0.05:
            raise SkipFile("looks binary (control characters), not text")
        return text
    raise SkipFile("not UTF-8 or Shift_JIS text (convert it to UTF-8)")


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f")
    return bad / len(sample)


def _sidecar(path: Path) -> dict[str, object]:
    """Optional ``NAME.meta.json`` beside a document: title and heading aliases."""
    side = path.with_name(path.stem + ".meta.json")
    if not side.exists():
        return {}
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SkipFile(f"its {side.name} is not valid JSON ({exc})") from exc
    return meta if isinstance(meta, dict) else {}


def _load_pdf(path: Path, data: bytes, digest: str) -> LoadedDoc:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError  # PdfReadError, LimitReachedError, ...

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with _pdf_limits():
            pages, title = _pdf_text(PdfReader(io.BytesIO(data)))
    except SkipFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise SkipFile(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:80]})") from exc
    if not any(line.strip() for page in pages for line in page):
        raise SkipFile("PDF has no extractable text (scanned? run OCR first)")
    return LoadedDoc(path=path, sha256=digest, pages=pages, title=title, paged=True)


def _pdf_limits() -> contextlib.AbstractContextManager[object]:
    import pypdf

    apply = getattr(pypdf, "apply_configuration", None)  # pypdf >= 7
    if apply is None:
        return contextlib.nullcontext()
    return apply(zlib_maximum_output_length=MAX_PDF_STREAM_BYTES)  # type: ignore[no-any-return]


def _pdf_text(reader: PdfReader) -> tuple[list[list[str]], str]:
    if reader.is_encrypted:
        raise SkipFile("encrypted PDF (remove the password first)")
    if len(reader.pages) > MAX_PDF_PAGES:
        raise SkipFile(
            f"too many pages ({len(reader.pages)}; the limit is {MAX_PDF_PAGES}): split the PDF"
        )
    pages, total = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        total += len(text)
        if total > MAX_PDF_TEXT_CHARS:
            raise SkipFile(f"too much text (over {MAX_PDF_TEXT_CHARS} characters): split the PDF")
        pages.append(text.splitlines())
    title = str(reader.metadata.title) if reader.metadata and reader.metadata.title else ""
    return pages, title


class _HTMLText(HTMLParser):
    BLOCK = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "tr",
            "table",
            "ul",
            "ol",
            "section",
            "article",
            "header",
            "footer",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "dt",
            "dd",
            "hr",
        ]
    )
    SKIP = frozenset({"script", "style", "noscript", "template", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title: list[str] = []
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self.SKIP:
            self._skip += 1
        if tag in self.BLOCK:
            self.out.append("\n")
        if re.fullmatch(r"h[1-6]", tag):
            self.out.append("#" * int(tag[1]) + " ")
        if tag in ("td", "th"):
            self.out.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        if tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.out.append(data.replace("\n", " "))


def html_to_text(text: str) -> tuple[str, str]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    body = "".join(parser.out)
    lines = [
        re.sub(r"[ \t]+", lambda m: "\t" if "\t" in m.group() else " ", ln).strip()
        for ln in body.splitlines()
    ]
    return " ".join("".join(parser.title).split()), "\n".join(lines)
