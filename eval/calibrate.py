"""Sweep the product's guard and abstention thresholds on the eval data; print the best values.

    .venv/bin/python -m eval.calibrate [--index DIR]

- ``MIN_COVERAGE`` (guard, Japanese claims) and ``MIN_COSINE_OTHER_LANG`` (guard, English
  claims): the product :class:`Guard` is run on ``eval/labelled_claims.jsonl`` with each value;
  we report accuracy and precision/recall on *unsupported* (what the guard should drop) and,
  for ``MIN_COVERAGE``, how many gold spans of ``eval/cases.jsonl`` it would wrongly drop
  against the chunk that contains them.
- ``min_dense`` (the judge): every chat/draft case of the *dev* split is understood and its
  evidence found once, then judged at each value; we report abstention precision/recall and
  the rate of wrong abstention on answerable cases.
The chosen value maximises accuracy (F1 on the positive class rewards abstaining on
everything when the signal is weak); ties go to the value closest to the current one. Nothing in ``assistant/`` is changed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.answer import guard
from assistant.answer.engine import history_from
from assistant.answer.judge import Judge
from assistant.answer.text import detect_lang
from assistant.retrieval.searcher import Passage
from assistant.services import Services, build_services
from assistant.settings import Settings
from eval.runner import DEFAULT_DATASET, DEFAULT_LABELLED, load_jsonl


def _prf(pairs: Sequence[tuple[bool, bool]]) -> dict[str, float]:
    """(predicted positive, truly positive) → accuracy, precision, recall, F1."""
    tp = sum(1 for p, t in pairs if p and t)
    fp = sum(1 for p, t in pairs if p and not t)
    fn = sum(1 for p, t in pairs if not p and t)
    n = len(pairs)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {
        "accuracy": sum(1 for p, t in pairs if p == t) / n if n else 0.0,
        "precision": prec,
        "recall": rec,
        "f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        "fp": fp,
    }


def _passage(i: int, text: str) -> Passage:
    return Passage(
        id=f"labelled-{i}",
        doc_id="labelled",
        title="",
        section="",
        position={},
        text=text,
        score=1.0,
    )


def sweep(
    values: Sequence[float],
    evaluate: Callable[[float], dict[str, float]],
    current: float,
) -> tuple[float, list[tuple[float, dict[str, float]]]]:
    rows = [(v, evaluate(v)) for v in values]
    best = max(rows, key=lambda r: (round(r[1]["accuracy"], 6), -abs(r[0] - current)))
    return best[0], rows


def guard_sweeps(
    services: Services, labelled: list[dict[str, Any]], cases: list[dict[str, Any]]
) -> dict[str, Any]:
    eng = services.engine
    ja = [(i, r) for i, r in enumerate(labelled) if detect_lang(r["sentence"]) == "ja"]
    en = [(i, r) for i, r in enumerate(labelled) if detect_lang(r["sentence"]) != "ja"]
    idx = eng.searcher.index()
    gold_pairs = [
        (g, rec["text"])
        for c in cases
        for g in c.get("gold", [])
        for rec in idx.records.values()
        if g in rec["text"]
    ]

    def run(g: guard.Guard, items: list[tuple[int, dict[str, Any]]]) -> list[tuple[bool, bool]]:
        out = []
        for i, r in items:
            src = g.session([_passage(i, r["passage"])]).sources[1]
            out.append((bool(g.check(r["sentence"], [src])), not r["supported"]))
        return out

    def coverage(v: float) -> dict[str, float]:
        g = guard.Guard(eng.tokenizer, eng.embedder, min_coverage=v)
        res = _prf(run(g, ja))
        dropped = 0
        for j, (span, text) in enumerate(gold_pairs):
            src = g.session([_passage(10_000 + j, text)]).sources[1]
            dropped += bool(g.check(span, [src]))
        res["gold_dropped"] = dropped
        return res

    def cosine(v: float) -> dict[str, float]:
        return _prf(run(guard.Guard(eng.tokenizer, eng.embedder, min_cosine=v), en))

    cov_best, cov_rows = sweep([x / 100 for x in range(50, 101, 5)], coverage, guard.MIN_COVERAGE)
    cos_best, cos_rows = sweep(
        [x / 100 for x in range(78, 93)], cosine, guard.MIN_COSINE_OTHER_LANG
    )
    return {
        "MIN_COVERAGE": (guard.MIN_COVERAGE, cov_best, cov_rows, len(ja), len(gold_pairs)),
        "MIN_COSINE_OTHER_LANG": (guard.MIN_COSINE_OTHER_LANG, cos_best, cos_rows, len(en), 0),
    }


def dense_sweep(services: Services, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The judge's ``min_dense`` swept over the *dev* cases (the test split is never tuned on):
    each case's evidence is found once, then judged again at every value."""
    answers = services.answers
    stats = answers.stats()
    k = services.settings.top_k
    prepared = []
    for c in cases:
        if (
            c["mode"] == "support"
            or c.get("split", "dev") != "dev"
            or c.get("expect") == "chitchat"
        ):
            continue
        u = answers.understander.understand(
            c["question"], history_from(c.get("history")), vocabulary=stats.vocabulary
        )
        if not u.parts:
            continue
        blocks, _ = answers._blocks(u, stats, k)
        prepared.append((c, blocks))
    current = answers.judge.min_dense

    def evaluate(v: float) -> dict[str, float]:
        judge = Judge(answers.engine.tokenizer, answers.understander.rules, answers.finder, v)
        pairs = []
        for c, blocks in prepared:
            covered = any(
                judge.judge(b.evidence, stats.vocabulary, stats.years, stats.idf).covered
                for b in blocks
            )
            pairs.append((not covered, not c["answerable"]))
        res = _prf(pairs)
        n_ans = sum(1 for c, _ in prepared if c["answerable"])
        res["wrong_abstention"] = res["fp"] / n_ans if n_ans else 0.0
        return res

    best, rows = sweep([x / 100 for x in range(70, 91)], evaluate, current)
    dense = [
        (max((p.dense or 0.0) for b in bs for p in b.evidence.passages), c["answerable"])
        for c, bs in prepared
        if any(b.evidence.passages for b in bs)
    ]
    return {"MIN_DENSE": (current, best, rows, len(prepared), dense)}


