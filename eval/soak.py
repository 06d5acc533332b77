"""A bounded soak run: chat, search and streaming at a fixed concurrency against a live server.

    python -m eval.soak --duration 120 --concurrency 16

Without ``--url`` it starts ``kansai-assistant serve`` on a free loopback port (the real corpus,
the fake embedder, a temporary index) and samples that process's RSS before, during and
after the run. It prints requests, errors, latency percentiles and RSS, and exits 1 on any
error. Loopback only; bounded in time (``--duration``) and count (``--max-requests``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "関西広域産業ビジョンの目標は？",
    "水素ステーションの整備は進みますか？",
    "蓄電池人材の育成は？",
    "関西の国内シェアの目標は何%ですか？",
    "スタートアップ支援の予算は？",
    "What is the GRP target of Kansai?",
]
KINDS = ("chat", "search", "stream")


@dataclass
class SoakStats:
    duration_s: float = 0.0
    concurrency: int = 0
    requests: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # latencies in ms
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    rss_samples_mb: list[float] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.requests} requests in {self.duration_s:.0f} s at concurrency "
            f"{self.concurrency} ({self.requests / max(self.duration_s, 1e-9):.1f} req/s), "
            f"{self.errors} errors"
        ]
        for kind, lat in sorted(self.by_kind.items()):
            if lat:
                q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
                lines.append(
                    f"  {kind:<6} n={len(lat):<5} p50={q[49]:.0f} ms  p95={q[94]:.0f} ms  "
                    f"max={max(lat):.0f} ms"
                )
        if self.rss_samples_mb:
            lines.append(
                f"  RSS before {self.rss_before_mb:.0f} MB, after {self.rss_after_mb:.0f} MB, "
                f"max {max(self.rss_samples_mb):.0f} MB, growth "
                f"{self.rss_after_mb - self.rss_before_mb:+.0f} MB"
            )
        lines.extend(f"  error: {e}" for e in self.error_samples[:5])
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "duration_s": round(self.duration_s, 1),
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "count_by_kind": {k: len(v) for k, v in self.by_kind.items()},
            "rss_before_mb": round(self.rss_before_mb, 1),
            "rss_after_mb": round(self.rss_after_mb, 1),
            "rss_max_mb": round(max(self.rss_samples_mb, default=0.0), 1),
        }


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` (Linux /proc); 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _one(client: httpx.Client, kind: str, question: str) -> None:
    """One request; raises on anything a user would see as a failure."""
    body = {"messages": [{"role": "user", "content": question}]}
    if kind == "search":
        r = client.post("/api/search", json={"query": question, "top_k": 5})
        r.raise_for_status()
        if "results" not in r.json():
            raise ValueError("search without results field")
    elif kind == "chat":
        r = client.post("/api/chat", json=body)
        r.raise_for_status()
        if "answer" not in r.json():
            raise ValueError("chat without answer field")
    else:
        with client.stream("POST", "/api/chat", json={**body, "stream": True}) as r:
            r.raise_for_status()
            text = r.read().decode()
        if "event: final" not in text:
            raise ValueError(f"stream ended without a final event: {text[-200:]!r}")


def run_soak(
    base_url: str,
    duration_s: float,
    concurrency: int,
    pid: int | None = None,
    max_requests: int = 1_000_000,
    seed: int = 0,
) -> SoakStats:
    stats = SoakStats(concurrency=concurrency)
    lock = threading.Lock()
    with httpx.Client(base_url=base_url, timeout=60) as warm:  # load the index first
        for kind in KINDS:
            _one(warm, kind, QUESTIONS[0])
    stats.rss_before_mb = rss_mb(pid) if pid else 0.0
    started = time.monotonic()
    deadline = started + duration_s
    done = threading.Event()

    def sampler() -> None:
        while pid and not done.wait(1.0):
            stats.rss_samples_mb.append(rss_mb(pid))

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        with httpx.Client(base_url=base_url, timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    if stats.requests >= max_requests:
                        return
                    stats.requests += 1
                kind = rng.choices(KINDS, weights=(4, 4, 2))[0]
                t0 = time.perf_counter()
                try:
                    _one(client, kind, rng.choice(QUESTIONS))
                except Exception as exc:
                    with lock:
                        stats.errors += 1
                        stats.error_samples.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
                    continue
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    stats.by_kind.setdefault(kind, []).append(ms)

    sample_thread = threading.Thread(target=sampler, daemon=True)
    sample_thread.start()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration_s + 120)
    stats.duration_s = time.monotonic() - started
    done.set()
    sample_thread.join(timeout=5)
    stats.rss_after_mb = rss_mb(pid) if pid else 0.0
    if pid:
        stats.rss_samples_mb.extend([stats.rss_before_mb, stats.rss_after_mb])
    return stats


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(workdir: Path, embedder: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANSAI_")}
    env.update(
        KANSAI_CORPUS_DIR=str(PROJECT / "corpus"),
        KANSAI_FEEDBACK_PATH=str(workdir / "feedback.jsonl"),
    )
    exe = Path(sys.executable).parent / "kansai-assistant"
    cmd = [str(exe), "serve", "--index", str(workdir / "index"), "--embedder", embedder]
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--no-ui"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((workdir / "server.log").read_text(errors="replace")[-2000:])
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server did not become ready in 300 s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.soak", description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=120.0, help="seconds (default 120)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-requests", type=int, default=1_000_000)
    ap.add_argument("--url", help="an already running server (default: start one)")
    ap.add_argument("--pid", type=int, help="the server's pid, for RSS (with --url)")
    ap.add_argument("--embedder", default="fake", help="for the started server (default fake)")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    args = ap.parse_args(argv)
    if args.url and not args.url.startswith(("http://127.0.0.1", "http://localhost")):
        ap.error("the soak only runs against a loopback server")
    with tempfile.TemporaryDirectory(prefix="kansai-soak-") as tmp:
        proc = None
        url, pid = args.url, args.pid
        if not url:
            print("starting kansai-assistant serve (builds a temporary index)…", file=sys.stderr)
            proc, url = _start_server(Path(tmp), args.embedder)
            pid = proc.pid
        try:
            stats = run_soak(url, args.duration, args.concurrency, pid, args.max_requests)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    print(stats.summary())
    if args.json:
        print(json.dumps(stats.to_dict()))
    return 1 if stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
