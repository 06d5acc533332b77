"""Cost growth: ingest stages, query stages and peak memory at 1×, 4×, 16× the corpus.

The corpus at ``m×`` is the base JSQuAD paragraphs repeated ``m`` times under new doc ids
(the same title and text). The real Ingestor, Sudachi, Chroma and bm25s do all the work at
every size; only embedding is not repeated: :class:`CachingEmbedder` embeds each distinct
text once (timed: the per-passage cost) and serves repeats from memory, with a tiny
deterministic jitter so the vector index never holds exact duplicates. The embedding time
at each size is therefore *extrapolated* (per-passage cost × chunks) and labelled so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.schema import QueryBundle

from assistant.embedding.base import Embedder
from assistant.index.bm25 import build_bm25
from assistant.index.layout import IndexLayout
from assistant.retrieval.searcher import Searcher
from assistant.settings import Settings
from assistant.text.tokenizer import Tokenizer, get_tokenizer
from eval.bench import datasets
from eval.bench.machine import latency_summary, peak_mb, reset_peak, rss_mb
from eval.bench.retrieval import Progress
from ingest.chunker import Chunker
from ingest.pipeline import Ingestor

log = logging.getLogger(__name__)

JITTER = 1e-3  # vs unit vectors: changes no neighbour order that matters for cost


# ---- instrumented seams ---------------------------------------------------------------------
class StageClock:
    """Marks stage boundaries; each stage gets its seconds and its own RSS high-water mark."""

    def __init__(self) -> None:
        self.peak_resettable = reset_peak()
        self.last_name = "start"
        self.last_t = time.perf_counter()
        self.stages: dict[str, dict[str, float]] = {}

    def mark(self, next_name: str) -> None:
        now = time.perf_counter()
        if next_name != "end":
            sys.stderr.write(f"  ingest stage: {next_name}\n")
        if self.last_name != "start":
            self.stages[self.last_name] = {
                "seconds": round(now - self.last_t, 3),
                "peak_rss_mb": peak_mb(),
            }
        reset_peak()
        self.last_name, self.last_t = next_name, now

    def ingest_progress(self, stage: str, done: int, total: int) -> None:
        if stage == "read" and self.last_name == "start":  # the first file is being read
            self.mark("load_chunk_tokenize")
        elif stage == "store" and done == 0:
            self.mark("chroma_store")
        elif stage == "store" and done == total:
            self.mark("bm25_build_and_write")


class CachingEmbedder:
    """Embeds each distinct passage text once; repeats come from memory (jittered)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.min_relevance = getattr(inner, "min_relevance", 0.0)
        self.embed_seconds = 0.0
        self.embedded = 0
        self.served = 0
        self.on_first_call: StageClock | None = None
        self._vecs: dict[str, np.ndarray] = {}
        self._uses: dict[str, int] = {}

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if self.on_first_call is not None:
            self.on_first_call.mark("embed")
            self.on_first_call = None
        misses = [t for t in dict.fromkeys(texts) if t not in self._vecs]
        if misses:
            t0 = time.perf_counter()
            vecs = self.inner.embed_passages(misses)
            self.embed_seconds += time.perf_counter() - t0
            self.embedded += len(misses)
            self._vecs.update(zip(misses, np.asarray(vecs, dtype=np.float32), strict=True))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            n = self._uses.get(t, 0)
            self._uses[t] = n + 1
            out[i] = self._vecs[t] if n == 0 else _jitter(self._vecs[t], t, n)
        self.served += len(texts)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def version(self) -> str:
        return self.inner.version()


def _jitter(v: np.ndarray, text: str, n: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(f"{n}\x1f{text}".encode(), digest_size=8).digest())
    w = v + np.random.default_rng(seed).normal(0.0, JITTER, v.shape).astype(np.float32)
    return w / np.linalg.norm(w)


class TimedTokenizer:
    def __init__(self, inner: Tokenizer) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0

    def tokenize(self, text: str) -> list[str]:
        t0 = time.perf_counter()
        out = self.inner.tokenize(text)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out

    def version(self) -> str:
        return self.inner.version()


