"""Documents: list (API key), upload / delete / reindex (admin token).

Uploads are saved under a safe name in the uploads folder (``<index_dir>/../uploads``) and
ingested incrementally; the index swap is atomic, so searches keep working meanwhile.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assistant.api.auth import require_admin
from assistant.api.deps import ServicesDep
from assistant.api.errors import Conflict, PayloadTooLarge, UnsupportedMediaType
from assistant.api.schemas import ReindexRequest
from assistant.errors import BadRequest, IngestError
from assistant.index.layout import IndexLayout
from assistant.services import Services
from assistant.settings import Settings
from ingest.loaders import SUPPORTED
from ingest.pipeline import doc_id_for

router = APIRouter(tags=["documents"])
admin = APIRouter(tags=["documents (admin)"], dependencies=[Depends(require_admin)])

MULTIPART_SLACK = 64 * 1024  # headers and boundaries around the file in the request body
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.index_dir).parent / "uploads"


def safe_filename(raw: str) -> str:
    """The last path component, NFKC, no control or separator characters, no leading dots."""
    name = unicodedata.normalize("NFKC", raw or "").replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip("._ ")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem.strip("._ ")[:100] or "upload"
    return f"{stem}.{ext.lower()}" if ext else stem


@router.get("/api/documents", summary="Indexed documents, chunk counts and index versions")
async def list_documents(services: ServicesDep) -> dict[str, Any]:
    m = IndexLayout(services.settings.index_dir).read_manifest()
    up = uploads_dir(services.settings).resolve()
    return {
        "generation": m.generation,
        "created": m.created,
        "chunks": m.chunk_count,
        "format": m.format,
        "tokenizer": m.tokenizer,
        "embedder": m.embedder,
        "chunker": m.chroma.get("chunker", ""),
        "documents": [
            {
                "doc_id": d.doc_id,
                "title": d.title,
                "file": Path(d.path).name,
                "chunks": len(d.chunk_ids),
                "pages": d.pages,
                "sha256": d.sha256,
                "uploaded": Path(d.path).parent == up,
            }
            for d in m.documents.values()
        ],
    }


@admin.post(
    "/api/documents",
    status_code=201,
    summary="Upload a document (multipart field 'file') and index it",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_document(request: Request, services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    limit = settings.max_upload_bytes
    too_large = PayloadTooLarge(
        f"the upload is larger than the limit ({limit} bytes)", "raise KANSAI_MAX_UPLOAD_BYTES"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise too_large
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "send the file as multipart/form-data in the field 'file'",
            "e.g. curl -F file=@notes.md",
        )
    form = await _limited(request, limit + MULTIPART_SLACK, too_large).form(
        max_files=1, max_fields=4
    )
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("no file in the multipart field 'file'", "e.g. curl -F file=@notes.md")
    name = safe_filename(upload.filename or "")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise UnsupportedMediaType(
            f"unsupported file type '{suffix or '(none)'}'", f"upload one of {', '.join(SUPPORTED)}"
        )
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise too_large
    if not data.strip():
        raise BadRequest("the uploaded file is empty")
    return await run_in_threadpool(_save_and_ingest, services, name, data)


def _save_and_ingest(services: Services, name: str, data: bytes) -> dict[str, Any]:
    folder = uploads_dir(services.settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert path.resolve().parent == folder.resolve()  # safe_filename keeps it inside
    layout = IndexLayout(services.settings.index_dir)
    if layout.current_generation() is not None:
        existing = layout.read_manifest().documents.get(doc_id_for(path))
        if existing is not None and Path(existing.path).resolve() != path.resolve():
            raise Conflict(
                f"a document with id '{existing.doc_id}' already exists ({Path(existing.path).name})",
                "rename the file, or delete that document first",
            )
    existed = path.exists()
    tmp = folder / f".{name}.part"
    tmp.write_bytes(data)
    tmp.replace(path)
    try:
        report = services.engine.ingestor().ingest([path])
    except IngestError:
        if not existed:
            path.unlink(missing_ok=True)
        raise
    skipped = [reason for p, reason in report.skipped if Path(p).resolve() == path.resolve()]
    if skipped:
        if not existed:
            path.unlink(missing_ok=True)
        raise BadRequest(f"the file could not be indexed: {skipped[0]}")
    doc = layout.read_manifest().documents[doc_id_for(path)]
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "file": name,
        "chunks": len(doc.chunk_ids),
        "generation": report.generation,
        "report": report.to_dict(),
    }


def _limited(request: Request, max_bytes: int, error: Exception) -> Request:
    """The same request, but reading more than ``max_bytes`` of body raises ``error``."""
    received = 0

    async def receive() -> Any:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise error
        return message

    return Request(request.scope, receive)


@admin.delete("/api/documents/{doc_id}", summary="Remove a document from the index")
async def delete_document(doc_id: str, services: ServicesDep) -> dict[str, Any]:
    layout = IndexLayout(services.settings.index_dir)
    entry = layout.read_manifest().documents.get(doc_id)
    report = await run_in_threadpool(services.engine.ingestor().remove, [doc_id])
    if entry is not None:  # an uploaded file goes too, or the next reindex would bring it back
        path = Path(entry.path)
        if path.parent.resolve() == uploads_dir(services.settings).resolve():
            path.unlink(missing_ok=True)
    return {"removed": report.removed, "generation": report.generation}


@admin.post("/api/reindex", summary="Re-ingest the corpus folder and the uploads")
async def reindex(services: ServicesDep, body: ReindexRequest | None = None) -> dict[str, Any]:
    s = services.settings
    paths = [Path(s.corpus_dir)]
    if uploads_dir(s).is_dir():
        paths.append(uploads_dir(s))
    rebuild = body.rebuild if body else False
    report = await run_in_threadpool(services.engine.ingestor().ingest, paths, rebuild)
    return report.to_dict()
