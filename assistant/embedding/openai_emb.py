"""Any OpenAI-compatible ``/v1/embeddings`` endpoint."""

from __future__ import annotations

import numpy as np

from assistant.embedding.base import normalize_rows, scrub
from assistant.errors import UpstreamModelError


class OpenAIEmbedder:
    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str, timeout: float = 60.0) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=1)
        self._model = model
        self.dim = len(self._embed(["dimension probe"])[0])

    def _embed(self, texts: list[str]) -> np.ndarray:
        import openai

        try:
            resp = self._client.embeddings.create(
                model=self._model, input=[scrub(t) for t in texts]
            )
        except openai.OpenAIError as exc:
            raise UpstreamModelError(
                f"embeddings server failed: {exc}", "check KANSAI_EMBEDDINGS_BASE_URL"
            ) from exc
        return normalize_rows(np.asarray([d.embedding for d in resp.data], dtype=np.float32))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._embed(texts[i : i + 64]) for i in range(0, len(texts), 64)])

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]

    def version(self) -> str:
        return f"openai:{self._model};dim={self.dim}"
