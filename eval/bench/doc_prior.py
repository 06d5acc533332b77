"""The document prior (assistant/retrieval/router.py) swept over the full corpus.

    .venv/bin/python -m eval.bench.doc_prior --index var/index-full [--values 0 0.5 1 2 3 5]

For each value of τ it measures retrieval as the answers use it (``AnswerEngine.retrieve``) on
the vision question set (``eval/cases.jsonl``, answerable cases with gold spans) and on the
statute question set (``eval/statutes/cases.jsonl``), each split apart: hit@5, MRR and nDCG@10.
The value is chosen on the *dev* splits only (the mean nDCG@10 of both sets); the test splits are
reported beside it. Prints a table and writes ``eval/results/doc-prior-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from assistant.answer.text import detect_lang
from assistant.services import build_services
from assistant.settings import PROJECT_ROOT, Settings
from eval import metrics as m
from eval.bench.statutes import load_statute_cases, squash, statute_judge

RESULTS = PROJECT_ROOT / "eval" / "results"


def _vision_cases() -> list[dict[str, Any]]:
    rows = [
        json.loads(x)
        for x in (PROJECT_ROOT / "eval" / "cases.jsonl").read_text("utf-8").splitlines()
    ]
    return [r for r in rows if r.get("answerable") and r.get("gold") and not r.get("history")]


def _score(found: list[set[int]], n_gold: int) -> dict[str, float]:
    return {
        "hit@5": m.hit_at_k(found, 5),
        "mrr": m.mrr(found, 10),
        "ndcg@10": m.ndcg_at_k(found, n_gold, 10),
    }


def measure(services: Any, tau: float) -> dict[str, dict[str, float]]:
    answers = services.answers
    answers.engine.settings.doc_prior = tau
    out: dict[str, dict[str, float]] = {}
    groups: dict[str, list[dict[str, float]]] = {}
    for c in _vision_cases():
        ps = answers.retrieve(c["question"], detect_lang(c["question"]), 10)
        gold = [squash(g) for g in c["gold"]]
        found = [{i for i, g in enumerate(gold) if g in squash(p.text)} for p in ps]
        groups.setdefault(f"vision-{c['split']}", []).append(_score(found, len(gold)))
    for c in load_statute_cases():
        ps = answers.retrieve(c["question"], detect_lang(c["question"]), 10)
        rel = statute_judge(c)
        idx = answers.engine.searcher.index()
        found = [{0} if rel(idx.records[p.id]) else set() for p in ps]
        groups.setdefault(f"statutes-{c['split']}", []).append(_score(found, 1))
    for name, rows in groups.items():
        out[name] = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]} | {"n": len(rows)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--index", required=True, help="an index of the full corpus")
    ap.add_argument("--values", nargs="+", type=float, default=[0, 0.5, 1, 2, 3, 5])
    args = ap.parse_args(argv)
    services = build_services(Settings(index_dir=Path(args.index)))
    services.answers.stats()
    rows = []
    for tau in args.values:
        t0 = time.perf_counter()
        res = measure(services, tau)
        rows.append({"tau": tau, **res, "seconds": round(time.perf_counter() - t0, 1)})
        cells = "  ".join(
            f"{k} nDCG {v['ndcg@10']:.3f} hit@5 {v['hit@5']:.3f}" for k, v in sorted(res.items())
        )
        print(f"τ={tau:<4} {cells}", flush=True)
    dev = [r for r in rows if "vision-dev" in r and "statutes-dev" in r]
    best = max(dev, key=lambda r: (r["vision-dev"]["ndcg@10"] + r["statutes-dev"]["ndcg@10"]) / 2)
    print(f"chosen on the dev splits: τ={best['tau']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"doc-prior-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps({"rows": rows, "chosen": best["tau"]}, ensure_ascii=False, indent=2), "utf-8"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
