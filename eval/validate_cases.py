"""Validate eval/cases.jsonl against the normalised corpus.

Run from the repository root:

    .venv/bin/python eval/validate_cases.py [cases.jsonl] [corpus.txt]

Checks the schema of every case, unique ids, that every gold span and key fact is an exact
substring of the corpus after ingest normalisation (``ingest.clean.clean_text``), that gold
spans lie within one normalised line, and that unanswerable cases carry no gold/key facts.
Prints the counts per type; exits 1 on any problem.
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
    "type",
    "mode",
    "question",
    "history",
    "gold",
    "key_facts",
    "answerable",
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
)
MODE_OF_TYPE = {"support": "support", "draft": "draft"}
MINIMUM = {
    "fact": 25,
    "paraphrase": 15,
    "multi_passage": 10,
    "support": 12,
    "draft": 8,
    "english": 10,
    "typo": 4,
    "followup": 8,
    "unanswerable": 28,
}
MIN_TOTAL = 130
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

    ctype, mode = case["type"], case["mode"]
    if ctype not in TYPES:
        problems.append(f"bad type {ctype!r}")
    if mode != MODE_OF_TYPE.get(ctype, "chat"):
        problems.append(f"mode {mode!r} does not fit type {ctype!r}")
    if not isinstance(case["question"], str) or not case["question"].strip():
        problems.append("empty question")
    if case["lang"] not in ("ja", "en"):
        problems.append(f"bad lang {case['lang']!r}")
    if not isinstance(case["note"], str) or not case["note"].strip():
        problems.append("empty note")
    if not isinstance(case["answerable"], bool):
        problems.append("answerable is not a bool")

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
        if ctype == "followup":
            if (
                len(history) < 2
                or history[0].get("role") != "user"
                or history[-1].get("role") != "assistant"
            ):
                problems.append("followup needs history user ... assistant")
        elif history:
            problems.append("history must be empty except for followups")

    gold, facts = case["gold"], case["key_facts"]
    if not _is_str_list(gold):
        problems.append("gold is not a list of non-empty strings")
        gold = []
    if not _is_str_list(facts):
        problems.append("key_facts is not a list of non-empty strings")
        facts = []

    if ctype == "unanswerable" or case["answerable"] is False:
        if ctype != "unanswerable" or case["answerable"] is not False:
            problems.append("answerable=false iff type=unanswerable")
        if gold or facts:
            problems.append("unanswerable case must have empty gold and key_facts")
        return problems

    if not 1 <= len(gold) <= 3:
        problems.append(f"answerable case needs 1-3 gold spans, has {len(gold)}")
    if len(facts) > 3:
        problems.append(f"at most 3 key_facts, has {len(facts)}")
    if ctype == "multi_passage" and len(gold) < 2:
        problems.append("multi_passage needs at least 2 gold spans")
    for span in gold:
        if not GOLD_MIN <= len(span) <= GOLD_MAX:
            problems.append(f"gold span length {len(span)} outside {GOLD_MIN}-{GOLD_MAX}: {span!r}")
        if span not in corpus:
            problems.append(f"gold not in normalised corpus: {span!r}")
        elif not any(span in line for line in lines):
            problems.append(f"gold spans a line break: {span!r}")
    for fact in facts:
        if fact not in corpus:
            problems.append(f"key fact not in normalised corpus: {fact!r}")
    return problems


def main(argv: list[str]) -> int:
    cases_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_CASES
    corpus_path = Path(argv[2]) if len(argv) > 2 else DEFAULT_CORPUS
    corpus = clean_text(corpus_path.read_text(encoding="utf-8"))
    lines = corpus.splitlines()

    errors: list[str] = []
    seen: set[str] = set()
    counts: Counter[str] = Counter()
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

    total = sum(counts.values())
    for ctype in TYPES:
        flag = "" if counts[ctype] >= MINIMUM[ctype] else f"  (< minimum {MINIMUM[ctype]})"
        print(f"{ctype:15s} {counts[ctype]:4d}{flag}")
        if flag:
            errors.append(f"type {ctype}: {counts[ctype]} cases, minimum {MINIMUM[ctype]}")
    print(f"{'total':15s} {total:4d}")
    if total < MIN_TOTAL:
        errors.append(f"{total} cases, minimum {MIN_TOTAL}")

    for error in errors:
        print("ERROR", error, file=sys.stderr)
    print("OK" if not errors else f"FAILED: {len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
