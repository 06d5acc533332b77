"""Cleaning of extracted text: NFKC, HTML tags out, stray spaces inside Japanese joined.

Works line by line so every cleaned line still knows the source line (and page) it came
from; a table row written as HTML cells becomes one line per cell paragraph.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# Kana, kanji, CJK punctuation and brackets: a space between two of these is a PDF artefact.
_JA = r"\u3000-\u303F\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF々〆ヵヶ"
_STRAY_SPACE = re.compile(rf"(?<=[{_JA}])[ \u3000]+(?=[{_JA}])")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?\s*>")
_P_BREAK = re.compile(r"</\s*p\s*>\s*<\s*p(?:\s[^<>]*)?>|<\s*br\s*/?\s*>", re.IGNORECASE)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_SPACES = re.compile(r"[ \t\u00A0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\u200B-\u200F\u2028\u2029\uFEFF]")


@dataclass(frozen=True)
class Line:
    """One logical line of a document, with where it came from."""

    text: str
    line: int  # 1-based line number in the source (within the page for PDFs)
    page: int | None = None
    indent: int = 0
    block_end: bool = False  # True after the last line of a table row
    cell: int = -1  # table rows: which cell (0-based) this paragraph belongs to


_KEEP = re.compile(r"([\u2460-\u2473])")  # circled numbers: 関西チャレンジ① stays ①


def nfkc(text: str) -> str:
    """NFKC, except circled numbers, which the documents use as labels."""
    parts = _KEEP.split(text)
    return "".join(p if _KEEP.fullmatch(p) else unicodedata.normalize("NFKC", p) for p in parts)


def join_stray_spaces(text: str) -> str:
    """「成 長」→「成長」, 「産業の 確立」→「産業の確立」; spaces next to Latin or digits stay."""
    return _STRAY_SPACE.sub("", text)


def clean_inline(text: str) -> str:
    """Normalise one piece of text (no line structure): the same steps the ingest uses."""
    text = nfkc(text)
    text = _CONTROL.sub("", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _BOLD.sub(r"\1", text)
    text = _SPACES.sub(" ", text).strip()
    return join_stray_spaces(text)


def clean_text(text: str) -> str:
    """Clean a whole document into text (one cleaned line per logical line)."""
    return "\n".join(
        ln.text for ln in clean_lines(text.splitlines()) if ln.text or not ln.block_end
    )


def _has_tags(text: str) -> bool:
    return bool(_TAG.search(text))


def clean_lines(raw_lines: list[str], page: int | None = None) -> list[Line]:
    """Clean source lines; blank lines are kept (as empty text) as paragraph breaks."""
    out: list[Line] = []
    for number, raw in enumerate(raw_lines, start=1):
        expanded = raw.expandtabs(1) if "\t" not in raw.strip() else raw
        indent = len(expanded) - len(expanded.lstrip(" \u3000"))
        norm = nfkc(raw)
        if _has_tags(norm):
            out.extend(_table_row(norm, number, page))
            continue
        if "\t" in norm.strip():
            cells = [clean_inline(c) for c in norm.strip().split("\t")]
            text = " | ".join(c for c in cells if c)
        else:
            text = clean_inline(norm)
        out.append(Line(text=text, line=number, page=page, indent=indent))
    return out


def _table_row(text: str, number: int, page: int | None) -> list[Line]:
    """An HTML table row: one line per cell paragraph, then a block end."""
    lines: list[Line] = []
    cells = [c for c in text.split("\t") if clean_inline(c)]
    for ci, cell in enumerate(cells):
        for para in _P_BREAK.split(cell):
            cleaned = clean_inline(para)
            if cleaned:
                lines.append(Line(text=cleaned, line=number, page=page, cell=ci))
    if lines:
        last = lines[-1]
        lines[-1] = Line(
            text=last.text, line=last.line, page=last.page, block_end=True, cell=last.cell
        )
    return lines
