"""Background jobs for uploads and reindexing: a request gets ``202`` and a job id at once.

Jobs run one at a time in a worker thread of this process (an ingest holds the index's writer
lock; a job that finds another process's ingest running waits for it); their embedding waits
behind questions (:mod:`assistant.embedding.gate`). Each job is a small
JSON file in the jobs folder (``<index dir>/../jobs``), rewritten as it progresses, so every
worker process of a deployment can answer ``GET /api/jobs/{id}``. A job left ``running`` by a
process that died is reported as failed. Finished jobs are pruned to the newest
``jobs_kept``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.api.memory import trim_memory
from assistant.embedding.gate import background_work
from assistant.errors import AssistantError, IngestBusy

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
BUSY_RETRY_S = 1.0
BUSY_GIVE_UP_S = 3600.0
PROGRESS_WRITE_S = 0.5


@dataclass
class Job:
    kind: str  # "upload" | "reindex"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    state: str = "queued"  # queued → running → done | failed
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)  # {"stage", "done", "total"}
    doc_id: str = ""
    file: str = ""
    options: dict[str, Any] = field(default_factory=dict)  # replace / rebuild
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # {"status", "code", "message", "hint"}
    pid: int = field(default_factory=os.getpid)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("pid")
        d["url"] = f"/api/jobs/{self.id}"
        for key in ("created", "started", "finished"):
            if d[key] is not None:
                d[key] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(d[key]))
        return d


class JobStore:
    """One JSON file per job; writes are atomic (temp file + rename)."""

    def __init__(self, folder: Path, keep: int = 200) -> None:
        self.folder = Path(folder)
        self.keep = keep

    def save(self, job: Job) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{job.id}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(asdict(job), ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.folder / f"{job.id}.json")

    def get(self, job_id: str) -> Job | None:
        if not job_id.isalnum():
            return None
        try:
            data = json.loads((self.folder / f"{job_id}.json").read_text(encoding="utf-8"))
            job = Job(**data)
        except (OSError, ValueError, TypeError):
            return None
        return _mark_if_orphaned(job)

    def all(self) -> list[Job]:
        if not self.folder.is_dir():
            return []
        jobs = [self.get(p.stem) for p in self.folder.glob("*.json")]
        return sorted((j for j in jobs if j is not None), key=lambda j: j.created)

    def active(self) -> list[Job]:
        return [j for j in self.all() if j.active]

    def prune(self) -> None:
        finished = [j for j in self.all() if not j.active]
        for job in finished[: max(0, len(finished) - self.keep)]:
            (self.folder / f"{job.id}.json").unlink(missing_ok=True)


def _mark_if_orphaned(job: Job) -> Job:
    """A job still 'running' whose process is gone will never finish: say so."""
    if job.active and job.pid != os.getpid() and not _alive(job.pid):
        job.state = "failed"
        job.error = {
            "status": 500,
            "code": "job_lost",
            "message": "the server process running this job stopped before it finished",
            "hint": "send the upload or reindex again",
        }
    return job


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


Progress = Callable[[str, int, int], None]
Work = Callable[[Progress], dict[str, Any]]


class JobRunner:
    """Runs submitted jobs one after another in a low-priority background thread."""

    def __init__(self, store: JobStore, after_job: Callable[[], object] | None = None) -> None:
        self.store = store
        self.after_job = after_job or (lambda: None)
        self._queue: queue.Queue[tuple[Job, Work] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._done = threading.Condition()
        self.submit_lock = threading.Lock()  # for callers that check, then submit

    def submit(self, job: Job, work: Work) -> Job:
        self.store.save(job)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="jobs", daemon=True)
                self._thread.start()
        self._queue.put((job, work))
        return job

    def wait(self, job_id: str, timeout_s: float) -> Job | None:
        """The job once it has finished, or as it is after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        job = self.store.get(job_id)
        while job is not None and job.active and time.monotonic() < deadline:
            with self._done:
                self._done.wait(timeout=min(0.25, max(0.0, deadline - time.monotonic())))
            job = self.store.get(job_id)
        return job

    def stop(self) -> None:
        self._queue.put(None)

    # ---- the worker thread ------------------------------------------------------------------
    def _run(self) -> None:
        # The model gate lets questions go first. (Not a lower OS priority for this thread:
        # holding the GIL while descheduled, it would stall every request on a busy machine.)
        background_work.set(True)
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, work = item
            self._one(job, work)
            with self._done:
                self._done.notify_all()

    def _one(self, job: Job, work: Work) -> None:
        started = time.time()
        job.state, job.started = "running", started
        self.store.save(job)
        last_write = 0.0

        def progress(stage: str, done: int, total: int) -> None:
            nonlocal last_write
            changed = job.progress.get("stage") != stage
            job.progress = {"stage": stage, "done": done, "total": total}
            now = time.monotonic()
            if changed or done >= total or now - last_write > PROGRESS_WRITE_S:
                last_write = now
                self.store.save(job)

        give_up = time.monotonic() + BUSY_GIVE_UP_S
        while True:
            try:
                job.result = work(progress)
                job.state = "done"
                break
            except IngestBusy as exc:  # another process is ingesting: wait for it
                if time.monotonic() > give_up:
                    job.state, job.error = "failed", _error(exc)
                    break
                job.progress = {"stage": "waiting for another ingest", "done": 0, "total": 0}
                self.store.save(job)
                time.sleep(BUSY_RETRY_S)
            except AssistantError as exc:
                job.state, job.error = "failed", _error(exc)
                break
            except Exception:
                log.exception("job %s (%s) failed", job.id, job.kind)
                job.state = "failed"
                job.error = {
                    "status": 500,
                    "code": "internal_error",
                    "message": "the job failed unexpectedly",
                    "hint": "the server log has the details",
                }
                break
        job.finished = time.time()
        self.store.save(job)
        self.store.prune()
        try:
            self.after_job()
        except Exception:
            log.exception("cleaning up after job %s failed", job.id)
        trim_memory()  # an ingest leaves large freed buffers behind: give them back
        log.info("job %s (%s) %s in %.1f s", job.id, job.kind, job.state, job.finished - started)


def _error(exc: AssistantError) -> dict[str, Any]:
    return {"status": exc.status_code, "code": exc.code, "message": exc.message, "hint": exc.hint}
