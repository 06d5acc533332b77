"""The Markdown report, the chart and the ``latest.json`` summary of one eval run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.runner import CaseResult

HEADLINE = (
    "hit@1",
    "hit@5",
    "recall@5",
    "mrr",
    "ndcg@10",
    "faithfulness",
    "citation_recall",
    "citation_precision",
    "key_fact_recall",
    "key_facts_all",
    "abstain_precision",
    "abstain_recall",
    "wrong_abstention",
    "judge_faithfulness",
    "judge_agreement",
)
PER_TYPE = ("recall@5", "mrr", "faithfulness", "citation_recall", "key_fact_recall")
CHART = ("recall@5", "mrr", "faithfulness", "citation_recall", "key_fact_recall")


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _ms(v: Any) -> str:
    return "–" if v is None else f"{v:.0f}"


def _delta(now: Any, before: Any) -> str:
    if not isinstance(now, int | float) or not isinstance(before, int | float):
        return ""
    d = now - before
    return f"{d:+.3f}" if abs(d) >= 0.0005 else "="


def write_chart(path: Path, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = ["overall", *summary["by_type"]]
    data = [summary["overall"], *summary["by_type"].values()]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(CHART)
    for i, key in enumerate(CHART):
        xs = [g + i * width for g in range(len(groups))]
        ax.bar(xs, [d.get(key) or 0.0 for d in data], width, label=key)
    ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], groups, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Kansai Vision Assistant eval — {summary['backend']}")
    ax.legend(fontsize=8, ncols=len(CHART), loc="lower center", bbox_to_anchor=(0.5, -0.32))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(
    summary: dict[str, Any],
    results: list[CaseResult],
    previous: dict[str, Any] | None,
    worst: int = 10,
) -> str:
    o = summary["overall"]
    prev = (previous or {}).get("overall", {})
    lines = [
        f"# Eval run {summary['run']} — backend `{summary['backend']}`",
        "",
        f"{o['cases']} cases from `{summary['dataset']}`"
        + (f" (types: {', '.join(summary['types'])})" if summary.get("types") else "")
        + (f", limited to {summary['limit']}" if summary.get("limit") else "")
        + f". Previous run: {previous['run'] if previous else 'none'}.",
        "",
        "![metrics](metrics.png)",
        "",
        "## Metrics",
        "",
        "| metric | value | previous | Δ |",
        "|---|---:|---:|---:|",
    ]
    for key in HEADLINE:
        if key in o:
            lines.append(
                f"| {key} | {_fmt(o[key])} | {_fmt(prev.get(key))} | {_delta(o[key], prev.get(key))} |"
            )
    lines += [
        f"| claims checked | {o['claims']} | {_fmt(prev.get('claims'))} | |",
        f"| answers changed by the guard (non-empty `removed`) | {o['guard_changed']} | {_fmt(prev.get('guard_changed'))} | |",
        f"| degraded (LLM failed → extractive) | {o['degraded']} | {_fmt(prev.get('degraded'))} | |",
        f"| latency p50 / p95 (ms) | {_ms(o['latency_p50_ms'])} / {_ms(o['latency_p95_ms'])} | {_ms(prev.get('latency_p50_ms'))} / {_ms(prev.get('latency_p95_ms'))} | |",
        "",
        "## Per question type",
        "",
        "| type | cases | " + " | ".join(PER_TYPE) + " | abstained | guard changed | p50 ms |",
        "|---|---:|" + "---:|" * (len(PER_TYPE) + 3),
    ]
    for t, s in summary["by_type"].items():
        abst = sum(1 for r in results if r.type == t and r.abstained)
        lines.append(
            f"| {t} | {s['cases']} | "
            + " | ".join(_fmt(s.get(k)) for k in PER_TYPE)
            + f" | {abst} | {s['guard_changed']} | {_ms(s['latency_p50_ms'])} |"
        )
    ch = summary.get("checker")
    if ch:
        lines += [
            "",
            "## Offline claim checker vs hand labels",
            "",
            f"`eval/labelled_claims.jsonl`: {ch.get('n')} labelled pairs — accuracy {_fmt(ch.get('accuracy'))}, "
            f"precision on *unsupported* {_fmt(ch.get('precision_unsupported'))}, "
            f"recall on *unsupported* {_fmt(ch.get('recall_unsupported'))}.",
            "",
        ]
        for mk in ch.get("mistakes", []):
            lines.append(
                f"- labelled {'supported' if mk['label'] else 'unsupported'}: {mk['sentence']} ({mk['note']})"
            )
    lines += ["", f"## The {worst} worst cases", ""]
    for r in sorted(results, key=lambda r: (r.score(), r.id))[:worst]:
        lines += _case_md(r)
    return "\n".join(lines) + "\n"


def _case_md(r: CaseResult) -> list[str]:
    bad = [c for c in r.claims if not c.supported]
    out = [
        f"### {r.id} ({r.type}, score {r.score():.2f})",
        "",
        f"**Q:** {r.question}",
        "",
        f"answerable: {r.answerable} · grounded: {r.grounded} · key facts: {_fmt(r.key_fact_recall)} · "
        f"faithfulness: {_fmt(r.faithfulness)} · recall@5: {_fmt(r.retrieval.get('recall@5'))}",
        "",
        "```text",
        r.answer[:1200],
        "```",
    ]
    for cit in r.citations[:5]:
        out.append(f"- [{cit['n']}] {cit['section']} — quote: {cit['quote'][:120]}")
    for c in bad[:5]:
        out.append(f"- unsupported claim: {c.sentence[:160]} — {c.reason}")
    for x in r.removed[:5]:
        out.append(f"- removed by the guard: {x['sentence'][:160]} — {x['reason']}")
    out.append("")
    return out


def write(
    out_dir: Path,
    summary: dict[str, Any],
    results: list[CaseResult],
    previous: dict[str, Any] | None,
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    with open(out_dir / "cases.jsonl", "w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
    write_chart(out_dir / "metrics.png", summary)
    path = out_dir / "report.md"
    path.write_text(markdown(summary, results, previous), encoding="utf-8")
    return path


def compact(summary: dict[str, Any]) -> dict[str, Any]:
    """What ``eval/runs/latest.json`` keeps: the numbers, not the cases or mistakes."""

    def r(d: dict[str, Any]) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}

    checker = {k: v for k, v in (summary.get("checker") or {}).items() if k != "mistakes"}
    return {
        "run": summary["run"],
        "backend": summary["backend"],
        "dataset": summary["dataset"],
        "overall": r(summary["overall"]),
        "by_type": {t: r(s) for t, s in summary["by_type"].items()},
        "checker": r(checker),
    }
