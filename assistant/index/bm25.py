"""BM25 over Sudachi tokens with bm25s, saved beside the vectors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import bm25s
import numpy as np

# bm25s sets its own logger to DEBUG, which prints "Building index from tokens" on every ingest
logging.getLogger("bm25s").setLevel(logging.WARNING)


def build_bm25(token_lists: list[list[str]]) -> bm25s.BM25:
    bm = bm25s.BM25(k1=1.2, b=0.75)
    # bm25s needs at least one token per document; an empty one gets a placeholder
    bm.index([t if t else ["\u0000"] for t in token_lists], show_progress=False)
    return bm


def save_bm25(bm: bm25s.BM25, path: Path, ids: list[str]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    bm.save(str(path))
    (path / "ids.json").write_text(json.dumps(ids), encoding="utf-8")


def load_bm25(path: Path) -> tuple[bm25s.BM25, list[str]]:
    bm = bm25s.BM25.load(str(path), load_corpus=False)
    ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
    return bm, ids


def bm25_scores(bm: bm25s.BM25, tokens: list[str]) -> np.ndarray:
    """Scores for every document (zeros when no query token is in the vocabulary)."""
    known = [t for t in tokens if t in bm.vocab_dict]
    n = int(bm.scores.get("num_docs", 0))
    if not known:
        return np.zeros(n, dtype=np.float32)
    return np.asarray(bm.get_scores(known), dtype=np.float32)
