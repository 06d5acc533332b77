"""POST /api/feedback: a thumbs up/down (and comment) on an answer, appended to the JSONL file."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from assistant.api.deps import ServicesDep
from assistant.api.schemas import FeedbackRequest
from assistant.feedback import Feedback

router = APIRouter(tags=["feedback"])


@router.post("/api/feedback", status_code=201, summary="Record feedback on an answer")
async def feedback(body: FeedbackRequest, services: ServicesDep) -> dict[str, Any]:
    fb = Feedback(**body.model_dump())
    saved = await run_in_threadpool(services.feedback.add, fb)
    return {"ok": True, "feedback": asdict(saved)}
