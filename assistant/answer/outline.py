"""The documents' outlines as the answer engine reads them (``outline.jsonl`` of the index).

Every document's tree (:mod:`ingest.structure`): headings, leads with their list, items, table
rows, a statute's articles, paragraphs and items; each node knows the chunk that holds it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.structure import Node, NodeKind

LISTABLE = (NodeKind.item, NodeKind.heading)


class Outline:
    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes: dict[str, Node] = {}
        self.children: dict[str, list[str]] = {}
        self.by_chunk: dict[str, list[Node]] = {}
        for n in nodes:
            self.nodes[n.id] = n
            if n.chunk_id:
                self.by_chunk.setdefault(n.chunk_id, []).append(n)
        self._leaves: dict[str, list[Node]] = {}  # heading id → leaf_groups (asked per question)
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

    def in_chunk(self, chunk_id: str) -> list[Node]:
        return self.by_chunk.get(chunk_id, [])

    def row_header(self, row: Node) -> Node | None:
        """The header row of a table row: the row just before the first body row."""
        parent = self.get(row.parent)
        if parent is None:
            return None
        rows = [k for k in self.kids(parent) if k.kind is NodeKind.row]
        return rows[0] if rows and rows[0].id != row.id else None


def _order(n: Node) -> tuple[str, int]:
    doc, _, num = n.id.rpartition("#n")
    return (doc, int(num) if num.isdigit() else 0)
