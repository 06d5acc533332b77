"""Validate eval/cases.jsonl against the normalised corpus.

Run from the repository root:

    .venv/bin/python eval/validate_cases.py [cases.jsonl] [corpus.txt]

Checks the schema of every case (see eval/README.md), unique ids, that every gold span, key
fact, list item and forbidden string is an exact substring of the corpus after ingest
normalisation (``ingest.clean.clean_text``), that gold spans lie within one normalised line,
that abstain/chit-chat cases carry no gold/key facts, and the minimum counts of the test
split. Prints the counts per type (all / test); exits 1 on any problem.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest.clean import clean_text  # noqa: E402

DEFAULT_CASES = ROOT / "eval" / "cases.jsonl"
DEFAULT_CORPUS = ROOT / "corpus" / "kansai-industrial-vision-2023.txt"

FIELDS = {
    "id",
    "split",
    "type",
    "asks",
    "mode",
    "question",
    "history",
    "expect",
    "answerable",
    "gold",
    "key_facts",
    "list_items",
    "forbidden",
    "uncovered",
    "lang",
    "note",
}
TYPES = (
    "fact",
    "paraphrase",
    "multi_passage",
    "support",
    "draft",
    "english",
    "typo",
    "followup",
    "unanswerable",
    "list",
    "definition",
    "self_intro",
    "multi_part",
    "current_value",
    "followup_uncovered",
    "chitchat",
    "yesno",
)
ASKS = (
    "list",
    "definition",
    "amount",
    "count",
    "date",
    "who",
    "where",
    "how",
    "yesno",
    "support",
    "current_vs_target",
    "chitchat",
    "other",
)
EXPECT = ("answer", "abstain", "partial", "chitchat")
SPLITS = ("dev", "test")
FOLLOWUP_TYPES = ("followup", "followup_uncovered")
# the test split gates (eval/thresholds.json); the dev split is the one rules are tuned on
MINIMUM_TEST = {
    "list": 8,
    "definition": 4,
    "self_intro": 5,
    "draft": 5,
    "multi_part": 6,
    "current_value": 6,
    "followup_uncovered": 3,
    "chitchat": 3,
    "english": 4,
    "unanswerable": 5,
}
MIN_TEST, MIN_TOTAL = 80, 250
GOLD_MIN, GOLD_MAX = 10, 80


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def check_case(case: dict, corpus: str, lines: list[str]) -> list[str]:
    """Return the problems of one case (empty list when it is valid)."""
    problems: list[str] = []
    missing = FIELDS - case.keys()
    extra = case.keys() - FIELDS
    if missing:
        problems.append(f"missing fields {sorted(missing)}")
    if extra:
        problems.append(f"unknown fields {sorted(extra)}")
    if missing:
        return problems

    ctype, mode, expect = case["type"], case["mode"], case["expect"]
    if ctype not in TYPES:
        problems.append(f"bad type {ctype!r}")
    if case["split"] not in SPLITS:
        problems.append(f"bad split {case['split']!r}")
    if case["asks"] not in ASKS:
        problems.append(f"bad asks {case['asks']!r}")
    if expect not in EXPECT:
        problems.append(f"bad expect {expect!r}")
    if mode not in ("chat", "support", "draft"):
        problems.append(f"bad mode {mode!r}")
    if (ctype == "draft") != (mode == "draft"):
        problems.append(f"mode {mode!r} does not fit type {ctype!r}")
    if mode == "support" and ctype != "support":
        problems.append("support mode is for support cases")
    if not isinstance(case["question"], str) or not case["question"].strip():
        problems.append("empty question")
    if case["lang"] not in ("ja", "en"):
        problems.append(f"bad lang {case['lang']!r}")
    if not isinstance(case["note"], str) or not case["note"].strip():
        problems.append("empty note")
    if not isinstance(case["answerable"], bool):
        problems.append("answerable is not a bool")
    elif case["answerable"] != (expect in ("answer", "partial")):
        problems.append("answerable must be true exactly for expect answer/partial")

    history = case["history"]
    if not isinstance(history, list):
        problems.append("history is not a list")
    else:
        for turn in history:
            if (
                not isinstance(turn, dict)
                or set(turn) != {"role", "content"}
                or turn["role"] not in ("user", "assistant")
                or not isinstance(turn["content"], str)
                or not turn["content"]
            ):
                problems.append(f"bad history turn {turn!r}")
        if ctype in FOLLOWUP_TYPES:
            if (
                len(history) < 2
                or history[0].get("role") != "user"
                or history[-1].get("role") != "assistant"
            ):
                problems.append("followup needs history user ... assistant")
        elif history:
            problems.append("history must be empty except for followups")

    lists = {k: case[k] for k in ("gold", "key_facts", "list_items", "forbidden", "uncovered")}
    for name, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            problems.append(f"{name} is not a list of non-empty strings")
            lists[name] = []
    gold, facts = lists["gold"], lists["key_facts"]
    if (case["asks"] == "list") != bool(lists["list_items"]):
        problems.append("list_items are given exactly for asks == 'list'")
    for name in ("key_facts", "list_items", "forbidden"):
        for s in lists[name]:
            if s not in corpus:
                problems.append(f"{name} entry not in normalised corpus: {s!r}")
    if expect == "partial" and not lists["uncovered"]:
        problems.append("a partial case names what is not covered")

    if expect in ("abstain", "chitchat"):
        if gold or facts:
            problems.append(f"{expect} case must have empty gold and key_facts")
        return problems

    if not 1 <= len(gold) <= 3:
        problems.append(f"answerable case needs 1-3 gold spans, has {len(gold)}")
    if len(facts) > 4:
        problems.append(f"at most 4 key_facts, has {len(facts)}")
    if ctype == "multi_passage" and len(gold) < 2:
        problems.append("multi_passage needs at least 2 gold spans")
    for span in gold:
        if not GOLD_MIN <= len(span) <= GOLD_MAX:
            problems.append(f"gold span length {len(span)} outside {GOLD_MIN}-{GOLD_MAX}: {span!r}")
        if span not in corpus:
            problems.append(f"gold not in normalised corpus: {span!r}")
        elif not any(span in line for line in lines):
            problems.append(f"gold spans a line break: {span!r}")
    return problems


def main(argv: list[str]) -> int:
    cases_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_CASES
    corpus_path = Path(argv[2]) if len(argv) > 2 else DEFAULT_CORPUS
    corpus = clean_text(corpus_path.read_text(encoding="utf-8"))
    lines = corpus.splitlines()

    errors: list[str] = []
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    test: Counter[str] = Counter()
    for number, raw in enumerate(cases_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            errors.append(f"line {number}: blank line")
            continue
        try:
            case = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: invalid JSON ({exc})")
            continue
        if not isinstance(case, dict):
            errors.append(f"line {number}: not a JSON object")
            continue
        cid = case.get("id")
        label = f"line {number} ({cid})"
        if not isinstance(cid, str) or not cid:
            errors.append(f"{label}: missing id")
        elif cid in seen:
            errors.append(f"{label}: duplicate id")
        else:
            seen.add(cid)
        errors.extend(f"{label}: {p}" for p in check_case(case, corpus, lines))
        counts[str(case.get("type"))] += 1
        if case.get("split") == "test":
            test[str(case.get("type"))] += 1

    total, n_test = sum(counts.values()), sum(test.values())
    print(f"{'type':20s} {'all':>4s} {'test':>5s}")
    for ctype in TYPES:
        need = MINIMUM_TEST.get(ctype, 0)
        flag = "" if test[ctype] >= need else f"  (< test minimum {need})"
        print(f"{ctype:20s} {counts[ctype]:4d} {test[ctype]:5d}{flag}")
        if flag:
            errors.append(f"type {ctype}: {test[ctype]} test cases, minimum {need}")
    print(f"{'total':20s} {total:4d} {n_test:5d}")
    if total < MIN_TOTAL:
        errors.append(f"{total} cases, minimum {MIN_TOTAL}")
    if n_test < MIN_TEST:
        errors.append(f"{n_test} test cases, minimum {MIN_TEST}")

    for error in errors:
        print("ERROR", error, file=sys.stderr)
    print("OK" if not errors else f"FAILED: {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
