"""Penalty cross-references read from a statute's outline (assistant/answer/sanctions.py)."""

from __future__ import annotations

import pytest

from assistant.answer.outline import Outline
from assistant.answer.sanctions import Sanctions, references
from ingest.structure import Node, NodeKind


@pytest.mark.parametrize(
    ("text", "own", "expected"),
    [
        ("第四十三条 第八条の規定に違反した者は、十万円以下の過料に処する。", "第43条", ("第8条",)),
        (
            "一 第十九条第二項の規定による報告をせず、又は虚偽の報告をした者",
            "第23条",
            ("第19条第2項",),
        ),
        ("第五条第一項又は同条第三項の規定に違反して", "第9条", ("第5条第1項", "第5条第3項")),
        ("第二百八十四条の二第一項の規定による命令に違反したとき", "第300条", ("第284条の2第1項",)),
        ("中小企業基本法第二条第五項に規定する小規模企業者", "第13条第1項", ()),
        (
            "独立行政法人通則法(平成十一年法律第百三号)第二条第四項に規定する行政執行法人",
            "第2条",
            (),
        ),
        # the article's own number opens its text; a later mention of it is a reference
        ("第二十条 第二十条の二の規定に違反した者", "第20条", ("第20条の2",)),
    ],
)
def test_references_are_read_as_labels(text: str, own: str, expected: tuple[str, ...]) -> None:
    assert references(text, own) == expected


def _law() -> Outline:
    doc = "law"

    def node(i: int, kind: NodeKind, text: str, label: str = "", parent: int | None = None) -> Node:
        return Node(
            f"{doc}#n{i}",
            doc,
            kind,
            text,
            f"{doc}#n{parent}" if parent is not None else None,
            line=i,
            label=label,
            chunk_id=f"{doc}#c{i}",
        )

    return Outline(
        [
            Node(f"{doc}#n0", doc, NodeKind.document, "ある法律", None),
            node(
                1,
                NodeKind.text,
                "第八条 会社以外の者は、その商号中に会社という文字を使用してはならない。",
                "第8条",
            ),
            node(2, NodeKind.text, "第八条の二 会社は、毎年度報告しなければならない。", "第8条の2"),
            node(3, NodeKind.text, "第八十条 会社は、帳簿を備えなければならない。", "第80条"),
            node(
                4, NodeKind.text, "第九条 会社は、事業計画を届け出なければならない。", "第9条第1項"
            ),
            node(5, NodeKind.text, "2 前項の計画を変更するときも、同様とする。", "第9条第2項"),
            node(
                6,
                NodeKind.text,
                "第二十条 第八条の規定に違反した者は、十万円以下の過料に処する。",
                "第20条",
            ),
            node(
                7,
                NodeKind.lead,
                "第二十一条 次の各号のいずれかに該当する者は、三十万円以下の罰金に処する。",
                "第21条",
            ),
            node(
                8, NodeKind.item, "一 第九条第二項の規定による届出をしなかつた者", "第21条第1号", 7
            ),
        ]
    )


def test_a_sanction_enforces_the_provision_it_names_and_no_other() -> None:
    outline = _law()
    s = Sanctions(outline)

    def by_node(start: str) -> Node:
        return next(n for n in outline.nodes.values() if n.text.startswith(start))

    assert [x.penalty.label for x in s.enforcing(by_node("第八条 会社"))] == ["第20条"]
    # 「第八条」 is not 第8条の2 nor 第80条
    assert s.enforcing(by_node("第八条の二 ")) == []
    assert s.enforcing(by_node("第八十条 会")) == []
    # a 号 of a penalty lead names 第9条第2項: that paragraph, not its first
    [item] = s.enforcing(by_node("2 前項の計画"))
    assert item.penalty.label == "第21条" and item.clause.label == "第21条第1号"
    assert s.enforcing(by_node("第九条 会社")) == []
    assert [d.label for d in s.duties(item)] == ["第9条第2項"]
    assert s.is_penal(by_node("一 第九条第二")) and not s.is_penal(by_node("第九条 会社"))


def test_an_outline_without_penalties_has_no_sanctions() -> None:
    outline = Outline([Node("v#n0", "v", NodeKind.document, "ビジョン", None)])
    assert not Sanctions(outline)
