"""Bearer-token checks: the admin token for index changes, the optional API key for the rest.

Tokens are compared with :func:`secrets.compare_digest` and never logged.
"""

from __future__ import annotations

import secrets

from fastapi import Request

from assistant.api.errors import AdminDisabled
from assistant.errors import Unauthorized


def _presented(request: Request, allow_x_api_key: bool) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if allow_x_api_key:
        return request.headers.get("x-api-key", "").strip()
    return ""


def _matches(presented: str, expected: str) -> bool:
    return secrets.compare_digest(presented.encode(), expected.encode())


def require_api_key(request: Request) -> None:
    """Chat, search and feedback: open unless KANSAI_API_KEY is set."""
    key = request.app.state.services.settings.api_key
    if key is None or not key.get_secret_value():
        return
    presented = _presented(request, allow_x_api_key=True)
    if not presented or not _matches(presented, key.get_secret_value()):
        raise Unauthorized(
            "missing or wrong API key",
            "send 'Authorization: Bearer <KANSAI_API_KEY>' or 'X-API-Key: <KANSAI_API_KEY>'",
        )


def require_admin(request: Request) -> None:
    """Index changes: disabled (403) unless KANSAI_ADMIN_TOKEN is set, then Bearer only."""
    token = request.app.state.services.settings.admin_token
    if token is None or not token.get_secret_value():
        raise AdminDisabled(
            "admin endpoints are disabled: no admin token is configured",
            "set KANSAI_ADMIN_TOKEN on the server to enable them",
        )
    presented = _presented(request, allow_x_api_key=False)
    if not presented or not _matches(presented, token.get_secret_value()):
        raise Unauthorized(
            "missing or wrong admin token", "send 'Authorization: Bearer <KANSAI_ADMIN_TOKEN>'"
        )
