"""The outline of a plain document (text, Markdown, HTML, PDF) from its cleaned lines.

Headings come from the chunker's own heading rules (so the outline and the chunks' section
paths agree); bullet lines are items under the nearest heading, or under the sentence that
introduces them (a *lead*: 「関西広域連合は、固有の4つのバリュー…を発揮し…」 followed by its ●
items); table rows keep their cells apart, each cell paragraph an item of its row; table-of-
contents lines are ``contents`` and never evidence. Lines that carry no words (「×」) are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ingest.chunker import _MD, _TOC, Chunk, heading_level
from ingest.clean import Line
from ingest.structure import Node, NodeKind

_BULLET = re.compile(r"^(?:[-–—－・◇◆●■▶*]\s*)+")
_WORD = re.compile(r"[0-9A-Za-z\u3040-\u30ff\u3400-\u9fff]")
# a sentence that announces the list below it: 「4つのバリュー」, 「次の」, 「以下の」, 「次に掲げる」, a colon
_ANNOUNCES = re.compile(r"(?:\d+|[一二三四五六七八九十]+)つの|次の|以下の|次に掲げる|各号|[:：]$")


def is_bullet(text: str) -> bool:
    return bool(_BULLET.match(text)) and not text.startswith(("--", "**"))


@dataclass
class _Open:
    """A heading on the stack while the lines below it are read."""

    level: int
    node_id: str


@dataclass
class _Builder:
    doc_id: str
    nodes: list[Node] = field(default_factory=list)
    leads: dict[str, list[str]] = field(default_factory=dict)  # lead id → its list members
    cells: dict[str, int] = field(default_factory=dict)  # table cell paragraph → cell index

    def add(
        self,
        kind: NodeKind,
        text: str,
        parent: str | None,
        line: Line,
        level: int = 0,
        cells: tuple[str, ...] = (),
    ) -> str:
        node_id = f"{self.doc_id}#n{len(self.nodes)}"
        self.nodes.append(
            Node(
                id=node_id,
                doc_id=self.doc_id,
                kind=kind,
                text=text,
                parent=parent,
                level=level,
                line=line.line,
                page=line.page,
                cells=cells,
            )
        )
        return node_id


def build_outline(
    doc_id: str,
    title: str,
    lines: list[Line],
    aliases: dict[str, str] | None = None,
    levels: dict[str, int] | None = None,
) -> list[Node]:
    """The document's blocks as a tree (see :mod:`ingest.structure`)."""
    aliases = aliases or {}
    toc = {m.group(1).strip() for ln in lines if (m := _TOC.match(ln.text))}
    b = _Builder(doc_id)
    root = b.add(NodeKind.document, title, None, Line(title, 0))
    stack: list[_Open] = []
    run_parent: str | None = None  # the lead or heading the current run of items belongs to
    last_dot: str | None = None  # the last 「・」 item: 「- 」 lines after it are its sub-items
    last_text: str | None = None  # the last text node, a candidate lead
    i = 0
    while i < len(lines):
        ln = lines[i]
        t = ln.text
        if not t:
            i += 1
            continue
        parent = stack[-1].node_id if stack else root
        if ln.cell >= 0:  # an HTML table row: its paragraphs until the block end
            j = i
            row: list[Line] = []
            while j < len(lines):
                row.append(lines[j])
                if lines[j].block_end:
                    break
                j += 1
            _row(b, row, parent)
            i = j + 1
            last_text = run_parent = None
            continue
        if _TOC.match(t) or (t.endswith("| Page") and "|" in t):
            b.add(NodeKind.contents, t, parent, ln)
            i += 1
            continue
        level = heading_level(lines, i, toc, stack[-1].level if stack else 0, levels)
        if level:
            text = _MD.sub(r"\2", t)
            text = aliases.get(text, text)
            while stack and stack[-1].level >= level:
                stack.pop()
            node_id = b.add(NodeKind.heading, text, stack[-1].node_id if stack else root, ln, level)
            # headings of one level right after a lead are that lead's list (● スケールメリット …)
            if last_text is not None and _lead_of_headings(b, last_text, level):
                b.leads.setdefault(last_text, []).append(node_id)
            elif last_text is not None and node_id not in b.leads.get(last_text, []):
                last_text = None
            stack.append(_Open(level, node_id))
            run_parent = None
            last_dot = None
            i += 1
            continue
        if not _WORD.search(t):
            i += 1  # 「×」 and other lines without a word
            continue
        if " | " in t:  # a plain-text table row (tab-separated cells)
            cells = tuple(c.strip() for c in t.split(" | ") if c.strip())
            b.add(NodeKind.row, t, parent, ln, cells=cells)
            last_text = run_parent = None
            i += 1
            continue
        if is_bullet(t):
            owner = run_parent or (last_text if last_text is not None else parent)
            sub = t.startswith(("- ", "－", "– ")) and not is_bullet(t[2:].strip())
            if sub and last_dot is not None:
                node_id = b.add(NodeKind.item, t, last_dot, ln, level=2)
                i += 1
                continue
            node_id = b.add(NodeKind.item, t, owner, ln, level=1 + min(ln.indent, 3))
            last_dot = node_id if t.startswith("・") else None
            if owner == last_text:
                b.leads.setdefault(last_text, []).append(node_id)
            run_parent = owner
            i += 1
            continue
        node_id = b.add(NodeKind.text, t, parent, ln)
        if last_text is not None and parent in b.leads.get(last_text, []):
            pass  # text under a listed heading (● シナジー → its description): the lead goes on
        else:
            last_text = node_id if _ANNOUNCES.search(t) else None
        run_parent = None
        i += 1
    for node_id, members in b.leads.items():
        if len(members) >= 2:
            i = _ordinal(node_id)
            b.nodes[i] = replace(b.nodes[i], kind=NodeKind.lead, extra={"items": members})
    for node_id, cell in b.cells.items():
        i = _ordinal(node_id)
        b.nodes[i] = replace(b.nodes[i], extra={"cell": cell})
    return b.nodes


