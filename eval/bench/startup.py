"""Start-up: from launching ``kansai-assistant serve`` to the first answered ``/api/chat``.

The index exists already (no ingest). Each run is a fresh process. We poll ``/healthz``
until the port answers (uvicorn opens it only after the app's lifespan warm-up), then send
one ``/api/chat``. The server's own log lines split the first part into "process up and app
built" and "warm-up" (embedding model, Sudachi, index).
"""

from __future__ import annotations

import logging
import re
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from assistant.llm.server import stop
from eval.bench.machine import rss_mb
from eval.bench.served import Served, chat_body, launch

log = logging.getLogger(__name__)

# uvicorn's lines, with the timestamp our log format puts first
MARKS = {
    "process_up": "Started server process",
    "warm_start": "Waiting for application startup",
    "warm_done": "Application startup complete",
}


def one(index: Path, work: Path, kind: str, question: str, timeout_s: float) -> dict[str, Any]:
    wall0 = time.time()
    srv = launch(index, work / "startup", kind)
    try:
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=timeout_s) as client:
            port_open = _wait_health(client, srv, deadline)
            t0 = time.perf_counter()
            resp = client.post(f"{srv.base_url}/api/chat", json=chat_body(question))
            now = time.perf_counter()
            if resp.status_code != 200:
                raise RuntimeError(f"first /api/chat: HTTP {resp.status_code}; see {srv.log_path}")
            row = {
                "port_open_s": round(port_open, 2),
                "first_answer_s": round(now - srv.started, 2),
                "first_chat_ms": round((now - t0) * 1000, 1),
                "engine_timings_ms": {
                    k: round(v, 1) for k, v in resp.json().get("timings_ms", {}).items()
                },
                "rss_mb": rss_mb(srv.pid),
            }
    finally:
        stop(srv.proc)
    row.update(_log_phases(srv.log_path, wall0))
    return row


def _wait_health(client: httpx.Client, srv: Served, deadline: float) -> float:
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise RuntimeError(f"serve exited ({srv.proc.returncode}); see {srv.log_path}")
        try:
            if client.get(f"{srv.base_url}/healthz", timeout=2.0).status_code == 200:
                return time.perf_counter() - srv.started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"the port did not open in time; see {srv.log_path}")


def _log_phases(path: Path, wall0: float) -> dict[str, float]:
    """Seconds from launch to uvicorn's start-up lines (absent if the log format differs)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    out = {}
    for key, needle in MARKS.items():
        m = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}).*" + re.escape(needle), text, re.M)
        if m:
            t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            out[f"log_{key}_s"] = round(t - wall0, 2)
    return out


def run(
    index: Path, work: Path, kind: str, question: str, runs: int, timeout_s: float = 180.0
) -> dict[str, Any]:
    rows = []
    for i in range(runs):
        log.info("startup run %d/%d", i + 1, runs)
        rows.append(one(index, work, kind, question, timeout_s))

    def med(key: str) -> float:
        vals = [r[key] for r in rows if key in r]
        return round(statistics.median(vals), 2) if vals else 0.0

    answers = [r["first_answer_s"] for r in rows]
    return {
        "runs": rows,
        "median_first_answer_s": med("first_answer_s"),
        "median_port_open_s": med("port_open_s"),
        "median_first_chat_ms": med("first_chat_ms"),
        "median_log_process_up_s": med("log_process_up_s"),
        "median_warm_s": round(
            statistics.median(
                r["log_warm_done_s"] - r["log_warm_start_s"]
                for r in rows
                if "log_warm_done_s" in r and "log_warm_start_s" in r
            ),
            2,
        )
        if any("log_warm_done_s" in r for r in rows)
        else 0.0,
        "min_first_answer_s": min(answers),
        "max_first_answer_s": max(answers),
        "question": question,
    }
