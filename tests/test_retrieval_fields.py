"""Many documents: the documents filter, the bigram field, score filling, per-document decay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.embedding.fake import CountingEmbedder, HashingEmbedder
from assistant.errors import BadRequest
from assistant.retrieval.fusion import diversify, rrf_fields, weighted_fields
from assistant.retrieval.query import bigram_terms, content_segments, sudachi_terms
from assistant.retrieval.searcher import Searcher
from assistant.settings import Settings
from assistant.text.tokenizer import CharBigramTokenizer, SudachiTokenizer
from ingest.pipeline import Ingestor
from tests.conftest import CORPUS_DOC_ID, CORPUS_FILE, CORPUS_META, PROJECT

SME = PROJECT / "corpus" / "related" / "338AC0000000154_20250401_506AC0000000023.html"
TOURISM = PROJECT / "corpus" / "related" / "418AC1000000117_20070101_000000000000000.html"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, sudachi: SudachiTokenizer) -> Settings:
    root = tmp_path_factory.mktemp("many")
    corpus = root / "corpus"
    corpus.mkdir()
    for f in (CORPUS_FILE, CORPUS_META, SME, TOURISM):
        shutil.copy(f, corpus / f.name)
    settings = Settings(index_dir=root / "index", embedder="fake", corpus_dir=corpus)
    Ingestor(settings, HashingEmbedder(), sudachi).ingest([corpus])
    return settings


def _searcher(settings: Settings, sudachi: SudachiTokenizer, **over: object) -> Searcher:
    return Searcher(settings.model_copy(update=over), HashingEmbedder(), sudachi)


# ---- pure parts --------------------------------------------------------------------------------
def test_weighted_fields_combines_normalised_scores_and_skips_an_empty_field() -> None:
    fields = {"dense": {"a": 0.9, "b": 0.5}, "bm25": {"a": 0.0, "b": 4.0}, "bigram": {}}
    fused = weighted_fields(fields, {"dense": 0.5, "bm25": 0.3, "bigram": 0.2})
    assert fused["a"] == pytest.approx(0.5 / 0.8) and fused["b"] == pytest.approx(0.3 / 0.8)
    only_dense = weighted_fields(
        {"dense": {"a": 0.9, "b": 0.5}, "bm25": {"a": 0.0}}, {"dense": 0.5, "bm25": 0.5}
    )
    assert only_dense == {"a": 1.0, "b": 0.0}


def test_rrf_fields_rewards_agreement() -> None:
    fused = rrf_fields({"x": {"a": 3, "b": 2}, "y": {"b": 5, "c": 1}}, {"x": 1, "y": 1})
    assert max(fused, key=fused.__getitem__) == "b"


def test_diversify_discounts_repeated_documents() -> None:
    ranked = ["a1", "a2", "a3", "b1"]
    scores = {"a1": 1.0, "a2": 0.95, "a3": 0.9, "b1": 0.8}
    doc = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    assert diversify(ranked, scores, doc, 1.0, 3) == ["a1", "a2", "a3"]
    assert diversify(ranked, scores, doc, 0.7, 3) == ["a1", "b1", "a2"]


def test_content_terms_leave_out_how_the_question_is_asked(sudachi: SudachiTokenizer) -> None:
    q = "小規模企業者とは何人以下の事業者ですか？"
    assert "ですか" not in "".join(content_segments(q, sudachi))
    assert "すか" not in bigram_terms(q, sudachi, "content")
    assert "すか" in bigram_terms(q, sudachi, "all")
    assert bigram_terms(q, sudachi, "all") == CharBigramTokenizer().tokenize(q)
    assert "何" in sudachi_terms("何をしますか", sudachi, "all")
    assert "何" not in sudachi_terms("何人以下の事業者", sudachi, "content")
    assert sudachi_terms("何", sudachi, "content") == ["何"]  # never an empty query


# ---- the searcher over several documents ---------------------------------------------------------
def test_documents_filter_limits_every_method(index: Settings, sudachi: SudachiTokenizer) -> None:
    s = _searcher(index, sudachi, bigram_weight=0.2)
    doc = SME.stem
    for method in ("hybrid", "dense", "bm25", "bigram"):
        hits = s.search("中小企業の振興", k=5, method=method, documents=[doc])  # type: ignore[arg-type]
        assert hits and {p.doc_id for p in hits} == {doc}, method
    vision = s.search("中小企業の振興", k=5, documents=[CORPUS_DOC_ID])
    assert vision and {p.doc_id for p in vision} == {CORPUS_DOC_ID}


def test_documents_filter_accepts_titles_and_rejects_unknown_ids(
    index: Settings, sudachi: SudachiTokenizer
) -> None:
    s = _searcher(index, sudachi)
    hits = s.search("基本理念", k=3, documents=["観光立国推進基本法"])
    assert {p.doc_id for p in hits} == {TOURISM.stem}
    with pytest.raises(BadRequest) as err:
        s.search("基本理念", documents=["no-such-law"])
    assert "no-such-law" in err.value.message and "documents" in (err.value.hint or "")


def test_statute_passages_carry_their_citation_label(
    index: Settings, sudachi: SudachiTokenizer
) -> None:
    s = _searcher(index, sudachi)
    hits = s.search("小規模企業者 従業員 二十人", k=3, method="bm25", documents=[SME.stem])
    top = hits[0].public()
    assert top["label"] == "中小企業基本法 第2条" and top["version"] == "2025-04-01"
    assert top["title"] == "中小企業基本法"


def test_arabic_query_finds_the_kanji_figure(index: Settings, sudachi: SudachiTokenizer) -> None:
    for method in ("bm25", "bigram"):
        hits = _searcher(index, sudachi).search(
            "小規模企業者 20人以下",
            k=3,
            method=method,
            documents=[SME.stem],  # type: ignore[arg-type]
        )
        assert any("二十人" in p.text for p in hits), method


def test_filled_scores_give_every_passage_a_dense_similarity(
    index: Settings, sudachi: SudachiTokenizer
) -> None:
    plain = _searcher(index, sudachi, fill_scores=False).search("中小企業政策審議会", k=8)
    filled = _searcher(index, sudachi, fill_scores=True).search("中小企業政策審議会", k=8)
    assert all(p.dense is not None for p in filled)
    assert len(filled) == len(plain)


def test_per_document_decay_lets_other_documents_into_the_top(
    index: Settings, sudachi: SudachiTokenizer
) -> None:
    q = "中小企業"
    plain = _searcher(index, sudachi, candidates=200).search(q, k=5, method="bm25")
    assert {p.doc_id for p in plain} == {SME.stem}  # one law fills the top…
    spread = _searcher(index, sudachi, candidates=200, doc_decay=0.3).search(q, k=5, method="bm25")
    assert CORPUS_DOC_ID in {p.doc_id for p in spread}  # …unless its repeats are discounted
    assert spread[0].id == plain[0].id


def test_outline_is_loaded_with_the_index(index: Settings, sudachi: SudachiTokenizer) -> None:
    s = _searcher(index, sudachi)
    nodes = s.outline(SME.stem)
    assert any(n.label == "第2条第1項第1号" for n in nodes)
    vision = s.outline(CORPUS_DOC_ID)  # a text document's outline: headings, leads, items
    assert any(n.kind.value == "lead" and "4つのバリュー" in n.text for n in vision)


# ---- the CLI ------------------------------------------------------------------------------------
def test_cli_search_doc_option(index: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    ix = ["--index", str(index.index_dir), "--embedder", "fake"]
    assert main(["search", "基本理念", "--doc", TOURISM.stem, "--json", *ix]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["results"] and {r["doc_id"] for r in out["results"]} == {TOURISM.stem}
    assert main(["search", "基本理念", "--doc", "nope", *ix]) == 1
    assert "unknown document 'nope'" in capsys.readouterr().err


def test_search_batch_embeds_questions_in_batches(
    index: Settings,
    sudachi: SudachiTokenizer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from assistant import cli

    counting = CountingEmbedder(HashingEmbedder())
    monkeypatch.setattr(
        cli, "_engine", lambda args: _FakeEngine(Searcher(index, counting, sudachi))
    )
    batch = tmp_path / "q.jsonl"
    lines = [json.dumps({"question": f"中小企業の施策 {i}"}, ensure_ascii=False) for i in range(70)]
    lines.insert(3, "not json")
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["search", "--batch", str(batch), "--k", "2"]) == 1  # one bad line
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(out) == 71 and out[3] == {"line": 4, "error": out[3]["error"]}
    assert sum("results" in o for o in out) == 70
    assert counting.queries_embedded == 70 and counting.query_calls == 2  # 64 + 6


class _FakeEngine:
    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher


def test_phrase_field_prefers_the_whole_phrase() -> None:
    from assistant.retrieval.phrase import phrase_scores, phrase_text

    texts = [
        phrase_text(t)
        for t in ("第45回衆議院議員総選挙では", "第47回衆議院議員総選挙では", "選挙の話")
    ]
    s = phrase_scores(texts, ["第45回衆議院議員総選挙", "投開票日"])
    assert s[0] > 0 and s[1] == 0 and s[2] == 0
    rare_and_long = phrase_scores(texts, ["衆議院議員総選挙", "選挙"])
    assert rare_and_long[0] > rare_and_long[2] > 0


def test_phrase_method_searches_with_kanji_numerals(
    index: Settings, sudachi: SudachiTokenizer
) -> None:
    hits = _searcher(index, sudachi).search(
        "小規模企業者の従業員は20人以下ですか", k=3, method="phrase"
    )
    assert hits and hits[0].label == "中小企業基本法 第2条"
