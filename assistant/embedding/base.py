"""``Embedder``: passages and queries in, L2-normalised float32 vectors out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from assistant.settings import Settings


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def version(self) -> str: ...


def embed_queries(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Many questions at once: the embedder's batched ``embed_queries`` when it has one."""
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    batched = getattr(embedder, "embed_queries", None)
    if callable(batched):
        return np.asarray(batched(texts), dtype=np.float32)
    return np.vstack([embedder.embed_query(t) for t in texts]).astype(np.float32)


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD: a model reads UTF-8, and a surrogate
    (from a ``"\\ud800"`` JSON escape, or a file read with ``surrogateescape``) has none."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def normalize_rows(mat: np.ndarray) -> np.ndarray:
    mat = np.asarray(mat, dtype=np.float32)
    if mat.ndim == 1:
        n = float(np.linalg.norm(mat))
        return mat / n if n > 0 else mat
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (mat / norms).astype(np.float32)


def build_embedder(settings: Settings) -> Embedder:
    from assistant.settings import EmbedderKind

    kind = settings.embedder
    if kind is EmbedderKind.e5:
        from assistant.embedding.e5 import E5Embedder

        return E5Embedder(max_query_tokens=settings.max_query_tokens)
    if kind is EmbedderKind.fake:
        from assistant.embedding.fake import HashingEmbedder

        return HashingEmbedder()
    if kind is EmbedderKind.sentence_transformers:
        from assistant.embedding.st import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings.embedder_model)
    from assistant.embedding.openai_emb import OpenAIEmbedder

    return OpenAIEmbedder(
        base_url=settings.embeddings_base_url,
        model=settings.embedder_model or "text-embedding-3-small",
        api_key=settings.embeddings_api_key.get_secret_value()
        if settings.embeddings_api_key
        else "unused",
    )
