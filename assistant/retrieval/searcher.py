"""Loads the index generation in service and answers searches with it.

Reloads by itself when a new generation is published (``CURRENT`` changes), so a running
service sees the old index or the new one, never a half-built one.
"""

from __future__ import annotations

import json
import logging
import re
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
from assistant.index.layout import IndexLayout, Manifest, read_outline
from assistant.index.store import ChromaStore
from assistant.retrieval.dense import ExactDenseField
from assistant.retrieval.hybrid import HybridRetriever, Scores
from assistant.retrieval.lexical import BM25Field
from assistant.retrieval.llama import EmbedderAdapter, SudachiBM25Retriever
from assistant.retrieval.phrase import PhraseField, phrase_text
from assistant.retrieval.query import bigram_terms, content_segments, sudachi_terms
from assistant.retrieval.router import DocumentPrior
from assistant.settings import Settings
from assistant.text.tokenizer import SudachiTokenizer, Tokenizer
from ingest.structure import Node

log = logging.getLogger(__name__)

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")

Method = Literal["hybrid", "dense", "bm25", "bigram", "phrase"]
METHODS: tuple[str, ...] = ("hybrid", "dense", "bm25", "bigram", "phrase")


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
    label: str = ""  # the citation: 「中小企業基本法 第2条第1項」 (statutes), "" otherwise
    version: str = ""  # the document's version (a statute's effective date), "" if none

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
            label=str(rec.get("label", "")),
            version=str(rec.get("version", "")),
        )

    def public(self) -> dict[str, Any]:
        """The stable JSON shape (see README): doc_id, title, label, section, position, text…"""
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "title": self.title,
            "label": self.label,
            "version": self.version,
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
    bigram: Any = None  # the character-bigram BM25 field (None in an index built before it)
    vectors: np.ndarray | None = None  # chunk vectors in ``order`` (for exact dense scores)
    rows: dict[str, int] = field(default_factory=dict)  # chunk id → row
    doc_of_row: np.ndarray | None = None  # row → document number (for the documents filter)
    doc_numbers: dict[str, int] = field(default_factory=dict)
    outline: dict[str, list[Node]] = field(default_factory=dict)  # doc id → outline nodes
    phrase_texts: list[str] = field(default_factory=list)  # the phrase field's view, in order
    prior: DocumentPrior | None = None  # how a question's words look like each document's
    loaded_at: float = field(default_factory=time.time)

    def doc_ids(self, wanted: list[str] | None) -> list[str] | None:
        """Document ids (or exact titles) → ids; an unknown one is a clear error."""
        if not wanted:
            return None
        titles: dict[str, list[str]] = {}
        for d in self.manifest.documents.values():
            titles.setdefault(d.title, []).append(d.doc_id)
        out, unknown = [], []
        for w in wanted:
            w = str(w).strip()
            if w in self.manifest.documents:
                out.append(w)
            elif len(titles.get(w, [])) == 1:
                out.append(titles[w][0])
            else:
                unknown.append(w)
        if unknown:
            raise BadRequest(
                f"unknown document {', '.join(repr(u) for u in unknown)}",
                "use a doc_id from GET /api/documents (or `kansai-assistant documents`)",
            )
        return list(dict.fromkeys(out))


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
        bigram = None
        if (gen / "bm25-bigram").exists():
            bigram, bigram_ids = load_bm25(gen / "bm25-bigram")
            if bigram_ids != ids:
                raise IndexNotReady(
                    f"the index in {gen} is inconsistent (bigram BM25 and chunks differ)",
                    "rebuild it with `kansai-assistant ingest --rebuild`",
                )
        try:
            vectors = np.load(gen / "embeddings.npy", mmap_mode="r")
            outline = read_outline(gen)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexNotReady(
                f"the index in {gen} is damaged or incomplete ({type(exc).__name__})",
                "rebuild it with `kansai-assistant ingest --rebuild`",
            ) from exc
        if vectors.shape[0] != len(ids):
            vectors = None
        doc_numbers: dict[str, int] = {}
        doc_of_row = np.asarray(
            [doc_numbers.setdefault(r["doc_id"], len(doc_numbers)) for r in records_list],
            dtype=np.int32,
        )
        phrase_texts = [r.get("phrase_text") or phrase_text(r["index_text"]) for r in records_list]
        log.info("loaded index %s (%d chunks)", gen.name, len(records))
        return LoadedIndex(
            phrase_texts=phrase_texts,
            bigram=bigram,
            vectors=vectors,
            rows={cid: i for i, cid in enumerate(ids)},
            doc_of_row=doc_of_row,
            doc_numbers=doc_numbers,
            outline=outline,
            prior=DocumentPrior(records.values()),
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
        documents: list[str] | None = None,
    ) -> list[Passage]:
        """The top ``k`` passages; ``documents`` (doc ids or exact titles) limits the search."""
        query = (query or "").strip()
        if not query:
            raise BadRequest("the query is empty", "type a question or some keywords")
        k = k or self.settings.top_k
        if k < 1 or k > 100:
            raise BadRequest(f"k must be between 1 and 100 (got {k})")
        if method not in METHODS:
            raise BadRequest(f"unknown method {method!r}", f"use one of {', '.join(METHODS)}")
        idx = self.index()
        wanted = idx.doc_ids(documents)
        allowed = self._allowed(idx, wanted)
        s = self.settings
        n = min(max(k, s.candidates), max(1, len(idx.order)))
        weights = self._weights(idx, method, query)
        bundle = QueryBundle(query_str=query)
        fields: dict[str, Any] = {}
        qvec: np.ndarray | None = None
        if "dense" in weights:
            qvec = (
                query_embedding if query_embedding is not None else self.embedder.embed_query(query)
            )
            bundle.embedding = [float(x) for x in qvec]
            if (
                idx.vectors is not None
                and not s.chroma_is_server
                and len(idx.nodes) <= s.exact_dense_max
            ):
                fields["dense"] = ExactDenseField(idx.vectors, idx.nodes, qvec, n, allowed)
            else:
                fields["dense"] = idx.vector_index.as_retriever(
                    similarity_top_k=n, filters=_doc_filter(wanted)
                )
        lexical: dict[str, BM25Field | PhraseField] = {}
        if "bm25" in weights:
            terms = sudachi_terms(query, self.tokenizer, s.query_terms)
            lexical["bm25"] = BM25Field(idx.bm25.bm25, idx.nodes, terms, n, allowed)
        if "bigram" in weights:
            sud = self.tokenizer if isinstance(self.tokenizer, SudachiTokenizer) else None
            terms = bigram_terms(query, sud, s.query_terms)
            lexical["bigram"] = BM25Field(idx.bigram, idx.nodes, terms, n, allowed)
        if "phrase" in weights:
            sud = self.tokenizer if isinstance(self.tokenizer, SudachiTokenizer) else None
            phrases = content_segments(query, sud) if sud is not None else query.split()
            lexical["phrase"] = PhraseField(idx.phrase_texts, idx.nodes, phrases, n, allowed)  # type: ignore[assignment]
        fields.update(lexical)
        fill = self._filler(idx, qvec, lexical) if s.fill_scores else None
        chunk_weight = None
        if s.doc_prior > 0 and idx.prior is not None and wanted is None:
            terms = sudachi_terms(query, self.tokenizer, s.query_terms)
            by_doc = idx.prior.weights(terms, s.doc_prior)
            if by_doc:
                records = idx.records

                def chunk_weight(cid: str) -> float:
                    rec = records.get(cid)
                    return by_doc.get(rec["doc_id"], 1.0) if rec else 1.0

        hybrid = HybridRetriever(
            fields,
            weights,
            top_k=k,
            fusion=s.fusion,
            rrf_k=s.rrf_k,
            fill=fill,
            doc_decay=s.doc_decay,
            chunk_weight=chunk_weight,
        )
        try:
            results = hybrid.retrieve(bundle)
        except (IndexNotReady, BadRequest):
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
            if rec is None or (wanted is not None and rec["doc_id"] not in wanted):
                continue
            out.append(
                Passage.from_record(
                    rec,
                    float(nws.score or 0.0),
                    comps.get("dense", {}).get(rec["id"]),
                    comps.get("bm25", {}).get(rec["id"]),
                )
            )
        return out

    def _weights(self, idx: LoadedIndex, method: str, query: str = "") -> dict[str, float]:
        """Field weights: one field for dense/bm25/bigram, the configured fusion for hybrid.

        Character bigrams and verbatim phrases are for Japanese: a query without a kana or
        kanji (plain English) leaves those two fields out, so letter pairs of English words
        do not match the corpus's few Latin lines (「UNION OF KANSAI GOVERNMENTS」)."""
        if method != "hybrid":
            if method == "bigram" and idx.bigram is None:
                raise IndexNotReady(
                    "this index has no bigram field (built by an older version)",
                    "rebuild it with `kansai-assistant ingest --rebuild`",
                )
            return {method: 1.0}
        s = self.settings
        japanese = bool(_JAPANESE.search(query)) or not query
        bigram = s.bigram_weight if idx.bigram is not None and japanese else 0.0
        phrase = s.phrase_weight if japanese else 0.0
        rest = 1.0 - s.dense_weight - s.bigram_weight - s.phrase_weight
        weights = {"dense": s.dense_weight, "bm25": max(0.0, rest)}
        if bigram > 0:
            weights["bigram"] = bigram
        if phrase > 0:
            weights["phrase"] = phrase
        return {f: w for f, w in weights.items() if w > 0}

    @staticmethod
    def _allowed(idx: LoadedIndex, wanted: list[str] | None) -> np.ndarray | None:
        if wanted is None or idx.doc_of_row is None:
            return None
        numbers = [idx.doc_numbers[d] for d in wanted if d in idx.doc_numbers]
        return np.isin(idx.doc_of_row, numbers)

    @staticmethod
    def _filler(
        idx: LoadedIndex, qvec: np.ndarray | None, lexical: dict[str, BM25Field | PhraseField]
    ) -> Any:
        """Every candidate's score in every field: BM25 from the full score arrays, dense as
        the exact cosine with the stored chunk vectors (the same as Chroma's for cosine)."""

        def fill(scores: Scores) -> None:
            keys = [key for key in {k for f in scores.values() for k in f} if key in idx.rows]
            rows = np.asarray([idx.rows[key] for key in keys], dtype=np.int64)
            if not keys:
                return
            for name, fld in lexical.items():
                if fld.scores.size:
                    vals = fld.scores[rows]
                    scores[name] = {key: float(v) for key, v in zip(keys, vals, strict=True)}
            if "dense" in scores and qvec is not None and idx.vectors is not None:
                sims = np.asarray(idx.vectors[rows], dtype=np.float32) @ np.asarray(
                    qvec, dtype=np.float32
                )
                scores["dense"] = {key: float(v) for key, v in zip(keys, sims, strict=True)}

        return fill

    def record(self, chunk_id: str) -> dict[str, Any] | None:
        return self.index().records.get(chunk_id)

    def manifest(self) -> Manifest:
        return self.index().manifest

    def outline(self, doc_id: str) -> list[Node]:
        """The document's outline nodes (statutes: articles, paragraphs, items), in order."""
        return self.index().outline.get(doc_id, [])


def _node(rec: dict[str, Any]) -> TextNode:
    return TextNode(
        id_=rec["id"],
        text=rec["text"],
        metadata={"doc_id": rec["doc_id"], "title": rec["title"], "section": rec["section"]},
    )


def _doc_filter(wanted: list[str] | None) -> Any:
    """A llama-index metadata filter for the documents filter (Chroma ``$in``)."""
    if not wanted:
        return None
    from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

    from ingest.pipeline import DOC_KEY

    return MetadataFilters(
        filters=[MetadataFilter(key=DOC_KEY, value=list(wanted), operator=FilterOperator.IN)]
    )


def passage_dict(p: Passage) -> dict[str, Any]:
    return asdict(p)
