"""A bounded load run against ``/api/chat`` (extractive) and ``/api/search`` on 127.0.0.1.

Each level sends a fixed number of requests from ``concurrency`` client threads and stops
early at a time cap (what was not sent is reported). Server memory is read from
``/proc/<pid>/status`` before and after.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from eval.bench.machine import latency_summary, rss_mb, status_kb
from eval.bench.served import chat_body, post, serving

log = logging.getLogger(__name__)


def bodies(endpoint: str, qs: list[str]) -> list[dict[str, Any]]:
    if endpoint == "chat":
        return [chat_body(q) for q in qs]
    return [{"query": q, "top_k": 10, "method": "hybrid"} for q in qs]


def level(
    client: httpx.Client, url: str, reqs: list[dict[str, Any]], conc: int, n: int, cap_s: float
) -> dict[str, Any]:
    """``n`` requests (cycling through ``reqs``) from ``conc`` threads, at most ``cap_s`` s."""
    counter, lock = itertools.count(), threading.Lock()
    lat: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + cap_s

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(counter)
            if i >= n:
                return
            ok, ms, body = post(client, url, reqs[i % len(reqs)])
            with lock:
                (lat.append(ms) if ok else errors.append(str(body)[:200]))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conc) as pool:
        for f in [pool.submit(worker) for _ in range(conc)]:
            f.result()
    wall = time.perf_counter() - t0
    done = len(lat) + len(errors)
    return {
        "concurrency": conc,
        "requests": n,
        "completed": done,
        "not_sent_time_cap": n - done,
        "errors": len(errors),
        "error_samples": errors[:3],
        "seconds": round(wall, 2),
        "throughput_rps": round(len(lat) / wall, 2) if wall else 0.0,
        **latency_summary(lat),
    }


def run(
    index: Path,
    work: Path,
    kind: str,
    qs: list[str],
    levels: Sequence[tuple[int, int]],
    cap_s: float,
) -> dict[str, Any]:
    out: dict[str, Any] = {"levels": [c for c, _ in levels], "cap_s": cap_s, "endpoints": {}}
    with serving(index, work / "serve", kind) as srv:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        with httpx.Client(timeout=120.0, limits=limits) as client:
            for q in qs:  # warm: every question once
                post(client, f"{srv.base_url}/api/chat", chat_body(q))
            out["server_rss_mb_before"] = rss_mb(srv.pid)
            for endpoint in ("chat", "search"):
                url = f"{srv.base_url}/api/{endpoint}"
                rows = []
                for conc, n in levels:
                    log.info("load: /api/%s, concurrency %d, %d requests", endpoint, conc, n)
                    row = level(client, url, bodies(endpoint, qs), conc, n, cap_s)
                    row["server_rss_mb"] = rss_mb(srv.pid)
                    rows.append(row)
                out["endpoints"][endpoint] = rows
            out["server_rss_mb_after"] = rss_mb(srv.pid)
            out["server_rss_peak_mb"] = round(status_kb(srv.pid).get("VmHWM", 0) / 1024, 1)
    out["errors"] = sum(r["errors"] for rows in out["endpoints"].values() for r in rows)
    return out
