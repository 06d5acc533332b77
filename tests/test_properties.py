"""Property-based tests: the cleaner, chunker and tokenizer never crash on arbitrary input,
lose no text, and keep positions that map back to the source."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.text.tokenizer import get_tokenizer
from ingest.chunker import Chunker, heading_level
from ingest.clean import clean_lines, clean_text

JA = "関西広域連合産業ビジョン成長確立。、「」（）・ー ①②あいうえおカキクケコ\t\n"
pieces = st.one_of(
    st.text(alphabet=JA, max_size=80),
    st.text(max_size=40),  # any Unicode, control characters included
    st.sampled_from(
        [
            "\n【取組アイデア】\n",
            "\n● 関西が強みとする分野\n",
            "\n1 世界共通の課題解決\n",
            "\nA 新産業のビジネスエコシステム確立\n",
            "\n- ・域内の拠点の特色\n",
            "<p>成 長</p> <p>産業の 確立</p>\t<p>x</p>\n",
            "\n# 見出し\n",
            "。" * 3,
            "\x00\x07\u200b\ufeff",
        ]
    ),
)
documents = st.lists(pieces, max_size=30).map("".join)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(documents)
def test_cleaner_never_crashes_and_keeps_line_numbers(doc: str) -> None:
    raw = doc.splitlines()
    lines = clean_lines(raw)
    assert all(1 <= ln.line <= max(1, len(raw)) for ln in lines)
    for ln in lines:
        assert "<p>" not in ln.text and "\x00" not in ln.text
    clean_text(doc)


@SLOW
@given(documents, st.integers(min_value=40, max_value=400))
def test_chunker_loses_no_text_and_maps_back(doc: str, target: int) -> None:
    lines = clean_lines(doc.splitlines())
    chunker = Chunker(target=target, limit=target * 2, hard_limit=target * 4)
    chunks = chunker.chunk("doc", "title", lines)
    joined = "".join(c.text.replace("\n", "") for c in chunks)
    by_line: dict[int, list[str]] = {}
    for ln in lines:
        by_line.setdefault(ln.line, []).append(ln.text)
    toc: set[str] = set()
    for i, ln in enumerate(lines):
        if not ln.text or heading_level(lines, i, toc, 0):
            continue
        assert ln.text[:30] in joined  # every content line is in some chunk
    for c in chunks:
        assert c.line_start <= c.line_end
        assert len(c.text) <= chunker.hard_limit * 2
        first = c.text.split("\n", 1)[0]
        source = "".join(t for n in range(c.line_start, c.line_end + 1) for t in by_line.get(n, []))
        assert first[:20] in source  # the position points at the text


@SLOW
@given(st.text(max_size=2000))
def test_tokenizer_never_crashes(text: str) -> None:
    terms = get_tokenizer("sudachi").tokenize(text)
    assert all(isinstance(t, str) and t.strip() for t in terms)


def test_tokenizer_handles_huge_lines() -> None:
    huge = "関西広域産業ビジョン" * 20_000  # 600 kB on one line, past Sudachi's 49,149-byte limit
    assert len(get_tokenizer("sudachi").tokenize(huge)) > 10_000
