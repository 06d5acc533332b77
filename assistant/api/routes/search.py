"""POST /api/search: ranked passages, the same JSON as ``kansai-assistant search --json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import ServicesDep
from assistant.api.schemas import SearchRequest
from assistant.errors import BadRequest

router = APIRouter(tags=["search"])


@router.post("/api/search", summary="Hybrid search over the index")
async def search(body: SearchRequest, services: ServicesDep) -> dict[str, Any]:
    query = body.query.strip()
    if len(query) > services.settings.max_question_chars:
        raise BadRequest(
            f"the query is too long ({len(query)} characters; the limit is "
            f"{services.settings.max_question_chars})"
        )
    passages = await run_in_threadpool(
        services.engine.searcher.search, query, body.top_k, body.method, None, body.documents
    )
    return {"query": query, "results": [p.public() for p in passages]}
