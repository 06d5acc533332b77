"""The FastAPI application factory: ``create_app(services)``; nothing is built at import.

``app_from_env()`` builds the services from the environment (``uvicorn --factory``), which
is how ``kansai-assistant serve --workers N`` starts each worker.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from assistant.api import errors
from assistant.api.auth import require_api_key
from assistant.api.docs_ui import install_docs
from assistant.api.inputs import JsonBodyGuard
from assistant.api.jobs import JobRunner, JobStore
from assistant.api.logs import RequestContextMiddleware
from assistant.api.memory import Trimmer, release_retired_chroma
from assistant.api.ratelimit import RateLimiter, rate_limit
from assistant.api.routes import chat, documents, feedback, health, openai_compat, search
from assistant.api.slots import AnswerSlots
from assistant.embedding.gate import background_work
from assistant.errors import AssistantError, IndexNotReady
from assistant.index.layout import IndexLayout
from assistant.services import Services, build_services

log = logging.getLogger(__name__)

TITLE = "Kansai Vision Assistant"
PUBLIC_ERRORS = errors.error_responses(400, 401, 404, 413, 422, 429, 500, 502, 503, 504)
ADMIN_ERRORS = errors.error_responses(400, 401, 403, 404, 409, 413, 415, 422, 500, 503)
ENDPOINTS = {
    "POST /api/chat": "answer with citations (JSON, or SSE with stream=true)",
    "POST /api/search": "ranked passages",
    "POST /api/feedback": "thumbs up/down on an answer",
    "GET /api/documents": "indexed documents",
    "POST /api/documents": "upload a document (admin)",
    "DELETE /api/documents/{doc_id}": "remove a document (admin)",
    "POST /api/reindex": "re-ingest corpus and uploads (admin)",
    "GET /api/jobs/{job_id}": "an upload or reindex job: state and progress (admin)",
    "POST /v1/chat/completions": "OpenAI-compatible chat completions",
    "GET /v1/models": "OpenAI-compatible model list",
    "GET /v1/models/{model_id}": "OpenAI-compatible model",
    "GET /healthz": "liveness",
    "GET /readyz": "readiness",
    "GET /docs": "OpenAPI documentation (/openapi.json)",
}


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title=TITLE,
        version="0.1.0",
        description="Cited answers about 関西広域産業ビジョン 2023. See docs/api.md.",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    s = services.settings
    app.state.services = services
    app.state.rate_limiter = RateLimiter(s.rate_limit_per_minute)
    app.state.answer_slots = AnswerSlots(
        s.long_question_chars, s.long_question_slots, s.long_question_wait_s
    )
    app.state.jobs = JobRunner(
        JobStore(Path(s.index_dir).parent / "jobs", s.jobs_kept),
        after_job=lambda: release_retired_chroma(s.index_dir),
    )
    app.state.trimmer = Trimmer(s.malloc_trim_interval_s, s.index_dir)
    app.state.ui_mounted = False
    errors.install(app)
    app.add_middleware(JsonBodyGuard, max_bytes=s.max_json_bytes)  # inner: errors get an id
    app.add_middleware(RequestContextMiddleware)
    install_docs(app, TITLE)

    public = [Depends(require_api_key), Depends(rate_limit)]
    app.include_router(health.router)
    for mod in (chat, search, feedback, openai_compat, documents):
        app.include_router(mod.router, dependencies=public, responses=PUBLIC_ERRORS)
    app.include_router(documents.admin, responses=ADMIN_ERRORS)

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        if app.state.ui_mounted:
            return RedirectResponse("/ui/")
        return JSONResponse({"name": TITLE, "docs": "/docs", "endpoints": ENDPOINTS})

    if s.ui_enabled:
        _mount_ui(app, services)
    return app


def _mount_ui(app: FastAPI, services: Services) -> None:
    """Mount the Gradio page at /ui if ``ui.web`` exists (it is optional)."""
    try:
        web: Any = importlib.import_module("ui.web")
    except ModuleNotFoundError as exc:
        if exc.name in ("ui", "ui.web"):
            log.info("no web page (ui.web is not installed); serving the API only")
            return
        raise
    web.mount(app, services)
    app.state.ui_mounted = True


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    s = services.settings
    if s.workers > 1:
        log.info(
            "%d workers share the Chroma server at %s:%d", s.workers, s.chroma_host, s.chroma_port
        )
    if s.admin_token is None or not s.admin_token.get_secret_value():
        log.info("admin endpoints are disabled (KANSAI_ADMIN_TOKEN is not set)")
    if IndexLayout(s.index_dir).current_generation() is None:
        log.warning(
            "no index in %s: /readyz reports it; run `kansai-assistant ingest`", s.index_dir
        )
    else:
        try:  # the index and its statistics now; the sentence vectors below, in the background
            await run_in_threadpool(services.answers.warm, 0, False)
            log.info("answer engine warm (backend %s)", services.answers.backend)
        except IndexNotReady as exc:
            log.warning("index not ready: %s", exc.one_line())
        except AssistantError as exc:
            log.warning("warm-up failed: %s", exc.one_line())
        except Exception:
            log.exception("warm-up failed; the first question will load the index")
        else:
            threading.Thread(
                target=_warm_sentences, args=(services,), daemon=True, name="warm"
            ).start()
    try:  # the support finder embeds its catalogue once: before the first support question
        await run_in_threadpool(services.answers.support.entries)
    except Exception:
        log.exception("the support finder could not load its catalogue")
    app.state.trimmer.start()
    yield
    app.state.trimmer.stop()
    app.state.jobs.stop()


def _warm_sentences(services: Services) -> None:
    """Embed the index's sentences ahead of the first questions, behind any question."""
    background_work.set(True)
    try:
        services.answers.warm(background=False)
    except Exception:
        log.exception("warming the sentence vectors failed; answers compute them as needed")


def app_from_env() -> FastAPI:
    """Build the settings from KANSAI_* and the app (for ``uvicorn --factory``)."""
    from assistant.api.logs import configure_logging
    from assistant.settings import Settings

    settings = Settings()
    configure_logging(settings)
    return create_app(build_services(settings))
