"""A per-client sliding-window rate limit (requests per minute, in this process).

The client is the peer address (behind a proxy, run uvicorn with ``--proxy-headers``).
With several workers each keeps its own window, so the effective limit is per worker.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request

from assistant.api.errors import RateLimited

WINDOW_S = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def check(self, client: str) -> None:
        """Count one request from ``client``; raise :class:`RateLimited` when over the limit."""
        if self.per_minute <= 0:
            return
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - WINDOW_S:
                hits.popleft()
            if len(hits) >= self.per_minute:
                retry = max(1, math.ceil(hits[0] + WINDOW_S - now))
                raise RateLimited(
                    f"too many requests: the limit is {self.per_minute} per minute",
                    retry_after=retry,
                    hint=f"retry after {retry} s",
                )
            hits.append(now)
            if now - self._last_sweep > WINDOW_S:
                self._sweep(now)

    def _sweep(self, now: float) -> None:
        self._last_sweep = now
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - WINDOW_S]:
            del self._hits[key]


def rate_limit(request: Request) -> None:
    limiter: RateLimiter = request.app.state.rate_limiter
    client = request.client.host if request.client else "unknown"
    limiter.check(client)
