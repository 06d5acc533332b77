"""A bounded soak run: chat, search and streaming at a fixed concurrency against a live server.

    python -m eval.soak --duration 120 --concurrency 16
    python -m eval.soak --long-questions 8 --uploads 6 --embedder e5 --duration 180

Without ``--url`` it starts ``kansai-assistant serve`` on a free loopback port (the real corpus,
the fake embedder, a temporary index) and samples that process's RSS before, during and
after the run. It prints requests, errors, latency percentiles and RSS, and exits 1 on any
error. Loopback only; bounded in time (``--duration``) and count (``--max-requests``).

``--long-questions N`` runs two phases of ``--duration`` seconds each: short questions alone
(the baseline; every one new, so none comes from a cache), then the same short traffic while
N more clients send 2,000-character
questions back to back (and ``--uploads`` documents are uploaded, re-uploaded and indexed in
the background). It prints the short questions' p50/p95/p99 in both phases and their ratio,
what happened to the long ones (answered, or ``503 busy``), and the RSS of each third of the
second phase: a plateau means the last third is no higher than the second.
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
    warm: bool = True,
    unique: bool = False,
) -> SoakStats:
    """``unique`` makes every question new (a counter appended), so none is answered from the
    query-vector cache: each one needs the embedding model, as a real user's does."""
    stats = SoakStats(concurrency=concurrency)
    lock = threading.Lock()
    if warm:
        with httpx.Client(base_url=base_url, timeout=60) as client:  # load the index first
            for kind in KINDS:
                _one(client, kind, QUESTIONS[0])
    stats.rss_before_mb = rss_mb(pid) if pid else 0.0
    started = time.monotonic()
    deadline = started + duration_s
    done = threading.Event()

    def sampler() -> None:
        while pid and not done.wait(1.0):
            stats.rss_samples_mb.append(rss_mb(pid))

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        asked = 0
        with httpx.Client(base_url=base_url, timeout=60) as client:
            while time.monotonic() < deadline:
                with lock:
                    if stats.requests >= max_requests:
                        return
                    stats.requests += 1
                kind = rng.choices(KINDS, weights=(4, 4, 2))[0]
                t0 = time.perf_counter()
                try:
                    asked += 1
                    question = rng.choice(QUESTIONS)
                    _one(client, kind, f"{question} ({n}-{asked})" if unique else question)
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


# ---- long questions ----------------------------------------------------------------------------
ADMIN_TOKEN = "soak-admin-token"  # the server started here; never a real deployment's