def _print(
    name: str, current: float, best: float, rows: list[tuple[float, dict[str, float]]], extra: str
) -> None:
    print(f"\n{name}: current {current}, best {best}  ({extra})")
    keys = list(rows[0][1])
    print("  value  " + "  ".join(f"{k:>16}" for k in keys))
    for v, r in rows:
        mark = " <- best" if v == best else (" <- current" if abs(v - current) < 1e-9 else "")
        print(f"  {v:5.2f}  " + "  ".join(f"{r[k]:16.3f}" for k in keys) + mark)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--index", help="index folder (default: settings)")
    p.add_argument("--dataset", default=str(DEFAULT_DATASET))
    p.add_argument("--labelled", default=str(DEFAULT_LABELLED))
    args = p.parse_args(argv)
    settings = Settings(index_dir=Path(args.index)) if args.index else Settings()
    services = build_services(settings)
    services.engine.ensure_index()
    cases = load_jsonl(Path(args.dataset))
    labelled = load_jsonl(Path(args.labelled))
    g = guard_sweeps(services, labelled, cases)
    cur, best, rows, n, gold = g["MIN_COVERAGE"]
    _print(
        "guard MIN_COVERAGE (Japanese claims; positive = unsupported)",
        cur,
        best,
        rows,
        f"{n} labelled Japanese claims; gold_dropped = gold spans of {gold} (span, chunk) pairs wrongly dropped",
    )
    cur, best, rows, n, _ = g["MIN_COSINE_OTHER_LANG"]
    _print(
        "guard MIN_COSINE_OTHER_LANG (English claims; positive = unsupported)",
        cur,
        best,
        rows,
        f"{n} labelled English claims",
    )
    d = dense_sweep(services, cases)
    cur, best, rows, n, dense = d["MIN_DENSE"]
    _print(
        "judge min_dense (positive = unanswerable)", cur, best, rows, f"{n} dev chat/draft cases"
    )
    ans = sorted(x for x, a in dense if a)
    una = sorted(x for x, a in dense if not a)
    if ans and una:
        print(
            f"  best dense similarity: answerable min {ans[0]:.3f} / median {ans[len(ans) // 2]:.3f}; "
            f"unanswerable median {una[len(una) // 2]:.3f} / max {una[-1]:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
