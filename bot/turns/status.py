"""A drawing turn's statuses, and the one table of moves between them.

    queued -> drawing -> delivering -> delivered | failed | interrupted (image lost)
      |          '-> failed | interrupted
      '-> failed | interrupted

A turn begins queued (an earlier turn in its thread is still running) or drawing. It says
`delivering` once its finished image is in the outbox, and from then on a stop leaves it to be
delivered at the next start (it is interrupted only if its held image is gone). The stores
refuse any other move where they write it, in the same statement (see `sources`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class TurnStatus(StrEnum):
    QUEUED = "queued"
    DRAWING = "drawing"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """No move leaves this status."""
        return not MOVES[self]


MOVES: Mapping[TurnStatus, frozenset[TurnStatus]] = {
    TurnStatus.QUEUED: frozenset({TurnStatus.DRAWING, TurnStatus.FAILED, TurnStatus.INTERRUPTED}),
    TurnStatus.DRAWING: frozenset(
        {TurnStatus.DELIVERING, TurnStatus.FAILED, TurnStatus.INTERRUPTED}
    ),
    # Interrupted only when its held image is gone: the Retry button is all that is left.
    TurnStatus.DELIVERING: frozenset(
        {TurnStatus.DELIVERED, TurnStatus.FAILED, TurnStatus.INTERRUPTED}
    ),
    TurnStatus.DELIVERED: frozenset(),
    TurnStatus.FAILED: frozenset(),
    TurnStatus.INTERRUPTED: frozenset(),
}
FIRST = frozenset({TurnStatus.QUEUED, TurnStatus.DRAWING})  # what a new turn may begin as
UNFINISHED = tuple(status for status in TurnStatus if not status.finished)


class IllegalMove(RuntimeError):
    """A turn was asked to move where the table does not allow (a bug, not an outage)."""


def sources(to: TurnStatus) -> tuple[TurnStatus, ...]:
    """The statuses a turn may be in to move to `to`."""
    return tuple(status for status, moves in MOVES.items() if to in moves)


def check_first(status: TurnStatus) -> TurnStatus:
    if status not in FIRST:
        raise IllegalMove(f"a turn cannot begin as {status}")
    return status
