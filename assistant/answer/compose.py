"""The extractive answer: typed parts built from the evidence, framing from the presenter.

A direct first sentence is made only of spans copied from the evidence (「4つのバリューは、
スケールメリット、シナジー、スピルオーバー、ダイバーシティです」), then the supporting lines;
parts the documents do not cover say so, one by one. Citation numbers here index the answer's
passages (1-based); the guard checks every claim and renumbers what is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer.evidence import Evidence, Line, Shape
from assistant.answer.judge import Coverage
from assistant.answer.present import Presenter
from assistant.answer.types import AnswerPart, PartKind
from assistant.answer.understand import Asks, Part
from assistant.retrieval.searcher import Passage

MAX_DIRECT_NAME = 24  # longer item names are listed as lines, not joined into one sentence
MAX_DIRECT_ITEMS = 12
# an item that ends in a particle (「・国連環境総会 (UNEA-5.2) で」 + its quote below) is the start of
# a clause, not a name: 「…は、国連環境総会で、G7…会合でです」 would not be Japanese
_CLAUSE_END = re.compile(r"[\s)）」\u4e00-\u9fffァ-ヶー](?:で|に|を|が|は|と|から|より)$")


@dataclass
class Block:
    """One question part with what was found for it."""

    index: int
    part: Part
    evidence: Evidence
    coverage: Coverage
    passage_ids: list[int] = field(default_factory=list)  # local passage → answer passage (1-based)
    # the support finder's answer for a part that asks what fits the asker's business
    support: list[Quoted] = field(default_factory=list)

    def cite(self, line: Line) -> list[int]:
        return [self.passage_ids[line.passage - 1]]


@dataclass
class Quoted:
    """A claim part with the line of its passage that it relies on (shown highlighted)."""

    part: AnswerPart
    quote: str


def claims_for(block: Block, p: Presenter) -> list[Quoted]:
    """The claims that answer one covered part (direct sentence first)."""
    ev = block.evidence
    i = block.index
    out: list[Quoted] = []

    def claim(
        text: str,
        line: Line,
        kind: PartKind = PartKind.claim,
        bullet: bool = False,
        spans: list[str] | None = None,
        cites: list[int] | None = None,
    ) -> None:
        out.append(
            Quoted(
                AnswerPart(
                    kind,
                    text,
                    cites or block.cite(line),
                    spans=spans or [text],
                    part=i,
                    bullet=bullet,
                ),
                line.text,
            )
        )

    if ev.shape is Shape.list:
        names = [ln.name or ln.text for ln in ev.lines]
        # 「いくつあって、それぞれ何？」: the count is the number of items listed
        counted = (
            len(names) if "count" in block.part.needs or block.part.asks is Asks.how_many else 0
        )
        label = ev.label or (ev.anchor.name if ev.anchor and ev.anchor.name else "")
        short = (
            all(len(n) <= MAX_DIRECT_NAME and not _CLAUSE_END.search(n) for n in names)
            and len(names) <= MAX_DIRECT_ITEMS
        )
        cites = sorted({c for ln in ev.lines for c in block.cite(ln)})
        if ev.anchor is not None and label:
            cites = sorted(set(cites) | set(block.cite(ev.anchor)))
        direct = (p.lang == "ja" and short and bool(label)) or (p.lang == "en" and short)
        if p.lang == "ja" and short and label:
            text = p.list_direct(label, names)
            out.append(
                Quoted(
                    AnswerPart(PartKind.direct, text, cites, spans=[label, *names], part=i),
                    ev.lines[0].text,
                )
            )
        elif p.lang == "en" and short:
            out.append(
                Quoted(AnswerPart(PartKind.framing, p.list_intro(label, counted), part=i), "")
            )
            out.append(
                Quoted(
                    AnswerPart(
                        PartKind.direct, p.list_direct(label, names), cites, spans=names, part=i
                    ),
                    ev.lines[0].text,
                )
            )
        else:
            out.append(
                Quoted(AnswerPart(PartKind.framing, p.list_intro(label, counted), part=i), "")
            )
        anchor = ev.anchor
        if (
            anchor is not None
            and anchor.node is not None
            and anchor.node.kind.value in ("lead", "text")
        ):
            claim(anchor.text, anchor)  # 「関西広域連合は、固有の4つのバリュー…を発揮し…」
        if not direct or any(ln.text != (ln.name or ln.text) for ln in ev.lines):
            for ln in ev.lines:  # the items themselves when no direct sentence names them
                claim(ln.text, ln, bullet=True)
        return out
    if ev.shape is Shape.definition:
        first = ev.lines[0]
        if len(ev.lines) > 1:
            desc = ev.lines[1]
            term = _term_of(first.text)
            text = p.definition_direct(term, desc.text)
            cites = sorted(set(block.cite(first) + block.cite(desc)))
            out.append(
                Quoted(
                    AnswerPart(
                        PartKind.direct,
                        text,
                        cites,
                        spans=[term, desc.text.rstrip("。")],
                        part=i,
                    ),
                    desc.text,
                )
            )
        else:
            claim(first.text, first, PartKind.direct)
        for ln in ev.items:
            claim(ln.text, ln, bullet=True)
        return out
    if ev.shape is Shape.figure and ev.ranked:
        out.append(Quoted(AnswerPart(PartKind.framing, p.ranked(ev.ranked), part=i), ""))
        for ln in ev.lines:
            claim(ln.text, ln, bullet=True)
        return out
    if ev.shape is Shape.figure:
        first = ev.lines[0]
        if ev.figure and ev.figure_name:
            spans = [ev.figure_name, ev.figure] + ([ev.figure_kind] if ev.figure_kind else [])
            text = p.figure_direct(ev.figure_name, ev.figure_kind, ev.figure)
            out.append(
                Quoted(
                    AnswerPart(PartKind.direct, text, block.cite(first), spans=spans, part=i),
                    first.text,
                )
            )
            rest = ev.lines[1:]
        else:
            claim(first.text, first, PartKind.direct)
            rest = ev.lines[1:]
        for ln in rest:
            claim(ln.text, ln)
        return out
    if block.part.asks is Asks.yesno:
        out.append(Quoted(AnswerPart(PartKind.framing, p.yes(block.part.phrase), part=i), ""))
    for ln in ev.lines:
        if ln.name and ln.name not in ln.text:  # ● スケールメリット(…)：構成府県(市)が…
            claim(f"{ln.name}：{ln.text}", ln, spans=[ln.name, ln.text])
        else:
            claim(ln.text, ln)
    return out


def lead_for(block: Block, passages: list[Passage], p: Presenter) -> AnswerPart | None:
    """A lead-in naming the document, for answers that are quoted lines (no direct sentence)."""
    ev = block.evidence
    # an English question answered by a figure's Japanese line alone (no sentence of ours
    # names the figure) says first that it quotes the source
    quoted_figure = (
        ev.shape is Shape.figure and p.lang == "en" and not ev.ranked and not ev.figure_name
    )
    if (ev.shape is not Shape.lines and not quoted_figure) or block.part.asks is Asks.yesno:
        return None
    titles = [passages[c - 1].title for ln in ev.lines for c in block.cite(ln)]
    return AnswerPart(PartKind.framing, p.lead(titles), part=block.index)


def not_covered_for(block: Block, p: Presenter, draft: bool) -> AnswerPart:
    cov = block.coverage
    part = block.part
    if cov.reason == "need":
        text = (p.draft_missing if draft else p.missing)(part.phrase or part.inherited, cov.missing)
    elif draft:
        text = p.draft_not_covered(cov.topic or part.phrase)
    else:
        text = p.not_covered(cov.reason, cov.topic, part.phrase or part.inherited)
    return AnswerPart(PartKind.not_covered, text, part=block.index)


def missing_for(block: Block, p: Presenter, draft: bool) -> AnswerPart | None:
    cov = block.coverage
    if not cov.covered or not cov.missing:
        return None
    part = block.part
    text = (p.draft_missing if draft else p.missing)(part.phrase or part.inherited, cov.missing)
    return AnswerPart(PartKind.not_covered, text, part=block.index)


def nearest_parts(related: list[Passage], p: Presenter) -> list[AnswerPart]:
    if not related:
        return []
    out = [
        AnswerPart(PartKind.framing, "", newline=True),
        AnswerPart(PartKind.nearest, p.nearest_intro()),
    ]
    for r in related:
        out.append(
            AnswerPart(PartKind.nearest, p.nearest_item(r.title, r.section, r.label), bullet=True)
        )
    return out


def _term_of(heading: str) -> str:
    """The term a heading defines, as it writes it: 「【関西広域産業ビジョンとは】」 → 関西広域産業
    ビジョン (a span of the heading, so the sentence is still copied from the evidence)."""
    t = heading.strip()
    m = re.fullmatch(r"[【「『\[]\s*(.+?)\s*[】」』\]]", t)
    t = m.group(1) if m else t
    return t.removesuffix("とは").strip() or heading
