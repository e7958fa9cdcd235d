"""Prometheus metrics: bot.ports.Telemetry over prometheus_client, and `GET /metrics` on a
listener of its own (EASEL_METRICS_PORT), never on the port that faces Slack.

Every metric lives in the registry built here at run time (none in the process's global one).
Label values are only from fixed sets: a platform's name, a turn's status, a bot.errors code
or an OpenAI error code easel knows, a failure's kind; anything else counts as "other".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.aiohttp import make_aiohttp_handler

from adapters.failures import Kind
from bot.config import Config
from bot.openai.errors import API_CODES
from bot.ports import Telemetry, Timing
from bot.telemetry import NoTelemetry, error_codes
from bot.turns.status import TurnStatus

log = logging.getLogger(__name__)

PLATFORMS = frozenset({"slack", "discord", "web"})
ENDED = frozenset({TurnStatus.DELIVERED, TurnStatus.FAILED, TurnStatus.INTERRUPTED})
KINDS = frozenset(kind.value for kind in Kind)
OTHER = "other"
LAG_INTERVAL = 0.5  # seconds between two ticks of the event-loop lag probe

_SHORT = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
_LONG = (0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)
# Each timing: its metric's name, what it measures, its buckets (seconds).
TIMINGS: dict[Timing, tuple[str, str, tuple[float, ...]]] = {
    Timing.ACK: ("easel_ack_seconds", "A platform's request in to easel's answer out", _SHORT),
    Timing.FIRST_PREVIEW: (
        "easel_first_preview_seconds",
        "A turn's start to its first preview shown",
        _LONG,
    ),
    Timing.FINAL: (
        "easel_final_seconds",
        "A turn's start to its final image in the thread as a file",
        _LONG,
    ),
    Timing.MODEL: (
        "easel_model_seconds",
        "The image service's stream: the request to the final image",
        _LONG,
    ),
    Timing.DELIVERY: (
        "easel_delivery_seconds",
        "A final image's arrival to its turn delivered",
        (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
    ),
}


def _one_of(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


class PrometheusTelemetry:
    """Implements bot.ports.Telemetry with metrics in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._codes = error_codes()
        self._openai_codes = self._codes | API_CODES
        self._turns = Counter(
            "easel_turns", "Turns ended", ["platform", "status", "code"], registry=r
        )
        self._timings = {
            timing: Histogram(name, doc, ["platform"], buckets=buckets, registry=r)
            for timing, (name, doc, buckets) in TIMINGS.items()
        }
        self._in_flight = Gauge(
            "easel_drawings_in_flight", "Drawing turns running on this replica", registry=r
        )
        self._spend = Counter(
            "easel_estimated_spend_usd",
            "Estimated cost of delivered turns, in US dollars",
            ["platform"],
            registry=r,
        )
        self._openai_errors = Counter(
            "easel_openai_errors", "Failed requests to the image service", ["code"], registry=r
        )
        self._platform_errors = Counter(
            "easel_platform_errors", "Failed chat platform calls", ["platform", "kind"], registry=r
        )
        self._delivery_retries = Counter(
            "easel_delivery_retries",
            "Delivery steps that failed for now and are tried again",
            ["platform"],
            registry=r,
        )
        self.loop_lag = Histogram(
            "easel_event_loop_lag_seconds",
            "How late the event loop woke a sleeping task",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        ProcessCollector(registry=r)

    def turn_ended(self, *, platform: str, status: TurnStatus, code: str = "") -> None:
        ended = _one_of(status, ENDED)
        why = "" if status is TurnStatus.DELIVERED else _one_of(code, self._codes)
        self._turns.labels(_one_of(platform, PLATFORMS), ended, why).inc()

    def observe(self, timing: Timing, seconds: float, *, platform: str) -> None:
        self._timings[timing].labels(_one_of(platform, PLATFORMS)).observe(max(seconds, 0.0))

    def in_flight(self, change: int) -> None:
        self._in_flight.inc(change)

    def spent(self, *, platform: str, usd: float) -> None:
        if usd > 0:
            self._spend.labels(_one_of(platform, PLATFORMS)).inc(usd)

    def openai_error(self, *, code: str) -> None:
        self._openai_errors.labels(_one_of(code, self._openai_codes)).inc()

    def platform_error(self, *, platform: str, kind: str) -> None:
        self._platform_errors.labels(_one_of(platform, PLATFORMS), _one_of(kind, KINDS)).inc()

    def delivery_retry(self, *, platform: str) -> None:
        self._delivery_retries.labels(_one_of(platform, PLATFORMS)).inc()


async def _probe_lag(lag: Histogram, interval: float) -> None:
    """Sleep `interval` over and over; how much later than asked the loop woke is its lag."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(interval)
        lag.observe(max(loop.time() - asked - interval, 0.0))


@dataclass(frozen=True, slots=True)
class Exported:
    telemetry: Telemetry
    port: int | None  # where /metrics is served; None: not served


@asynccontextmanager
async def exported(
    config: Config, *, lag_interval: float = LAG_INTERVAL
) -> AsyncIterator[Exported]:
    """With EASEL_METRICS_PORT set: the metrics, served at /metrics on their own listener, and
    the event loop's lag probed until the block ends. Unset: telemetry that counts nothing."""
    if config.metrics_port is None:
        yield Exported(telemetry=NoTelemetry(), port=None)
        return
    telemetry = PrometheusTelemetry()
    app = web.Application()
    app.add_routes([web.get("/metrics", make_aiohttp_handler(telemetry.registry))])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    probe: asyncio.Task[None] | None = None
    try:
        await web.TCPSite(runner, config.metrics_host, config.metrics_port).start()
        port = int(runner.addresses[0][1])
        log.info("metrics at http://%s:%d/metrics", config.metrics_host, port)
        probe = asyncio.create_task(_probe_lag(telemetry.loop_lag, lag_interval), name="lag")
        yield Exported(telemetry=telemetry, port=port)
    finally:
        if probe is not None:
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
        await runner.cleanup()
