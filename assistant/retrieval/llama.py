"""llama-index adapters: our embedder as a ``BaseEmbedding``, Sudachi BM25 as a retriever.

llama-index's stock ``BM25Retriever`` tokenizes with an English regex and stemmer (Japanese
scores 0), so :class:`SudachiBM25Retriever` overrides retrieval with our tokenizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.retrievers.bm25 import BM25Retriever
from pydantic import PrivateAttr

from assistant.embedding.base import Embedder
from assistant.index.bm25 import bm25_scores
from assistant.retrieval.lexical import top_nodes
from assistant.text.tokenizer import Tokenizer


class EmbedderAdapter(BaseEmbedding):
    """Passes our :class:`Embedder` to llama-index explicitly (never its global Settings)."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.version(), embed_batch_size=32, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in self._embedder.embed_passages([text])[0]]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return np.asarray(self._embedder.embed_passages(texts)).tolist()  # type: ignore[no-any-return]


class SudachiBM25Retriever(BM25Retriever):
    """BM25 over Sudachi terms (bm25s index built at ingest)."""

    def __init__(
        self,
        bm25: Any,
        nodes: list[TextNode],
        tokenizer: Tokenizer,
        similarity_top_k: int = 10,
    ) -> None:
        self._nodes = nodes
        self._tokenizer = tokenizer
        super().__init__(
            existing_bm25=bm25, similarity_top_k=max(1, min(similarity_top_k, len(nodes) or 1))
        )

    def scores(self, query: str) -> np.ndarray:
        return bm25_scores(self.bm25, self._tokenizer.tokenize(query))

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        scores = self.scores(query_bundle.query_str)
        return top_nodes(self._nodes, scores, self.similarity_top_k)
