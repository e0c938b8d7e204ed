"""Timing, memory and machine facts: the few measuring tools every workload shares."""

from __future__ import annotations

import cProfile
import gc
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import meterlib

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent

profiler: cProfile.Profile | None = None
"""Set by ``--profile``: then only the timed calls of meterlib code run under it."""


def _call(work: Callable[[], T], profile: bool) -> T:
    if profile and profiler is not None:
        profiler.enable()
        try:
            return work()
        finally:
            profiler.disable()
    return work()


def timed(work: Callable[[], T], *, profile: bool = False) -> tuple[T, float]:
    """What `work` returns and the seconds it took (after a full collection of old garbage).

    What survives that collection is then frozen out of later ones (`gc.freeze`): at 1M
    events a full collection of the suite's objects took 0.23 s, and the stream rows time
    4,000 calls. With `profile` (meterlib code) the call runs under ``--profile``'s profiler,
    if any.
    """
    gc.collect()
    gc.freeze()
    begin = time.perf_counter()
    result = _call(work, profile)
    return result, time.perf_counter() - begin


def interleaved_medians(
    calls: dict[str, Callable[[], T]], repeats: int, *, warmup: int = 1, profiled: set[str]
) -> dict[str, tuple[T, float]]:
    """Each call's last answer and median time, the calls taking turns round after round.

    Taking turns exposes every contender to the same moments of a shared machine's load, so
    the ratios between them hold even when that load changes during the run. In each turn a
    call first runs `warmup` times untimed, so it is timed warm, as in a loop of its own, not
    in the caches the previous contender left. Calls named in `profiled` (meterlib's) are
    timed under ``--profile``'s profiler.
    """
    gc.collect()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    answers: dict[str, T] = {}
    for _ in range(max(repeats, 1)):
        for name, call in calls.items():
            for _ in range(warmup):
                call()
            begin = time.perf_counter()
            answers[name] = _call(call, name in profiled)
            samples[name].append(time.perf_counter() - begin)
    return {name: (answers[name], statistics.median(samples[name])) for name in calls}


def best_seconds(query: Callable[[], T], repeats: int, *, pause: float = 0.0) -> tuple[T, float]:
    """What `query` last returned and the fastest of `repeats` timings, after one warm-up call.

    For a query whose work is fixed, noise from other work on a shared machine only ever adds
    time, so the minimum is the steadiest estimate of its cost; the growth check compares such
    minimums, since its queries take a tenth of a millisecond. Back-to-back timings of such a
    query all fit inside one burst of other work, so `pause` seconds (and a warm-up call) before
    each spread the timings over time and let some land in a quiet moment.
    """
    query()
    gc.collect()
    samples = []
    for _ in range(max(repeats, 1)):
        if pause:
            time.sleep(pause)
            query()  # warm again: the pause let other work take the caches
        begin = time.perf_counter()
        result = query()
        samples.append(time.perf_counter() - begin)
    return result, min(samples)


def rss_bytes() -> int:
    """The resident set size of this process now (``VmRSS``), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _git(*arguments: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip()


def machine(duckdb_version: str | None) -> dict[str, Any]:
    """The facts a reader needs to compare this run with another."""
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "memory_total_mb": _memory_total_mb(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "duckdb": duckdb_version,
        "meterlib": meterlib.__version__,
        "git_commit": _git("rev-parse", "--short", "HEAD") or None,
        "meterlib_uncommitted_changes": bool(_git("status", "--porcelain", "--", "meterlib")),
    }
