"""What a chat platform's failure means for easel: the three answers every call can get.

    LATER    the platform is down or busy, or the network failed: try again later
    REFUSED  the platform said no, and saying it again will not change that
    BUG      anything else: easel's own mistake (logged with its stack)

Each platform has one function that classifies any exception its client raises
(adapters.slack.failures, adapters.discord.failures); surfaces turn the answer into the
bot.errors type that fits the step (the placeholder, a preview, the final image).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import aiohttp

from bot.ports import Telemetry
from bot.telemetry import NoTelemetry

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0  # seconds a platform may stay silent before a call counts as failed


class Kind(StrEnum):
    LATER = "later"
    REFUSED = "refused"
    BUG = "bug"


class PlatformError(Exception):
    """A platform call failed; `kind` says whether to try again, `reason` what was said."""

    def __init__(
        self,
        kind: Kind,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the platform asked to wait (a 429)

    @property
    def rate_limited(self) -> bool:
        return self.status == 429

    @property
    def later(self) -> bool:
        return self.kind is Kind.LATER


def network_failure(exc: BaseException) -> bool:
    """A failure of the connection itself: reset, closed, truncated, timed out, unreachable."""
    return isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError)


def by_status(status: int) -> Kind:
    """5xx and 429 pass; every other answer stands."""
    return Kind.LATER if status >= 500 or status == 429 else Kind.REFUSED


@dataclass(frozen=True, slots=True)
class Caller:
    """Calls one platform: each call bounded by `timeout`, each failure classified once (and
    counted, by `platform` and kind)."""

    classify: Callable[[BaseException], PlatformError | None]
    timeout: float = DEFAULT_TIMEOUT
    platform: str = ""
    telemetry: Telemetry = field(default_factory=NoTelemetry)

    async def __call__(
        self, call: Callable[[], Awaitable[T]], *, what: str, patience: float = 1.0
    ) -> T:
        """`await call()`; a platform failure comes out as PlatformError, a bug as it was.
        `patience` multiplies the timeout (an upload of a large file may take longer)."""
        try:
            async with asyncio.timeout(self.timeout * patience):
                return await call()
        except Exception as exc:
            failure = self.classify(exc)
            if failure is None:
                raise
            self.telemetry.platform_error(platform=self.platform, kind=failure.kind)
            raise PlatformError(
                failure.kind,
                f"{what}: {failure.reason}",
                status=failure.status,
                retry_after=failure.retry_after,
            ) from exc
