"""``kansai-assistant eval``: run the eval set, write the report, optionally gate on thresholds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "eval" / "runs"
LATEST = RUNS / "latest.json"
THRESHOLDS = ROOT / "eval" / "thresholds.json"


def register(sub: Any, with_index: Any) -> None:
    sp = with_index(sub.add_parser("eval", help="measure retrieval, faithfulness, citations"))
    sp.add_argument("--dataset", metavar="FILE", help="cases JSONL (default eval/cases.jsonl)")
    sp.add_argument("--backend", choices=["extractive", "openai"], help="override KANSAI_GENERATOR")
    sp.add_argument("--out", metavar="DIR", help="run folder (default eval/runs/<timestamp>)")
    sp.add_argument("--limit", type=int, help="run N cases spread over the types")
    sp.add_argument("--types", nargs="+", metavar="TYPE", help="only these question types")
    sp.add_argument(
        "--split", choices=["dev", "test"], help="only this split (default: both, reported apart)"
    )
    sp.add_argument("--gate", action="store_true", help="exit 1 if below eval/thresholds.json")
    sp.add_argument("--judge-llm", metavar="BASE_URL", help="OpenAI-compatible LLM judge")
    sp.add_argument("--judge-model", default="", help="model name for --judge-llm")
    sp.add_argument("--no-save", action="store_true", help="do not update eval/runs/latest.json")
    sp.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sp.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.cli import Progress, _settings
    from assistant.services import build_services
    from eval import report
    from eval.runner import DEFAULT_DATASET, run_eval

    settings = _settings(args)
    services = build_services(settings)
    progress = Progress(quiet=args.quiet)
    dataset = Path(args.dataset) if args.dataset else DEFAULT_DATASET
    judge = _judge(args.judge_llm, args.judge_model) if args.judge_llm else None
    summary, results = run_eval(
        services,
        dataset,
        types=args.types,
        limit=args.limit,
        judge=judge,
        progress=progress,
        split=args.split,
    )
    backend = summary["backend"]
    latest = _read_json(LATEST)
    previous = latest.get(backend)
    out = Path(args.out) if args.out else RUNS / summary["run"].replace(":", "")
    path = report.write(out, summary, results, previous)
    full = (
        not args.limit
        and not args.types
        and not args.split
        and dataset.resolve() == DEFAULT_DATASET.resolve()
    )
    if full and not args.no_save:
        latest[backend] = report.compact(summary)
        LATEST.parent.mkdir(parents=True, exist_ok=True)
        LATEST.write_text(json.dumps(latest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, o in summary.get("by_split", {"all": summary["overall"]}).items():
        print(
            f"{name}: {o['cases']} cases ({backend}): recall@5 {_f(o['recall@5'])}, "
            f"MRR {_f(o['mrr'])}, faithfulness {_f(o['faithfulness'])}, citation recall/precision "
            f"{_f(o['citation_recall'])}/{_f(o['citation_precision'])}, key facts "
            f"{_f(o['key_fact_recall'])}, lists complete {_f(o['list_complete'])}, "
            f"abstention P/R {_f(o['abstain_precision'])}/{_f(o['abstain_recall'])}, "
            f"chit-chat uncited {_f(o['chitchat_no_citations'])}, asker wrong abstention "
            f"{_f(o['asker_wrong_abstention'])}, partial answered {_f(o['partial_answered'])}, "
            f"forbidden-free {_f(o['forbidden_free'])}, guard changed {o['guard_changed']}, "
            f"p50 {_f(o['latency_p50_ms'], 0)} ms"
        )
    print(f"report: {path}")
    if args.gate:
        failures = gate(summary, _read_json(THRESHOLDS))
        for f in failures:
            print(f"gate: {f}", file=sys.stderr)
        if failures:
            return 1
        print("gate: all metrics at or above eval/thresholds.json")
    return 0


def gate(summary: dict[str, Any], thresholds: dict[str, Any]) -> list[str]:
    """The metrics of ``summary`` below their ``min`` (or above their ``max``) in ``thresholds``.

    The gate is on the *test* split (never tuned on) when the run has one."""
    limits = thresholds.get(summary["backend"], {})
    o = summary.get("by_split", {}).get("test") or summary["overall"]
    failures = []
    for key, lim in limits.items():
        if key.startswith("_"):
            continue
        value = o.get(key) if key != "checker_accuracy" else summary["checker"]["accuracy"]
        if value is None:
            failures.append(f"{key} was not measured")
        elif "min" in lim and value < lim["min"]:
            failures.append(f"{key} {value:.3f} < {lim['min']} (measured {lim.get('measured')})")
        elif "max" in lim and value > lim["max"]:
            failures.append(f"{key} {value:.3f} > {lim['max']} (measured {lim.get('measured')})")
    return failures


def _judge(base_url: str, model: str) -> Any:
    from assistant.llm.chat_model import OpenAIChatModel
    from eval.checker import LLMJudge

    return LLMJudge(OpenAIChatModel(base_url=base_url, model=model, max_tokens=4, timeout=60))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _f(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"