def long_questions(n: int, chars: int = 1990, seed: int = 0) -> list[str]:
    """``n`` questions of about ``chars`` characters made of the vision's own lines."""
    lines = [
        line.strip()
        for line in (PROJECT / "corpus" / "kansai-industrial-vision-2023.txt")
        .read_text(encoding="utf-8")
        .splitlines()
        if len(line.strip()) > 20
    ]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        text = ""
        while len(text) < chars - 40:
            text += rng.choice(lines)
        out.append(text[: chars - 12] + "について教えてください。")
    return out


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass
class LongSoak:
    baseline: SoakStats
    mixed: SoakStats
    long_ms: list[float] = field(default_factory=list)
    long_busy: int = 0
    long_errors: list[str] = field(default_factory=list)
    uploads_done: int = 0
    upload_errors: list[str] = field(default_factory=list)
    rss_timeline_mb: list[tuple[float, float]] = field(default_factory=list)  # (s, MB)

    def thirds(self) -> list[float]:
        """Mean RSS of each third of the mixed phase."""
        pts = [mb for _, mb in self.rss_timeline_mb]
        if len(pts) < 3:
            return pts
        k = len(pts) // 3
        return [
            statistics.fmean(pts[:k]),
            statistics.fmean(pts[k : 2 * k]),
            statistics.fmean(pts[2 * k :]),
        ]

    def summary(self) -> str:
        def short(stats: SoakStats) -> list[float]:
            return [ms for kind in ("chat", "stream") for ms in stats.by_kind.get(kind, [])]

        b, m = short(self.baseline), short(self.mixed)
        lines = ["short questions (chat + stream):"]
        for name, lat in (("alone", b), ("with long ones", m)):
            lines.append(
                f"  {name:<15} n={len(lat):<5} p50={_pct(lat, 50):.0f} ms  "
                f"p95={_pct(lat, 95):.0f} ms  p99={_pct(lat, 99):.0f} ms"
            )
        if b and m:
            lines.append(
                f"  ratio with/alone: p50 {_pct(m, 50) / max(_pct(b, 50), 1e-9):.2f}×, "
                f"p99 {_pct(m, 99) / max(_pct(b, 99), 1e-9):.2f}×"
            )
        lines.append(
            f"long questions: {len(self.long_ms)} answered (p50={_pct(self.long_ms, 50):.0f} ms, "
            f"p99={_pct(self.long_ms, 99):.0f} ms), {self.long_busy} × 503 busy, "
            f"{len(self.long_errors)} errors"
        )
        lines.append(f"uploads: {self.uploads_done} indexed, {len(self.upload_errors)} errors")
        if self.rss_timeline_mb:
            t = self.thirds()
            lines.append(
                f"RSS: before {self.baseline.rss_before_mb:.0f} MB, after the baseline "
                f"{self.baseline.rss_after_mb:.0f} MB; mixed phase by thirds "
                + " / ".join(f"{x:.0f}" for x in t)
                + f" MB, max {max(mb for _, mb in self.rss_timeline_mb):.0f} MB, "
                f"end {self.rss_timeline_mb[-1][1]:.0f} MB"
            )
        lines.extend(f"  error: {e}" for e in (self.long_errors + self.upload_errors)[:5])
        lines.extend(f"  error: {e}" for e in self.mixed.error_samples[:5])
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        def short(stats: SoakStats) -> list[float]:
            return [ms for kind in ("chat", "stream") for ms in stats.by_kind.get(kind, [])]

        return {
            "baseline": self.baseline.to_dict(),
            "mixed": self.mixed.to_dict(),
            "short_p50_ms": [round(_pct(short(s), 50), 1) for s in (self.baseline, self.mixed)],
            "short_p99_ms": [round(_pct(short(s), 99), 1) for s in (self.baseline, self.mixed)],
            "long_answered": len(self.long_ms),
            "long_p50_ms": round(_pct(self.long_ms, 50), 1),
            "long_busy": self.long_busy,
            "long_errors": len(self.long_errors),
            "uploads_done": self.uploads_done,
            "rss_thirds_mb": [round(x, 1) for x in self.thirds()],
            "rss_timeline_mb": [(round(t, 1), round(mb, 1)) for t, mb in self.rss_timeline_mb],
        }


