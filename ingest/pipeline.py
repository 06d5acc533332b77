"""Incremental, crash-safe ingest.

Each run writes a complete new index generation and publishes it atomically (see
:mod:`assistant.index.layout`). Unchanged files keep their chunks; vectors are reused by
content hash, so re-running on unchanged files embeds nothing. A different embedder or
tokenizer version than the one recorded forces a rebuild, and says so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding.base import Embedder
from assistant.errors import IngestError
from assistant.index.bm25 import build_bm25, save_bm25
from assistant.index.layout import (
    FORMAT_VERSION,
    DocumentEntry,
    IndexLayout,
    Manifest,
    read_outline,
    write_outline,
)
from assistant.index.store import ChromaStore, drop_server_collection
from assistant.retrieval.phrase import phrase_text
from assistant.settings import Settings
from assistant.text.tokenizer import CharBigramTokenizer, Tokenizer
from ingest.chunker import Chunk, Chunker
from ingest.converters import converter_for
from ingest.loaders import LoadedDoc, SkipFile, discover, load
from ingest.structure import Node

log = logging.getLogger(__name__)

CHUNKER_VERSION = "structure-v4;outline-v1;statute-v2;phrase-v1"
DOC_KEY = "kansai_doc_id"  # Chroma metadata key of the document id (the documents filter)
Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    generation: str = ""
    up_to_date: bool = False
    rebuilt_reason: str = ""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    reused_vectors: int = 0
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage (read, embed…)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        return d


def doc_id_for(path: Path) -> str:
    stem = path.name
    for suffix in (".txt", ".md", ".markdown", ".html", ".htm", ".pdf"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    slug = re.sub(r"[\s/\\#?%]+", "-", stem).strip("-.") or "document"
    return slug[:120]


def chunk_record(c: Chunk, tokens: list[str]) -> dict[str, Any]:
    """A chunk as stored in ``chunks.jsonl``; ``label`` is its citation (statutes: law + article)."""
    return {
        "id": c.chunk_id,
        "doc_id": c.doc_id,
        "title": c.title,
        "headings": c.headings,
        "section": c.section,
        "text": c.text,
        "index_text": c.index_text(),
        "chunk_index": c.index,
        "position": c.position,
        "content_hash": c.content_hash,
        "label": str(c.extra.get("label", "")),
        "version": str(c.extra.get("version", "")),
        "tokens": tokens,
    }


def chroma_metadata(rec: dict[str, Any]) -> dict[str, Any]:
    md: dict[str, Any] = {
        "doc_id": rec["doc_id"],  # llama-index overwrites this key with its own ref doc id…
        DOC_KEY: rec["doc_id"],  # …so the documents filter uses this one
        "title": rec["title"],
        "section": rec["section"],
        "chunk_index": rec["chunk_index"],
    }
    if rec.get("label"):
        md["label"] = rec["label"]
    for k, v in rec["position"].items():
        if v is not None:
            md[k] = v
    return md


def _vector_key(index_text: str) -> str:
    return hashlib.sha256(index_text.encode()).hexdigest()


class Ingestor:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        tokenizer: Tokenizer,
        chunker: Chunker | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.chunker = chunker or Chunker()
        self._report_progress = progress or (lambda stage, done, total: None)
        self._stage_times: dict[str, list[float]] = {}
        self.layout = IndexLayout(settings.index_dir)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Pass progress on, and time each stage (first to last report of it)."""
        now = time.perf_counter()
        span = self._stage_times.setdefault(stage, [now, now])
        span[1] = now
        self._report_progress(stage, done, total)

    def _stage_seconds(self, started: float) -> dict[str, float]:
        out, prev_end = {}, started
        for stage, (first, last) in self._stage_times.items():
            # a stage's first report comes after its first unit of work: count from the last stage's end
            out[stage] = round(last - min(first, prev_end), 3)
            prev_end = last
        return out

    # ---- public -------------------------------------------------------------------------
    def ingest(self, paths: list[Path], rebuild: bool = False) -> IngestReport:
        started = time.perf_counter()
        self._stage_times = {}
        with self.layout.writer_lock():
            self.layout.cleanup()
            report = self._ingest(paths, rebuild)
        report.seconds = round(time.perf_counter() - started, 3)
        report.stages = self._stage_seconds(started)
        return report

    def remove(self, doc_ids: list[str]) -> IngestReport:
        """Delete documents from the index (a new generation without them)."""
        started = time.perf_counter()
        with self.layout.writer_lock():
            prev, records, vectors = self._previous()
            if prev is None:
                raise IngestError(
                    "there is no index to delete from", "run `kansai-assistant ingest`"
                )
            missing = [d for d in doc_ids if d not in prev.documents]
            if missing:
                from assistant.errors import NotFound

                raise NotFound(
                    f"no document with id {', '.join(missing)}", "see `kansai-assistant documents`"
                )
            keep_docs = {k: v for k, v in prev.documents.items() if k not in doc_ids}
            if not keep_docs:  # BM25 cannot be built over zero documents
                raise IngestError(
                    "cannot delete every document: the index would be empty",
                    f"ingest the replacement first, or remove the folder {self.settings.index_dir}",
                )
            keep = [i for i, r in enumerate(records) if r["doc_id"] in keep_docs]
            report = IngestReport(removed=list(doc_ids))
            report.generation = self._write(
                prev,
                keep_docs,
                [records[i] for i in keep],
                vectors[keep] if len(keep) else None,
                report,
            )
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    # ---- internals ----------------------------------------------------------------------
    def _previous(self) -> tuple[Manifest | None, list[dict[str, Any]], np.ndarray]:
        self._prev_outline: dict[str, list[Node]] = {}
        gen = self.layout.current_generation()
        if gen is None:
            return None, [], np.zeros((0, self.embedder.dim), dtype=np.float32)
        try:
            manifest = self.layout.read_manifest(gen)
            records = [
                json.loads(x)
                for x in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
                if x
            ]
            vectors = np.load(gen / "embeddings.npy")
            self._prev_outline = read_outline(gen)
        except Exception as exc:  # a damaged previous index is rebuilt from the files
            log.warning("previous index unreadable (%s): rebuilding from scratch", exc)
            return None, [], np.zeros((0, self.embedder.dim), dtype=np.float32)
        return manifest, records, vectors

    def _ingest(self, paths: list[Path], rebuild: bool) -> IngestReport:
        report = IngestReport()
        prev, prev_records, prev_vectors = self._previous()
        reason = ""
        if prev is not None:
            if prev.embedder != self.embedder.version():
                reason = f"embedding model changed ({prev.embedder} → {self.embedder.version()})"
            elif prev.format != FORMAT_VERSION:
                reason = f"index format changed ({prev.format} → {FORMAT_VERSION})"
            elif prev.chroma.get("mode") != (
                "server" if self.settings.chroma_is_server else "local"
            ):
                reason = "Chroma mode changed (embedded folder ↔ server)"
        if rebuild and prev is not None:
            reason = reason or "--rebuild requested"
        if reason:
            report.rebuilt_reason = reason
            log.warning("rebuilding the whole index: %s", reason)
        retok = prev is not None and prev.tokenizer != self.tokenizer.version()
        rechunk = prev is not None and prev.chroma.get("chunker") != CHUNKER_VERSION

        files, skipped = discover(paths)
        report.skipped = [(str(p), r) for p, r in skipped]
        roots = [p.resolve() for p in paths]

        # previous records grouped by document; vectors by content
        by_doc: dict[str, list[int]] = {}
        for i, r in enumerate(prev_records):
            by_doc.setdefault(r["doc_id"], []).append(i)
        cache: dict[str, np.ndarray] = {}
        if not reason:
            for i, r in enumerate(prev_records):
                if i < len(prev_vectors):
                    cache[_vector_key(r["index_text"])] = prev_vectors[i]

        documents: dict[str, DocumentEntry] = {}
        records: list[dict[str, Any]] = []
        outline: dict[str, list[Node]] = {}
        fresh: list[dict[str, Any]] = []  # records still to tokenize
        seen_paths: set[str] = set()
        for n, path in enumerate(files, start=1):
            self.progress("read", n - 1, len(files))
            try:
                doc = load(path)
            except SkipFile as exc:
                report.skipped.append((str(path), str(exc)))
                continue
            doc_id = doc_id_for(path)
            if doc_id in documents:  # two files with the same name in one ingest
                doc_id = f"{doc_id}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:6]}"
            seen_paths.add(str(path.resolve()))
            old = prev.documents.get(doc_id) if prev else None
            if old and old.sha256 == doc.sha256 and not (reason or retok or rechunk):
                recs = [prev_records[i] for i in by_doc.get(doc_id, [])]
                outline[doc_id] = self._prev_outline.get(doc_id, [])
                report.unchanged.append(doc_id)
            else:
                try:
                    recs, nodes = self._chunk_doc(doc_id, doc)
                except Exception as exc:  # one bad file must not stop the ingest
                    report.skipped.append(
                        (str(path), f"could not be chunked ({type(exc).__name__}: {exc})")
                    )
                    continue
                if not recs:
                    report.skipped.append((str(path), "no text left after cleaning"))
                    continue
                outline[doc_id] = nodes
                fresh.extend(recs)
                (report.changed if old else report.added).append(doc_id)
            documents[doc_id] = DocumentEntry(
                doc_id=doc_id,
                path=str(path.resolve()),
                sha256=doc.sha256,
                title=recs[0]["title"],
                chunk_ids=[r["id"] for r in recs],
                pages=len(doc.pages) if doc.paged else None,
                meta=_document_meta(doc.meta),
            )
            records.extend(recs)

        self.progress("read", len(files), len(files))

        # documents not part of this ingest: kept, unless their file was under an ingested root
        if prev:
            for doc_id, entry in prev.documents.items():
                if doc_id in documents:
                    continue
                p = Path(entry.path)
                under_root = any(p == r or r in p.parents for r in roots)
                if under_root and str(p) not in seen_paths:
                    report.removed.append(doc_id)
                    continue
                documents[doc_id] = entry
                records.extend(prev_records[i] for i in by_doc.get(doc_id, []))
                outline[doc_id] = self._prev_outline.get(doc_id, [])

        if not documents:
            if report.skipped:
                raise IngestError(
                    f"nothing to index: all {len(report.skipped)} file(s) were skipped",
                    "fix or remove the files listed above",
                )
            raise IngestError(
                "nothing to index: no supported files found",
                "pass .txt, .md, .html or .pdf files or folders",
            )

        if (
            prev is not None
            and not reason
            and not report.added
            and not report.changed
            and not report.removed
            and not retok
            and set(documents) == set(prev.documents)
        ):
            report.up_to_date = True
            report.generation = prev.generation
            report.chunks = prev.chunk_count
            return report

        todo = records if retok else fresh
        for n, r in enumerate(todo, start=1):
            if n % 50 == 0 or n == len(todo):
                self.progress("tokenize", n, len(todo))
            r["tokens"] = self.tokenizer.tokenize(r["index_text"])
            r["phrase_text"] = phrase_text(r["index_text"])

        vectors = self._vectors(records, cache, report)
        report.generation = self._write(prev, documents, records, vectors, report, outline)
        return report

    def _chunk_doc(self, doc_id: str, doc: LoadedDoc) -> tuple[list[dict[str, Any]], list[Node]]:
        """Records (tokens filled in later, in one counted pass) and the outline with chunk ids."""
        converted = converter_for(doc, self.chunker).convert(doc_id, doc)
        records = [chunk_record(c, []) for c in converted.chunks]
        return records, fill_chunk_ids(converted.outline, converted.chunks)

    def _vectors(
        self, records: list[dict[str, Any]], cache: dict[str, np.ndarray], report: IngestReport
    ) -> np.ndarray:
        dim = self.embedder.dim
        out = np.zeros((len(records), dim), dtype=np.float32)
        todo: list[int] = []
        for i, r in enumerate(records):
            v = cache.get(_vector_key(r["index_text"]))
            if v is not None and v.shape == (dim,):
                out[i] = v
                report.reused_vectors += 1
            else:
                todo.append(i)
        batch = max(1, self.settings.embed_batch_size)
        for start in range(0, len(todo), batch):
            idx = todo[start : start + batch]
            out[idx] = self.embedder.embed_passages([records[i]["index_text"] for i in idx])
            self.progress("embed", min(start + batch, len(todo)), len(todo))
        report.embedded = len(todo)
        return out

    def _write(
        self,
        prev: Manifest | None,
        documents: dict[str, DocumentEntry],
        records: list[dict[str, Any]],
        vectors: np.ndarray | None,
        report: IngestReport,
        outline: dict[str, list[Node]] | None = None,
    ) -> str:
        if outline is None:
            outline = {d: self._prev_outline.get(d, []) for d in documents}
        if vectors is None:
            vectors = np.zeros((0, self.embedder.dim), dtype=np.float32)
        s = self.settings
        partial = self.layout.new_generation()
        gen_name = partial.name
        mode = "server" if s.chroma_is_server else "local"
        collection = "kansai-" + gen_name.replace("gen-", "").lower()
        self.progress("store", 0, len(records))
        store = ChromaStore.open(
            partial,
            mode,
            collection,
            host=s.chroma_host,
            port=s.chroma_port,
            ssl=s.chroma_ssl,
            create=True,
        )
        try:
            ids = [r["id"] for r in records]
            if records:
                store.upsert(
                    ids,
                    vectors,
                    [r["text"] for r in records],
                    [chroma_metadata(r) for r in records],
                )
            self.progress("store", len(records), len(records))
            self.progress("bm25", 0, 2)
            save_bm25(build_bm25([r["tokens"] for r in records]), partial / "bm25", ids)
            bigram = CharBigramTokenizer()
            save_bm25(
                build_bm25([bigram.tokenize(r["index_text"]) for r in records]),
                partial / "bm25-bigram",
                ids,
            )
            self.progress("bm25", 2, 2)
            write_outline(partial, [n for d in documents for n in outline.get(d, [])])
            with open(partial / "chunks.jsonl", "w", encoding="utf-8") as fh:
                for r in records:
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            np.save(partial / "embeddings.npy", vectors)
            manifest = Manifest(
                format=FORMAT_VERSION,
                generation=gen_name,
                created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                tokenizer=self.tokenizer.version(),
                embedder=self.embedder.version(),
                dim=self.embedder.dim,
                chroma={"mode": mode, "collection": collection, "chunker": CHUNKER_VERSION},
                documents=documents,
                chunk_count=len(records),
            )
            (partial / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        except BaseException:
            if mode == "server":
                drop_server_collection(s.chroma_host, s.chroma_port, s.chroma_ssl, collection)
            raise
        del store
        self.layout.publish(partial)
        report.chunks = len(records)
        removed = self.layout.cleanup()
        if mode == "server":
            for name in removed:
                old = "kansai-" + name.replace("gen-", "").lower()
                drop_server_collection(s.chroma_host, s.chroma_port, s.chroma_ssl, old)
        return gen_name


def fill_chunk_ids(nodes: list[Node], chunks: list[Chunk]) -> list[Node]:
    """Nodes without a chunk get the chunk whose lines hold theirs; a heading, which no chunk
    holds as text, gets the first chunk after it (the one it leads into)."""
    if not chunks:
        return nodes
    spans = sorted(
        ((c.page_start, c.line_start, c.line_end, c.chunk_id) for c in chunks),
        key=lambda t: (t[0] or 0, t[1]),
    )
    out = []
    for n in nodes:
        if n.chunk_id:
            out.append(n)
            continue
        page = n.page or 0
        held = next((cid for p, a, b, cid in spans if (p or 0) == page and a <= n.line <= b), "")
        if not held:
            held = next((cid for p, a, _b, cid in spans if ((p or 0), a) > (page, n.line)), "")
        out.append(n.with_chunk(held) if held else n)
    return out


def _document_meta(meta: dict[str, object]) -> dict[str, Any]:
    """What a document entry keeps of its loader's metadata (a statute's law name, version)."""
    keep = (
        "kind",
        "law_name",
        "law_num",
        "law_num_arabic",
        "law_id",
        "effective",
        "amended_by",
        "source",
    )
    return {k: meta[k] for k in keep if k in meta}
