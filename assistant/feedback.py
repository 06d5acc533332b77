"""Feedback on answers (thumbs up/down + comment), appended durably to a JSONL file."""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import BadRequest

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Feedback:
    answer_id: str
    rating: str  # "up" | "down"
    comment: str = ""
    question: str = ""
    answer: str = ""
    at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))


class FeedbackStore:
    MAX_COMMENT = 4000

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def add(self, fb: Feedback) -> Feedback:
        if fb.rating not in ("up", "down"):
            raise BadRequest(f"rating must be 'up' or 'down' (got {fb.rating!r})")
        if not fb.answer_id or len(fb.answer_id) > 100:
            raise BadRequest("answer_id is required (the id of the answer)")
        if len(fb.comment) > self.MAX_COMMENT:
            raise BadRequest(f"the comment is too long (limit {self.MAX_COMMENT} characters)")
        for name in ("answer_id", "comment", "question", "answer"):
            if _SURROGATE.search(getattr(fb, name)):  # cannot be written as UTF-8
                raise BadRequest(
                    f"the {name} contains a lone surrogate, which is not a character",
                    "send real Unicode text",
                )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(fb), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return fb

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a torn last line after a crash is skipped, the rest is kept
        return out
