"""The dense field as exact cosine over the generation's stored chunk vectors.

Chroma's HNSW search is approximate: on the full corpus (2,914 chunks) it was seen leaving the
two nearest chunks (cosine 0.88) out of its top 30 in one process and not in another, so the
same question got different answers from run to run. With the vectors at hand, an exact
search is a single matrix product (2,914 × 384: well under a millisecond) and gives the same
ranking every time. Chroma stays the store, and the search with a Chroma server, for a
generation without its vectors file, or above ``exact_dense_max`` chunks.

Scores are on Chroma's scale as llama-index reports it for a cosine collection, exp(−distance)
= exp(cos − 1), so the field weights fitted on Chroma's scores keep their meaning."""

from __future__ import annotations

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode


class ExactDenseField(BaseRetriever):
    def __init__(
        self,
        vectors: np.ndarray,
        nodes: list[TextNode],
        query: np.ndarray,
        top_k: int,
        allowed: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self._vectors = vectors
        self._nodes = nodes
        self._query = np.asarray(query, dtype=np.float32)
        self._top_k = top_k
        self._allowed = allowed

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if not len(self._nodes):
            return []
        sims = np.asarray(self._vectors, dtype=np.float32) @ self._query
        if self._allowed is not None:
            sims = np.where(self._allowed, sims, -np.inf)
        k = min(self._top_k, sims.size)
        top = np.argpartition(-sims, k - 1)[:k]
        # best first; the row (the chunk's place in the index) breaks exact ties
        top = top[np.lexsort((top, -sims[top]))]
        return [
            NodeWithScore(node=self._nodes[int(i)], score=float(np.exp(sims[i] - 1.0)))
            for i in top
            if np.isfinite(sims[i])
        ]
