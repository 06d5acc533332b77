"""The machine a measurement ran on, and the memory of a process, from ``/proc``.

Peak memory per stage uses ``VmHWM`` (the RSS high-water mark), which Linux resets when
``5`` is written to ``/proc/self/clear_refs``; where that is not possible the peak is the
process-wide ``ru_maxrss`` and the result says so.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

OMP_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _meminfo_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            kb = int(re.search(r"MemTotal:\s+(\d+)", fh.read()).group(1))  # type: ignore[union-attr]
        return round(kb / 2**20, 1)
    except (OSError, AttributeError, ValueError):
        return 0.0


def machine() -> dict[str, Any]:
    """nproc, RAM, CPU model, load average now, and the thread settings of this process."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            m = re.search(r"model name\s*:\s*(.+)", fh.read())
            model = m.group(1).strip() if m else ""
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "ram_gb": _meminfo_gb(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "loadavg": loadavg(),
        "omp": omp_setting(),
    }


def omp_setting() -> dict[str, str]:
    """The OpenMP/BLAS thread variables this process (and its children) run with."""
    return {k: os.environ.get(k, "unset") for k in OMP_VARS if k in os.environ} or {
        "OMP_NUM_THREADS": "unset"
    }


def status_kb(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (kB) of a process; empty if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            text = fh.read()
    except OSError:
        return {}
    return {k: int(v) for k, v in re.findall(r"(VmRSS|VmHWM):\s+(\d+) kB", text)}


def rss_mb(pid: int | str = "self") -> float:
    return round(status_kb(pid).get("VmRSS", 0) / 1024, 1)


def reset_peak() -> bool:
    """Reset this process's RSS high-water mark; False if the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """RSS high-water mark (MB) since the last :func:`reset_peak` (or process start)."""
    kb = status_kb().get("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024, 1)


def latency_summary(ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean (ms) and the count; zeros for no samples."""
    a = np.asarray(ms, dtype=np.float64)
    if not len(a):
        return {"n": 0, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0}
    return {
        "n": len(a),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p95_ms": round(float(np.percentile(a, 95)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "mean_ms": round(float(a.mean()), 2),
    }
