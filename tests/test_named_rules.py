"""What a question names as an ordinance or rule, as a whole (the judge requires it written)."""

from __future__ import annotations

import pytest

from assistant.answer.judge import _NAMED_RULES


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("大阪府の中小企業振興基本条例では、小規模事業者をどう定義？", "中小企業振興基本条例"),
        ("京都府中小企業応援条例の目的は何ですか", "京都府中小企業応援条例"),
        (
            "滋賀県の中小企業の活性化に関する条例で、県が作る計画は？",
            "滋賀県の中小企業の活性化に関する条例",
        ),
        ("奈良県観光振興に関する条例の目的を教えて", "奈良県観光振興に関する条例"),
        ("市の補助金交付要綱には何が書いてある？", "補助金交付要綱"),
    ],
)
def test_an_ordinance_is_named_as_a_whole(question: str, name: str) -> None:
    assert _NAMED_RULES.findall(question) == [name]


@pytest.mark.parametrize(
    "question",
    [
        "条例の制定又は改廃の請求は誰ができますか",
        "地方自治法の条例の制定について教えて",
        "条例で定めることとされている事項は？",
    ],
)
def test_the_word_ordinance_alone_names_none(question: str) -> None:
    assert _NAMED_RULES.findall(question) == []
