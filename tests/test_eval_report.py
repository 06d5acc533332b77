"""The eval report, chart and latest.json summary from hand-made case results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import report
from eval.runner import CaseResult, Claim, summarize_all


def _case(id: str, type: str, answerable: bool, grounded: bool, kf: float | None) -> CaseResult:
    r = CaseResult(
        id=id,
        type=type,
        lang="ja",
        answerable=answerable,
        question=f"question {id}",
        backend="extractive",
        answer="関西プラスチックごみゼロ推進事業 (500千円)[1]"
        if grounded
        else "記載がありません。",
        grounded=grounded,
        degraded=False,
        latency_ms=100.0 if grounded else 50.0,
        citations=[{"n": 1, "section": "令和5年度事業", "quote": "500千円", "text": "…"}],
        removed=[{"sentence": "x", "reason": "y", "kind": "unsupported"}] if id == "fact-2" else [],
        key_fact_recall=kf,
    )
    if grounded:
        r.claims = [Claim("関西プラスチックごみゼロ推進事業 (500千円)", [1], True, "")]
        r.faithfulness = 1.0
        r.citation_sentences = r.citation_supported = r.citations_total = r.citations_precise = 1
        r.retrieval = {"recall@5": 1.0, "mrr": 0.5}
    return r


RESULTS = [
    _case("fact-1", "fact", True, True, 1.0),
    _case("fact-2", "fact", True, False, 0.0),
    _case("unans-1", "unanswerable", False, False, None),
]


def test_summary_numbers() -> None:
    s = summarize_all(RESULTS)
    o = s["overall"]
    assert o["cases"] == 3
    assert o["key_fact_recall"] == 0.5
    assert o["abstain_precision"] == 0.5
    assert o["abstain_recall"] == 1.0
    assert o["wrong_abstention"] == 0.5
    assert o["guard_changed"] == 1
    assert o["latency_p50_ms"] == 50.0
    assert o["mrr"] == 0.5
    assert set(s["by_type"]) == {"fact", "unanswerable"}


def test_write_report_chart_and_compact_summary(tmp_path: Path) -> None:
    summary = {
        "run": "2024-01-01T00:00:00",
        "backend": "extractive",
        "dataset": "eval/cases.jsonl",
        "types": [],
        "limit": None,
        **summarize_all(RESULTS),
        "checker": {
            "n": 2,
            "accuracy": 0.5,
            "mistakes": [{"sentence": "s", "label": True, "note": "n"}],
        },
    }
    previous = {"run": "2023-12-31T00:00:00", "overall": {"key_fact_recall": 0.25}}
    path = report.write(tmp_path, summary, RESULTS, previous)
    md = path.read_text(encoding="utf-8")
    assert "| key_fact_recall | 0.500 | 0.250 | +0.250 |" in md
    assert "### fact-2 (fact, score 0.00)" in md  # the worst case comes first
    assert (tmp_path / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "cases.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    small = report.compact(summary)
    assert "mistakes" not in small["checker"]
    json.dumps(small)


def test_cli_registers_eval() -> None:
    from assistant.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["eval", "--help"])
    assert exc.value.code == 0
