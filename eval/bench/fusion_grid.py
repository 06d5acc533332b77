"""Fusion settings explored offline: every field scored once per query, then any fusion in numpy.

For each query the dense similarities (exact cosine with the stored chunk vectors) and the BM25
scores of every chunk in every lexical field are computed once; a fusion setting (which fields,
their weights, weighted or RRF, filling missing scores, per-document decay) is then replayed
exactly as :class:`assistant.retrieval.searcher.Searcher` does it, in a fraction of a second per
setting. The chosen setting is confirmed with the real Searcher in the benchmark run.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from assistant.index.bm25 import bm25_scores
from assistant.retrieval.fusion import diversify, rrf_fields, weighted_fields
from assistant.retrieval.phrase import phrase_scores
from assistant.retrieval.query import bigram_terms, content_segments, sudachi_terms
from assistant.retrieval.searcher import Searcher
from assistant.text.tokenizer import SudachiTokenizer
from eval.bench.retrieval import K, rank_metrics


@dataclass(frozen=True)
class Setting:
    dense: float = 0.5
    bigram: float = 0.0  # Sudachi BM25 gets 1 - dense - bigram - phrase
    phrase: float = 0.0
    fusion: str = "weighted"
    fill: bool = False
    query_terms: str = "all"
    decay: float = 1.0
    candidates: int = 30

    @property
    def name(self) -> str:
        sud = round(1 - self.dense - self.bigram - self.phrase, 2)
        parts = [f"d{self.dense:.2f}/s{sud:.2f}/b{self.bigram:.2f}/p{self.phrase:.2f}", self.fusion]
        if self.fill:
            parts.append("fill")
        parts.append(f"q-{self.query_terms}")
        if self.decay < 1:
            parts.append(f"decay{self.decay:g}")
        return " ".join(parts)

    def weights(self) -> dict[str, float]:
        w = {
            "dense": self.dense,
            "bm25": 1 - self.dense - self.bigram - self.phrase,
            "bigram": self.bigram,
            "phrase": self.phrase,
        }
        return {f: v for f, v in w.items() if v > 1e-9}

    def settings(self) -> dict[str, Any]:
        """The same setting as ``Settings`` fields (KANSAI_* variables)."""
        return {
            "dense_weight": self.dense,
            "bigram_weight": self.bigram,
            "phrase_weight": self.phrase,
            "fusion": self.fusion,
            "fill_scores": self.fill,
            "query_terms": self.query_terms,
            "doc_decay": self.decay,
            "candidates": self.candidates,
        }


@dataclass
class Scored:
    """One query set's per-field score matrices over one index."""

    name: str
    chunk_ids: list[str]
    doc_of: list[str]
    fields: dict[str, np.ndarray]  # "dense", "bm25:all", "bm25:content", "bigram:all", … → (q, n)
    relevant: list[set[int]]  # relevant chunk rows per query
    dedupe_docs: bool
    n_relevant: list[int]


