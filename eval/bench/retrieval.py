"""Retrieval measurements: rank metrics, latency, the stock llama-index baseline, the floor.

Every variant is run over precomputed query embeddings (``query_embedding=``), so fusion
variants never re-embed and the latencies are retrieval only; the floor reports what one
query embedding adds.
"""

from __future__ import annotations

import hashlib
import logging
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.text import detect_lang
from assistant.embedding.base import Embedder, embed_queries
from assistant.retrieval.searcher import Method, Searcher
from assistant.settings import Settings
from assistant.text.bilingual import lexical_query
from assistant.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)

K = 10  # ranks scored (MRR@10, nDCG@10)


# ---- metrics --------------------------------------------------------------------------------
def rank_metrics(relevant: Sequence[bool], n_relevant: int) -> dict[str, float]:
    """hit@1, hit@5, MRR@10 and nDCG@10 (binary gains) of one ranked list."""
    rel = list(relevant)[:K]
    first = next((i for i, r in enumerate(rel) if r), None)
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(rel) if r)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(n_relevant, K)))
    return {
        "hit@1": float(first is not None and first < 1),
        "hit@5": float(first is not None and first < 5),
        "mrr@10": 0.0 if first is None else 1.0 / (first + 1),
        "ndcg@10": dcg / idcg if idcg > 0 else 0.0,
    }


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else 0.0


def summarize(per_query: list[dict[str, float]], latencies_ms: list[float]) -> dict[str, float]:
    out = {m: round(statistics.fmean(r[m] for r in per_query), 4) for m in per_query[0]}
    out["p50_ms"] = round(percentile(latencies_ms, 50), 2)
    out["p95_ms"] = round(percentile(latencies_ms, 95), 2)
    out["queries"] = len(per_query)
    return out


# ---- a query set: texts, vectors, and how to judge a hit ---------------------------------
@dataclass
class QuerySet:
    """Questions with their vectors and a judge: ``relevant(i, doc_id, text) -> bool``."""

    name: str
    texts: list[str]
    vectors: np.ndarray
    relevant: Callable[[int, str, str], bool]
    n_relevant: Callable[[int], int]
    dedupe_docs: bool  # JSQuAD ranks paragraphs (documents), the eval set ranks chunks


def _judge(qs: QuerySet, i: int, hits: list[tuple[str, str, str]]) -> list[bool]:
    """Relevance of a ranked list of (key, doc_id, text); JSQuAD counts each document once."""
    seen: set[str] = set()
    out = []
    for key, doc_id, text in hits:
        k = doc_id if qs.dedupe_docs else key
        if k in seen:
            continue
        seen.add(k)
        out.append(qs.relevant(i, doc_id, text))
    return out


