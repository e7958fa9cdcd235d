"""What no live replica runs: taken over at start, and every third of a lease after.

A replica renews its lease while it lives. A turn whose replica stopped renewing (killed,
its machine gone; with SQLite: the run before this one), or one of this replica's own that
no task runs any more, is taken over: a turn that was queued or drawing is marked
interrupted (its message says so, with Retry); a turn that was delivering is delivered from
the outbox, after the last step it recorded, ahead of any new turn in its thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from bot.models import Held, StoredTurn
from bot.ports import Admissions, Ledger, Reopen, Replicas, Surface
from bot.turns.order import Place, ThreadOrder
from bot.turns.status import TurnStatus
from bot.turns.turn import TurnRunner, bind

log = logging.getLogger(__name__)

Queue = Callable[[Coroutine[Any, Any, None], Place], "asyncio.Task[None]"]


class Recovery:
    def __init__(
        self,
        *,
        ledger: Ledger,
        replicas: Replicas,
        admissions: Admissions,
        runner: TurnRunner,
        order: ThreadOrder,
        reopen: Mapping[str, Reopen],
        queue: Queue,
    ) -> None:
        self._ledger = ledger
        self._replicas = replicas
        self._admissions = admissions
        self._runner = runner
        self._order = order
        self._reopen = reopen
        self._queue = queue
        self._tasks: list[asyncio.Task[None]] = []

    async def sweep(self) -> None:
        """Take over what no live replica runs, oldest first: a held image is queued for
        delivery, the other turns are interrupted side by side, and waited for."""
        interrupts = []
        for turn in await self._ledger.take_over(running=self._runner.running):
            surface = await self._surface(turn)
            if surface is None:
                continue
            held = await self._ledger.held(turn.id)
            self._runner.running.add(turn.id)
            if held is None:
                # In a task of its own, so that its log lines (and only they) carry the turn.
                interrupts.append(asyncio.create_task(self._interrupt(turn, surface)))
                continue
            self._queue(self._redeliver(turn, held, surface), self._order.take(turn.key))
        await asyncio.gather(*interrupts)

    async def _surface(self, turn: StoredTurn) -> Surface | None:
        """The turn's message found again; None (the turn settled here) when it cannot be."""
        reopen = self._reopen.get(turn.key.platform)
        if reopen is None:
            log.warning(
                "turn %d is unfinished on %s, which is not configured here",
                turn.id,
                turn.key.platform,
            )
            return None
        try:
            return reopen(turn)
        except Exception:  # a message it never recorded: a stop between post and record
            log.exception("turn %d: its message cannot be found again", turn.id)
            await self._ledger.end(turn.id, status=TurnStatus.INTERRUPTED, error_code="interrupted")
            self._runner.telemetry.turn_ended(
                platform=turn.key.platform, status=TurnStatus.INTERRUPTED, code="interrupted"
            )
            return None

    def start(self) -> None:
        """Renew the lease, and sweep, every third of a lease until stopped: each in a task of
        its own, so that a slow sweep never holds the renewal up (the other replicas would
        take over this one's turns while it still runs them)."""
        self._tasks = [
            asyncio.create_task(self._renew(), name="easel-lease"),
            asyncio.create_task(self._sweep(), name="easel-sweep"),
        ]

    async def stop(self) -> None:
        """Stop renewing, and leave: the other replicas may take over at once."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        try:
            await self._replicas.leave()
        except Exception:
            log.warning("could not leave the replicas' table", exc_info=True)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._replicas.lease_seconds / 3)
            try:
                await self._replicas.renew()
            except Exception:
                log.warning("renewing the lease failed; trying again", exc_info=True)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._replicas.lease_seconds / 3)
            try:
                await self._admissions.forget_the_dead()
                await self._replicas.forget_the_dead()
                await self.sweep()
            except Exception:
                log.warning("taking over unfinished turns failed; trying again", exc_info=True)

    async def _interrupt(self, turn: StoredTurn, surface: Surface) -> None:
        bind(turn.id, turn.key)
        log.info("turn %d was %s when its easel stopped: interrupted", turn.id, turn.status)
        try:
            await self._runner.interrupt(turn.id, surface, platform=turn.key.platform)
        except Exception:
            # The outermost handler of this task; a later sweep takes the turn again.
            log.warning("interrupting turn %d failed", turn.id, exc_info=True)
        finally:
            self._runner.running.discard(turn.id)

    async def _redeliver(self, turn: StoredTurn, held: Held, surface: Surface) -> None:
        bind(turn.id, turn.key)
        step = "showing its file" if held.file_ref else "delivering its finished image"
        log.info("turn %d: %s from the outbox", turn.id, step)
        try:
            await self._runner.deliverer.deliver(
                turn.id, turn.key, held, turn.options, surface, resumed=True
            )
        except Exception:
            # The outermost handler of this task; the image stays in the outbox.
            log.exception("delivering turn %d from the outbox crashed", turn.id)
        finally:
            self._runner.running.discard(turn.id)
