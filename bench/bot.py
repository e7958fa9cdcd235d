"""easel as the benchmark runs it: `python -m bench.bot --ready FILE`.

Exactly what `easel` runs (`adapters.runtime.running(load_config(env))`, configured by the
environment), plus instruments that live inside the process:
- an event-loop lag ticker: sleeps `TICK` seconds over and over and records how late it woke;
- CPU seconds (`time.process_time()`: user + system, all threads) and RSS (/proc/self/statm
  every tick; peak from getrusage ru_maxrss);
- optionally a pyinstrument profile of the measured window (HTML and text).
A control server on a second loopback port starts (`POST /window/start`) and ends
(`POST /window/stop`, answers the stats) the measured window. SIGTERM stops easel as `easel`
stops: intake closes, drawings in progress drain.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters.runtime import running
from bench.common import Json, now, summary, write_ready
from bot.config import load_config
from bot.logs import configure

TICK = 0.005
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * PAGE


class Window:
    """What happens in the bot between /window/start and /window/stop."""

    def __init__(self, profile_dir: str | None, trace_memory: bool = False) -> None:
        self.lags: list[float] = []
        self.spikes: list[tuple[float, float]] = []  # (seconds into the window, lag ms) > 20 ms
        self.rss_series: list[tuple[float, float]] = []  # (seconds into the window, RSS MB)
        self.open = False
        self.cpu0 = 0.0
        self.wall0 = 0.0
        self.rss0 = 0
        self.rss_peak = 0
        self._profile_dir = profile_dir
        self._profiler: Any = None
        self._trace_memory = trace_memory
        self._heaviest: Json | None = None  # tracemalloc's view at the highest RSS seen
        self._heaviest_rss = 0

    def start(self) -> Json:
        self.lags.clear()
        self.spikes.clear()
        self.rss_series.clear()
        self.open = True
        self.cpu0, self.wall0 = time.process_time(), now()
        self.rss0 = self.rss_peak = rss_bytes()
        if self._profile_dir:
            from pyinstrument import Profiler

            self._profiler = Profiler(interval=0.001, async_mode="disabled")
            self._profiler.start()
        return {"rss_bytes": self.rss0, "at": self.wall0, "profiling": self._profiler is not None}

    def stop(self) -> Json:
        self.open = False
        stats: Json = {
            "cpu_seconds": round(time.process_time() - self.cpu0, 4),
            "wall_seconds": round(now() - self.wall0, 4),
            "rss_start_bytes": self.rss0,
            "rss_peak_window_bytes": self.rss_peak,
            "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "loop_lag_ms": summary(self.lags, 1000),
            "loop_lag_spikes": self.spikes[:200],
            "rss_series_mb": self.rss_series,
            "tick_seconds": TICK,
        }
        if self._profiler is not None:
            stats["profile"] = self._save_profile()
        if self._heaviest is not None:
            stats["memory_at_peak"] = self._heaviest
        return stats

    def _save_profile(self) -> Json:
        from bench.profile import save

        self._profiler.stop()
        assert self._profile_dir is not None
        return save(self._profiler.last_session, Path(self._profile_dir))

    async def tick(self) -> None:
        while True:
            before = now()
            await asyncio.sleep(TICK)
            if not self.open:
                continue
            after = now()
            lag = max(0.0, after - before - TICK)
            self.lags.append(lag)
            rss = rss_bytes()
            if self._trace_memory and rss > self._heaviest_rss + 50 * 2**20:
                self._heaviest, self._heaviest_rss = heaviest(rss), rss
            self.rss_peak = max(self.rss_peak, rss)
            at = round(after - self.wall0, 3)
            if lag > 0.02:
                self.spikes.append((at, round(lag * 1000, 1)))
            if not self.rss_series or at - self.rss_series[-1][0] >= 0.5:
                self.rss_series.append((at, round(rss / 2**20, 1)))


def heaviest(rss: int, top: int = 12) -> Json:
    """Where the live Python memory is, by allocating line (needs PYTHONTRACEMALLOC)."""
    import tracemalloc

    snapshot = tracemalloc.take_snapshot()
    stats = snapshot.statistics("lineno")
    return {
        "rss_mb": round(rss / 2**20, 1),
        "traced_mb": round(sum(s.size for s in stats) / 2**20, 1),
        "top": [
            {"where": str(s.traceback), "mb": round(s.size / 2**20, 1), "count": s.count}
            for s in stats[:top]
        ],
    }


def control_app(window: Window) -> web.Application:
    async def start(request: web.Request) -> web.Response:
        return web.json_response(window.start())

    async def stop(request: web.Request) -> web.Response:
        return web.json_response(window.stop())

    app = web.Application()
    app.add_routes([web.post("/window/start", start), web.post("/window/stop", stop)])
    return app


async def serve(args: argparse.Namespace) -> None:
    config = load_config(os.environ)
    window = Window(args.profile_dir, trace_memory=bool(os.environ.get("PYTHONTRACEMALLOC")))
    ticker = asyncio.create_task(window.tick(), name="bench-lag-ticker")
    control = web.AppRunner(control_app(window), access_log=None)
    await control.setup()
    await web.TCPSite(control, "127.0.0.1", 0).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(config) as runtime:
            control_port = int(control.addresses[0][1])
            write_ready(args.ready, {"port": runtime.port, "control_port": control_port})
            await stop.wait()
    finally:
        ticker.cancel()
        await control.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready", required=True, help="file to write {port, control_port} to")
    parser.add_argument("--profile-dir", default=None, help="profile the window into this dir")
    args = parser.parse_args()
    configure(level=os.environ.get("EASEL_LOG_LEVEL", "INFO"))  # as `easel` logs
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
