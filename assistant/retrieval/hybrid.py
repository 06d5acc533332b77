"""The hybrid llama-index retriever: dense (Chroma) + Sudachi BM25, fused."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle

from assistant.retrieval.fusion import rrf, weighted


class HybridRetriever(BaseRetriever):
    def __init__(
        self,
        dense: BaseRetriever | None,
        lexical: BaseRetriever | None,
        top_k: int = 5,
        fusion: str = "weighted",
        dense_weight: float = 0.5,
        rrf_k: int = 60,
    ) -> None:
        super().__init__()
        self.dense = dense
        self.lexical = lexical
        self.top_k = top_k
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.rrf_k = rrf_k
        self.last_components: dict[str, dict[str, float]] = {}

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        dense = self.dense.retrieve(query_bundle) if self.dense else []
        lexical = self.lexical.retrieve(query_bundle) if self.lexical else []
        nodes: dict[str, Any] = {}
        d_scores: dict[str, float] = {}
        b_scores: dict[str, float] = {}
        for n in dense:
            nodes.setdefault(n.node.node_id, n.node)
            d_scores[n.node.node_id] = float(n.score or 0.0)
        for n in lexical:
            nodes.setdefault(n.node.node_id, n.node)
            b_scores[n.node.node_id] = float(n.score or 0.0)
        if self.fusion == "rrf":
            ranked = [
                sorted(d_scores, key=lambda k: -d_scores[k]),
                sorted(b_scores, key=lambda k: -b_scores[k]),
            ]
            fused = rrf([r for r in ranked if r], self.rrf_k)
        else:
            fused = weighted(d_scores, b_scores, self.dense_weight)
        self.last_components = {"dense": d_scores, "lexical": b_scores}
        order = sorted(fused, key=lambda k: (-fused[k], -d_scores.get(k, 0.0)))[: self.top_k]
        return [NodeWithScore(node=nodes[k], score=fused[k]) for k in order]
