"""The terms a statute defines for itself (「この法律において「X」とは…」, 「この法律における主務大臣は、
…とする」), so an answer that names one as the actor (「…は、主務大臣が、府県知事の申請に基づき…指定する」)
can say who that is from the law's own definition."""

from __future__ import annotations

import re

from assistant.answer.outline import Outline
from ingest.structure import Node, NodeKind

_DEFINES = re.compile(r"この法律(?:において|における)「?([^「」、。はが]{2,15})」?(?:とは|は)")


class DefinedTerms:
    """Per document, each term its own definition article defines, and the block doing so."""

    def __init__(self, outline: Outline) -> None:
        self.outline = outline
        self.by_doc: dict[str, dict[str, Node]] = {}
        for n in outline.nodes.values():
            if n.kind not in (NodeKind.text, NodeKind.lead, NodeKind.item):
                continue
            for m in _DEFINES.finditer(n.text):
                self.by_doc.setdefault(n.doc_id, {}).setdefault(m.group(1), n)

    def __bool__(self) -> bool:
        return bool(self.by_doc)

    def actors(self, node: Node, text: str) -> list[Node]:
        """The definitions of the defined terms ``text`` names as its actor (「主務大臣が」), in
        the order it names them; never ``node``'s own."""
        found: list[tuple[int, Node]] = []
        for term, where in self.by_doc.get(node.doc_id, {}).items():
            i = text.find(term + "が")
            if i >= 0 and where.id != node.id:
                found.append((i, where))
        return [w for _, w in sorted(found, key=lambda t: t[0])]
