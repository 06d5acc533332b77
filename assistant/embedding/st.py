"""sentence-transformers models (e.g. ruri-v3) from a local path or the HF cache (offline)."""

from __future__ import annotations

import numpy as np

from assistant.embedding.base import normalize_rows, scrub
from assistant.errors import ConfigError


class SentenceTransformerEmbedder:
    name = "sentence-transformers"

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError(
                "sentence-transformers is not installed",
                "pip install sentence-transformers, or use KANSAI_EMBEDDER=e5",
            ) from exc
        self._model_name = model
        self._m = SentenceTransformer(model, local_files_only=True)
        self.dim = int(self._m.get_sentence_embedding_dimension() or 0)
        self._qp, self._pp = query_prefix, passage_prefix

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        vecs = self._m.encode([self._pp + scrub(t) for t in texts], normalize_embeddings=True)
        return normalize_rows(np.asarray(vecs))

    def embed_query(self, text: str) -> np.ndarray:
        return normalize_rows(
            np.asarray(self._m.encode(self._qp + scrub(text), normalize_embeddings=True))
        )

    def version(self) -> str:
        return f"sentence-transformers:{self._model_name};dim={self.dim}"
