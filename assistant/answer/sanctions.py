"""The penalties a statute attaches to its duties, read from the outline as cross-references.

A penalty article names the provision it enforces by number: 「第四十三条 第八条の規定に違反した者は、
十万円以下の過料に処する。」, or in the 号 of a lead: 「次の各号のいずれかに該当する者は、三十万円以下の
罰金に処する。 一 第十九条第二項の規定による報告をせず…」. Each such sentence is a :class:`Sanction`
with the labels it refers to (「第8条」, 「第19条第2項」, in the outline's Arabic form), so a question
about a duty's penalty is answered with the duty and the sentence that punishes it — whatever words
the question uses for the duty — and a prohibition can be quoted with its sanction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer.outline import Outline
from assistant.text.numerals import kanji_value
from ingest.structure import Node, NodeKind

# the sentence that sets a penalty (刑 or 過料), as the statutes write it
PENALTY = re.compile(r"(?:罰金|過料|拘禁刑|懲役|禁錮|禁固|科料)(?:に処|を科)")
# a duty a sentence prescribes or forbids (「…使用してはならない」, 「…届け出なければならない」)
DUTY = re.compile(r"てはならない|なければならない|ことができない")
_NUM = "〇一二三四五六七八九十百千"
_REF = re.compile(
    rf"(?P<law>法律?|令)?(?:(?P<same>同条)|第(?P<art>[{_NUM}]+)条(?P<sub>(?:の[{_NUM}]+)*))"
    rf"(?:第(?P<para>[{_NUM}]+)項)?"
)

_OTHER_LAW = re.compile(r"法律?\([^()]*号\)$")


@dataclass(frozen=True)
class Sanction:
    penalty: Node  # the sentence that sets the penalty (a lead, when its 号 name the duties)
    clause: Node  # the node that names the duty: the penalty itself or one of its 号
    refs: tuple[str, ...]  # the labels it refers to: 「第8条」, 「第12条第3項」


class Sanctions:
    """Every penalty of the outline's statutes, and the provisions each one enforces."""

    def __init__(self, outline: Outline) -> None:
        self.outline = outline
        self.by_doc: dict[str, list[Sanction]] = {}
        self._labelled: dict[str, list[Node]] = {}  # doc id → its labelled nodes
        for n in outline.nodes.values():
            if n.label and n.kind in (NodeKind.text, NodeKind.item, NodeKind.lead):
                self._labelled.setdefault(n.doc_id, []).append(n)
        for n in outline.nodes.values():
            if n.kind not in (NodeKind.text, NodeKind.lead) or not PENALTY.search(n.text):
                continue
            own = references(n.text, n.label)
            if own:
                self.by_doc.setdefault(n.doc_id, []).append(Sanction(n, n, own))
            if n.kind is NodeKind.lead:
                for item in outline.members(n):
                    refs = references(item.text, n.label)
                    if refs:
                        self.by_doc.setdefault(n.doc_id, []).append(Sanction(n, item, refs))

        self._penal = {
            n.id for found in self.by_doc.values() for x in found for n in (x.penalty, x.clause)
        }

    def __bool__(self) -> bool:
        return bool(self.by_doc)

    def is_penal(self, node: Node | None) -> bool:
        """Whether a block sets a penalty or names what a penalty punishes (a penalty's 号)."""
        return node is not None and (node.id in self._penal or bool(PENALTY.search(node.text)))

    def duties(self, s: Sanction) -> list[Node]:
        """The provisions a sanction enforces: the 項 it names, or every 項 of the 条."""
        out = []
        for n in self._labelled.get(s.penalty.doc_id, []):
            if any(_within(n.label, ref) for ref in s.refs) and n.id != s.penalty.id:
                out.append(n)
        return sorted(out, key=lambda n: n.line)

    def enforcing(self, node: Node) -> list[Sanction]:
        """The sanctions that name the provision ``node`` belongs to (its 項, or its 条)."""
        if not node.label:
            return []
        return [
            s
            for s in self.by_doc.get(node.doc_id, [])
            if any(_within(node.label, ref) for ref in s.refs)
        ]


def references(text: str, own_label: str = "") -> tuple[str, ...]:
    """The provisions of its own law a sentence names, as labels (「第十九条第二項の規定による報告を
    せず」 → 「第19条第2項」); 「同条第三項」 continues the article named before it; a number after
    a law's name (「中小企業基本法第二条」) is another law's and is left out, as is the sentence's own
    article number."""
    own = _article(own_label)
    out: list[str] = []
    last = ""
    for m in _REF.finditer(text):
        if m.group("same"):
            article = last
        else:
            value = kanji_value(m.group("art"))
            subs = [kanji_value(s) for s in m.group("sub").split("の")[1:]]
            if value is None or any(v is None for v in subs):
                continue
            article = f"第{value}条" + "".join(f"の{v}" for v in subs)
            if m.group("law") or _OTHER_LAW.search(text[: m.start()]):
                continue  # 「…法第二条」, 「…通則法(平成十一年法律第百三号)第二条」: another law's
            if article == own and not text[: m.start()].strip():
                continue  # 「第四十三条 第八条の…」: the article's own number
            last = article
        if not article:
            continue
        para = kanji_value(m.group("para")) if m.group("para") else None
        label = article + (f"第{para}項" if para else "")
        if label not in out:
            out.append(label)
    return tuple(out)


def _article(label: str) -> str:
    m = re.match(r"第[0-9]+条(?:の[0-9]+)*", label)
    return m.group() if m else ""


def _within(label: str, ref: str) -> bool:
    """Whether the block labelled ``label`` is (inside) the provision ``ref`` names: 「第8条」
    holds 「第8条第1項」 but not 「第8条の2」 or 「第80条」."""
    if not label.startswith(ref):
        return False
    rest = label[len(ref) :]
    return not rest or rest.startswith("第")
