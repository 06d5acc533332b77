"""Request bodies of the HTTP API (responses are the engine's own JSON, see the README).

Types are strict: ``"top_k": "5"``, ``"top_k": true`` or ``"stream": "yes"`` are 422 errors,
never silently read as 5 or true (``"rebuild": "yes"`` would otherwise re-embed everything).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

ModeName = Literal["chat", "support", "draft"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant", "system"]
    content: StrictStr


class ChatRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "messages": [{"role": "user", "content": "関西広域産業ビジョンの目標は？"}],
                    "mode": "chat",
                }
            ]
        },
    )

    messages: list[ChatMessage] = Field(min_length=1)
    mode: ModeName = "chat"
    top_k: StrictInt | None = Field(default=None, ge=1, le=50)
    stream: StrictBool = False
    documents: list[str] | None = Field(
        default=None, max_length=100, description="search only these doc_ids (GET /api/documents)"
    )


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: StrictStr
    top_k: StrictInt = Field(default=10, ge=1, le=50)
    method: Literal["hybrid", "dense", "bm25"] = "hybrid"
    documents: list[str] | None = Field(
        default=None, max_length=100, description="search only these doc_ids (GET /api/documents)"
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: StrictStr = Field(min_length=1, max_length=100)
    rating: Literal["up", "down"]
    comment: StrictStr = ""  # the store limits it (400 when too long)
    question: StrictStr = Field(default="", max_length=10_000)
    answer: StrictStr = Field(default="", max_length=50_000)


class ReindexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rebuild: StrictBool = False


# ---- the OpenAI chat-completions body ----------------------------------------------------------
class OpenAIMessage(BaseModel):
    """An OpenAI chat message; ``content`` may be a string or a list of text parts."""

    model_config = ConfigDict(extra="allow")

    role: StrictStr
    content: StrictStr | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""

    def other_parts(self) -> list[str]:
        """The types of content parts that are not text (images, audio, files…)."""
        if not isinstance(self.content, list):
            return []
        return [str(p.get("type", "?")) for p in self.content if p.get("type") != "text"]


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: StrictBool = False


class OpenAIChatRequest(BaseModel):
    """The OpenAI chat-completions body. What each field does here is in the README
    ("OpenAI clients"): supported, ignored (sampling) or refused with a 400."""

    model_config = ConfigDict(extra="allow")

    model: StrictStr = ""
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    n: StrictInt | None = Field(default=None, ge=1)
    max_tokens: StrictInt | None = Field(default=None, ge=1)
    max_completion_tokens: StrictInt | None = Field(default=None, ge=1)
    stop: StrictStr | list[StrictStr] | None = None
    # ours (extra_body): the answer mode, passages, and the sources list in the message text
    mode: ModeName = "chat"
    top_k: StrictInt | None = Field(default=None, ge=1, le=50)
    append_sources: StrictBool | None = None
