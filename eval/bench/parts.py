"""``python -m eval.bench growth|floor|load|startup|llm|all``: the cost and service parts.

``all`` runs the five parts (the retrieval benchmark stays ``python -m eval.bench``). Each
part records its own load average at start and end and the OpenMP setting it ran with; the
result is one ``bench-<stamp>.json`` (``mode: perf``) plus ``latest.md`` and ``latest.png``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.embedding.base import Embedder
from assistant.settings import PROJECT_ROOT
from eval.bench import datasets, perf_report
from eval.bench import floor as floor_part
from eval.bench import growth as growth_part
from eval.bench import llm as llm_part
from eval.bench import load as load_part
from eval.bench import startup as startup_part
from eval.bench.machine import loadavg, machine, omp_setting

log = logging.getLogger("eval.bench")

PARTS = ("growth", "floor", "load", "startup", "llm")


@dataclass
class PartsConfig:
    parts: list[str]
    quick: bool
    embedder: str
    work: Path
    out: Path
    jsquad: Path
    cases: Path
    corpus: Path
    base: int
    sizes: list[int]
    growth_queries: int
    questions: int | None
    levels: list[tuple[int, int]]
    cap_s: float
    profile: bool
    startup_runs: int
    llm_questions: int
    llm_max_tokens: int
    llm_budget_s: float
    command: str


def _levels(text: str) -> list[tuple[int, int]]:
    """``"1:60,4:120,16:240"`` → [(1, 60), (4, 120), (16, 240)] (concurrency:requests)."""
    out = []
    for item in text.split(","):
        c, n = item.split(":")
        out.append((int(c), int(n)))
    return out


def parse(argv: list[str]) -> PartsConfig:
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__)
    p.add_argument("part", choices=[*PARTS, "all"])
    p.add_argument("--quick", action="store_true", help="tiny sizes and the fake embedder (CI)")
    p.add_argument("--embedder", choices=["e5", "fake"], help="default e5 (fake with --quick)")
    p.add_argument("--work", type=Path, help="scratch folder (default var/bench[/quick])")
    p.add_argument("--out", type=Path, help="results folder (default eval/results)")
    p.add_argument("--jsquad", type=Path, default=datasets.DEFAULT_JSQUAD)
    p.add_argument("--cases", type=Path, default=datasets.DEFAULT_CASES)
    p.add_argument("--corpus", type=Path, default=datasets.DEFAULT_CORPUS)
    p.add_argument("--base", type=int, help="growth: JSQuAD paragraphs at 1× (default 300)")
    p.add_argument("--sizes", help="growth: multiples, e.g. 1,4,16 (default)")
    p.add_argument("--growth-queries", type=int, help="growth: queries per size (default 100)")
    p.add_argument("--questions", type=int, help="floor/load: eval-set questions (default all)")
    p.add_argument("--levels", help="load: concurrency:requests,... (default 1:60,4:120,16:240)")
    p.add_argument("--profile", action="store_true", help="floor: profile even if on target")
    p.add_argument("--cap-s", type=float, default=180.0, help="load: seconds cap per level")
    p.add_argument("--startup-runs", type=int, help="startup: runs (default 5)")
    p.add_argument("--llm-questions", type=int, help="llm: answers that reach the LLM (default 3)")
    p.add_argument("--llm-max-tokens", type=int, help="llm: max tokens (default 128)")
    p.add_argument("--llm-budget-s", type=float, default=900.0, help="llm: time budget")
    a = p.parse_args(argv)
    q = a.quick
    return PartsConfig(
        parts=list(PARTS) if a.part == "all" else [a.part],
        quick=q,
        embedder=a.embedder or ("fake" if q else "e5"),
        work=a.work or (PROJECT_ROOT / "var" / "bench" / ("quick" if q else "")),
        out=a.out or (PROJECT_ROOT / "eval" / "results"),
        jsquad=a.jsquad,
        cases=a.cases,
        corpus=a.corpus,
        base=a.base or (12 if q else 300),
        sizes=[int(x) for x in (a.sizes or ("1,2" if q else "1,4,16")).split(",")],
        growth_queries=a.growth_queries or (8 if q else 100),
        questions=a.questions or (8 if q else None),
        levels=_levels(a.levels or ("1:4,4:8,16:16" if q else "1:60,4:120,16:240")),
        cap_s=a.cap_s,
        profile=a.profile,
        startup_runs=a.startup_runs or (1 if q else 5),
        llm_questions=a.llm_questions or (1 if q else 3),
        llm_max_tokens=a.llm_max_tokens or (16 if q else 128),
        llm_budget_s=a.llm_budget_s,
        command="python -m eval.bench " + shlex.join(argv),
    )


def build_embedder(kind: str) -> Embedder:
    if kind == "fake":
        from assistant.embedding.fake import HashingEmbedder

        return HashingEmbedder()
    from assistant.embedding.e5 import E5Embedder

    return E5Embedder()


def run(cfg: PartsConfig) -> tuple[dict[str, Any], Path, Path]:
    started = time.perf_counter()
    result: dict[str, Any] = {
        "stamp": time.strftime("%Y%m%d-%H%M%S"),
        "mode": "perf",
        "quick": cfg.quick,
        "command": cfg.command,
        "machine": machine(),
        "parts_run": cfg.parts,
    }
    t0 = time.perf_counter()
    embedder = build_embedder(cfg.embedder)
    result["embedder"] = {
        "version": embedder.version(),
        "load_s": round(time.perf_counter() - t0, 2),
    }
    shared: dict[str, Any] = {}

    def vision() -> tuple[Path, list[str]]:
        if "index" not in shared:
            log.info("vision corpus index in %s", cfg.work / "vision")
            shared["index"] = floor_part.vision_index(cfg.work, cfg.corpus, embedder)
            shared["qs"] = floor_part.questions(cfg.cases, cfg.questions)
        return shared["index"], shared["qs"]

    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "growth": lambda: growth_part.run(
            growth_part.GrowthConfig(cfg.base, cfg.sizes, cfg.growth_queries, cfg.work, cfg.jsquad),
            embedder,
        ),
        "floor": lambda: floor_part.run(
            vision()[0],
            cfg.work,
            embedder,
            cfg.embedder,
            vision()[1],
            cfg.out / f"profile-{result['stamp']}.txt",
            cfg.profile,
        ),
        "load": lambda: load_part.run(
            vision()[0], cfg.work, cfg.embedder, vision()[1], cfg.levels, cfg.cap_s
        ),
        "startup": lambda: startup_part.run(
            vision()[0], cfg.work, cfg.embedder, vision()[1][0], cfg.startup_runs
        ),
        "llm": lambda: llm_part.run(
            vision()[0],
            cfg.work,
            cfg.embedder,
            vision()[1],
            cfg.llm_max_tokens,
            cfg.llm_questions,
            cfg.llm_budget_s,
        ),
    }
    for part in cfg.parts:
        log.info("== %s (load average %s)", part, loadavg())
        before, t = loadavg(), time.perf_counter()
        data = steps[part]()
        data.update(
            {
                "loadavg_start": before,
                "loadavg_end": loadavg(),
                "omp": omp_setting(),
                "seconds": round(time.perf_counter() - t, 1),
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            }
        )
        result[part] = data
    result["machine"]["loadavg_end"] = loadavg()
    result["seconds"] = round(time.perf_counter() - started, 1)
    json_path, md_path = perf_report.write(result, cfg.out)
    return result, json_path, md_path


def main(argv: list[str]) -> int:
    cfg = parse(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _, json_path, md_path = run(cfg)
    print(md_path.read_text(encoding="utf-8"))
    print(f"wrote {json_path}, {md_path} and {md_path.with_suffix('.png')}", file=sys.stderr)
    return 0
