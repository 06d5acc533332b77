"""Structure-aware chunking.

Chunks follow the document's headings, bullet groups and table rows; they end only at a
sentence end (。！？) or a line break, and are sized for retrieval (``target`` characters,
at most ``limit`` unless a single sentence is longer than ``hard_limit``). Every content
line lands in exactly one chunk; headings go into the chunk's ``section`` path.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ingest.clean import Line

_TOC = re.compile(r"^(?:[■◆●▶・\-]\s*)?(.+?)\s*\|\s*\d{1,4}$")
_MD = re.compile(r"^(#{1,6})\s+(.+)$")
_NUMBERED = re.compile(r"^\d{1,2} (?=\S)[^。]{2,80}$")
_LETTERED = re.compile(r"^[A-Z] (?=\S)[^。]{2,80}$")
_BRACKET = re.compile(r"^【[^】]{1,30}】$")
_PAREN = re.compile(r"^\([^()]{1,30}\)$")
_MARKED = {"◆": 2, "■": 3, "▶": 4, "●": 4}
_SENTENCE_END = re.compile(r"(?<=[。！？!?])")


@dataclass
class Chunk:
    doc_id: str
    title: str
    headings: list[str]
    text: str
    line_start: int
    line_end: int
    page_start: int | None = None
    page_end: int | None = None
    index: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def section(self) -> str:
        return " > ".join(self.headings)

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256(f"{self.doc_id}\x1f{self.section}\x1f{self.text}".encode())
        return h.hexdigest()[:24]

    @property
    def chunk_id(self) -> str:
        return f"{self.doc_id}#{self.content_hash}"

    def index_text(self) -> str:
        """What is embedded and BM25-indexed: the section path gives context to short bullets."""
        return f"{self.section}\n{self.text}" if self.section else self.text

    @property
    def position(self) -> dict[str, int | None]:
        return {
            "line_start": self.line_start,
            "line_end": self.line_end,
            "page_start": self.page_start,
            "page_end": self.page_end,
        }


def _is_bullet(text: str) -> bool:
    return text.startswith(("- ", "・", "◇", "－", "— ", "* "))


def heading_level(
    lines: list[Line], i: int, toc: set[str], depth: int, fixed: dict[str, int] | None = None
) -> int:
    """0 when ``lines[i]`` is content, else its heading level (1 = top)."""
    ln = lines[i]
    t = ln.text
    if fixed and t in fixed:
        return fixed[t]
    if not t or "|" in t or len(t) > 90:
        return 0
    if m := _MD.match(t):
        return len(m.group(1))
    core = t.lstrip("■◆●▶ ").strip()
    if core in toc and ln.indent == 0:
        return 1
    if _NUMBERED.match(t):
        return 1
    if _LETTERED.match(t):
        return 2
    if t[0] in _MARKED and len(t) > 2 and t[1] == " " and "。" not in t:
        return _MARKED[t[0]]
    if _BRACKET.match(t):
        return 3
    if _PAREN.match(t):
        return 5
    nxt = _next_text(lines, i)
    if (
        t.startswith("- ")
        and not t.startswith(("- ・", "- ◆", "- ◇"))
        and ln.indent == 0
        and nxt is not None
        and nxt.indent > 0
    ):
        return 4
    prev_blank = i == 0 or not lines[i - 1].text
    if (
        len(t) <= 30
        and "。" not in t
        and not _is_bullet(t)
        and prev_blank
        and nxt is not None
        and nxt.text.startswith("- ")
    ):
        return min(depth + 1, 6)
    return 0


def _next_text(lines: list[Line], i: int) -> Line | None:
    for j in range(i + 1, min(len(lines), i + 4)):
        if lines[j].text:
            return lines[j]
    return None


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s]


class Chunker:
    def __init__(self, target: int = 320, limit: int = 600, hard_limit: int = 1200) -> None:
        self.target = target
        self.limit = limit
        self.hard_limit = hard_limit

    def chunk(
        self,
        doc_id: str,
        title: str,
        lines: list[Line],
        aliases: dict[str, str] | None = None,
        levels: dict[str, int] | None = None,
    ) -> list[Chunk]:
        """``aliases`` rename headings, ``levels`` fix a line's heading level (0 = content)."""
        aliases = aliases or {}
        toc = {m.group(1).strip() for ln in lines if (m := _TOC.match(ln.text))}
        stack: list[tuple[int, str]] = []
        blocks: list[tuple[list[str], list[Line]]] = []  # (heading path, paragraph lines)
        current: list[Line] = []

        def flush() -> None:
            nonlocal current
            if current:
                blocks.append(([h for _, h in stack], current))
                current = []

        for i, ln in enumerate(lines):
            level = heading_level(lines, i, toc, stack[-1][0] if stack else 0, levels)
            if level:
                flush()
                text = _MD.sub(r"\2", ln.text)
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, aliases.get(text, text)))
            elif not ln.text:
                flush()  # blank line = paragraph break
            else:
                current.append(ln)
                if ln.block_end:
                    flush()
        flush()
        return self._pack(doc_id, title, blocks)

    def _pack(
        self, doc_id: str, title: str, blocks: list[tuple[list[str], list[Line]]]
    ) -> list[Chunk]:
        chunks: list[Chunk] = []
        pending: list[Line] = []
        pending_path: list[str] | None = None

        def emit(path: list[str], lines: list[Line]) -> None:
            if not lines:
                return
            text = "\n".join(ln.text for ln in lines)
            pages = [ln.page for ln in lines if ln.page is not None]
            chunks.append(
                Chunk(
                    doc_id=doc_id,
                    title=title,
                    headings=list(path),
                    text=text,
                    line_start=min(ln.line for ln in lines),
                    line_end=max(ln.line for ln in lines),
                    page_start=min(pages) if pages else None,
                    page_end=max(pages) if pages else None,
                )
            )

        for path, para in (
            (path, group)
            for path, block in blocks
            for group in self._groups(self._split_long(block))
        ):
            size = sum(len(ln.text) + 1 for ln in para)
            pending_size = sum(len(ln.text) + 1 for ln in pending)
            if pending_path is not None and (
                path != pending_path or pending_size + size > self.target
            ):
                # a tiny leftover ("など", "×") joins its neighbour in the same section
                if path == pending_path and pending_size + size <= self.limit and size < 40:
                    pending.extend(para)
                    continue
                emit(pending_path, pending)
                pending = []
            pending_path = path
            pending.extend(para)
            if sum(len(ln.text) + 1 for ln in pending) >= self.target:
                emit(pending_path, pending)
                pending = []
        if pending_path is not None:
            emit(pending_path, pending)

        unique: list[Chunk] = []
        seen: set[str] = set()
        for c in self._merge_tiny(chunks):
            if c.content_hash in seen:
                continue  # a repeated page header (same section, same text)
            seen.add(c.content_hash)
            c.index = len(unique)
            unique.append(c)
        return unique

    def _merge_tiny(self, chunks: list[Chunk]) -> list[Chunk]:
        out: list[Chunk] = []
        for c in chunks:
            prev = out[-1] if out else None
            if (
                prev is not None
                and len(c.text) < 25
                and prev.headings == c.headings
                and len(prev.text) + len(c.text) <= self.limit
            ):
                prev.text += "\n" + c.text
                prev.line_end = max(prev.line_end, c.line_end)
                if c.page_end is not None:
                    prev.page_end = c.page_end
                continue
            out.append(c)
        return out

    def _groups(self, para: list[Line]) -> list[list[Line]]:
        """A paragraph over ``limit`` (a long list, a split-up long line) in ~``target`` groups."""
        if sum(len(ln.text) + 1 for ln in para) <= self.limit:
            return [para]
        groups: list[list[Line]] = [[]]
        size = 0
        for ln in para:
            if groups[-1] and size + len(ln.text) + 1 > self.target:
                groups.append([])
                size = 0
            groups[-1].append(ln)
            size += len(ln.text) + 1
        return groups

    def _split_long(self, para: list[Line]) -> list[Line]:
        """Cut over-long lines at sentence ends (and, past ``hard_limit``, anywhere)."""
        out: list[Line] = []
        for ln in para:
            if len(ln.text) <= self.limit:
                out.append(ln)
                continue
            piece = ""
            for sentence in split_sentences(ln.text):
                while len(sentence) > self.hard_limit:
                    if piece:
                        out.append(Line(piece, ln.line, ln.page, ln.indent))
                        piece = ""
                    out.append(Line(sentence[: self.hard_limit], ln.line, ln.page, ln.indent))
                    sentence = sentence[self.hard_limit :]
                if piece and len(piece) + len(sentence) > self.limit:
                    out.append(Line(piece, ln.line, ln.page, ln.indent))
                    piece = ""
                piece += sentence
            if piece:
                out.append(Line(piece, ln.line, ln.page, ln.indent))
        return out