def score_fields(
    searcher: Searcher,
    name: str,
    texts: list[str],
    vectors: np.ndarray,
    relevant: Callable[[int, dict[str, Any]], bool],
    dedupe_docs: bool,
    lexical_texts: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Scored:
    """``lexical_texts``: what the lexical fields look up (English → the Japanese word list)."""
    idx = searcher.index()
    assert idx.vectors is not None, "the index has no stored vectors"
    records = [idx.records[i] for i in idx.order]
    lex = lexical_texts or texts
    sud = searcher.tokenizer
    assert isinstance(sud, SudachiTokenizer)
    mats: dict[str, np.ndarray] = {
        "dense": np.asarray(vectors, dtype=np.float32) @ np.asarray(idx.vectors, dtype=np.float32).T
    }
    n = len(records)
    for key in ("bm25:all", "bm25:content", "bigram:all", "bigram:content", "phrase"):
        mats[key] = np.zeros((len(texts), n), dtype=np.float32)
    for i, q in enumerate(lex):
        for mode in ("all", "content"):
            mats[f"bm25:{mode}"][i] = bm25_scores(idx.bm25.bm25, sudachi_terms(q, sud, mode))  # type: ignore[arg-type]
            if idx.bigram is not None:
                terms = bigram_terms(q, sud, mode)  # type: ignore[arg-type]
                mats[f"bigram:{mode}"][i] = bm25_scores(idx.bigram, terms)
        mats["phrase"][i] = phrase_scores(idx.phrase_texts, content_segments(q, sud))  # type: ignore[arg-type]
        if progress:
            progress(i + 1)
    rel = [{j for j, r in enumerate(records) if relevant(i, r)} for i in range(len(texts))]
    counts = [min(1, len(r)) if r else 0 for r in rel] if dedupe_docs else [len(r) for r in rel]
    return Scored(
        name,
        [r["id"] for r in records],
        [r["doc_id"] for r in records],
        mats,
        rel,
        dedupe_docs,
        counts,
    )


def _top(row: np.ndarray, n: int) -> np.ndarray:
    n = min(n, row.size)
    top = np.argpartition(-row, n - 1)[:n]
    return top[np.argsort(-row[top], kind="stable")]


def ranking(sc: Scored, q: int, s: Setting, k: int = K) -> list[int]:
    """The rows the Searcher would return for query ``q`` under setting ``s``."""
    weights = s.weights()
    mats = {
        "dense": sc.fields["dense"],
        "bm25": sc.fields[f"bm25:{s.query_terms}"],
        "bigram": sc.fields[f"bigram:{s.query_terms}"],
        "phrase": sc.fields["phrase"],
    }
    scores: dict[str, dict[int, float]] = {}
    cands: set[int] = set()
    for f in weights:
        row = mats[f][q]
        top = _top(row, s.candidates)
        if f != "dense":
            top = top[row[top] > 0]
        scores[f] = {int(j): float(row[j]) for j in top}
        cands.update(scores[f])
    if s.fill:
        for f in weights:
            row = mats[f][q]
            scores[f] = {j: float(row[j]) for j in cands}
    str_scores = {f: {str(j): v for j, v in d.items()} for f, d in scores.items()}
    if len(weights) == 1:
        fused = next(iter(str_scores.values()))
    elif s.fusion == "rrf":
        fused = rrf_fields(str_scores, weights)
    else:
        fused = weighted_fields(str_scores, weights)
    dense = str_scores.get("dense", {})
    ranked = sorted(fused, key=lambda x: (-fused[x], -dense.get(x, 0.0)))
    doc_of = {x: sc.doc_of[int(x)] for x in ranked}
    return [int(x) for x in diversify(ranked, fused, doc_of, s.decay, k)]


def evaluate(sc: Scored, s: Setting, queries: Iterable[int] | None = None) -> dict[str, float]:
    rows = []
    for q in queries if queries is not None else range(len(sc.relevant)):
        seen: set[str] = set()
        judged = []
        for j in ranking(sc, q, s):
            key = sc.doc_of[j] if sc.dedupe_docs else str(j)
            if key in seen:
                continue
            seen.add(key)
            judged.append(j in sc.relevant[q])
        rows.append(rank_metrics(judged, sc.n_relevant[q]))
    if not rows:
        return {}
    return {m: round(statistics.fmean(r[m] for r in rows), 4) for m in rows[0]} | {
        "queries": len(rows)
    }


def grid(base: Setting | None = None) -> list[Setting]:
    """The settings tried: field weights on a 0.1 grid, fill on/off, query terms, and RRF."""
    base = base or Setting()
    out = []
    for dense, bigram, phrase in itertools.product(
        [0.2, 0.3, 0.4, 0.5], [0.0, 0.1, 0.2, 0.3], [0.0, 0.1, 0.2, 0.3]
    ):
        if dense + bigram + phrase > 1.0 + 1e-9:
            continue
        for fill, terms in itertools.product([False, True], ["all", "content"]):
            out.append(
                replace(
                    base, dense=dense, bigram=bigram, phrase=phrase, fill=fill, query_terms=terms
                )
            )
    for fill, terms in itertools.product([False, True], ["all", "content"]):
        out.append(
            replace(
                base,
                dense=0.25,
                bigram=0.25,
                phrase=0.25,
                fusion="rrf",
                fill=fill,
                query_terms=terms,
            )
        )
    return out
