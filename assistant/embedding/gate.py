"""Sharing one model handle between a service's questions and a background ingest.

A model call cannot be interrupted, so what keeps a question fast while documents are being
embedded is the order of the waiting calls: the cheapest waiting query goes first, passage
batches go when no query waits, and anyone who has waited ``max_wait_s`` goes before the rest
(so neither a long question nor an ingest starves under constant traffic). While questions
come in, passage batches are small.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Set (per thread) by whatever embeds in the background — an upload or reindex job — so its
# passage batches wait behind the questions. Passages embedded while answering (the
# extractive answerer's sentences, the guard's passages) are part of a question: not bulk.
background_work: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "background_work", default=False
)


@dataclass
class _Waiter:
    cost: float
    bulk: bool
    seq: int
    since: float = field(default_factory=time.monotonic)


class ModelGate:
    def __init__(
        self,
        max_wait_s: float = 2.0,
        busy_window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_wait_s = max_wait_s
        self.busy_window_s = busy_window_s
        self._clock = clock
        self._cond = threading.Condition()
        self._busy = False
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()
        self._last_query = -1e18

    def _rank(self, w: _Waiter, now: float) -> tuple[int, float, int]:
        """Whoever waited ``max_wait_s`` first (oldest first), then queries cheapest first,
        then passage batches: no one starves, cheap questions rarely wait."""
        if now - w.since >= self.max_wait_s:
            return (0, 0.0, w.seq)
        if w.bulk:
            return (2, 0.0, w.seq)
        return (1, w.cost, w.seq)

    def _next(self) -> _Waiter:
        now = self._clock()
        return min(self._waiting, key=lambda w: self._rank(w, now))

    @contextmanager
    def hold(self, cost: float, bulk: bool = False) -> Iterator[None]:
        """Use the model; ``cost`` (e.g. tokens) orders the waiting queries."""
        me = _Waiter(cost, bulk, next(self._seq), self._clock())
        with self._cond:
            if not bulk:
                self._last_query = me.since
            self._waiting.append(me)
            while self._busy or self._next() is not me:
                # ranks change with time: re-check now and then, not only when notified
                self._cond.wait(timeout=self.max_wait_s / 4)
            self._waiting.remove(me)
            self._busy = True
        try:
            yield
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def queries_recently(self) -> bool:
        """True when a query used the model within ``busy_window_s`` (the service is in use)."""
        return self._clock() - self._last_query < self.busy_window_s
