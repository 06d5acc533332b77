"""POST /api/search: ranked passages, the same JSON as ``kansai-assistant search --json``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import ServicesDep
from assistant.api.routes._common import check_question
from assistant.api.schemas import SearchRequest

router = APIRouter(tags=["search"])


@router.post("/api/search", summary="Hybrid search over the index")
async def search(body: SearchRequest, services: ServicesDep) -> dict[str, Any]:
    query = check_question(body.query, services.settings, what="query")
    passages = await run_in_threadpool(
        services.engine.searcher.search, query, body.top_k, body.method, None, body.documents
    )
    return {"query": query, "results": [p.public() for p in passages]}
