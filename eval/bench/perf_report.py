"""``latest.md`` sections and ``latest.png`` for the cost and service parts.

``latest.md`` is composed from the newest result of each part (a part can be run alone), after
the newest retrieval run; each section names its JSON, date, machine and load, and compares
its headline numbers with the previous result of the same part.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PARTS = ("growth", "floor", "load", "startup", "llm")


def _runs(out_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    runs = []
    for path in sorted(out_dir.glob("bench-*.json"), reverse=True):
        try:
            runs.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return runs


def newest(out_dir: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Per part, its newest two results (file name, run), newest first, quick and full apart."""
    runs = _runs(out_dir)
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for part in PARTS:
        hits = [(p.name, r) for p, r in runs if r.get("mode") == "perf" and part in r]
        if hits:
            quick = hits[0][1].get("quick")
            found[part] = [h for h in hits if h[1].get("quick") == quick][:2]
    return found


def write(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``bench-<stamp>.json``, then ``latest.md`` (retrieval + parts) and ``latest.png``."""
    from eval.bench import report

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"bench-{result['stamp']}.json"
    json_path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    retrieval = next(((p, r) for p, r in _runs(out_dir) if r.get("mode") != "perf"), None)
    head = ""
    if retrieval is not None:
        path, run = retrieval
        head = report.markdown(run, report.previous_run(out_dir, run["mode"], exclude=path))
    md_path = out_dir / "latest.md"
    md_path.write_text(head + sections(out_dir), encoding="utf-8")
    chart(out_dir, md_path.with_suffix(".png"))
    return json_path, md_path


# ---- markdown ----------------------------------------------------------------------------
def _where(name: str, run: dict[str, Any], part: dict[str, Any]) -> str:
    m = run.get("machine", {})
    return (
        f"`{name}` ({'quick' if run.get('quick') else 'full'}), {part.get('date', '')}; "
        f"{m.get('nproc')} CPUs, {m.get('ram_gb')} GB RAM; load average "
        f"{part.get('loadavg_start')} → {part.get('loadavg_end')}; {_omp(part)}; "
        f"command `{run.get('command', '')}`; embedder `{run.get('embedder', {}).get('version')}`."
    )


def _omp(part: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (part.get("omp") or {}).items())


def _vs(cur: dict[str, float], prev: dict[str, float] | None, prev_name: str) -> str:
    if not prev:
        return ""
    cells = [f"{k} {prev[k]} → {v}" for k, v in cur.items() if k in prev]
    return f"\nAgainst `{prev_name}`: " + "; ".join(cells) + "." if cells else ""


def headline(part: str, d: dict[str, Any]) -> dict[str, float]:
    try:
        return _headline(part, d)
    except (KeyError, TypeError, IndexError):  # a result from an older format
        return {}


def _headline(part: str, d: dict[str, Any]) -> dict[str, float]:
    if "skipped" in d:
        return {}
    if part == "growth":
        last = d["rows"][-1]
        return {
            f"{last['multiple']}× ingest s (extrapolated)": last["ingest"]["total_extrapolated_s"],
            f"{last['multiple']}× hybrid p50 ms": last["query"]["hybrid_search"]["p50_ms"],
        }
    if part == "floor":
        return {"e2e/floor": d["ratio"], "e2e p50 ms": d["e2e"]["p50_ms"]}
    if part == "load":
        out = {}
        for ep, rows in d["endpoints"].items():
            out[f"{ep} c={rows[-1]['concurrency']} rps"] = rows[-1]["throughput_rps"]
        return out
    if part == "startup":
        return {"median first answer s": d["median_first_answer_s"]}
    if part == "llm":
        return {"service first delta p50 ms": d["service_first_delta"]["p50_ms"]}
    return {}


def sections(out_dir: Path) -> str:
    found = newest(out_dir)
    writers = {
        "growth": _growth,
        "floor": _floor,
        "load": _load,
        "startup": _startup,
        "llm": _llm,
    }
    parts = []
    for part, hits in found.items():
        name, run = hits[0]
        d = run[part]
        prev = (hits[1][0], hits[1][1][part]) if len(hits) > 1 else None
        try:
            body = writers[part](d)
        except (KeyError, TypeError, IndexError) as exc:  # a result from an older format
            body = f"## {part}\n\n(older result format, see the JSON; {type(exc).__name__}: {exc})"
        note = _vs(
            headline(part, d), headline(part, prev[1]) if prev else None, prev[0] if prev else ""
        )
        parts.append(f"{body}\n\n{_where(name, run, d)}{note}\n")
    if not parts:
        return ""
    chart_line = (
        "\n![growth and load](latest.png)\n" if ("growth" in found or "load" in found) else ""
    )
    return "\n\n# Cost and service benchmarks\n" + chart_line + "\n" + "\n".join(parts)


def _growth(d: dict[str, Any]) -> str:
    e = d["embedding"]
    lines = [
        f"## Cost growth (1× = {d['base_paragraphs']} JSQuAD paragraphs; sizes "
        f"{', '.join(f'{m}×' for m in d['sizes'])})",
        "",
        f"Embedding: {e['distinct_passages_embedded']} distinct passages embedded for real in "
        f"{e['seconds']} s = **{e['ms_per_passage']} ms/passage**; repeats served from a cache "
        "(jittered), so the *embed (extrapolated)* column is ms/passage × chunks, not a "
        "measurement at that size. Every other stage ran for real at every size.",
        "",
        "| size | paragraphs | chunks | load+clean s | chunk s | tokenize s | embed (extrapolated) s "
        "| Chroma store s | BM25 build+write s | BM25 build only s | total measured s | "
        "total with embed extrapolated s | index MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in d["rows"]:
        i, st = r["ingest"], r["ingest"]["stages"]
        f = st.get("load_chunk_tokenize", {})
        lines.append(
            f"| {r['multiple']}× | {r['paragraphs']} | {r['chunks']} | {f.get('load_clean_s', 0):.2f} "
            f"| {f.get('chunk_s', 0):.2f} | {f.get('tokenize_s', 0):.2f} | "
            f"{i['embed_extrapolated_s']:.1f} | {st.get('chroma_store', {}).get('seconds', 0):.2f} | "
            f"{st.get('bm25_build_and_write', {}).get('seconds', 0):.2f} | "
            f"{i['bm25_build_only_s']:.3f} | {i['total_s']:.1f} | {i['total_extrapolated_s']:.1f} "
            f"| {r['index_mb']} |"
        )
    lines += [
        "",
        "Peak RSS (MB, VmHWM reset at each stage) of the benchmark process:",
        "",
        "| size | load/chunk/tokenize | embed (cache) | Chroma store | BM25+write | queries |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in d["rows"]:
        st = r["ingest"]["stages"]
        cells = [
            st.get(k, {}).get("peak_rss_mb", 0)
            for k in ("load_chunk_tokenize", "embed", "chroma_store", "bm25_build_and_write")
        ]
        lines.append(
            f"| {r['multiple']}× | "
            + " | ".join(str(c) for c in cells)
            + f" | {r['query']['peak_rss_mb']} |"
        )
    lines += [
        "",
        f"Query stages (p50 ms over {d['queries']} JSQuAD questions; the query embedding does not "
        "depend on corpus size and is measured once):",
        "",
        "| size | embed | BM25 | vector | fuse + overhead | hybrid search p50 | hybrid p95 | index load s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in d["rows"]:
        q = r["query"]
        lines.append(
            f"| {r['multiple']}× | {q['embed']['p50_ms']:.1f} | {q['bm25']['p50_ms']:.2f} | "
            f"{q['vector']['p50_ms']:.2f} | {q['fuse_and_overhead']['p50_ms']:.2f} | "
            f"{q['hybrid_search']['p50_ms']:.2f} | {q['hybrid_search']['p95_ms']:.2f} | "
            f"{q['index_load_s']:.2f} |"
        )
    return "\n".join(lines)


def _floor(d: dict[str, Any]) -> str:
    f = d["floor_p50_ms"]
    verdict = "met" if d["target_met"] else "missed"
    lines = [
        "## Floor vs end-to-end /api/chat (extractive, warm, HTTP on 127.0.0.1)",
        "",
        f"| | p50 ms |\n|---|---:|\n| query embedding | {f['query_embedding']:.2f} |\n"
        f"| BM25 lookup (tokenize + score, top {d['candidates']}) | {f['bm25_lookup']:.2f} |\n"
        f"| vector lookup (top {d['candidates']}) | {f['vector_lookup']:.2f} |\n"
        f"| **floor (sum)** | **{d['floor_ms']:.2f}** |\n"
        f"| /api/chat end to end (p95 {d['e2e']['p95_ms']:.1f}, p99 {d['e2e']['p99_ms']:.1f}) "
        f"| **{d['e2e']['p50_ms']:.2f}** |\n"
        f"| of which in the engine (timings_ms.total) | {d['server_total']['p50_ms']:.2f} |\n"
        f"| engine: retrieve / generate | {d['server_split_p50_ms']['retrieve']:.2f} / "
        f"{d['server_split_p50_ms']['generate']:.2f} |\n"
        f"| HTTP + FastAPI + JSON (difference of p50s) | {d['http_overhead_p50_ms']:.2f} |",
        "",
        f"End-to-end p50 = **{d['ratio']}× the floor** over {d['questions']} eval-set questions "
        f"(target ≤ {d['target']}×: **{verdict}**). Errors: {d['errors']}. Server RSS "
        f"{d['server_rss_mb']['before']} → {d['server_rss_mb']['after']} MB.",
    ]
    prof = d.get("profile")
    if prof:
        lines += [
            "",
            f"Profile (cProfile, in-process, {prof['answers']} answers, "
            f"{prof['ms_per_answer']} ms/answer under the profiler; full listing `{prof['file']}`), "
            "heaviest by cumulative time:",
            "",
            "| function | calls/answer | self ms/answer | cumulative ms/answer |",
            "|---|---:|---:|---:|",
        ]
        for row in prof["top_cumulative"][:18]:
            lines.append(
                f"| `{row['function']}` | {row['calls_per_answer']} | "
                f"{row['self_ms_per_answer']} | {row['cum_ms_per_answer']} |"
            )
    return "\n".join(lines)


def _load(d: dict[str, Any]) -> str:
    lines = [
        f"## Server load (bounded; cap {d['cap_s']:.0f} s per level)",
        "",
        "| endpoint | concurrency | requests | completed | errors | req/s | p50 ms | p95 ms | "
        "p99 ms | server RSS MB after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for ep, rows in d["endpoints"].items():
        for r in rows:
            lines.append(
                f"| /api/{ep} | {r['concurrency']} | {r['requests']} | {r['completed']} | "
                f"{r['errors']} | {r['throughput_rps']:.1f} | {r['p50_ms']:.1f} | "
                f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['server_rss_mb']} |"
            )
    lines += [
        "",
        f"Errors in total: {d['errors']}. Server RSS {d['server_rss_mb_before']} MB before, "
        f"{d['server_rss_mb_after']} MB after (high-water {d['server_rss_peak_mb']} MB).",
    ]
    return "\n".join(lines)


def _startup(d: dict[str, Any]) -> str:
    lines = [
        "## Start-up (`kansai-assistant serve` with an existing index → first answered /api/chat)",
        "",
        "| run | process up + app built s (log) | warm-up s (log) | port open s | first /api/chat ms "
        "| first answer s | RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, r in enumerate(d["runs"], start=1):
        warm = (
            round(r["log_warm_done_s"] - r["log_warm_start_s"], 2)
            if "log_warm_done_s" in r and "log_warm_start_s" in r
            else ""
        )
        lines.append(
            f"| {i} | {r.get('log_process_up_s', '')} | {warm} | {r['port_open_s']} | "
            f"{r['first_chat_ms']} | {r['first_answer_s']} | {r['rss_mb']} |"
        )
    lines += [
        "",
        f"Median **{d['median_first_answer_s']} s** from launch to the first answer (min "
        f"{d['min_first_answer_s']}, max {d['max_first_answer_s']}): process up and app built "
        f"{d['median_log_process_up_s']} s, warm-up {d['median_warm_s']} s, port open at "
        f"{d['median_port_open_s']} s, then the first /api/chat {d['median_first_chat_ms']} ms.",
    ]
    return "\n".join(lines)


def _llm(d: dict[str, Any]) -> str:
    if "skipped" in d:
        return f"## Local LLM\n\n{d['skipped']}."
    lines = [
        f"## Local LLM (`{d['model']}`, {d['n_threads']} threads, max_tokens {d['max_tokens']})",
        "",
        f"Model prepare {d['model_prepare_s']} s; llama-cpp server start {d['llm_server_start_s']} s. "
        f"Questions the engine abstained on before calling the LLM (skipped): "
        f"{d.get('abstained_without_llm', 0)}.",
        "",
        "| # | service: first delta s | service: total s | prompt tokens | prefill tok/s | "
        "decode tok/s | generated tokens | answer tokens | backend (degraded) | "
        "model alone: TTFT s | model alone: decode tok/s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for i, (svc, raw) in enumerate(zip(d["service"], d["direct"], strict=False), start=1):
        call = (svc.get("llm_calls") or [{}])[-1]
        deg = f" ({svc.get('degraded_reason')})" if svc.get("degraded") else ""
        lines.append(
            f"| {i} | {svc.get('first_delta_ms', 0) / 1000:.1f} | {svc.get('seconds')} | "
            f"{call.get('prompt_eval_tokens', '')} | {call.get('prompt_eval_tokens_per_s', '')} | "
            f"{call.get('eval_tokens_per_s', '')} | {call.get('eval_tokens', '')} | "
            f"{svc.get('answer_tokens')} | {svc.get('backend')}{deg} | "
            f"{raw['ttft_ms'] / 1000:.1f} | {raw['decode_tokens_per_s']} |"
        )
    lines += ["", d["note"] + "."]
    return "\n".join(lines)


# ---- chart ---------------------------------------------------------------------------------
def chart(out_dir: Path, path: Path) -> Path | None:
    """growth (ingest stages, query stages) and load (throughput, latency) in one PNG."""
    found = newest(out_dir)
    if "growth" not in found and "load" not in found:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the dev extra is not installed
        return None
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    if "growth" in found:
        _chart_growth(axes[0][0], axes[0][1], found["growth"][0][1]["growth"])
    if "load" in found:
        _chart_load(axes[1][0], axes[1][1], found["load"][0][1]["load"])
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _chart_growth(ax_i: Any, ax_q: Any, d: dict[str, Any]) -> None:
    rows = d["rows"]
    x = [r["chunks"] for r in rows]
    series = {
        "load+clean": [r["ingest"]["stages"]["load_chunk_tokenize"]["load_clean_s"] for r in rows],
        "chunk": [r["ingest"]["stages"]["load_chunk_tokenize"]["chunk_s"] for r in rows],
        "tokenize": [r["ingest"]["stages"]["load_chunk_tokenize"]["tokenize_s"] for r in rows],
        "embed (extrapolated)": [r["ingest"]["embed_extrapolated_s"] for r in rows],
        "Chroma store": [r["ingest"]["stages"]["chroma_store"]["seconds"] for r in rows],
        "BM25 build+write": [
            r["ingest"]["stages"]["bm25_build_and_write"]["seconds"] for r in rows
        ],
    }
    for name, ys in series.items():
        ax_i.plot(x, ys, marker="o", label=name, linestyle="--" if "extrap" in name else "-")
    ax_i.set(xscale="log", yscale="log", xlabel="chunks", ylabel="seconds", title="Ingest stages")
    q = {
        "embed": [r["query"]["embed"]["p50_ms"] for r in rows],
        "BM25": [r["query"]["bm25"]["p50_ms"] for r in rows],
        "vector": [r["query"]["vector"]["p50_ms"] for r in rows],
        "fuse+overhead": [r["query"]["fuse_and_overhead"]["p50_ms"] for r in rows],
        "hybrid search": [r["query"]["hybrid_search"]["p50_ms"] for r in rows],
    }
    for name, ys in q.items():
        ax_q.plot(x, ys, marker="o", label=name)
    ax_q.set(xscale="log", xlabel="chunks", ylabel="p50 ms", title="Query stages")
    labels = [f"{r['chunks']}\n({r['multiple']}×)" for r in rows]
    for ax in (ax_i, ax_q):
        ax.set_xticks(x, labels=labels)
        ax.minorticks_off()
        ax.legend(fontsize=8)


def _chart_load(ax_t: Any, ax_l: Any, d: dict[str, Any]) -> None:
    for n, (ep, rows) in enumerate(d["endpoints"].items()):
        c, color = [r["concurrency"] for r in rows], f"C{n}"
        ax_t.plot(
            c, [r["throughput_rps"] for r in rows], marker="o", color=color, label=f"/api/{ep}"
        )
        for key, style in (("p50_ms", "-"), ("p95_ms", "--"), ("p99_ms", ":")):
            ys = [r[key] for r in rows]
            ax_l.plot(c, ys, style, marker="o", color=color, label=f"/api/{ep} {key[:3]}")
    ax_t.set(xscale="log", xlabel="concurrency", ylabel="requests/s", title="Load: throughput")
    ax_l.set(xscale="log", yscale="log", xlabel="concurrency", ylabel="ms", title="Load: latency")
    for ax in (ax_t, ax_l):
        levels = [r["concurrency"] for r in next(iter(d["endpoints"].values()))]
        ax.set_xticks(levels, labels=[str(c) for c in levels])
        ax.minorticks_off()
        ax.legend(fontsize=8)
