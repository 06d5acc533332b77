"""``kansai-assistant llm-server``: serve a local GGUF model over the OpenAI-compatible API."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.llm.local_model import QWEN_CODER_1_5B, check_gguf
from assistant.llm.server import (
    LOOPBACK,
    LlamaServer,
    check_port_free,
    default_threads,
    require_runtime,
    running,
)

if TYPE_CHECKING:
    from assistant.settings import Settings

_MiB = 2**20


def register(sub: Any, with_index: Any) -> None:
    """Add the ``llm-server`` subcommand (it needs no index, so ``with_index`` is unused)."""
    sp = sub.add_parser(
        "llm-server",
        help="serve the local LLM (OpenAI-compatible) on 127.0.0.1",
        description="Join the packaged Qwen2.5-Coder-1.5B GGUF once (or use --gguf) and serve it "
        "with llama.cpp's server (the prebuilt xllamacpp wheel) on 127.0.0.1 until Ctrl+C.",
    )
    sp.add_argument(
        "--port", type=int, help="listen port (default: $KANSAI_LOCAL_LLM_PORT or 8090)"
    )
    sp.add_argument(
        "--gguf", metavar="PATH", help="serve this GGUF instead ($KANSAI_LOCAL_LLM_GGUF)"
    )
    sp.add_argument(
        "--n-ctx",
        type=_positive,
        help="context window in tokens (default: $KANSAI_LOCAL_LLM_CTX or 4096)",
    )
    sp.add_argument(
        "--threads",
        type=_positive,
        help="CPU threads (default: $KANSAI_LOCAL_LLM_THREADS, or every core)",
    )
    sp.add_argument(
        "--parallel",
        type=_positive,
        help="generation slots (default: $KANSAI_LOCAL_LLM_PARALLEL or 1)",
    )
    sp.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for the server (default 180)"
    )
    sp.add_argument(
        "--prepare-only", action="store_true", help="join and verify the model, then exit"
    )
    sp.set_defaults(func=cmd_llm_server)


def cmd_llm_server(args: argparse.Namespace) -> int:
    from assistant.settings import Settings

    settings = Settings()
    require_runtime()
    port = args.port or settings.local_llm_port
    if not args.prepare_only:
        check_port_free(LOOPBACK, port)
    model, alias = _model(args.gguf or settings.local_llm_gguf, settings.local_llm_cache)
    if args.prepare_only:
        _say(f"model ready: {model}")
        return 0
    server = server_for(args, settings, model, alias, port)
    log_path = settings.local_llm_cache / "llm-server.log"
    _say(
        f"starting llama.cpp (xllamacpp) on {server.base_url}: {server.n_threads} threads, "
        f"context {server.n_ctx}, {server.parallel} slot(s) (log: {log_path}) …"
    )
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` or a service manager: stop the child too
    try:
        with running(server.command(), server.base_url, log_path, args.timeout) as srv:
            _say(f"serving {srv.model_id} at {srv.base_url}; Ctrl+C stops it. Use it with:")
            slots = (
                f" KANSAI_LOCAL_LLM_PARALLEL={server.parallel}"
                if server.parallel != settings.local_llm_parallel
                else ""
            )
            _say(
                f"  KANSAI_GENERATOR=openai KANSAI_LLM_BASE_URL={srv.base_url} "
                f"KANSAI_LLM_MODEL={srv.model_id}{slots}"
            )
            code = srv.process.wait()
            _say(f"the LLM server exited with code {code} (see {log_path})")
            return 1 if code else 0
    except KeyboardInterrupt:
        _say("stopped the LLM server")
        return 0


def server_for(
    args: argparse.Namespace, settings: Settings, model: Path, alias: str, port: int
) -> LlamaServer:
    """The server the options ask for; an option wins over its KANSAI_LOCAL_LLM_* setting."""
    return LlamaServer(
        model=model,
        alias=alias,
        port=port,
        n_ctx=args.n_ctx or settings.local_llm_ctx,
        n_threads=args.threads or settings.local_llm_threads or default_threads(),
        parallel=args.parallel or settings.local_llm_parallel,
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _model(gguf: str, cache_dir: Path) -> tuple[Path, str]:
    """The GGUF to serve and the id the server reports for it."""
    if gguf:
        path = check_gguf(Path(gguf).expanduser())
        return path, path.stem
    from assistant.cli import Progress

    progress = Progress()
    started = time.perf_counter()
    path = QWEN_CODER_1_5B.ensure(
        cache_dir, lambda done, total: progress("model MiB", done // _MiB, total // _MiB)
    )
    _say(f"model {path} verified in {time.perf_counter() - started:.1f}s")
    return path, QWEN_CODER_1_5B.name


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
