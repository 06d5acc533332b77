"""The statute question set (``eval/statutes/cases.jsonl``) as a retrieval query set.

A chunk is relevant to a case when its text (NFKC, whitespace removed) holds one of the case's
gold spans (NFKC, whitespace removed), or when its citation label names the case's law (its
file) and an article compatible with the case's article: the same 条 (and 附則 or not), and the
same 項 / 号 where both give one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.settings import PROJECT_ROOT
from assistant.text.numerals import to_arabic

DEFAULT_STATUTE_CASES = PROJECT_ROOT / "eval" / "statutes" / "cases.jsonl"
_ARTICLE = re.compile(
    r"(?P<suppl>附則)?(?P<amend>\([^)]*\))?第(?P<art>\d+)条(?P<sub>(?:の\d+)*)"
    r"(?:第(?P<para>\d+)項)?(?:第(?P<item>\d+)号(?P<isub>(?:の\d+)*))?"
)


def squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def load_statute_cases(
    path: Path = DEFAULT_STATUTE_CASES, split: str | None = None
) -> list[dict[str, Any]]:
    """The answerable cases with gold spans (of one split, or all)."""
    rows = [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()]
    return [
        r
        for r in rows
        if r.get("answerable") and r.get("gold") and (split is None or r.get("split") == split)
    ]


def parse_article(text: str) -> dict[str, str] | None:
    """「第二百九十一条の二第四項」/「第291条の2第4項」 → its parts (Arabic)."""
    m = _ARTICLE.search(to_arabic(unicodedata.normalize("NFKC", text)))
    if not m:
        return None
    return {k: v or "" for k, v in m.groupdict().items()}


def articles_agree(case: dict[str, str], chunk: dict[str, str]) -> bool:
    if (case["suppl"], case["art"], case["sub"]) != (chunk["suppl"], chunk["art"], chunk["sub"]):
        return False
    if chunk["amend"]:  # an amending act's 附則: the case's plain 「附則第N条」 is the law's own
        return False
    for part in ("para", "item"):
        if case[part] and chunk[part] and case[part] != chunk[part]:
            return False
    return True


def statute_judge(case: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    golds = [squash(g) for g in case.get("gold") or [] if g.strip()]
    want = parse_article(str(case.get("article", ""))) if case.get("article") else None
    file = str(case.get("file", ""))

    def relevant(rec: dict[str, Any]) -> bool:
        text = squash(rec["text"])
        if any(g in text for g in golds):
            return True
        if want is None or rec.get("doc_id") != file or not rec.get("label"):
            return False
        label = str(rec["label"])
        have = parse_article(label.split(" ", 1)[1] if " " in label else label)
        return have is not None and articles_agree(want, have)

    return relevant
