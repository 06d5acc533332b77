"""Giving freed memory back to the operating system.

glibc keeps memory that Python and the C libraries (the embedding model, Chroma) have freed
in its arenas, one per thread that ever allocated; after large temporary buffers (a long
text's activations, an ingest's batches) the process keeps its peak size for good. Measured
(README, "Soak"): 453 → 658 MB after three rounds of 8 concurrent long questions, 476 MB
after ``malloc_trim(0)``. The service calls it after each job and every
``KANSAI_MALLOC_TRIM_INTERVAL_S`` seconds; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

_libc: Any = None
_loaded = False


def _malloc_trim() -> Any:
    global _libc, _loaded
    if not _loaded:
        _loaded = True
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc = lib if hasattr(lib, "malloc_trim") else None
        except OSError:
            _libc = None
    return _libc


def trim_memory() -> bool:
    """Return freed heap pages to the OS; False where this is not glibc."""
    lib = _malloc_trim()
    if lib is None:
        return False
    lib.malloc_trim(0)
    return True


class Trimmer:
    """A daemon thread that trims every ``interval_s`` seconds until stopped."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval_s <= 0 or _malloc_trim() is None:
            return
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            trim_memory()

    def stop(self) -> None:
        self._stop.set()
