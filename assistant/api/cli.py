"""``kansai-assistant serve``: build the index if it is missing, then serve the app."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(sub: Any, with_index: Any) -> None:
    sp = with_index(
        sub.add_parser(
            "serve",
            help="serve the HTTP API, the OpenAI-compatible API and the web page",
            description="Start the service (default http://127.0.0.1:8000; docs at /docs). "
            "Builds the index first if there is none.",
        )
    )
    sp.add_argument("--host", help="listen address (default: $KANSAI_HOST or 127.0.0.1)")
    sp.add_argument("--port", type=int, help="listen port (default: $KANSAI_PORT or 8000)")
    sp.add_argument("--workers", type=int, help="worker processes (default: $KANSAI_WORKERS or 1)")
    sp.add_argument("--no-ui", action="store_true", help="do not mount the web page at /ui")
    sp.set_defaults(func=cmd_serve)


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from assistant.api.logs import configure_logging
    from assistant.cli import Progress
    from assistant.engine import Engine
    from assistant.settings import Settings

    # Everything the workers need goes through KANSAI_* so each process builds the same settings.
    env = {
        "KANSAI_INDEX_DIR": getattr(args, "index", None),
        "KANSAI_EMBEDDER": getattr(args, "embedder", None),
        "KANSAI_HOST": args.host,
        "KANSAI_PORT": str(args.port) if args.port else None,
        "KANSAI_WORKERS": str(args.workers) if args.workers else None,
        "KANSAI_UI_ENABLED": "false" if args.no_ui else None,
    }
    for key, value in env.items():
        if value:
            os.environ[key] = str(value)
    settings = Settings()
    configure_logging(settings, verbose=args.verbose)
    if Engine(settings).ensure_index(Progress()):
        _say(f"built the index in {settings.index_dir}")
    if settings.workers > 1:
        _say(
            f"starting {settings.workers} workers; they share the Chroma server at "
            f"{settings.chroma_host}:{settings.chroma_port} (required with KANSAI_WORKERS>1)"
        )
    _say(f"serving on http://{settings.host}:{settings.port} (API docs: /docs); Ctrl+C stops it")
    uvicorn.run(
        "assistant.api.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        log_config=None,
    )
    return 0
