"""The README's two set-up commands exist and are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_has_exactly_the_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    commands = [ln.split("#")[0].strip() for ln in block.group(1).splitlines() if ln.strip()]
    assert commands == ["make run", "make test"]


def test_makefile_targets_do_the_setup() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run = re.search(r"^run: (.*)\n\t(.*)$", makefile, re.M)
    test = re.search(r"^test: (.*)$", makefile, re.M)
    assert run and "index" in run.group(1) and "kansai-assistant serve" in run.group(2)
    assert test and "lint" in test.group(1)
    assert re.search(r"^index: install\n\t\$\(BIN\)/kansai-assistant ingest$", makefile, re.M)
    assert "-m pytest" in makefile and "mypy" in makefile and "ruff check" in makefile
    assert "python -m venv" in makefile.replace("$(PYTHON)", "python")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().splitlines()[-1].strip() == "make test"
