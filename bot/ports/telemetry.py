"""Whoever watches easel run: what is counted and timed."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from bot.turns.status import TurnStatus


class Timing(StrEnum):
    ACK = "ack"  # a platform's request in, easel's answer out
    FIRST_PREVIEW = "first_preview"  # a turn's start to its first preview shown
    FINAL = "final"  # a turn's start to its final image in the thread as a file
    MODEL = "model"  # the image stream: the request to the final image
    DELIVERY = "delivery"  # the final image to the turn delivered


class Telemetry(Protocol):
    """What easel counts and times (bot.telemetry names it; NoTelemetry counts nothing).

    Every value passed is from a fixed set: a platform's name, a turn's status, a bot.errors
    code, a failure's kind. Never what a person typed, nor a user's, channel's or workspace's
    id."""

    def turn_ended(self, *, platform: str, status: TurnStatus, code: str = "") -> None:
        """A turn delivered, failed (`code`: why) or was interrupted."""

    def observe(self, timing: Timing, seconds: float, *, platform: str) -> None: ...

    def in_flight(self, change: int) -> None:
        """Drawings running on this replica went up or down by `change`."""

    def spent(self, *, platform: str, usd: float) -> None:
        """A delivered turn's estimated cost, as the ledger records it."""

    def openai_error(self, *, code: str) -> None:
        """The image service failed a request: the API's code or the bot.errors one."""

    def platform_error(self, *, platform: str, kind: str) -> None:
        """A chat platform's call failed: `kind` later, refused or bug (adapters.failures)."""

    def delivery_retry(self, *, platform: str) -> None:
        """A delivery step failed for now and is tried again."""
