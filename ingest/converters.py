"""One converter per format, in one table: a loaded document → chunks and its outline.

``LoadedDoc.format`` (chosen by :mod:`ingest.loaders`) picks the converter. A converter returns
the chunks to index and the document's outline (:class:`ingest.structure.Node`); the pipeline
stores both per generation and fills each node's ``chunk_id``. A new format is one new
converter registered in :data:`CONVERTERS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from ingest.chunker import Chunk, Chunker
from ingest.clean import clean_lines
from ingest.loaders import LoadedDoc
from ingest.outline import attach, build_outline
from ingest.statute import FORMAT as STATUTE_FORMAT
from ingest.statute import Statute, StatuteChunker
from ingest.structure import Node


@dataclass
class Converted:
    chunks: list[Chunk]
    outline: list[Node] = field(default_factory=list)


class Converter(Protocol):
    def convert(self, doc_id: str, doc: LoadedDoc) -> Converted: ...


@dataclass
class TextConverter:
    """Text, markdown, generic HTML and PDF: cleaned lines chunked along their headings, and
    the outline of headings, leads, items and table rows (:mod:`ingest.outline`)."""

    chunker: Chunker = field(default_factory=Chunker)

    def convert(self, doc_id: str, doc: LoadedDoc) -> Converted:
        lines = []
        for page_no, page in enumerate(doc.pages, start=1):
            lines.extend(clean_lines(page, page=page_no if doc.paged else None))
            lines.append(clean_lines([""])[0])  # page break = paragraph break
        title = doc.title or _first_text(lines) or doc_id
        aliases = doc.meta.get("heading_aliases") or {}
        levels = doc.meta.get("heading_levels") or {}
        chunks = self.chunker.chunk(doc_id, title, lines, aliases=aliases, levels=levels)  # type: ignore[arg-type]
        nodes = build_outline(doc_id, title, lines, aliases=aliases, levels=levels)  # type: ignore[arg-type]
        held = attach(nodes, chunks)
        outline = [n for c in chunks for n in held.get(c.chunk_id, [])]
        placed = {n.id for n in outline}
        outline += [n for n in nodes if n.id not in placed]  # the pipeline places the rest
        return Converted(chunks, sorted(outline, key=_ordinal))


@dataclass
class StatuteConverter:
    """e-Gov statutes: an article per chunk, the outline of articles, paragraphs and items."""

    chunker: StatuteChunker = field(default_factory=StatuteChunker)

    def convert(self, doc_id: str, doc: LoadedDoc) -> Converted:
        statute = doc.parsed
        if not isinstance(statute, Statute):
            raise TypeError("a statute document needs its parse (ingest.statute.parse)")
        if isinstance(doc.meta.get("title"), str):  # a sidecar may rename the law
            statute.law_name = str(doc.meta["title"])
        outline = [_with_doc(n, doc_id) for n in statute.outline]
        by_id = {n.id: n for n in outline}
        chunks = self.chunker.chunks(doc_id, statute)
        for c in chunks:
            held = c.extra.pop("nodes", [])
            ids = [f"{doc_id}{i}" for i in held] if isinstance(held, list) else []
            for node_id in ids:
                node = by_id.get(node_id)
                if node is not None and not node.chunk_id:
                    by_id[node_id] = node.with_chunk(c.chunk_id)
        return Converted(chunks, [by_id[n.id] for n in outline])


def _with_doc(node: Node, doc_id: str) -> Node:
    """Node ids were made before the document had its id: prefix it (``#n12`` → ``DOC#n12``)."""
    return replace(
        node,
        id=f"{doc_id}{node.id}",
        doc_id=doc_id,
        parent=f"{doc_id}{node.parent}" if node.parent else None,
    )


CONVERTERS: dict[str, type[TextConverter] | type[StatuteConverter]] = {
    "text": TextConverter,
    "html": TextConverter,
    STATUTE_FORMAT: StatuteConverter,
}


def converter_for(doc: LoadedDoc, chunker: Chunker | None = None) -> Converter:
    kind = CONVERTERS.get(doc.format, TextConverter)
    if kind is TextConverter:
        return TextConverter(chunker or Chunker())
    return kind()


def _ordinal(n: Node) -> int:
    tail = n.id.rsplit("#n", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _first_text(lines: Sequence[object]) -> str:
    for ln in lines:
        text = str(getattr(ln, "text", ""))
        if text:
            return text.lstrip("#").strip()[:80]
    return ""
