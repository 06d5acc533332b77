"""A deterministic, dependency-free embedder for tests and quick local runs.

Hashes character bigrams and trigrams into a fixed number of buckets, so texts that share
characters get similar vectors; the same text always gives the same vector.
"""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np

from assistant.embedding.base import normalize_rows, scrub


class HashingEmbedder:
    name = "hashing"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _vec(self, text: str) -> np.ndarray:
        text = unicodedata.normalize("NFKC", scrub(text)).lower()
        chars = [c for c in text if not c.isspace()]
        v = np.zeros(self.dim, dtype=np.float32)
        for n in (2, 3):
            for i in range(len(chars) - n + 1):
                gram = "".join(chars[i : i + n]).encode()
                h = int.from_bytes(hashlib.blake2b(gram, digest_size=8).digest(), "little")
                v[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        return v

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalize_rows(np.stack([self._vec(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return normalize_rows(self._vec(text))

    def version(self) -> str:
        return f"hashing=1;dim={self.dim}"


class CountingEmbedder:
    """Wraps an embedder and counts passage embeddings (to test that re-ingest reuses them)
    and query calls (to test that a batch of questions is embedded in batches)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.dim = inner.dim  # type: ignore[attr-defined]
        self.passages_embedded = 0
        self.query_calls = 0  # one per embed_query or embed_queries call
        self.queries_embedded = 0

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.query_calls += 1
        self.queries_embedded += len(texts)
        return np.stack([self.inner.embed_query(t) for t in texts])  # type: ignore[attr-defined]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.passages_embedded += len(texts)
        return self.inner.embed_passages(texts)  # type: ignore[attr-defined,no-any-return]

    def embed_query(self, text: str) -> np.ndarray:
        self.query_calls += 1
        self.queries_embedded += 1
        return self.inner.embed_query(text)  # type: ignore[attr-defined,no-any-return]

    def version(self) -> str:
        return self.inner.version()  # type: ignore[attr-defined,no-any-return]
