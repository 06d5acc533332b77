"""A live ``kansai-assistant serve`` on 127.0.0.1 for the HTTP measurements.

The service runs as a subprocess (exactly what a user starts), so its memory is its own and
its latency includes uvicorn, FastAPI and JSON; the benchmark talks to it with httpx.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assistant.llm.server import stop

HOST = "127.0.0.1"
# Settings that would change what we measure (auth, rate limit, logging) are pinned.
PINNED_ENV = {
    "KANSAI_RATE_LIMIT_PER_MINUTE": "0",
    "KANSAI_LOG_QUESTIONS": "false",
    "KANSAI_LOG_JSON": "false",
    "KANSAI_WORKERS": "1",
}
DROPPED_ENV = ("KANSAI_API_KEY", "KANSAI_CHROMA_HOST", "KANSAI_HOST", "KANSAI_PORT")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def serve_command(index: Path, port: int, embedder: str) -> list[str]:
    """``kansai-assistant serve`` from this venv (``python -m assistant.cli`` if not installed)."""
    script = Path(sys.executable).with_name("kansai-assistant")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    args = ["serve", "--host", HOST, "--port", str(port), "--index", str(index), "--no-ui"]
    return head + args + ["--embedder", embedder]


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    started: float  # perf_counter() just before Popen

    @property
    def pid(self) -> int:
        return self.proc.pid


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(PINNED_ENV)
    env.update(extra or {})
    return env


def launch(
    index: Path, work: Path, embedder: str = "e5", env: Mapping[str, str] | None = None
) -> Served:
    port = free_port()
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / f"serve-{port}.log"
    extra = {"KANSAI_FEEDBACK_PATH": str(work / "feedback.jsonl"), **(env or {})}
    started = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            serve_command(index, port, embedder),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=server_env(extra),
        )
    return Served(proc, f"http://{HOST}:{port}", log_path, started)


def wait_ready(srv: Served, timeout_s: float = 180.0) -> float:
    """Poll ``/readyz`` until 200; return seconds since launch."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if srv.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({srv.proc.returncode}); see {srv.log_path}")
            try:
                if client.get(f"{srv.base_url}/readyz").status_code == 200:
                    return time.perf_counter() - srv.started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"the server was not ready within {timeout_s:.0f}s; see {srv.log_path}")


@contextmanager
def serving(
    index: Path,
    work: Path,
    embedder: str = "e5",
    env: Mapping[str, str] | None = None,
    timeout_s: float = 180.0,
) -> Iterator[Served]:
    """Start the service, wait until it is ready, stop it (by its own pid) on exit."""
    srv = launch(index, work, embedder, env)
    try:
        wait_ready(srv, timeout_s)
        yield srv
    finally:
        stop(srv.proc)


def chat_body(question: str, stream: bool = False) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": question}], "mode": "chat", "stream": stream}


def post(client: httpx.Client, url: str, body: dict[str, Any]) -> tuple[bool, float, Any]:
    """One request: (ok, ms, JSON or the error text)."""
    t0 = time.perf_counter()
    try:
        resp = client.post(url, json=body)
        ms = (time.perf_counter() - t0) * 1000
        if resp.status_code != 200:
            return False, ms, f"HTTP {resp.status_code}: {resp.text[:200]}"
        return True, ms, resp.json()
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        return False, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}"
