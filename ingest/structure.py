"""A document's outline: its blocks (headings, lead-ins, list items, table rows, text) as a tree.

Kept in the index beside the chunks, so an answer can be built from the document's structure:
a list question is answered with the items under the best-matching heading or lead-in, a
definition with the item's own line, a figure with the line that holds it. Every converter
(plain text, statutes, …) produces these nodes; the pipeline stores them per generation and
fills in ``chunk_id``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any


class NodeKind(StrEnum):
    title = "title"  # type: ignore[assignment]  # the document's title (shadows str.title)
    heading = "heading"  # a heading (章, 条 with its caption, ◆/■/● headings, 【…】)
    lead = "lead"  # a sentence that introduces the items below it (「…次の各号に掲げる…」)
    item = "item"  # a list item (●, ・, ◇, -, 号 一 二 …)
    row = "row"  # a table row; its cells are kept apart in ``cells``
    text = "text"  # any other content line (a 項 of an article, a paragraph)
    contents = "contents"  # a table-of-contents line: never evidence


@dataclass(frozen=True)
class Node:
    id: str  # f"{doc_id}#n{ordinal}": unique in the index, stable for the same text
    doc_id: str
    kind: NodeKind
    text: str  # the cleaned line (for a row: its cells joined with " | ")
    parent: str | None  # the heading, lead or item it belongs to (None for top level)
    level: int = 0  # headings: depth (1 = top); others: depth below their parent heading
    line: int = 0  # 1-based line in the cleaned source
    page: int | None = None
    cells: tuple[str, ...] = ()  # table rows: cells kept apart
    label: str = ""  # a citation label, e.g. 「第2条第1項第1号」 for a statute; "" if none
    chunk_id: str = ""  # the chunk that holds this block (filled by the pipeline)
    extra: dict[str, Any] = field(default_factory=dict)

    def with_chunk(self, chunk_id: str) -> Node:
        return replace(self, chunk_id=chunk_id)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["cells"] = list(self.cells)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Node:
        return cls(
            id=str(d["id"]),
            doc_id=str(d["doc_id"]),
            kind=NodeKind(d["kind"]),
            text=str(d["text"]),
            parent=d.get("parent"),
            level=int(d.get("level", 0)),
            line=int(d.get("line", 0)),
            page=d.get("page"),
            cells=tuple(d.get("cells") or ()),
            label=str(d.get("label", "")),
            chunk_id=str(d.get("chunk_id", "")),
            extra=dict(d.get("extra") or {}),
        )
