"""Request bodies of the HTTP API (responses are the engine's own JSON, see docs/api.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ModeName = Literal["chat", "support", "draft"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant", "system"]
    content: str


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
    top_k: int | None = Field(default=None, ge=1, le=50)
    stream: bool = False
    documents: list[str] | None = Field(
        default=None, max_length=100, description="search only these doc_ids (GET /api/documents)"
    )


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    top_k: int = Field(default=10, ge=1, le=50)
    method: Literal["hybrid", "dense", "bm25"] = "hybrid"
    documents: list[str] | None = Field(
        default=None, max_length=100, description="search only these doc_ids (GET /api/documents)"
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(min_length=1, max_length=100)
    rating: Literal["up", "down"]
    comment: str = ""  # the store limits it (400 when too long)
    question: str = Field(default="", max_length=10_000)
    answer: str = Field(default="", max_length=50_000)


class ReindexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rebuild: bool = False


class OpenAIMessage(BaseModel):
    """An OpenAI chat message; ``content`` may be a string or a list of text parts."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class OpenAIChatRequest(BaseModel):
    """The OpenAI chat-completions body; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = ""
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    mode: ModeName = "chat"
    top_k: int | None = Field(default=None, ge=1, le=50)
