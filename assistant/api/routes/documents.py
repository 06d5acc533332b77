"""Documents: list (API key), upload / delete / reindex and their jobs (admin token).

An upload is checked at once (size, type, name, an existing document of that id) and then
indexed in the background: ``202`` with a job (``GET /api/jobs/{id}`` gives its progress).
``?wait=SECONDS`` waits that long for the job and answers like a finished request when it
finished. Re-uploading a file name that is already indexed is a ``409`` unless the request
says ``replace=true``. The index swap is atomic, so searches keep working meanwhile.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assistant.api.auth import require_admin
from assistant.api.deps import ServicesDep
from assistant.api.errors import Conflict, PayloadTooLarge, UnsupportedMediaType, error_body
from assistant.api.jobs import Job, JobRunner, Progress
from assistant.api.memory import release_retired_chroma
from assistant.api.schemas import ReindexRequest
from assistant.errors import BadRequest, IngestBusy, IngestError, NotFound
from assistant.index.layout import IndexLayout
from assistant.services import Services
from assistant.settings import Settings
from ingest.loaders import SUPPORTED
from ingest.pipeline import doc_id_for

router = APIRouter(tags=["documents"])
admin = APIRouter(tags=["documents (admin)"], dependencies=[Depends(require_admin)])

MULTIPART_SLACK = 64 * 1024  # headers and boundaries around the file in the request body
_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
UPLOAD_HINT = (
    "send one file as multipart/form-data in the field 'file', e.g. curl -F file=@notes.md"
)
Wait = Query(0, ge=0, le=600, description="seconds to wait for the job before answering 202")


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.index_dir).parent / "uploads"


def jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


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


# ---- list -----------------------------------------------------------------------------------------
@router.get("/api/documents", summary="Indexed documents, their state, and index versions")
async def list_documents(request: Request, services: ServicesDep) -> dict[str, Any]:
    m = IndexLayout(services.settings.index_dir).read_manifest()
    up = uploads_dir(services.settings).resolve()
    active = jobs(request).store.active()
    updating = {j.doc_id for j in active if j.kind == "upload"}
    docs: list[dict[str, Any]] = [
        {
            "doc_id": d.doc_id,
            "title": d.title,
            "file": Path(d.path).name,
            "chunks": len(d.chunk_ids),
            "pages": d.pages,
            "sha256": d.sha256,
            "uploaded": Path(d.path).parent == up,
            "state": "updating" if d.doc_id in updating else "indexed",
        }
        for d in m.documents.values()
    ]
    docs += [  # uploads not indexed yet
        {
            "doc_id": j.doc_id,
            "title": "",
            "file": j.file,
            "chunks": 0,
            "pages": None,
            "sha256": "",
            "uploaded": True,
            "state": "indexing" if j.state == "running" else "queued",
            "job": j.id,
            "progress": j.progress,
        }
        for j in active
        if j.kind == "upload" and j.doc_id not in m.documents
    ]
    return {
        "generation": m.generation,
        "created": m.created,
        "chunks": m.chunk_count,
        "format": m.format,
        "tokenizer": m.tokenizer,
        "embedder": m.embedder,
        "chunker": m.chroma.get("chunker", ""),
        "documents": docs,
        "jobs": [j.public() for j in active],
    }


# ---- jobs -----------------------------------------------------------------------------------------
@admin.get("/api/jobs", summary="Recent upload and reindex jobs (newest last)")
async def list_jobs(request: Request) -> dict[str, Any]:
    return {"jobs": [j.public() for j in jobs(request).store.all()]}


@admin.get("/api/jobs/{job_id}", summary="One job: state, progress, result or error")
async def get_job(job_id: str, request: Request, wait: int = Wait) -> dict[str, Any]:
    runner = jobs(request)
    job: Job | None = runner.store.get(job_id)
    if wait and job is not None:
        job = await run_in_threadpool(runner.wait, job_id, wait)
    if job is None:
        raise NotFound(f"no job with id '{job_id[:40]}'", "see GET /api/jobs")
    return job.public()


async def _answer(request: Request, job: Job, wait: int, done_status: int) -> JSONResponse:
    """202 with the job, or — when it finished within ``wait`` — its result or its error."""
    if wait:
        job = await run_in_threadpool(_wait_for, jobs(request), job, wait)
    headers = {"Location": f"/api/jobs/{job.id}"}
    if job.state == "done" and job.result is not None:
        return JSONResponse({**job.result, "job": job.public()}, done_status, headers=headers)
    if job.state == "failed" and job.error:
        err = job.error
        body = error_body(err["status"], err["code"], err["message"], err["hint"])
        return JSONResponse({**body, "job": job.public()}, err["status"], headers=headers)
    return JSONResponse({"job": job.public(), **_summary(job)}, 202, headers=headers)


def _wait_for(runner: JobRunner, job: Job, wait: int) -> Job:
    return runner.wait(job.id, wait) or job


def _summary(job: Job) -> dict[str, Any]:
    return {"doc_id": job.doc_id, "file": job.file} if job.kind == "upload" else {}


# ---- upload ---------------------------------------------------------------------------------------
@admin.post(
    "/api/documents",
    status_code=202,
    summary="Upload a document (multipart field 'file'); it is indexed in the background",
    responses={201: {"description": "indexed (with ?wait=…, when it finished in time)"}},
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
async def upload_document(
    request: Request,
    services: ServicesDep,
    replace: Literal["true", "false"] = Query(
        "false", description="'true' replaces an uploaded document of the same file name"
    ),
    wait: int = Wait,
) -> JSONResponse:
    settings = services.settings
    limit = settings.max_upload_bytes
    too_large = PayloadTooLarge(
        f"the upload is larger than the limit ({limit} bytes)",
        "split the document, or raise KANSAI_MAX_UPLOAD_BYTES on the server",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise too_large
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("the upload is not multipart/form-data", UPLOAD_HINT)
    form = await _limited(request, limit + MULTIPART_SLACK, too_large).form(
        max_files=1, max_fields=4
    )
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("no file in the multipart field 'file'", UPLOAD_HINT)
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
        raise BadRequest("the uploaded file is empty", "upload a file that contains text")
    job = await run_in_threadpool(_submit_upload, request, services, name, data, replace == "true")
    return await _answer(request, job, wait, 201)


def _submit_upload(
    request: Request, services: Services, name: str, data: bytes, replace: bool
) -> Job:
    folder = uploads_dir(services.settings)
    path = folder / name
    doc_id = doc_id_for(path)
    runner = jobs(request)
    with runner.submit_lock:  # two uploads of one name at once: the second is a 409
        for other in runner.store.active():
            if other.kind == "upload" and other.doc_id == doc_id:
                raise Conflict(
                    f"'{other.file}' is already being indexed (job {other.id})",
                    f"wait for it: GET /api/jobs/{other.id}",
                )
        _check_clash(services, path, doc_id, replace)
        folder.mkdir(parents=True, exist_ok=True)
        job = Job(kind="upload", doc_id=doc_id, file=name, options={"replace": replace})
        staged = folder / f".{name}.{job.id}.part"
        staged.write_bytes(data)
        return runner.submit(
            job, lambda progress: _index_upload(services, path, staged, replace, progress)
        )


def _check_clash(services: Services, path: Path, doc_id: str, replace: bool) -> None:
    layout = IndexLayout(services.settings.index_dir)
    if layout.current_generation() is None:
        return
    existing = layout.read_manifest().documents.get(doc_id)
    if existing is None:
        return
    if Path(existing.path).resolve() != path.resolve():
        raise Conflict(
            f"a document with id '{doc_id}' already exists ({Path(existing.path).name}, "
            "not an upload)"
            if Path(existing.path).parent.resolve() != path.parent.resolve()
            else f"a document with id '{doc_id}' already exists ({Path(existing.path).name})",
            "rename the file, or delete that document first",
        )
    if not replace:
        raise Conflict(
            f"'{path.name}' is already indexed as '{doc_id}'",
            "send replace=true (POST /api/documents?replace=true) to replace it",
        )


def _index_upload(
    services: Services, path: Path, staged: Path, replace: bool, progress: Progress
) -> dict[str, Any]:
    """The job: put the file in place (keeping the old one until the new one is indexed)."""
    backup = staged.with_suffix(".old")
    existed = path.exists()
    try:
        if existed and not replace:  # another worker's upload of this name came first
            raise Conflict(
                f"'{path.name}' was uploaded meanwhile", "send replace=true to replace it"
            )
        if existed:
            path.replace(backup)
        staged.replace(path)
        try:
            report = services.engine.ingestor(progress).ingest([path])
        except IngestError:
            _restore(path, backup, existed)
            raise
        skipped = [reason for p, reason in report.skipped if Path(p).resolve() == path.resolve()]
        if skipped:
            _restore(path, backup, existed)
            raise BadRequest(
                f"the file could not be indexed: {skipped[0]}",
                "check that it opens and has text (a scanned PDF has none), or convert it "
                "to .txt or .md",
            )
        backup.unlink(missing_ok=True)
    finally:
        staged.unlink(missing_ok=True)
    doc = IndexLayout(services.settings.index_dir).read_manifest().documents[doc_id_for(path)]
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "file": path.name,
        "chunks": len(doc.chunk_ids),
        "generation": report.generation,
        "replaced": existed,
        "report": report.to_dict(),
    }


def _restore(path: Path, backup: Path, existed: bool) -> None:
    if existed and backup.exists():
        backup.replace(path)
    elif not existed:
        path.unlink(missing_ok=True)


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


# ---- delete, reindex ------------------------------------------------------------------------------
@admin.delete("/api/documents/{doc_id}", summary="Remove a document from the index")
async def delete_document(doc_id: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    active = jobs(request).store.active()
    if active:
        raise IngestBusy(
            f"an {active[0].kind} is running (job {active[0].id})",
            f"wait for it (GET /api/jobs/{active[0].id}), then delete",
        )
    layout = IndexLayout(services.settings.index_dir)
    documents = layout.read_manifest().documents
    entry = documents.get(doc_id)
    if entry is not None and len(documents) == 1:
        raise Conflict(
            f"'{doc_id}' is the only document: the index cannot be empty",
            "upload or ingest another document first, then delete this one",
        )
    report = await run_in_threadpool(services.engine.ingestor().remove, [doc_id])
    await run_in_threadpool(release_retired_chroma, services.settings.index_dir)
    if entry is not None:  # an uploaded file goes too, or the next reindex would bring it back
        path = Path(entry.path)
        if path.parent.resolve() == uploads_dir(services.settings).resolve():
            path.unlink(missing_ok=True)
    return {"removed": report.removed, "generation": report.generation}


@admin.post(
    "/api/reindex",
    status_code=202,
    summary="Re-ingest the corpus folder and the uploads, in the background",
    responses={200: {"description": "finished (with ?wait=…, when it finished in time)"}},
)
async def reindex(
    request: Request, services: ServicesDep, body: ReindexRequest | None = None, wait: int = Wait
) -> JSONResponse:
    s = services.settings
    paths = [Path(s.corpus_dir)]
    if uploads_dir(s).is_dir():
        paths.append(uploads_dir(s))
    rebuild = body.rebuild if body else False
    runner = jobs(request)
    for other in runner.store.active():
        if other.kind == "reindex" and other.options.get("rebuild") == rebuild:
            return await _answer(request, other, wait, 200)  # the same work is already queued
    job = Job(kind="reindex", options={"rebuild": rebuild})

    def work(progress: Progress) -> dict[str, Any]:
        return services.engine.ingestor(progress).ingest(paths, rebuild).to_dict()

    runner.submit(job, work)
    return await _answer(request, job, wait, 200)
