"""Eval metrics on small hand-made inputs, with exact expected values."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from eval import metrics as m

FOUND = [set(), {0}, {0, 1}, set()]  # ranks 1..4; two gold spans


def test_norm_nfkc_and_thousands_separators() -> None:
    assert m.norm("１３，０４３ 千円") == "13043千円"
    assert m.norm("約150兆円") == "約150兆円"


def test_gold_found_matches_normalised_substrings() -> None:
    texts = ["- ◇関西プラスチックごみゼロ推進事業 (500千円)", "no", "シェアを２５％、GRP額"]
    assert m.gold_found(texts, ["ごみゼロ推進事業 (500千円)", "シェアを25%"]) == [{0}, set(), {1}]


def test_retrieval_metrics() -> None:
    assert m.hit_at_k(FOUND, 1) == 0.0
    assert m.hit_at_k(FOUND, 2) == 1.0
    assert m.recall_at_k(FOUND, 2, 2) == 0.5
    assert m.recall_at_k(FOUND, 2, 3) == 1.0
    assert m.recall_at_k([], 2, 5) == 0.0
    assert m.mrr(FOUND) == 0.5
    assert m.mrr([set(), set()]) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(4)  # span 0 at rank 2, span 1 new at rank 3
    idcg = 1 + 1 / math.log2(3)
    assert m.ndcg_at_k(FOUND, 2, 10) == pytest.approx(dcg / idcg)
    assert m.ndcg_at_k([{0}], 1, 10) == 1.0
    assert m.ndcg_at_k([{0}, {0}], 1, 10) == 1.0  # a duplicate chunk adds nothing


def test_alce_citation_recall_and_precision() -> None:
    table = {
        ("a", (1,)): True,
        ("b", (1, 2)): True,
        ("b", (1,)): True,
        ("b", (2,)): False,  # irrelevant: alone it does not support, and [1] still does
        ("d", (2,)): False,
    }

    def supports(sentence: str, refs: Sequence[int]) -> bool:
        return table[(sentence, tuple(sorted(refs)))]

    claims = [("a", [1]), ("b", [1, 2]), ("c", []), ("d", [2])]
    s = m.alce_citations(claims, supports)
    assert (s.sentences, s.supported, s.citations, s.precise) == (4, 2, 4, 2)
    assert s.recall == 0.5
    assert s.precision == 0.5


def test_alce_needed_joint_citations_are_precise() -> None:
    def supports(sentence: str, refs: Sequence[int]) -> bool:
        return sorted(refs) == [1, 2]  # neither alone, both together

    s = m.alce_citations([("x", [1, 2])], supports)
    assert (s.recall, s.precision) == (1.0, 1.0)


def test_key_fact_recall() -> None:
    answer = "予算は13043千円で、目標は約１５０兆円です。"
    assert m.key_fact_recall(answer, ["13,043千円", "約150兆円", "25%"]) == pytest.approx(2 / 3)
    assert m.key_fact_recall(answer, []) is None


def test_abstention() -> None:
    items = [(False, True), (False, True), (False, False), (True, True)] + [(True, False)] * 3
    s = m.abstention(items)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(2 / 3)
    assert s.wrong_rate == 0.25
    assert s.f1 == pytest.approx(2 / 3)
    assert m.abstention([(True, False)]).precision is None


def test_percentile_and_mean() -> None:
    assert m.percentile([4, 1, 3, 2], 50) == 2.5
    assert m.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert m.percentile([], 50) is None
    assert m.mean([1.0, None, 0.0]) == 0.5
