"""The floor and the end-to-end chat latency, measured side by side.

The floor is what no query can avoid: one query embedding, one BM25 lookup (Sudachi
tokenize + score), one vector lookup, timed in this process on the vision-corpus index.
End to end is ``POST /api/chat`` (extractive, JSON) over HTTP to a live, warm
``kansai-assistant serve`` on 127.0.0.1 with the same index. Both are measured interleaved,
question by question, so load from other jobs hits them alike. If the end-to-end p50 is above
``TARGET`` × the floor, the same questions are profiled in-process with cProfile.
"""

from __future__ import annotations

import cProfile
import io
import logging
import pstats
import time
from pathlib import Path
from typing import Any

import httpx
from llama_index.core.schema import QueryBundle

from assistant.embedding.base import Embedder
from assistant.retrieval.searcher import Searcher
from assistant.settings import EmbedderKind, Settings
from assistant.text.tokenizer import get_tokenizer
from eval.bench import datasets
from eval.bench.machine import latency_summary, rss_mb
from eval.bench.retrieval import Progress
from eval.bench.served import chat_body, post, serving

log = logging.getLogger(__name__)

TARGET = 2.0  # end-to-end p50 within 2× the floor


def vision_index(work: Path, corpus: Path, embedder: Embedder) -> Path:
    """The corpus index for the service (incremental: an existing one is reused as is)."""
    index = work / "vision" / "index"
    datasets.ingest_folder(corpus, index, embedder, get_tokenizer("sudachi"), fresh=False)
    return index


def questions(cases: Path, limit: int | None) -> list[str]:
    return [str(c["question"]) for c in datasets.load_cases(cases, limit)]


def run(
    index: Path,
    work: Path,
    embedder: Embedder,
    kind: str,
    qs: list[str],
    profile_out: Path | None,
    force_profile: bool = False,
    warm_passes: int = 1,
) -> dict[str, Any]:
    sudachi = get_tokenizer("sudachi")
    searcher = Searcher(Settings(index_dir=index), embedder, sudachi)
    idx = searcher.index()
    k = searcher.settings.candidates
    idx.bm25.similarity_top_k = k
    idx.store.query(embedder.embed_query(qs[0]), k)  # opens Chroma
    embed, bm25, vector, e2e, server = [], [], [], [], []
    split: dict[str, list[float]] = {"retrieve": [], "generate": []}
    errors: list[str] = []
    with serving(index, work / "serve", kind) as srv, httpx.Client(timeout=60.0) as client:
        url = f"{srv.base_url}/api/chat"
        for _ in range(warm_passes):  # warm: every question once, and the sentence vectors
            for q in qs:
                post(client, url, chat_body(q))
        rss_before = rss_mb(srv.pid)
        progress = Progress("floor vs /api/chat", len(qs))
        for i, q in enumerate(qs, start=1):
            t0 = time.perf_counter()
            vec = embedder.embed_query(q)
            t1 = time.perf_counter()
            idx.bm25.retrieve(QueryBundle(query_str=q))
            t2 = time.perf_counter()
            idx.store.query(vec, k)
            t3 = time.perf_counter()
            embed.append((t1 - t0) * 1000)
            bm25.append((t2 - t1) * 1000)
            vector.append((t3 - t2) * 1000)
            ok, ms, body = post(client, url, chat_body(q))
            if not ok:
                errors.append(str(body))
                continue
            e2e.append(ms)
            timings = body.get("timings_ms", {})
            server.append(float(timings.get("total", 0.0)))
            for key in split:
                split[key].append(float(timings.get(key, 0.0)))
            progress(i)
        rss_after = rss_mb(srv.pid)
    parts = {"query_embedding": embed, "bm25_lookup": bm25, "vector_lookup": vector}
    floor_p50 = {name: latency_summary(v)["p50_ms"] for name, v in parts.items()}
    floor_ms = round(sum(floor_p50.values()), 2)
    e2e_s = latency_summary(e2e)
    server_s = latency_summary(server)
    ratio = round(e2e_s["p50_ms"] / floor_ms, 2) if floor_ms else 0.0
    out: dict[str, Any] = {
        "questions": len(qs),
        "index": str(index),
        "candidates": k,
        "floor_p50_ms": floor_p50,
        "floor_ms": floor_ms,
        "floor_detail": {name: latency_summary(v) for name, v in parts.items()},
        "e2e": e2e_s,
        "server_total": server_s,
        "server_split_p50_ms": {k2: latency_summary(v)["p50_ms"] for k2, v in split.items()},
        "http_overhead_p50_ms": round(e2e_s["p50_ms"] - server_s["p50_ms"], 2),
        "ratio": ratio,
        "target": TARGET,
        "target_met": bool(e2e and ratio <= TARGET),
        "errors": len(errors),
        "error_samples": errors[:3],
        "server_rss_mb": {"before": rss_before, "after": rss_after},
    }
    if profile_out is not None and (not out["target_met"] or force_profile or kind == "fake"):
        out["profile"] = profile(index, kind, qs, profile_out)
    return out


def profile(index: Path, kind: str, qs: list[str], path: Path) -> dict[str, Any]:
    """cProfile of AnswerEngine.answer over the questions, in-process and warm."""
    from assistant.services import build_services

    log.info("profiling %d answers in-process", len(qs))
    services = build_services(Settings(index_dir=index, embedder=EmbedderKind(kind)))
    services.answers.warm(background=False)
    for q in qs:  # warm like the served run: every question once before measuring
        services.answers.answer(q)
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for q in qs:
        services.answers.answer(q)
    prof.disable()
    wall = time.perf_counter() - t0
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return {
        "file": path.name,
        "answers": len(qs),
        "ms_per_answer": round(1000 * wall / max(1, len(qs)), 2),
        "top_cumulative": _top(stats, "cumulative", len(qs), 25),
        "top_self": _top(stats, "tottime", len(qs), 15),
    }


def _top(stats: pstats.Stats, key: str, n_answers: int, n: int) -> list[dict[str, Any]]:
    """The heaviest functions, in ms per answer."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    idx = 3 if key == "cumulative" else 2
    rows = sorted(raw.items(), key=lambda kv: -kv[1][idx])[:n]
    return [
        {
            "function": f"{fn[0]}:{fn[1]}({fn[2]})",
            "calls_per_answer": round(v[1] / max(1, n_answers), 1),
            "self_ms_per_answer": round(1000 * v[2] / max(1, n_answers), 2),
            "cum_ms_per_answer": round(1000 * v[3] / max(1, n_answers), 2),
        }
        for fn, v in rows
    ]
