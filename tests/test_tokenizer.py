"""The Sudachi tokenizer that feeds BM25 (real dictionary; it loads in well under a second)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from assistant.text.tokenizer import (
    CharBigramTokenizer,
    SudachiTokenizer,
    Tokenizer,
    split_for_sudachi,
)


def test_particles_auxiliaries_and_symbols_are_dropped(sudachi: SudachiTokenizer) -> None:
    terms = sudachi.tokenize("関西の産業を支える人材が活躍する。")
    assert terms == ["関西", "産業", "支える", "人材", "活躍", "為る"]
    for dropped in ("の", "を", "が", "。"):
        assert dropped not in terms
    assert sudachi.tokenize("「・」、。！？ 　") == []
    assert "た" not in sudachi.tokenize("目標を掲げた")  # 助動詞


def test_normalized_forms(sudachi: SudachiTokenizer) -> None:
    terms = sudachi.tokenize("附属病院でかつ丼を打込む")
    assert {"付属", "カツ丼", "打ち込む"} <= set(terms)
    assert "附属" not in terms
    # full-width input and its half-width spelling give the same terms
    assert sudachi.tokenize("ＧＲＰ額を約１５０兆円") == sudachi.tokenize("GRP額を約150兆円")
    assert "grp" in sudachi.tokenize("GRP額")


def test_modes_c_and_a_are_both_emitted_for_a_compound(sudachi: SudachiTokenizer) -> None:
    terms = sudachi.tokenize("医療機器相談とカーボンニュートラル")
    # mode C keeps the compound, mode A adds its parts right after it
    i = terms.index("医療機器")
    assert terms[i + 1 : i + 3] == ["医療", "機器"]
    j = terms.index("カーボンニュートラル")
    assert terms[j + 1 : j + 3] == ["カーボン", "ニュートラル"]
    only_c = SudachiTokenizer(modes="C").tokenize("医療機器相談")
    assert "医療機器" in only_c and "医療" not in only_c


def test_input_longer_than_sudachis_byte_limit_does_not_crash(sudachi: SudachiTokenizer) -> None:
    no_breaks = "関西広域連合" * 4000  # 72,000 bytes without a sentence end
    assert len(no_breaks.encode()) > 49_149
    terms = sudachi.tokenize(no_breaks)
    assert terms.count("関西") >= 3900
    sentences = "関西の数値目標は約150兆円である。" * 2500
    assert len(sentences.encode()) > 49_149
    assert sudachi.tokenize(sentences).count("目標") == 2500


def test_split_for_sudachi_keeps_every_character_and_the_byte_limit() -> None:
    text = ("関西の産業。" * 5000) + ("あ" * 30000)
    pieces = split_for_sudachi(text, max_bytes=40_000)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 40_000 for p in pieces)


def test_tokenize_from_four_threads_concurrently(sudachi: SudachiTokenizer) -> None:
    texts = [
        f"関西広域連合は第{i}回の会議で数値目標として国内シェア25%を掲げた。" * 20
        for i in range(64)
    ]
    expected = [sudachi.tokenize(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(sudachi.tokenize, texts * 4))
    assert got == expected * 4


def test_version_names_dictionary_and_modes(sudachi: SudachiTokenizer) -> None:
    v = sudachi.version()
    assert "sudachipy=" in v and "sudachidict-core=" in v and "modes=CA" in v
    assert SudachiTokenizer(modes="C").version() != v


def test_both_tokenizers_satisfy_the_seam(sudachi: SudachiTokenizer) -> None:
    bigram = CharBigramTokenizer()
    for tok in (sudachi, bigram):
        assert isinstance(tok, Tokenizer)
    assert bigram.tokenize("関西 広域") == ["関西", "西広", "広域"]
