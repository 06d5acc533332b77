"""The embedder seam and its implementations."""

from assistant.embedding.base import Embedder, build_embedder

__all__ = ["Embedder", "build_embedder"]
