"""Start, wait for and stop the local LLM server (a subprocess: llama.cpp inside xllamacpp).

Used by ``kansai-assistant llm-server``, the tests and the benchmarks: the product reaches the
local model only through the same OpenAI-compatible HTTP path as any other server.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from assistant.errors import ConfigError, UpstreamModelError, UpstreamTimeout
from assistant.llm.local_model import INSTALL_HINT

LOOPBACK = "127.0.0.1"
RUNTIME = "xllamacpp"  # the prebuilt llama.cpp wheel of the `local-llm` extra


def runtime_installed() -> bool:
    return importlib.util.find_spec(RUNTIME) is not None


def extra_installed() -> bool:
    """The whole ``local-llm`` extra: the runtime and every part of the packaged model."""
    from assistant.llm.local_model import QWEN_CODER_1_5B

    return runtime_installed() and all(
        importlib.util.find_spec(m) is not None for m in QWEN_CODER_1_5B.part_modules
    )


def require_runtime() -> None:
    """Fail with one line when the ``local-llm`` extra is not installed."""
    if not runtime_installed():
        raise ConfigError(f"{RUNTIME} (the local-llm extra) is not installed", INSTALL_HINT)


def default_threads() -> int:
    """Every core this process may use (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_port_free(host: str, port: int) -> None:
    """Fail with one line if something listens on ``host:port`` (TIME_WAIT leftovers are fine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is busy",
                    "stop what listens there or choose another: --port N / KANSAI_LOCAL_LLM_PORT",
                ) from None
            raise


@dataclass(frozen=True)
class LlamaServer:
    """How to run llama.cpp's server (``python -m assistant.llm.serve``) for one GGUF model."""

    model: Path
    alias: str
    port: int
    host: str = LOOPBACK
    n_ctx: int = 4096
    n_threads: int = field(default_factory=default_threads)
    parallel: int = 1  # generation slots

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "assistant.llm.serve",
            "--model",
            str(self.model),
            "--alias",
            self.alias,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n-ctx",
            str(self.n_ctx),
            "--threads",
            str(self.n_threads),
            "--parallel",
            str(self.parallel),
        ]


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    base_url: str
    model_id: str
    log_path: Path


@contextmanager
def running(
    command: Sequence[str],
    base_url: str,
    log_path: Path,
    timeout_s: float = 180.0,
) -> Iterator[RunningServer]:
    """Start ``command``, wait until ``GET {base_url}/models`` answers, stop it on exit.

    The server's output goes to ``log_path``; if it dies before it is ready, its last log
    line is in the error.
    """
    env = dict(os.environ)
    # ggml's OpenMP threads spin while waiting; when another process wants a core (the app, an
    # embedder) that collapsed generation on 2 cores from ~4.5 to ~0.3 tokens/s. Passive waits
    # keep it steady; set OMP_WAIT_POLICY yourself to override.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(command), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    try:
        model_id = wait_until_ready(proc, base_url, log_path, timeout_s)
        yield RunningServer(proc, base_url, model_id, log_path)
    finally:
        stop(proc)


def wait_until_ready(
    proc: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout_s: float
) -> str:
    """Poll ``/models`` until it lists a model; return that model's id."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise UpstreamModelError(
                    f"the LLM server exited with code {proc.returncode}: {_last_line(log_path)}",
                    f"see {log_path}",
                )
            try:
                resp = client.get(f"{base_url}/models")
                if resp.status_code == 200 and resp.json().get("data"):
                    return str(resp.json()["data"][0]["id"])
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.25)
    raise UpstreamTimeout(
        f"the LLM server was not ready within {timeout_s:.0f}s", f"see {log_path}"
    )


def stop(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _last_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1].strip() if lines else "(no output)"
