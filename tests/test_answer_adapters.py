"""The kinds of questions (tests/answer_examples.py) through the HTTP API and the CLI: the
adapters show what the engine answers, with the same parts, citations and abstentions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.services import Services
from tests.answer_examples import EXAMPLES, Example
from tests.test_api_harness import client_for
from tests.test_ui_handlers import make_services


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    s = make_services(tmp_path_factory.mktemp("adapters"))
    s.engine.ensure_index()
    return s


def _check(answer: dict[str, Any], ex: Example) -> None:
    assert answer["grounded"] is ex.grounded, answer["answer"]
    for s in ex.contains:
        assert s in answer["answer"], (s, answer["answer"])
    for s in ex.absent:
        assert s not in answer["answer"], (s, answer["answer"])
    kinds = {p["kind"] for p in answer["parts"]}
    for k in ex.parts:
        assert k in kinds
    assert bool(answer["citations"]) is ex.cited


@pytest.mark.parametrize("ex", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_each_kind_of_question_over_http(services: Services, ex: Example) -> None:
    messages = [*ex.history_json(), {"role": "user", "content": ex.question}]
    with client_for(services) as client:
        r = client.post("/api/chat", json={"messages": messages, "mode": ex.mode})
    assert r.status_code == 200, r.text
    _check(r.json(), ex)


@pytest.mark.parametrize("ex", [e for e in EXAMPLES if not e.history][::3], ids=lambda e: e.id)
def test_each_kind_of_question_in_the_cli(
    services: Services, ex: Example, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from assistant.cli import main

    s = services.settings
    code = main(
        [
            "ask",
            ex.question,
            "--mode",
            ex.mode,
            "--json",
            "--index",
            str(s.index_dir),
            "--embedder",
            "fake",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    _check(out, ex)