def run_long_soak(
    base_url: str,
    duration_s: float,
    concurrency: int,
    long_clients: int,
    pid: int | None = None,
    uploads: int = 0,
    admin_token: str = ADMIN_TOKEN,
    upload_kb: int = 60,
) -> LongSoak:
    """Short traffic alone, then the same with ``long_clients`` sending long questions."""
    baseline = run_soak(base_url, duration_s, concurrency, pid, unique=True)
    questions = long_questions(64)
    result = LongSoak(baseline=baseline, mixed=SoakStats())
    stop = threading.Event()
    lock = threading.Lock()
    started = time.monotonic()

    def long_worker(n: int) -> None:
        rng = random.Random(1000 + n)
        with httpx.Client(base_url=base_url, timeout=300) as client:
            while not stop.is_set():
                q = rng.choice(questions)
                body = {"messages": [{"role": "user", "content": q}]}
                t0 = time.perf_counter()
                try:
                    if rng.random() < 0.5:
                        r = client.post("/api/chat", json=body)
                    else:
                        r = client.post("/api/chat", json={**body, "stream": True})
                    if r.status_code == 503 and r.json()["error"]["code"] == "busy":
                        with lock:
                            result.long_busy += 1
                        stop.wait(float(r.headers.get("retry-after", "1")))
                        continue
                    r.raise_for_status()
                except Exception as exc:
                    with lock:
                        result.long_errors.append(f"long: {type(exc).__name__}: {exc}"[:300])
                    continue
                with lock:
                    result.long_ms.append((time.perf_counter() - t0) * 1000)

    def uploader() -> None:
        lines = [
            line
            for line in (PROJECT / "corpus" / "kansai-industrial-vision-2023.txt")
            .read_text(encoding="utf-8")
            .splitlines()
            if line.strip()
        ]
        headers = {"Authorization": f"Bearer {admin_token}"}
        rng = random.Random(7)
        with httpx.Client(base_url=base_url, timeout=600) as client:
            for i in range(uploads):  # spread over the phase (no later than planned)
                due = started + (i + 1) * duration_s / (uploads + 1)
                if stop.wait(max(0.0, due - time.monotonic())):
                    return
                body = f"# 資料{i}\n\n"
                k = 0
                while len(body.encode("utf-8")) < upload_kb * 1024:  # new text: new vectors
                    body += f"{rng.choice(lines)}（{i}-{k}）\n"
                    k += 1
                name = f"soak-upload-{i % 3}.txt"  # three names: later ones are re-uploads
                files = {"file": (name, body.encode("utf-8"), "text/plain")}
                try:
                    r = client.post("/api/documents?replace=true", files=files, headers=headers)
                    r.raise_for_status()
                    if r.status_code == 202:  # indexed in the background: wait for the job
                        job = r.json()["job"]["url"]
                        r = client.get(f"{job}?wait=600", headers=headers)
                        if r.json().get("state") != "done":
                            raise RuntimeError(f"job ended {r.json().get('state')}: {r.text[:200]}")
                    # (201: a server that indexes uploads within the request)
                except Exception as exc:
                    result.upload_errors.append(f"upload: {type(exc).__name__}: {exc}"[:300])
                    continue
                result.uploads_done += 1

    def sampler() -> None:
        while pid and not stop.wait(1.0):
            result.rss_timeline_mb.append((time.monotonic() - started, rss_mb(pid)))

    threads = [threading.Thread(target=long_worker, args=(i,)) for i in range(long_clients)]
    threads += [threading.Thread(target=uploader), threading.Thread(target=sampler)]
    for t in threads:
        t.start()
    try:
        result.mixed = run_soak(
            base_url, duration_s, concurrency, pid, warm=False, seed=1, unique=True
        )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=600)
    return result


def _start_server(workdir: Path, embedder: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KANSAI_")}
    env.update(
        KANSAI_CORPUS_DIR=str(PROJECT / "corpus"),
        KANSAI_FEEDBACK_PATH=str(workdir / "feedback.jsonl"),
        KANSAI_ADMIN_TOKEN=ADMIN_TOKEN,
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
    ap.add_argument(
        "--long-questions",
        type=int,
        default=0,
        metavar="N",
        help="a second phase with N more clients sending 2,000-character questions",
    )
    ap.add_argument(
        "--uploads", type=int, default=0, help="documents uploaded during that phase (admin)"
    )
    ap.add_argument("--upload-kb", type=int, default=60, help="size of each upload (default 60)")
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
            if args.long_questions:
                admin = (
                    os.environ.get("KANSAI_ADMIN_TOKEN", ADMIN_TOKEN) if args.url else ADMIN_TOKEN
                )
                long = run_long_soak(
                    url,
                    args.duration,
                    args.concurrency,
                    args.long_questions,
                    pid,
                    args.uploads,
                    admin,
                )
            else:
                stats = run_soak(url, args.duration, args.concurrency, pid, args.max_requests)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    if args.long_questions:
        print(long.summary())
        if args.json:
            print(json.dumps(long.to_dict()))
        failed = long.baseline.errors + long.mixed.errors + len(long.long_errors)
        return 1 if failed or long.upload_errors else 0
    print(stats.summary())
    if args.json:
        print(json.dumps(stats.to_dict()))
    return 1 if stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
