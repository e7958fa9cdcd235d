"""Pieces every bench process shares: the clock, the ready-file handshake, percentiles.

Clock: every timestamp in the bench is `time.monotonic()`. On Linux that is
clock_gettime(CLOCK_MONOTONIC), one system-wide clock, so readings taken in different
processes on the same machine are directly comparable (`clock_info()` records this in the
report, and `python -m bench` refuses to run where it does not hold).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Json = dict[str, Any]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def now() -> float:
    return time.monotonic()


def clock_info() -> Json:
    info = time.get_clock_info("monotonic")
    return {
        "function": "time.monotonic",
        "implementation": info.implementation,
        "resolution": info.resolution,
        "shared_across_processes": sys.platform == "linux"
        and info.implementation == "clock_gettime(CLOCK_MONOTONIC)",
    }


class LagTicker:
    """Measures this process's event-loop lag: how late a `tick`-second sleep wakes up."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.samples: list[float] = []
        self.on = True

    async def run(self) -> None:
        while True:
            before = now()
            await asyncio.sleep(self.tick)
            if self.on:
                self.samples.append(max(0.0, now() - before - self.tick))

    def summary(self) -> Json:
        return summary(self.samples, 1000)


def write_ready(path: str | Path, info: Json) -> None:
    """Announce a started process: write the JSON atomically, so a reader never sees half."""
    target = Path(path)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(target)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a bench child: no proxies (all traffic is loopback), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def die_with_parent() -> None:
    """In a child (as preexec_fn): get SIGTERM if the bench process dies, so none outlives it."""
    if sys.platform != "linux":
        return
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values. p99 of < 100 values is max."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float], scale: float = 1.0) -> Json:
    """{"n", "p50", "p99", "max"} with values multiplied by `scale` (1000: seconds to ms)."""

    def scaled(v: float | None) -> float | None:
        return None if v is None else round(v * scale, 3)

    return {
        "n": len(values),
        "p50": scaled(percentile(values, 50)),
        "p99": scaled(percentile(values, 99)),
        "max": scaled(max(values) if values else None),
    }
