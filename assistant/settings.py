"""One settings object for the whole product (env prefix ``KANSAI_``).

Built by :func:`get_settings` (cached), never at import time, so tests can build their own
``Settings(...)`` and pass it in.
"""

from __future__ import annotations

import os
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# No telemetry, no downloads: set before chromadb / gradio / huggingface are imported.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class EmbedderKind(StrEnum):
    e5 = "e5"
    fake = "fake"
    sentence_transformers = "sentence-transformers"
    openai = "openai"


class GeneratorKind(StrEnum):
    extractive = "extractive"
    openai = "openai"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KANSAI_", env_file=None, extra="ignore")

    # Where things live
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    feedback_path: Path = PROJECT_ROOT / "var" / "feedback.jsonl"

    # Embedding
    embedder: EmbedderKind = EmbedderKind.e5
    embedder_model: str = ""  # sentence-transformers name/path or OpenAI embeddings model
    embed_batch_size: int = Field(default=32, ge=1, le=1024)
    embeddings_base_url: str = ""
    embeddings_api_key: SecretStr | None = None

    # Chroma: a local folder by default, a server when host is set
    chroma_host: str = ""
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    chroma_ssl: bool = False

    # Retrieval
    top_k: int = Field(default=5, ge=1, le=50)
    candidates: int = Field(default=30, ge=1, le=500)
    fusion: str = "weighted"  # "weighted" or "rrf"; chosen by measurement (README)
    # field weights chosen on dev splits (eval/results/fusion-latest.md); Sudachi BM25 gets the
    # rest (1 - dense - bigram - phrase = 0.1)
    dense_weight: float = Field(default=0.4, ge=0.0, le=1.0)
    bigram_weight: float = Field(default=0.2, ge=0.0, le=1.0)  # character-bigram BM25
    phrase_weight: float = Field(default=0.3, ge=0.0, le=1.0)  # the question's phrases verbatim
    rrf_k: int = Field(default=60, ge=1)
    query_terms: Literal["all", "content"] = "all"  # "content": question words not looked up
    fill_scores: bool = False  # give every candidate its score in every field before fusing
    # dense search as exact cosine over the stored vectors up to this many chunks (HNSW above,
    # and always with a Chroma server: a larger deployment asks its server)
    exact_dense_max: int = Field(default=200_000, ge=0)
    doc_decay: float = Field(default=1.0, gt=0.0, le=1.0)  # n-th chunk of one doc: × decay^n
    # the document prior's sharpness (retrieval/router.py); 0 = off. Chosen on the dev splits.
    doc_prior: float = Field(default=0.0, ge=0.0, le=10.0)

    # Generation
    generator: GeneratorKind = GeneratorKind.extractive
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_tokens: int = Field(default=512, ge=16)
    llm_temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    # passages sent to the model: prompt reading dominates a small local model's latency
    llm_passages: int = Field(default=3, ge=1, le=20)
    fallback_to_extractive: bool = True
    local_llm_gguf: str = ""  # a GGUF path; empty = the packaged Qwen2.5 model
    local_llm_cache: Path = PROJECT_ROOT / "var" / "models"
    local_llm_port: int = Field(default=8090, ge=1, le=65535)
    # `llm-server`: CPU threads for prompt and generation (0 = every core), context window in
    # tokens (shared by the slots), and generation slots (parallel answers; on 2 cores one
    # answer at full speed beats two at half speed)
    local_llm_threads: int = Field(default=0, ge=0, le=256)
    local_llm_ctx: int = Field(default=4096, ge=512, le=131072)
    local_llm_parallel: int = Field(default=1, ge=1, le=16)
    # Generations in flight from this process before a further question is answered without
    # the model (ModelBusy -> the extractive answer, `degraded`). None = automatic: the local
    # server's slots (KANSAI_LOCAL_LLM_PARALLEL) for a loopback KANSAI_LLM_BASE_URL, 8 for a
    # remote one; 0 = no bound. A question waits at most llm_busy_wait_s for a free slot.
    llm_max_in_flight: int | None = Field(default=None, ge=0, le=1024)
    llm_busy_wait_s: float = Field(default=0.5, ge=0.0, le=60.0)

    # Service
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    admin_token: SecretStr | None = None
    api_key: SecretStr | None = None
    max_question_chars: int = Field(default=2000, ge=10)
    max_messages: int = Field(default=20, ge=1)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    rate_limit_per_minute: int = Field(default=0, ge=0)  # 0 = off
    max_json_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)  # a JSON request body
    # A long question (more characters than this, history included) waits for one of
    # ``long_question_slots`` so that short questions keep their latency meanwhile.
    long_question_chars: int = Field(default=400, ge=1)
    long_question_slots: int = Field(default=1, ge=1, le=64)
    long_question_wait_s: float = Field(default=60.0, gt=0)  # then 503 busy, with Retry-After
    # The query embedding reads at most this many model tokens (the rest still counts for
    # BM25): a 2,000-character question then costs about what a short one does.
    max_query_tokens: int = Field(default=64, ge=8, le=512)
    # /v1: append "Sources: [1] title — section (lines)" to the message text (for clients that
    # drop the extra ``citations`` field); a request can say ``"append_sources": true/false``.
    openai_append_sources: bool = False
    jobs_kept: int = Field(default=200, ge=10)  # finished upload/reindex jobs kept for GET
    # Give freed heap memory back to the OS every so often (glibc malloc_trim); 0 = never.
    malloc_trim_interval_s: float = Field(default=30.0, ge=0)
    log_json: bool = False
    log_questions: bool = False
    ui_enabled: bool = True

    @model_validator(mode="after")
    def _check_contradictions(self) -> Settings:
        if self.generator is GeneratorKind.openai and not self.llm_base_url:
            raise ValueError(
                "KANSAI_GENERATOR=openai needs KANSAI_LLM_BASE_URL (e.g. http://127.0.0.1:8090/v1)"
            )
        if self.fusion not in ("weighted", "rrf"):
            raise ValueError("KANSAI_FUSION must be 'weighted' or 'rrf'")
        if self.dense_weight + self.bigram_weight + self.phrase_weight > 1.0 + 1e-9:
            raise ValueError(
                "KANSAI_DENSE_WEIGHT + KANSAI_BIGRAM_WEIGHT + KANSAI_PHRASE_WEIGHT must be at "
                "most 1 (the Sudachi BM25 field gets the rest)"
            )
        if self.workers > 1 and not self.chroma_host:
            raise ValueError(
                "KANSAI_WORKERS>1 needs a Chroma server (set KANSAI_CHROMA_HOST): the embedded "
                "Chroma folder is not safe across processes"
            )
        if self.embedder is EmbedderKind.openai and not self.embeddings_base_url:
            raise ValueError("KANSAI_EMBEDDER=openai needs KANSAI_EMBEDDINGS_BASE_URL")
        if self.embedder is EmbedderKind.sentence_transformers and not self.embedder_model:
            raise ValueError("KANSAI_EMBEDDER=sentence-transformers needs KANSAI_EMBEDDER_MODEL")
        return self

    @property
    def chroma_is_server(self) -> bool:
        return bool(self.chroma_host)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
