"""The small exception tree of the product.

Engine code raises these; the edges translate them: the CLI prints one line and exits
non-zero, FastAPI returns a JSON error with ``status_code``, Gradio shows ``gr.Error``.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: ``message`` says what went wrong, ``hint`` what to do next."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(AssistantError):
    status_code = 500
    code = "config_error"


class BadRequest(AssistantError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AssistantError):
    status_code = 401
    code = "unauthorized"


class NotFound(AssistantError):
    status_code = 404
    code = "not_found"


class IndexNotReady(AssistantError):
    status_code = 503
    code = "index_not_ready"


class IndexVersionMismatch(IndexNotReady):
    code = "index_version_mismatch"


class IngestError(AssistantError):
    status_code = 500
    code = "ingest_error"


class IngestBusy(IngestError):
    status_code = 409
    code = "ingest_busy"


class UpstreamModelError(AssistantError):
    status_code = 502
    code = "upstream_model_error"


class UpstreamTimeout(UpstreamModelError):
    status_code = 504
    code = "upstream_timeout"


class ModelBusy(UpstreamModelError):
    """Every generation slot is taken: answer without the model now rather than queue."""

    status_code = 503
    code = "model_busy"
