"""/docs without a CDN: Swagger UI's files come from the ``fastapi-offline`` package when it
is installed (recommended), else from the CDN as in FastAPI's default page."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)

STATIC_URL = "/docs-static"


def local_swagger_assets() -> Path | None:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    static = Path(spec.origin).parent / "static"
    return static if (static / "swagger-ui-bundle.js").exists() else None


def install_docs(app: FastAPI, title: str) -> None:
    static = local_swagger_assets()
    if static is not None:
        app.mount(STATIC_URL, StaticFiles(directory=static), name="docs-static")
        assets = {
            "swagger_js_url": f"{STATIC_URL}/swagger-ui-bundle.js",
            "swagger_css_url": f"{STATIC_URL}/swagger-ui.css",
            "swagger_favicon_url": f"{STATIC_URL}/favicon.png",
        }
    else:
        log.info("/docs loads Swagger UI from a CDN (install fastapi-offline to serve it locally)")
        assets = {}

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{title} — API", **assets)  # type: ignore[arg-type]
