"""The offline claim checker: claim extraction, subtle unsupported claims, agreement with labels."""

from __future__ import annotations

import pytest

from assistant.text.tokenizer import SudachiTokenizer
from eval.checker import ClaimChecker
from eval.runner import DEFAULT_LABELLED, checker_agreement, load_jsonl

BUDGET = (
    "令和5年度事業《予算額:55,969千円》\n"
    "- ◇関西スタートアップのポテンシャルの発信強化 (13,043千円)\n"
    "- ◇関西広域産業共創プラットフォーム事業の推進 (22,634千円)\n"
    "- ◇関西プラスチックごみゼロ推進事業 (500千円)"
)
TABLE = (  # the table as ingest leaves it: one cell per line
    "新産業の創出・確立\n関西チャレンジ①\n「強みで貢献」\n"
    "世界共通の課題解決に貢献する、関西の代名詞となりうる産業の確立\n"
    "×\n関西チャレンジ②\n「強みを活用」\n"
    "現状維持を超え、高付加価値化 (新展開、深化)による持続的成長"
)


@pytest.fixture(scope="module")
def checker(sudachi: SudachiTokenizer) -> ClaimChecker:
    return ClaimChecker(sudachi, embedder=None)


def test_claims_skip_framing_and_keep_uncited_sentences(checker: ClaimChecker) -> None:
    answer = (
        "関西広域産業ビジョンには、次の記載があります。\n"
        "関西プラスチックごみゼロ推進事業 (500千円)[1]\n"
        "・関西チャレンジ①は「強みで貢献」です。[2]〔取組アイデア。該当: 万博〕\n"
        "予算は増額されました。\n"
        "【出典】\n[1] 関西広域産業ビジョン — 令和5年度事業（474–484行）"
    )
    assert checker.claims(answer) == [
        ("関西プラスチックごみゼロ推進事業 (500千円)", [1]),
        ("関西チャレンジ①は「強みで貢献」です。", [2]),
        ("予算は増額されました。", []),
    ]


@pytest.mark.parametrize(
    ("claim", "passage", "supported"),
    [
        ("関西プラスチックごみゼロ推進事業の予算は500千円です。", BUDGET, True),
        ("関西プラスチックごみゼロ推進事業の予算は13,043千円です。", BUDGET, False),
        ("令和5年度事業の予算額は55,969千円です。", BUDGET, True),
        ("令和5年度事業の予算額は59,969千円です。", BUDGET, False),
        ("関西チャレンジ②は「強みを活用」です。", TABLE, True),
        ("関西チャレンジ①は「強みを活用」です。", TABLE, False),
        ("関西プラスチックごみゼロ推進事業は行わない。", BUDGET, False),
        ("関西プラスチックごみゼロ推進事業は500千円で、全国最大の環境事業である。", BUDGET, False),
    ],
)
def test_subtle_claims(checker: ClaimChecker, claim: str, passage: str, supported: bool) -> None:
    assert checker.check(claim, [passage]).supported is supported


def test_no_citation_is_no_support(checker: ClaimChecker) -> None:
    assert not checker.check("関西プラスチックごみゼロ推進事業 (500千円)", []).supported


def test_labelled_claims_file_is_big_and_balanced() -> None:
    rows = load_jsonl(DEFAULT_LABELLED)
    assert len(rows) >= 60
    assert {"sentence", "passage", "supported", "note"} <= set(rows[0])
    unsupported = sum(1 for r in rows if not r["supported"])
    assert 0.3 * len(rows) <= unsupported <= 0.7 * len(rows)
    assert sum(1 for r in rows if r["sentence"].isascii()) >= 10  # English paraphrases


def test_checker_agreement_japanese(checker: ClaimChecker) -> None:
    rows = [r for r in load_jsonl(DEFAULT_LABELLED) if not r["sentence"].isascii()]
    a = checker_agreement(checker, rows)
    assert a["accuracy"] >= 0.85, a["mistakes"]
    assert a["precision_unsupported"] >= 0.85
    assert a["recall_unsupported"] >= 0.8


@pytest.mark.slow
def test_checker_agreement_with_the_real_embedder(sudachi: SudachiTokenizer) -> None:
    from assistant.embedding.e5 import E5Embedder

    a = checker_agreement(ClaimChecker(sudachi, E5Embedder()), load_jsonl(DEFAULT_LABELLED))
    # measured 0.893 / 0.939 / 0.816 (84 pairs); see eval/README.md
    assert a["accuracy"] >= 0.85, a["mistakes"]
    assert a["precision_unsupported"] >= 0.85
    assert a["recall_unsupported"] >= 0.75


def test_a_verbatim_quote_of_a_cited_passage_is_supported(checker: ClaimChecker) -> None:
    passage = (
        "・2006年、国連の支援のもと、責任投資原則 (PRI) が発足し、投資家が投資先に対してESG "
        "(環境・社会・ガバナンス) への配慮を求める動きが拡大\n"
        "・2015年、国連サミットで「SDGs (持続可能な開発目標)」が採択"
    )
    quote = (
        "2006年、国連の支援のもと、責任投資原則 (PRI) が発足し、投資家が投資先に対してESG "
        "(環境・社会・ガバナンス) への配慮を求める動きが拡大"
    )
    assert checker.check(quote, [passage]).supported
    assert not checker.check(quote.replace("2006年", "2016年"), [passage]).supported
    assert not checker.check(quote, ["・2015年、国連サミットで「SDGs」が採択"]).supported