class TimedChunker(Chunker):
    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def chunk(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = super().chunk(*args, **kwargs)
        self.seconds += time.perf_counter() - t0
        return out


# ---- the corpus at m× ------------------------------------------------------------------------
def write_repeated(ds: datasets.JSQuAD, copies: int, folder: Path) -> Path:
    """``copies`` copies of every paragraph, ``jsq-NNNN-rR.md``, same title and text."""
    docs = folder / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    docs.mkdir(parents=True)
    for r in range(copies):
        for p in ds.paragraphs:
            stem = f"{p.doc_id}-r{r:02d}"
            (docs / f"{stem}.md").write_text(f"# {p.title}\n\n{p.body}\n", encoding="utf-8")
            meta = {"title": p.title, "attribution": datasets.ATTRIBUTION}
            (docs / f"{stem}.meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    return docs


@dataclass
class GrowthConfig:
    base: int  # paragraphs at 1×
    sizes: Sequence[int]
    queries: int
    work: Path
    jsquad: Path


def run(cfg: GrowthConfig, inner: Embedder) -> dict[str, Any]:
    log.info("growth: base %d paragraphs, sizes %s", cfg.base, list(cfg.sizes))
    ds = datasets.load_jsquad(cfg.jsquad, cfg.base, cfg.queries)
    sudachi = get_tokenizer("sudachi")
    embedder = CachingEmbedder(inner)
    questions = [q.text for q in ds.questions]
    qvecs, embed_ms = [], []
    for q in questions:  # the query embedding does not depend on the corpus: measured once
        t0 = time.perf_counter()
        qvecs.append(inner.embed_query(q))
        embed_ms.append((time.perf_counter() - t0) * 1000)
    rows = [_one_size(cfg, ds, m, embedder, sudachi, questions, qvecs) for m in cfg.sizes]
    per_passage = embedder.embed_seconds / max(1, embedder.embedded)
    for r in rows:
        r["ingest"]["embed_extrapolated_s"] = round(per_passage * r["chunks"], 1)
        measured = r["ingest"]["total_s"] - r["ingest"]["stages"].get("embed", {}).get(
            "seconds", 0.0
        )
        r["ingest"]["total_extrapolated_s"] = round(measured + per_passage * r["chunks"], 1)
        r["query"]["embed"] = latency_summary(embed_ms)
    return {
        "base_paragraphs": len(ds.paragraphs),
        "sizes": list(cfg.sizes),
        "queries": len(questions),
        "embedder": inner.version(),
        "embedding": {
            "distinct_passages_embedded": embedder.embedded,
            "seconds": round(embedder.embed_seconds, 2),
            "ms_per_passage": round(1000 * per_passage, 2),
            "served_from_cache": embedder.served - embedder.embedded,
            "note": "each distinct text embedded once (timed); repeats served from memory "
            "with a 1e-3 jitter; embed_extrapolated_s = ms_per_passage × chunks",
        },
        "rows": rows,
    }


def _one_size(
    cfg: GrowthConfig,
    ds: datasets.JSQuAD,
    m: int,
    embedder: CachingEmbedder,
    sudachi: Tokenizer,
    questions: list[str],
    qvecs: list[np.ndarray],
) -> dict[str, Any]:
    folder = cfg.work / "growth" / f"x{m}"
    docs = write_repeated(ds, m, folder)
    index = folder / "index"
    if index.exists():
        shutil.rmtree(index)
    log.info("growth %d×: ingesting %d paragraphs", m, m * len(ds.paragraphs))
    clock, tok, chunker = StageClock(), TimedTokenizer(sudachi), TimedChunker()
    embedder.on_first_call = clock
    settings = Settings(index_dir=index, corpus_dir=docs)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    ingestor = Ingestor(settings, embedder, tok, chunker, progress=clock.ingest_progress)  # type: ignore[arg-type]
    report = ingestor.ingest([docs])
    clock.mark("end")
    total = time.perf_counter() - t0
    stages = clock.stages
    files = stages.get("load_chunk_tokenize", {"seconds": 0.0})
    stages["load_chunk_tokenize"] = {
        **files,
        "tokenize_s": round(tok.seconds, 3),
        "chunk_s": round(chunker.seconds, 3),
        "load_clean_s": round(files["seconds"] - tok.seconds - chunker.seconds, 3),
    }
    records = _records(index)
    t1 = time.perf_counter()
    build_bm25([r["tokens"] for r in records])
    bm25_build = time.perf_counter() - t1
    query = _queries(index, embedder, sudachi, questions, qvecs, f"growth {m}× queries")
    return {
        "multiple": m,
        "paragraphs": m * len(ds.paragraphs),
        "chunks": report.chunks,
        "index_mb": round(_du(index) / 2**20, 1),
        "ingest": {
            "total_s": round(total, 2),
            "stages": stages,
            "bm25_build_only_s": round(bm25_build, 3),
            "rss_before_mb": rss0,
            "peak_resettable": clock.peak_resettable,
        },
        "query": query,
    }


def _records(index: Path) -> list[dict[str, Any]]:
    gen = IndexLayout(index).current_generation()
    assert gen is not None, f"no index in {index}"
    lines = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines if x]


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _queries(
    index: Path,
    embedder: Embedder,
    tokenizer: Tokenizer,
    questions: list[str],
    qvecs: list[np.ndarray],
    label: str,
) -> dict[str, Any]:
    """Load the index, then per query: BM25, vector, the whole hybrid search; fuse = the rest."""
    reset_peak()
    searcher = Searcher(Settings(index_dir=index), embedder, tokenizer)
    t0 = time.perf_counter()
    idx = searcher.index()
    searcher.search(questions[0], k=10, query_embedding=qvecs[0])  # opens Chroma, warms caches
    load_s = time.perf_counter() - t0
    k = searcher.settings.candidates
    idx.bm25.similarity_top_k = k
    bm25, vector, hybrid, fuse = [], [], [], []
    progress = Progress(label, len(questions))
    for i, (q, v) in enumerate(zip(questions, qvecs, strict=True), start=1):
        t1 = time.perf_counter()
        idx.bm25.retrieve(QueryBundle(query_str=q))
        t2 = time.perf_counter()
        idx.store.query(v, k)
        t3 = time.perf_counter()
        searcher.search(q, k=10, query_embedding=v)
        t4 = time.perf_counter()
        bm25.append((t2 - t1) * 1000)
        vector.append((t3 - t2) * 1000)
        hybrid.append((t4 - t3) * 1000)
        fuse.append(max(0.0, hybrid[-1] - bm25[-1] - vector[-1]))
        progress(i)
    return {
        "index_load_s": round(load_s, 3),
        "bm25": latency_summary(bm25),
        "vector": latency_summary(vector),
        "hybrid_search": latency_summary(hybrid),
        "fuse_and_overhead": latency_summary(fuse),
        "fuse_note": "hybrid search (precomputed vector) minus BM25 minus vector lookup, per "
        "query: fusion plus llama-index retriever overhead",
        "peak_rss_mb": peak_mb(),
        "median_hybrid_ms": round(statistics.median(hybrid), 2) if hybrid else 0.0,
    }
