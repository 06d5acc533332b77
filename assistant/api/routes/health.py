"""GET /healthz (the process is up) and GET /readyz (index loaded, generator reachable)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import ServicesDep
from assistant.errors import AssistantError
from assistant.services import Services

router = APIRouter(tags=["health"])

PING_TIMEOUT_S = 5.0


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: index loaded and generator reachable (503 otherwise)",
    responses={503: {"description": "not ready; 'checks' says which part is not"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks = {"index": await _index(services), "generator": await _generator(services)}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _index(services: Services) -> dict[str, Any]:
    try:
        idx = await run_in_threadpool(services.engine.searcher.index)
    except AssistantError as exc:
        return {"ok": False, "detail": exc.one_line()}
    except Exception as exc:
        return {"ok": False, "detail": f"the index could not be loaded ({type(exc).__name__})"}
    return {"ok": True, "generation": idx.marker, "chunks": len(idx.records)}


async def _generator(services: Services) -> dict[str, Any]:
    answers = services.answers
    out: dict[str, Any] = {"backend": answers.backend}
    ping = getattr(answers.chat_model, "ping", None)
    if ping is None:
        return {**out, "ok": True}
    try:
        await asyncio.wait_for(run_in_threadpool(ping), PING_TIMEOUT_S)
    except AssistantError as exc:
        return {**out, "ok": False, "detail": exc.one_line(), **_fallback(services)}
    except TimeoutError:
        detail = f"the language model server did not answer within {PING_TIMEOUT_S:.0f} s"
        return {**out, "ok": False, "detail": detail, **_fallback(services)}
    return {**out, "ok": True}


def _fallback(services: Services) -> dict[str, Any]:
    return {"fallback_to_extractive": services.settings.fallback_to_extractive}
