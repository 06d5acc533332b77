"""The CI gate: the extractive eval over the real index must stay at or above the thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.cli import THRESHOLDS, gate


def _summary(**overall: float) -> dict:
    return {"backend": "extractive", "overall": overall, "checker": {"accuracy": 0.9}}


def test_gate_reports_metrics_below_min_or_above_max() -> None:
    limits = {
        "extractive": {
            "_note": "ignored",
            "mrr": {"min": 0.7, "measured": 0.75},
            "wrong_abstention": {"max": 0.1, "measured": 0.05},
            "checker_accuracy": {"min": 0.85, "measured": 0.89},
        }
    }
    assert gate(_summary(mrr=0.72, wrong_abstention=0.05), limits) == []
    failures = gate(_summary(mrr=0.5, wrong_abstention=0.2), limits)
    assert failures == [
        "mrr 0.500 < 0.7 (measured 0.75)",
        "wrong_abstention 0.200 > 0.1 (measured 0.05)",
    ]
    assert gate(_summary(wrong_abstention=0.0), limits) == ["mrr was not measured"]
    assert gate({**_summary(mrr=1.0), "backend": "openai"}, limits) == []


def test_thresholds_file_has_measured_values_next_to_limits() -> None:
    data = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    for key, lim in data["extractive"].items():
        if key.startswith("_"):
            continue
        assert "measured" in lim and ("min" in lim or "max" in lim), key
        if "min" in lim:
            assert lim["min"] <= lim["measured"], key
            assert lim["min"] >= lim["measured"] - 0.1, f"{key}: too loose to ever fail"
        else:
            assert lim["max"] >= lim["measured"], key


@pytest.mark.slow
def test_extractive_eval_meets_thresholds(tmp_path_factory: pytest.TempPathFactory) -> None:
    from assistant.services import build_services
    from assistant.settings import Settings
    from eval import report
    from eval.runner import run_eval

    tmp: Path = tmp_path_factory.mktemp("eval-gate")
    services = build_services(Settings(index_dir=tmp / "index"))
    services.engine.ensure_index()
    summary, results = run_eval(services)
    path = report.write(tmp / "run", summary, results, previous=None)
    assert (tmp / "run" / "metrics.png").stat().st_size > 1000
    assert "## Per question type" in path.read_text(encoding="utf-8")
    failures = gate(summary, json.loads(THRESHOLDS.read_text(encoding="utf-8")))
    assert not failures, failures
