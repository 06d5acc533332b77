"""Admission for long questions: at most ``long_question_slots`` of them run at once.

A long question (pasted inquiries, long conversations) costs more than a short one even with
the query embedding capped; letting any number run together makes every short question wait
behind them. Long ones queue here (asynchronously: a waiting request holds no thread) for
at most ``long_question_wait_s``, then get ``503 busy`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from assistant.api.errors import Busy


class AnswerSlots:
    def __init__(self, long_chars: int, slots: int, wait_s: float) -> None:
        self.long_chars = long_chars
        self.slots = slots
        self.wait_s = wait_s
        self._sem: asyncio.Semaphore | None = None
        self.waiting = 0

    def is_long(self, chars: int) -> bool:
        return chars > self.long_chars

    async def acquire(self, chars: int) -> Ticket:
        """Wait for a slot if the question is long; release the ticket when done."""
        if not self.is_long(chars):
            return Ticket(None)
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.slots)
        self.waiting += 1
        try:
            await asyncio.wait_for(self._sem.acquire(), self.wait_s)
        except TimeoutError:
            raise Busy(
                f"too many long questions at once ({self.waiting} waiting for "
                f"{self.slots} slot(s) for questions over {self.long_chars} characters)",
                retry_after=max(1, math.ceil(self.wait_s / 4)),
                hint="retry shortly, or send a shorter question",
            ) from None
        finally:
            self.waiting -= 1
        return Ticket(self._sem)

    @asynccontextmanager
    async def admit(self, chars: int) -> AsyncIterator[None]:
        ticket = await self.acquire(chars)
        try:
            yield
        finally:
            ticket.release()


class Ticket:
    """A taken slot (or none, for a short question); releasing twice is harmless."""

    def __init__(self, sem: asyncio.Semaphore | None) -> None:
        self._sem = sem

    def release(self) -> None:
        sem, self._sem = self._sem, None
        if sem is not None:
            sem.release()