class Progress:
    """Progress lines on stderr, at most one every two seconds per task."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if done == self.total or now - self.last >= 2.0:
            self.last = now
            rate = done / max(now - self.started, 1e-9)
            eta = (self.total - done) / rate if rate else 0.0
            sys.stderr.write(
                f"\r  {self.label}: {done}/{self.total} ({rate:.0f}/s, eta {eta:.0f}s)   "
            )
            if done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def run_variant(
    label: str, qs: QuerySet, search: Callable[[int], list[tuple[str, str, str]]]
) -> dict[str, float]:
    """Time ``search(i)`` for every query and score its top-10."""
    per_query, lat = [], []
    search(0)  # warm-up: loads the index, opens Chroma
    progress = Progress(f"{qs.name} {label}", len(qs.texts))
    for i in range(len(qs.texts)):
        t0 = time.perf_counter()
        hits = search(i)
        lat.append((time.perf_counter() - t0) * 1000)
        per_query.append(rank_metrics(_judge(qs, i, hits), qs.n_relevant(i)))
        progress(i + 1)
    return summarize(per_query, lat)


# ---- our pipeline ------------------------------------------------------------------------
# The fusion before statutes and the bigram field: dense + Sudachi BM25, nothing filled.
BEFORE = {
    "bigram_weight": 0.0,
    "phrase_weight": 0.0,
    "fill_scores": False,
    "query_terms": "all",
    "doc_decay": 1.0,
}


@dataclass(frozen=True)
class Variant:
    """One retriever: a search method and the settings it overrides (none = the defaults)."""

    name: str
    method: Method
    overrides: tuple[tuple[str, Any], ...] = ()


def _v(name: str, method: Method, **over: Any) -> Variant:
    return Variant(name, method, tuple(sorted(over.items())))


def our_variants(bigram: bool = True) -> list[Variant]:
    """Single fields, the earlier hybrids (for comparison) and the default the answers use."""
    out = [
        _v("dense", "dense"),
        _v("bm25-sudachi", "bm25", query_terms="all"),
    ]
    if bigram:
        out.append(_v("bm25-bigram", "bigram", query_terms="all"))  # the plain baseline
        out.append(_v("phrase", "phrase"))
    # the hybrid before the statutes (weighted 0.5 was the default; 0.3–0.7 tied on JSQuAD)
    out.append(_v("hybrid-weighted-0.5", "hybrid", fusion="weighted", dense_weight=0.5, **BEFORE))
    out.append(_v("hybrid-rrf-60", "hybrid", fusion="rrf", dense_weight=0.5, **BEFORE))
    if bigram:
        out.append(_v("hybrid-default", "hybrid"))  # Settings() as shipped: the chosen fusion
    return out


def our_searcher(index_dir: Path, embedder: Embedder, tokenizer: Tokenizer, v: Variant) -> Searcher:
    settings = Settings(index_dir=index_dir, rrf_k=60, **dict(v.overrides))
    return Searcher(settings, embedder, tokenizer)


def run_ours(v: Variant, searcher: Searcher, qs: QuerySet) -> dict[str, float]:
    """Our retrieval as the answers use it: an English question's lexical side looks for the
    documents' Japanese words (assistant.text.bilingual); JSQuAD is all Japanese."""

    def search(i: int) -> list[tuple[str, str, str]]:
        text = lexical_query(qs.texts[i], detect_lang(qs.texts[i]))
        hits = searcher.search(text, k=K, method=v.method, query_embedding=qs.vectors[i])
        return [(p.id, p.doc_id, p.text) for p in hits]

    return run_variant(v.name, qs, search)