def _ordinal(node_id: str) -> int:
    return int(node_id.rsplit("#n", 1)[1])


def _lead_of_headings(b: _Builder, lead_id: str, level: int) -> bool:
    """True while the headings after a text line all have one level (a list of them)."""
    members = b.leads.get(lead_id) or []
    lead = b.nodes[_ordinal(lead_id)]
    if not members:
        return lead.parent is not None and level > b.nodes[_ordinal(lead.parent)].level
    first = b.nodes[_ordinal(members[0])]
    return first.kind is NodeKind.heading and first.level == level


def _row(b: _Builder, row: list[Line], parent: str) -> None:
    cells: list[list[str]] = []
    for ln in row:
        while len(cells) <= ln.cell:
            cells.append([])
        cells[ln.cell].append(ln.text)
    cell_texts = tuple(" ".join(c) for c in cells)
    row_id = b.add(NodeKind.row, " | ".join(cell_texts), parent, row[0], cells=cell_texts)
    for ci, paras in enumerate(cells):
        for para in paras:
            if _WORD.search(para):
                nid = b.add(NodeKind.item, para, row_id, row[0], level=1)
                b.cells[nid] = ci


def attach(nodes: list[Node], chunks: list[Chunk]) -> dict[str, list[Node]]:
    """Which chunk holds each node: by line and text (headings: the first chunk under them)."""
    out: dict[str, list[Node]] = {c.chunk_id: [] for c in chunks}
    if not chunks:
        return out
    for n in nodes:
        chunk = _holder(n, chunks)
        if chunk is not None:
            out[chunk.chunk_id].append(n.with_chunk(chunk.chunk_id))
    return out


def _holder(n: Node, chunks: list[Chunk]) -> Chunk | None:
    if n.kind in (NodeKind.document,):
        return chunks[0]
    if n.kind is NodeKind.heading:
        for c in chunks:
            if n.text in c.headings and c.line_end >= n.line:
                return c
        return None
    for c in chunks:
        if c.line_start <= n.line <= c.line_end and (n.text in c.text or n.kind is NodeKind.row):
            return c
    return None
