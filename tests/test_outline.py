"""The outline ingest keeps of the vision (ingest/outline.py): the structure answers use."""

from __future__ import annotations

import json

import pytest

from assistant.answer.outline import Outline
from ingest.clean import clean_lines
from ingest.outline import build_outline
from ingest.structure import Node, NodeKind
from tests.conftest import CORPUS_FILE, CORPUS_META


@pytest.fixture(scope="module")
def outline() -> Outline:
    meta = json.loads(CORPUS_META.read_text(encoding="utf-8"))
    lines = clean_lines(CORPUS_FILE.read_text(encoding="utf-8").splitlines())
    nodes = build_outline("v", "T", lines, meta["heading_aliases"], meta["heading_levels"])
    return Outline(nodes)


def _find(o: Outline, text: str, kind: NodeKind | None = None) -> Node:
    hits = [n for n in o.nodes.values() if text in n.text and (kind is None or n.kind is kind)]
    assert hits, text
    return hits[0]


def test_a_lead_in_sentence_holds_its_list(outline: Outline) -> None:
    lead = _find(outline, "固有の4つのバリュー", NodeKind.lead)
    names = [m.text for m in outline.members(lead)]
    assert len(names) == 4 and names[0].startswith("● スケールメリット")
    desc = outline.first_text(outline.members(lead)[1])
    assert desc is not None and "単独実施以上の効果" in desc.text


def test_a_heading_holds_its_items(outline: Outline) -> None:
    fy = _find(outline, "令和5年度事業《予算額", NodeKind.heading)
    items = outline.members(fy)
    assert len(items) == 11 and "13,043千円" in items[0].text and "999千円" in items[-1].text


def test_two_visions_are_the_two_members_of_their_heading(outline: Outline) -> None:
    head = _find(outline, "【2つの将来像】", NodeKind.heading)
    assert [m.text for m in outline.members(head)] == [
        "世界の中で輝き、日本の未来を牽引する関西",
        "産業を支える多様な人材が活躍する関西",
    ]


def test_table_rows_keep_their_cells_apart(outline: Outline) -> None:
    row = next(
        n for n in outline.nodes.values() if n.kind is NodeKind.row and "関西チャレンジ①" in n.text
    )
    assert len(row.cells) == 4
    keywords = [m.text for m in outline.members(row) if m.extra.get("cell") == 2]
    assert keywords[1].startswith("スタートアップ") and len(keywords) == 3
    assert outline.row_header(row) is not None


def test_contents_lines_are_marked_and_sub_items_nest(outline: Outline) -> None:
    assert _find(outline, "関西チャレンジ②「強みを活用」 | 7").kind is NodeKind.contents
    sub = _find(outline, "約7,406人(2020)", NodeKind.item)
    parent = outline.get(sub.parent)
    assert parent is not None and "生産年齢人口" in parent.text


def test_nodes_round_trip_through_json() -> None:
    n = Node(
        "d#n1",
        "d",
        NodeKind.item,
        "・x",
        "d#n0",
        level=1,
        line=3,
        cells=("a", "b"),
        extra={"cell": 1},
    )
    assert Node.from_json(json.loads(json.dumps(n.to_json()))) == n
