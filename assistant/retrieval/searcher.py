"""Loads the index generation in service and answers searches with it.

Reloads by itself when a new generation is published (``CURRENT`` changes), so a running
service sees the old index or the new one, never a half-built one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from llama_index.core import VectorStoreIndex
from llama_index.core.schema import QueryBundle, TextNode

from assistant.embedding.base import Embedder
from assistant.errors import BadRequest, IndexNotReady, IndexVersionMismatch
from assistant.index.bm25 import load_bm25
from assistant.index.layout import IndexLayout, Manifest
from assistant.index.store import ChromaStore
from assistant.retrieval.hybrid import HybridRetriever
from assistant.retrieval.llama import EmbedderAdapter, SudachiBM25Retriever
from assistant.settings import Settings
from assistant.text.tokenizer import Tokenizer

log = logging.getLogger(__name__)

Method = Literal["hybrid", "dense", "bm25"]


@dataclass
class Passage:
    id: str
    doc_id: str
    title: str
    section: str
    position: dict[str, Any]
    text: str
    score: float
    dense: float | None = None
    lexical: float | None = None
    chunk_index: int = 0

    @classmethod
    def from_record(
        cls,
        rec: dict[str, Any],
        score: float,
        dense: float | None = None,
        lexical: float | None = None,
    ) -> Passage:
        """A passage from a chunk record of the index (``chunks.jsonl``)."""
        return cls(
            id=rec["id"],
            doc_id=rec["doc_id"],
            title=rec["title"],
            section=rec["section"],
            position=rec["position"],
            text=rec["text"],
            score=score,
            dense=dense,
            lexical=lexical,
            chunk_index=rec["chunk_index"],
        )

    def public(self) -> dict[str, Any]:
        """The stable JSON shape (see README): doc_id, title, section, position, text, score."""
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "position": self.position,
            "text": self.text,
            "score": round(self.score, 6),
        }


@dataclass
class LoadedIndex:
    marker: str
    gen: Path
    manifest: Manifest
    records: dict[str, dict[str, Any]]
    order: list[str]
    nodes: list[TextNode]
    bm25: SudachiBM25Retriever
    vector_index: VectorStoreIndex
    store: ChromaStore
    loaded_at: float = field(default_factory=time.time)


class Searcher:
    def __init__(self, settings: Settings, embedder: Embedder, tokenizer: Tokenizer) -> None:
        self.settings = settings
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.layout = IndexLayout(settings.index_dir)
        self._loaded: LoadedIndex | None = None
        self._lock = threading.Lock()
        self._adapter = EmbedderAdapter(embedder)

    # ---- loading ------------------------------------------------------------------------
    def index(self) -> LoadedIndex:
        marker = self.layout.current_marker()
        loaded = self._loaded
        if loaded is not None and loaded.marker == marker:
            return loaded
        with self._lock:
            if self._loaded is None or self._loaded.marker != marker:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> LoadedIndex:
        gen = self.layout.current_generation()
        manifest = self.layout.read_manifest(gen)
        assert gen is not None
        if manifest.embedder != self.embedder.version():
            raise IndexVersionMismatch(
                f"the index was built with {manifest.embedder}, but the configured embedder is "
                f"{self.embedder.version()}",
                "rebuild it with `kansai-assistant ingest`",
            )
        if manifest.tokenizer != self.tokenizer.version():
            raise IndexVersionMismatch(
                f"the index was built with tokenizer {manifest.tokenizer}, now {self.tokenizer.version()}",
                "rebuild it with `kansai-assistant ingest`",
            )
        try:
            records_list = [
                json.loads(x)
                for x in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
                if x
            ]
            bm, ids = load_bm25(gen / "bm25")
        except (OSError, ValueError, KeyError) as exc:
            raise IndexNotReady(
                f"the index in {gen} is damaged or incomplete ({type(exc).__name__})",
                "rebuild it with `kansai-assistant ingest --rebuild`",
            ) from exc
        records = {r["id"]: r for r in records_list}
        if [r["id"] for r in records_list] != ids:
            raise IndexNotReady(
                f"the index in {gen} is inconsistent (BM25 and chunks differ)",
                "rebuild it with `kansai-assistant ingest --rebuild`",
            )
        nodes = [_node(r) for r in records_list]
        s = self.settings
        store = ChromaStore.open(
            gen,
            manifest.chroma.get("mode", "local"),
            manifest.chroma["collection"],
            host=s.chroma_host,
            port=s.chroma_port,
            ssl=s.chroma_ssl,
        )
        vector_index = VectorStoreIndex.from_vector_store(
            store.llama_store(), embed_model=self._adapter
        )
        bm25 = SudachiBM25Retriever(bm, nodes, self.tokenizer, similarity_top_k=s.candidates)
        log.info("loaded index %s (%d chunks)", gen.name, len(records))
        return LoadedIndex(
            marker=gen.name,
            gen=gen,
            manifest=manifest,
            records=records,
            order=ids,
            nodes=nodes,
            bm25=bm25,
            vector_index=vector_index,
            store=store,
        )

    # ---- searching ----------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int | None = None,
        method: Method = "hybrid",
        query_embedding: np.ndarray | None = None,
    ) -> list[Passage]:
        query = (query or "").strip()
        if not query:
            raise BadRequest("the query is empty", "type a question or some keywords")
        k = k or self.settings.top_k
        if k < 1 or k > 100:
            raise BadRequest(f"k must be between 1 and 100 (got {k})")
        idx = self.index()
        s = self.settings
        n = max(k, s.candidates)
        dense_r = None
        bundle = QueryBundle(query_str=query)
        if method in ("hybrid", "dense"):
            vec = (
                query_embedding if query_embedding is not None else self.embedder.embed_query(query)
            )
            bundle.embedding = [float(x) for x in vec]
            dense_r = idx.vector_index.as_retriever(similarity_top_k=min(n, len(idx.order) or 1))
        lexical_r = idx.bm25 if method in ("hybrid", "bm25") else None
        if lexical_r is not None:
            lexical_r.similarity_top_k = min(n, max(1, len(idx.order)))
        hybrid = HybridRetriever(
            dense_r, lexical_r, top_k=k, fusion=s.fusion, dense_weight=s.dense_weight, rrf_k=s.rrf_k
        )
        try:
            results = hybrid.retrieve(bundle)
        except IndexNotReady:
            raise
        except Exception as exc:  # a Chroma server going away mid-query, a damaged segment...
            self._loaded = None
            raise IndexNotReady(
                f"the vector index could not be queried ({type(exc).__name__}: {str(exc)[:120]})",
                "check the Chroma server, or rebuild with `kansai-assistant ingest --rebuild`",
            ) from exc
        comps = hybrid.last_components
        out = []
        for nws in results:
            rec = idx.records.get(nws.node.node_id)
            if rec is None:
                continue
            out.append(
                Passage.from_record(
                    rec,
                    float(nws.score or 0.0),
                    comps["dense"].get(rec["id"]),
                    comps["lexical"].get(rec["id"]),
                )
            )
        return out

    def record(self, chunk_id: str) -> dict[str, Any] | None:
        return self.index().records.get(chunk_id)

    def manifest(self) -> Manifest:
        return self.index().manifest


def _node(rec: dict[str, Any]) -> TextNode:
    return TextNode(
        id_=rec["id"],
        text=rec["text"],
        metadata={"doc_id": rec["doc_id"], "title": rec["title"], "section": rec["section"]},
    )


def passage_dict(p: Passage) -> dict[str, Any]:
    return asdict(p)
