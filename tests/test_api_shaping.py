"""The message text as clients see it (assistant/api/shaping.py) and the model gate that keeps
questions ahead of a background ingest (assistant/embedding/gate.py)."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answer.types import Citation
from assistant.api.shaping import (
    TextShaper,
    estimate_tokens,
    sources_text,
    token_counter,
    used_citations,
)
from assistant.embedding.gate import ModelGate

ANSWER = (
    "資料には、次の記載があります。\n"
    "関西広域連合は水素ステーションの整備を進めます。[1]\n"
    "関西は蓄電池産業の集積地です。[2]\n"
)


def shaped(pieces: list[str], **kw: object) -> tuple[str, TextShaper]:
    s = TextShaper(**kw)  # type: ignore[arg-type]
    out = "".join(s.feed(p) for p in pieces) + s.finish()
    assert out == s.text
    return out, s


def splits(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(len(text), c) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


def test_whitespace_at_both_ends_is_dropped_like_the_answer_json() -> None:
    out, _ = shaped(["\n", "  ", ANSWER, "\n", ""])
    assert out == ANSWER.strip()


@settings(max_examples=200, deadline=None)
@given(
    text=st.sampled_from(
        [ANSWER, "  a。b[1]\n\nc.[2] d!", "Stop here STOP and there", "x\n\n\ny", "。。。[1][2]"]
    ),
    cuts=st.lists(st.integers(0, 60), max_size=8),
    stop=st.sampled_from([(), ("STOP",), ("。",), ("\n\n", "[2]"), ("蓄電池",)]),
    max_tokens=st.sampled_from([None, 1, 5, 12, 30, 1000]),
)
def test_the_text_never_depends_on_how_it_was_streamed(
    text: str, cuts: list[int], stop: tuple[str, ...], max_tokens: int | None
) -> None:
    whole, a = shaped([text], stop=stop, max_tokens=max_tokens)
    streamed, b = shaped(splits(text, cuts), stop=stop, max_tokens=max_tokens)
    assert streamed == whole
    assert a.finish_reason == b.finish_reason and a.cut == b.cut
    for s in stop:
        assert s not in whole
    if max_tokens is not None:
        assert estimate_tokens(whole) <= max_tokens


def test_stop_sequences_cut_and_the_reason_is_stop() -> None:
    out, s = shaped([ANSWER], stop=["蓄電池"])
    assert (
        out
        == "資料には、次の記載があります。\n関西広域連合は水素ステーションの整備を進めます。[1]\n関西は"
    )
    assert s.finish_reason == "stop" and s.cut


def test_max_tokens_keeps_whole_sentences_with_their_markers() -> None:
    budget = estimate_tokens(
        "資料には、次の記載があります。\n関西広域連合は水素ステーションの整備を進めます。[1]\n"
    )
    out, s = shaped(splits(ANSWER, [3, 20, 40]), max_tokens=budget + 2)
    assert (
        out == "資料には、次の記載があります。\n関西広域連合は水素ステーションの整備を進めます。[1]"
    )
    assert s.finish_reason == "length"
    tiny, t = shaped([ANSWER], max_tokens=3)
    assert tiny == "資料に" and t.finish_reason == "length"
    assert "[" not in shaped(["ab[12]cd"], max_tokens=3)[0]  # never half a marker


def test_used_citations_and_the_sources_list() -> None:
    cites = [
        Citation(
            1,
            "d",
            "関西広域産業ビジョン",
            "目標 > 【数値目標】",
            {"line_start": 213, "line_end": 216},
            "t",
            1.0,
        ),
        Citation(2, "d", "関西広域産業ビジョン", "", {"page_start": 3}, "t", 0.5),
    ]
    assert [c.n for c in used_citations("文[2]", cites)] == [2]
    ja = sources_text(cites, "ja")
    assert (
        ja
        == "出典:\n[1] 関西広域産業ビジョン — 【数値目標】（213–216行）\n[2] 関西広域産業ビジョン（3ページ）"
    )
    en = sources_text(cites[:1], "en")
    assert en == "Sources:\n[1] 関西広域産業ビジョン — 【数値目標】 (lines 213–216)"
    assert sources_text([], "ja") == ""


def test_token_counts() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("水素") == 2 and estimate_tokens("hydrogen station") == 4
    assert estimate_tokens("GRP 2040年, 40兆円!") == 8  # GRP 2040 年 , 40 兆 円 !

    class Counting:
        def token_count(self, text: str) -> int:
            return 3 + len(text)  # 3 for the prefix and special tokens

    count = token_counter(Counting())
    assert count("") == 0 and count("abcd") == 4
    assert token_counter(object()) is estimate_tokens


# ---- the model gate ---------------------------------------------------------------------------------
def test_a_waiting_query_goes_before_a_waiting_passage_batch() -> None:
    gate = ModelGate(max_wait_s=30)
    order: list[str] = []
    release = threading.Event()

    def holder() -> None:
        with gate.hold(1):
            release.wait(10)

    def use(name: str, cost: float, bulk: bool) -> None:
        with gate.hold(cost, bulk=bulk):
            order.append(name)

    h = threading.Thread(target=holder)
    h.start()
    time.sleep(0.05)
    threads = [
        threading.Thread(target=use, args=("bulk", 1e9, True)),
        threading.Thread(target=use, args=("long query", 60, False)),
        threading.Thread(target=use, args=("short query", 10, False)),
    ]
    for t in threads:
        t.start()
        time.sleep(0.05)  # in this order
    release.set()
    for t in [h, *threads]:
        t.join(10)
    assert order == ["short query", "long query", "bulk"]


def test_neither_a_long_question_nor_a_passage_batch_starves() -> None:
    clock = [0.0]
    gate = ModelGate(max_wait_s=2.0, clock=lambda: clock[0])
    from assistant.embedding.gate import _Waiter

    bulk = _Waiter(1e9, True, 0, since=0.0)
    long_q = _Waiter(64, False, 1, since=0.0)
    gate._waiting = [bulk, long_q, _Waiter(10, False, 2, since=0.0)]
    assert gate._next().cost == 10  # the cheap question first
    clock[0] = 1.0
    gate._waiting = [bulk, long_q, _Waiter(10, False, 3, since=1.0)]  # short ones keep coming
    assert gate._next().cost == 10
    clock[0] = 2.5  # the batch and the long question have waited past max_wait_s
    assert gate._next() is bulk  # oldest first
    gate._waiting.remove(bulk)
    assert gate._next() is long_q
    assert not gate.queries_recently()


@pytest.mark.slow
def test_e5_caps_a_long_query_and_counts_tokens() -> None:
    from assistant.embedding.e5 import E5Embedder

    e5 = E5Embedder(max_query_tokens=64)
    long_q = "関西広域産業ビジョンの数値目標について、" * 60 + "教えてください。"
    capped = e5.cap_query(long_q)
    assert long_q.startswith(capped) and len(capped) < len(long_q)
    assert (
        e5.token_count(capped, is_query=True)
        <= 64
        < e5.token_count(capped + long_q[len(capped) :][:5], is_query=True)
    )
    assert e5.cap_query("短い質問") == "短い質問"
    assert (e5.embed_query(long_q) == e5.embed_query(capped)).all()
    assert e5.embed_query("GRP\ud800").shape == (384,)  # a lone surrogate is replaced, not fatal
