"""What easel counts and times, named once: the timings, the codes a failure is counted by,
the telemetry the core uses when nobody watches, and one turn's stopwatch.

The port is bot.ports.Telemetry; adapters.metrics exports it to Prometheus. What is counted
is told by values from fixed sets (a platform's name, a status, a code, a kind), never by
anything a person typed, nor by any id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.errors import EaselError
from bot.ports.telemetry import Telemetry, Timing
from bot.turns.status import TurnStatus

BUG = "bug"  # the code of a turn that ended with a bug (bot.errors has no type for it)


def error_codes() -> frozenset[str]:
    """Every code a turn can end with: each bot.errors type's, and BUG."""
    codes = {BUG}
    types: list[type[EaselError]] = [EaselError]
    while types:
        kind = types.pop()
        codes.add(kind.code)
        types.extend(kind.__subclasses__())
    return frozenset(codes)


class NoTelemetry:
    """Implements bot.ports.Telemetry by counting nothing."""

    def turn_ended(self, *, platform: str, status: TurnStatus, code: str = "") -> None:
        pass

    def observe(self, timing: Timing, seconds: float, *, platform: str) -> None:
        pass

    def in_flight(self, change: int) -> None:
        pass

    def spent(self, *, platform: str, usd: float) -> None:
        pass

    def openai_error(self, *, code: str) -> None:
        pass

    def platform_error(self, *, platform: str, kind: str) -> None:
        pass

    def delivery_retry(self, *, platform: str) -> None:
        pass


@dataclass(slots=True)
class Stopwatch:
    """One turn's timings, from its start; each is observed at most once."""

    telemetry: Telemetry
    platform: str
    started: float = field(default_factory=time.monotonic)
    final_at: float | None = None
    previewed: bool = False

    def lap(self, timing: Timing, *, since: float | None = None) -> float:
        """Observe the time from `since` (default: the turn's start) until now; return now."""
        now = time.monotonic()
        begun = self.started if since is None else since
        self.telemetry.observe(timing, now - begun, platform=self.platform)
        return now

    def preview_shown(self) -> None:
        if not self.previewed:
            self.previewed = True
            self.lap(Timing.FIRST_PREVIEW)

    def final(self, *, asked: float) -> None:
        """The final image arrived from a stream requested at `asked`."""
        self.final_at = self.lap(Timing.MODEL, since=asked)

    def placed(self) -> None:
        self.lap(Timing.FINAL)

    def delivered(self) -> None:
        if self.final_at is not None:
            self.lap(Timing.DELIVERY, since=self.final_at)
