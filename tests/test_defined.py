"""Terms a statute defines for itself, found as the actor of a sentence (assistant/answer/defined.py)."""

from __future__ import annotations

from assistant.answer.defined import DefinedTerms
from assistant.answer.outline import Outline
from ingest.structure import Node, NodeKind


def _node(i: int, text: str, doc: str = "law") -> Node:
    return Node(f"{doc}#n{i}", doc, NodeKind.text, text, None, line=i, label=f"第{i}条")


def test_the_actor_of_a_sentence_is_looked_up_in_its_own_law() -> None:
    minister = _node(19, "第十九条 この法律における主務大臣は、国土交通大臣及び環境大臣とする。")
    area = _node(2, "第二条 この法律において「臨海地域」とは、湾に面する区域をいう。")
    other = _node(3, "第三条 この法律における主務大臣は、財務大臣とする。", doc="other")
    defined = DefinedTerms(Outline([minister, area, other]))
    line = _node(4, "第四条 臨海地域は、主務大臣が、知事の申請に基づき指定する。")
    # 主務大臣 is the actor (「主務大臣が」); 臨海地域 is the topic, not who acts
    assert defined.actors(line, line.text) == [minister]
    assert defined.actors(minister, minister.text) == []  # a definition does not define itself
    assert defined.actors(line, "第四条 臨海地域は、知事が指定する。") == []
