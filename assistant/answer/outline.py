"""The documents' outlines as the answer engine reads them (``outline.jsonl`` of the index).

Every document's tree (:mod:`ingest.structure`): headings, leads with their list, items, table
rows, a statute's articles, paragraphs and items; each node knows the chunk that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ingest.structure import Node, NodeKind

LISTABLE = (NodeKind.item, NodeKind.heading)


class Outline:
    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes: dict[str, Node] = {}
        self.children: dict[str, list[str]] = {}
        self.by_chunk: dict[str, list[Node]] = {}
        self.labels: dict[str, set[str]] = {}  # doc id → its blocks' labels
        for n in nodes:
            self.nodes[n.id] = n
            if n.label:
                self.labels.setdefault(n.doc_id, set()).add(n.label)
            if n.chunk_id:
                self.by_chunk.setdefault(n.chunk_id, []).append(n)
        self._leaves: dict[str, list[Node]] = {}  # heading id → leaf_groups (asked per question)
        self._series: dict[str, list[Node]] = {}  # numbered headings, by document, level, name
        ordered = sorted(self.nodes.values(), key=_order)
        for n in ordered:
            if n.parent is not None:
                self.children.setdefault(n.parent, []).append(n.id)

    def __bool__(self) -> bool:
        return bool(self.nodes)

    def get(self, node_id: str | None) -> Node | None:
        return self.nodes.get(node_id) if node_id else None

    def kids(self, node: Node) -> list[Node]:
        return [self.nodes[i] for i in self.children.get(node.id, [])]

    def leaf_groups(self, anchor: Node) -> list[Node]:
        """「B …チャレンジ」 → ● 万博開催時… → (MaaS), (空飛ぶクルマ); ● 地域のポテンシャル… → (宇宙):
        the named groups at the bottom of a heading's tree (headings holding only items), when
        they are of one level and sit under two or more headings: the fields the section names.
        Computed once per heading (the outline does not change within a generation)."""
        hit = self._leaves.get(anchor.id)
        if hit is None:
            hit = self._leaves[anchor.id] = self._leaf_groups(anchor)
        return hit

    def _leaf_groups(self, anchor: Node) -> list[Node]:
        leaves: list[Node] = []
        stack = [anchor]
        while stack and len(leaves) < 40:
            node = stack.pop()
            kids = self.kids(node)
            heads = [k for k in kids if k.kind is NodeKind.heading]
            if node is not anchor and not heads and any(k.kind is NodeKind.item for k in kids):
                leaves.append(node)
            stack.extend(reversed(heads))
        levels = {n.level for n in leaves}
        parents = {n.parent for n in leaves}
        if len(leaves) < 2 or len(levels) != 1 or len(parents) < 2:
            return []
        if min(levels) <= anchor.level + 1:
            return []  # the heading's own members: listed already
        return sorted(leaves, key=lambda n: n.line)

    def ancestors(self, node: Node) -> list[Node]:
        """Nearest first, without the document root."""
        out = []
        cur = self.get(node.parent)
        while cur is not None and cur.kind is not NodeKind.document:
            out.append(cur)
            cur = self.get(cur.parent)
        return out

    def members(self, node: Node) -> list[Node]:
        """The list a node introduces: a lead's items, a heading's items and sub-headings, a
        table row's cell paragraphs, an item's sub-items."""
        if node.kind is NodeKind.lead:
            ids = node.extra.get("items") or []
            if not ids:  # a statute's 「次に掲げる事項」: its 号 hang under it
                return [k for k in self.kids(node) if k.kind is NodeKind.item]
            return [self.nodes[i] for i in ids if i in self.nodes]
        kids = [k for k in self.kids(node) if k.kind in LISTABLE or k.kind is NodeKind.lead]
        if node.kind is NodeKind.row:
            return [k for k in self.kids(node) if k.kind is NodeKind.item]
        return [k for k in kids if k.kind in LISTABLE]

    def first_text(self, node: Node) -> Node | None:
        """The description right under a heading or item (● シナジー → its explanation)."""
        for k in self.kids(node):
            if k.kind in (NodeKind.text, NodeKind.lead, NodeKind.item):
                return k
        return None

    def ordinal_siblings(self, node: Node) -> tuple[str, list[Node]]:
        """(their shared name, the headings) of a numbered series a heading belongs to:
        「関西チャレンジ①…」「関西チャレンジ②…」「関西チャレンジ③…」 at one level of one document, one
        per number (the first, where a document repeats a heading), in number order; ("", [])
        when the heading is not numbered so or is alone."""
        m = _ORDINAL.match(node.text)
        if node.kind is not NodeKind.heading or m is None:
            return "", []
        key = f"{node.doc_id}\x1f{node.level}\x1f{m.group(1)}"
        if key not in self._series:
            firsts: dict[str, Node] = {}
            for n in sorted(self.nodes.values(), key=_order):
                mm = _ORDINAL.match(n.text)
                if (
                    mm is not None
                    and n.kind is NodeKind.heading
                    and n.doc_id == node.doc_id
                    and n.level == node.level
                    and mm.group(1) == m.group(1)
                ):
                    firsts.setdefault(mm.group(2), n)
            self._series[key] = [firsts[k] for k in sorted(firsts)] if len(firsts) >= 2 else []
        return m.group(1), self._series[key]

    def in_chunk(self, chunk_id: str) -> list[Node]:
        return self.by_chunk.get(chunk_id, [])

    def label_of(self, chunk_id: str, quote: str) -> str:
        """The label of the block ``quote`` is taken from (「第2条第1項第2号」 for a 号 of a
        statute), or, for a quote over several blocks, the label they share (their 項 or 条);
        "" when the chunk's blocks carry no labels. An article of one paragraph is cited
        without 「第1項」, as statutes are."""
        q = quote.strip()
        if not q:
            return ""
        nodes = [n for n in self.in_chunk(chunk_id) if n.label]
        hit = [n for n in nodes if q in n.text]
        if not hit:
            hit = [n for n in nodes if len(n.text) >= 8 and n.text in q]
        if not hit:
            return ""
        label = _shared_label([n.label for n in hit])
        if "第1項" in label:
            article = label.split("第1項")[0]
            if article + "第2項" not in self.labels.get(hit[0].doc_id, set()):
                label = label.replace("第1項", "", 1)
        return label

    def row_header(self, row: Node) -> Node | None:
        """The header row of a table row: the row just before the first body row."""
        parent = self.get(row.parent)
        if parent is None:
            return None
        rows = [k for k in self.kids(parent) if k.kind is NodeKind.row]
        return rows[0] if rows and rows[0].id != row.id else None


_ORDINAL = re.compile(r"^(\S{2,30}?)([\u2460-\u2473])")  # 「関西チャレンジ」 + ①…⑳
_LABEL_PART = re.compile(r"第[0-9の]+[条項号]|附則(?:\([^)]*\))?|[0-9の]+|[^第0-9]+")


def _shared_label(labels: list[str]) -> str:
    """The longest label every one of ``labels`` starts with, cut at a whole 条/項/号."""
    parts = [_LABEL_PART.findall(lb) for lb in labels]
    shared: list[str] = []
    for group in zip(*parts, strict=False):
        if len(set(group)) != 1:
            break
        shared.append(group[0])
    return "".join(shared)


def _order(n: Node) -> tuple[str, int]:
    doc, _, num = n.id.rpartition("#n")
    return (doc, int(num) if num.isdigit() else 0)