# ---- embeddings: timed, and cached on disk ------------------------------------------------
class TimedEmbedder:
    """Wraps an embedder and adds up the seconds spent embedding passages."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.passages = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.embed_passages(texts)
        self.seconds += time.perf_counter() - t0
        self.passages += len(texts)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return embed_queries(self.inner, texts)

    def version(self) -> str:
        return self.inner.version()


class EmbeddingCache:
    """Vectors by (embedder version, kind, text) in one ``.npz``, so reruns embed nothing."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.path = path
        self.embedder = embedder
        self._vecs: dict[str, np.ndarray] = {}
        self._dirty = False
        if path.exists():
            with np.load(path) as z:
                self._vecs = dict(zip(z["keys"].tolist(), z["vecs"], strict=True))

    def _key(self, kind: str, text: str) -> str:
        raw = f"{self.embedder.version()}\x1f{kind}\x1f{text}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def put_passages(self, texts: Sequence[str], vecs: np.ndarray) -> None:
        for t, v in zip(texts, vecs, strict=True):
            self._vecs[self._key("passage", t)] = np.asarray(v, dtype=np.float32)
        self._dirty = True

    def passages(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Vectors for ``texts``; returns (matrix, how many had to be embedded)."""
        keys = [self._key("passage", t) for t in texts]
        todo = sorted({i for i, k in enumerate(keys) if k not in self._vecs})
        if todo:
            vecs = self.embedder.embed_passages([texts[i] for i in todo])
            self.put_passages([texts[i] for i in todo], vecs)
        return np.stack([self._vecs[k] for k in keys]) if keys else np.zeros((0, 0)), len(todo)

    def queries(self, texts: Sequence[str], label: str) -> np.ndarray:
        keys = [self._key("query", t) for t in texts]
        todo = [i for i, k in enumerate(keys) if k not in self._vecs]
        progress = Progress(f"embed {label} queries", len(todo))
        step = 64  # batched: one model call per 64 questions
        for start in range(0, len(todo), step):
            idx = todo[start : start + step]
            vecs = embed_queries(self.embedder, [texts[i] for i in idx])
            for i, v in zip(idx, vecs, strict=True):
                self._vecs[keys[i]] = v
            progress(start + len(idx))
            if (start // step) % 8 == 7:
                self._dirty = True
                self.save()
        self._dirty = self._dirty or bool(todo)
        return np.stack([self._vecs[k] for k in keys])

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = list(self._vecs)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.asarray(keys), vecs=np.stack([self._vecs[k] for k in keys]))
        tmp.replace(self.path)
        self._dirty = False


# ---- the stock llama-index pipeline ----------------------------------------------------------
@dataclass
class StockPipeline:
    """llama-index as shipped: SentenceSplitter nodes, VectorStoreIndex on Chroma, BM25Retriever."""

    dense: Any
    bm25: Any
    nodes: list[Any]
    embedded: int
    seconds: float

    @classmethod
    def build(
        cls,
        docs: list[tuple[str, str]],
        embedder: Embedder,
        cache: EmbeddingCache,
        chroma_dir: Path,
        collection: str,
    ) -> StockPipeline:
        """``docs`` are (doc_id, text); every setting is passed explicitly, no global Settings."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.schema import MetadataMode
        from llama_index.retrievers.bm25 import BM25Retriever
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from assistant.retrieval.llama import EmbedderAdapter

        t0 = time.perf_counter()
        documents = [Document(text=text, id_=doc_id) for doc_id, text in docs]
        nodes = SentenceSplitter().get_nodes_from_documents(documents)  # its default sizes
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        vecs, embedded = cache.passages(texts)
        for n, v in zip(nodes, vecs, strict=True):
            n.embedding = v.tolist()
        client = chromadb.PersistentClient(
            path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
        if collection in [c.name for c in client.list_collections()]:
            client.delete_collection(collection)
        store = ChromaVectorStore(chroma_collection=client.create_collection(collection))
        index = VectorStoreIndex(
            nodes,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=EmbedderAdapter(embedder),
        )
        dense = index.as_retriever(similarity_top_k=K)
        bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=K)
        return cls(dense, bm25, nodes, embedded, round(time.perf_counter() - t0, 3))

    def run(self, which: str, qs: QuerySet) -> dict[str, float]:
        from llama_index.core.schema import QueryBundle

        retriever = self.dense if which == "dense" else self.bm25

        def search(i: int) -> list[tuple[str, str, str]]:
            bundle = QueryBundle(query_str=qs.texts[i])
            if which == "dense":
                bundle.embedding = [float(x) for x in qs.vectors[i]]
            hits = retriever.retrieve(bundle)
            return [(h.node.node_id, h.node.ref_doc_id or "", h.node.get_content()) for h in hits]

        return run_variant(f"stock-{which}", qs, search)


# ---- the floor: the three steps every hybrid query pays --------------------------------------
def floor(
    searcher: Searcher, embedder: Embedder, texts: list[str], vectors: np.ndarray, n: int = 200
) -> dict[str, float]:
    """p50 ms of one query embedding, one BM25 lookup (tokenize + score), one Chroma lookup."""
    from llama_index.core.schema import QueryBundle

    idx = searcher.index()
    k = searcher.settings.candidates
    idx.bm25.similarity_top_k = k
    step = max(1, len(texts) // n)
    picks = list(range(0, len(texts), step))[:n]
    embed, bm25, vector, tokenize = [], [], [], []
    progress = Progress("floor", len(picks))
    for done, i in enumerate(picks, start=1):
        t0 = time.perf_counter()
        embedder.embed_query(texts[i])
        t1 = time.perf_counter()
        searcher.tokenizer.tokenize(texts[i])
        t2 = time.perf_counter()
        idx.bm25.retrieve(QueryBundle(query_str=texts[i]))
        t3 = time.perf_counter()
        idx.store.query(vectors[i], k)
        t4 = time.perf_counter()
        embed.append((t1 - t0) * 1000)
        tokenize.append((t2 - t1) * 1000)
        bm25.append((t3 - t2) * 1000)
        vector.append((t4 - t3) * 1000)
        progress(done)
    return {
        "query_embedding_p50_ms": round(percentile(embed, 50), 2),
        "bm25_lookup_p50_ms": round(percentile(bm25, 50), 2),
        "sudachi_tokenize_p50_ms": round(percentile(tokenize, 50), 2),
        "vector_lookup_p50_ms": round(percentile(vector, 50), 2),
        "samples": len(picks),
        "candidates": k,
    }
