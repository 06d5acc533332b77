"""Results on disk: one JSON per run, ``latest.md`` as a table, deltas against the last run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.bench.datasets import ATTRIBUTION

METRICS = ("hit@1", "hit@5", "mrr@10", "ndcg@10")
# Variants within this much of the best JSQuAD nDCG@10 are treated as tied; the eval set
# (our own document) then decides. ~ one standard error of nDCG@10 over 4,442 questions.
TIE = 0.005


def recommend(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """The fusion setting to ship: best JSQuAD nDCG@10 (MRR breaks ties), checked on the eval set."""
    jsq, ev = results.get("jsquad", {}), results.get("eval", {})
    hybrids = [v for v in jsq if v.startswith("hybrid-") and "bigram" not in v]
    if not hybrids:
        return {}
    ranked = sorted(hybrids, key=lambda v: (-jsq[v]["ndcg@10"], -jsq[v]["mrr@10"]))
    best = jsq[ranked[0]]["ndcg@10"]
    tied = [v for v in ranked if best - jsq[v]["ndcg@10"] <= TIE]
    if ev:
        pick = max(tied, key=lambda v: (ev[v]["ndcg@10"], ev[v]["mrr@10"], -ranked.index(v)))
    else:
        pick = ranked[0]
    fusion = "rrf" if "rrf" in pick else "weighted"
    out: dict[str, Any] = {
        "variant": pick,
        "fusion": fusion,
        "dense_weight": None if fusion == "rrf" else float(pick.rsplit("-", 1)[1]),
        "rule": (
            f"highest JSQuAD nDCG@10 (MRR@10 breaks ties); among variants within {TIE} of it, "
            "the best eval-set nDCG@10"
        ),
        "jsquad_best": ranked[0],
        "tied_on_jsquad": tied,
        "jsquad": jsq[pick],
    }
    if ev:
        out["eval"] = ev[pick]
        out["eval_best"] = max(hybrids, key=lambda v: (ev[v]["ndcg@10"], ev[v]["mrr@10"]))
    return out


def previous_run(out_dir: Path, mode: str, exclude: Path | None = None) -> dict[str, Any] | None:
    """The newest earlier result JSON of the same mode (full or quick)."""
    for path in sorted(out_dir.glob("bench-*.json"), reverse=True):
        if exclude is not None and path.resolve() == exclude.resolve():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("mode") == mode:
            data["_path"] = path.name
            return data  # type: ignore[no-any-return]
    return None


def write(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``bench-<stamp>.json`` and ``latest.md``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    prev = previous_run(out_dir, result["mode"])
    if prev is not None:
        result["previous_run"] = prev["_path"]
    json_path = out_dir / f"bench-{result['stamp']}.json"
    json_path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    md_path = out_dir / "latest.md"
    from eval.bench import perf_report  # the cost and service parts, newest of each

    md_path.write_text(markdown(result, prev) + perf_report.sections(out_dir), encoding="utf-8")
    return json_path, md_path


def _delta(now: float, before: float | None) -> str:
    if before is None:
        return ""
    d = now - before
    return f" ({d:+.4f})" if abs(d) >= 1e-4 else " (=)"


def table(rows: dict[str, dict[str, float]], prev: dict[str, dict[str, float]] | None) -> str:
    head = "| variant | hit@1 | hit@5 | MRR@10 | nDCG@10 | p50 ms | p95 ms |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        old = (prev or {}).get(name, {})
        cells = [f"{r[m]:.4f}" for m in METRICS[:3]]
        cells.append(f"{r['ndcg@10']:.4f}{_delta(r['ndcg@10'], old.get('ndcg@10'))}")
        cells += [f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(result: dict[str, Any], prev: dict[str, Any] | None) -> str:
    res = result["results"]
    meta = result["datasets"]
    parts = [
        f"# Retrieval benchmark ({result['mode']}, {result['stamp']})",
        "",
        f"Command: `{result['command']}`. Embedder `{result['embedder']}`; "
        f"{result['machine']['cpus']} CPUs, load average {result['machine']['loadavg_start']} "
        f"at start. Latencies are retrieval only (query vectors precomputed); add the query "
        "embedding from the floor below for dense and hybrid end to end.",
    ]
    if prev is not None:
        parts.append(f"nDCG@10 deltas in parentheses are against `{prev['_path']}`.")
    titles = {
        "jsquad": f"JSQuAD: {meta['jsquad']['questions']} questions over "
        f"{meta['jsquad']['paragraphs']} paragraphs ({meta['jsquad']['chunks']} chunks); "
        "a hit is the question's paragraph",
        "statutes-dev": f"Statute set, dev split: {meta['statutes']['questions']['dev']} "
        f"answerable questions over the full corpus ({meta['statutes']['chunks']} chunks); a hit "
        "holds a gold span or has the case's article as its label",
        "statutes-test": f"Statute set, test split: {meta['statutes']['questions']['test']} "
        "answerable questions over the full corpus (reported, never tuned on)",
        "eval": f"Vision eval set: {meta['eval']['questions']} answerable questions over the vision "
        f"alone ({meta['eval']['chunks']} chunks); a hit is a chunk holding a gold span",
        "eval-full": f"Vision eval set over the full corpus ({meta['eval']['chunks_full']} chunks: "
        "vision + statutes)",
    }
    for key, title in titles.items():
        if key in res:
            parts += [
                "",
                f"## {title}",
                "",
                table(res[key], (prev or {}).get("results", {}).get(key)),
            ]
    margins = result.get("margins_over_bigram") or {}
    if margins:
        parts += [
            "",
            "## The default against the plain bigram BM25 (nDCG@10)",
            "",
            f"Default retrieval settings: `{result.get('default_settings')}` (chosen on dev "
            "splits by `python -m eval.bench.tune`, `eval/results/fusion-latest.md`).",
            "",
            "| query set | hybrid-default − bm25-bigram |",
            "|---|---:|",
        ]
        parts += [f"| {k} | {v:+.4f} |" for k, v in margins.items()]
    ing, fl = result["ingest"], result["floor"]
    parts += [
        "",
        "## Ingest and floor",
        "",
        f"- JSQuAD ingest ({'fresh' if ing['fresh'] else 'reused'}): {ing['seconds']:.1f} s for "
        f"{ing['chunks']} chunks, of which embedding {ing['embed_seconds']:.1f} s "
        f"({ing['embed_ms_per_passage']:.1f} ms/passage, {ing['embedded']} embedded).",
        f"- Stock llama-index build: {result['stock']['jsquad_build_seconds']:.1f} s "
        f"({result['stock']['jsquad_embedded']} passages embedded, the rest reused).",
        f"- Floor (p50 over {fl['samples']} queries): query embedding "
        f"{fl['query_embedding_p50_ms']:.1f} ms, BM25 lookup {fl['bm25_lookup_p50_ms']:.2f} ms "
        f"(Sudachi tokenize {fl['sudachi_tokenize_p50_ms']:.2f} ms), vector lookup "
        f"{fl['vector_lookup_p50_ms']:.2f} ms (top {fl['candidates']}).",
        f"- Whole run: {result['seconds']:.0f} s.",
        "",
        "---",
        "",
        ATTRIBUTION,
        "",
    ]
    return "\n".join(parts)
