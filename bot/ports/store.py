"""Durable state: the store's parts, each a role of its own (together a Store)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from bot.models import (
    Action,
    DrawRequest,
    FinalImage,
    Held,
    ImageOptions,
    StoredTurn,
    ThreadKey,
    ThreadState,
)
from bot.turns.status import TurnStatus


class Claims(Protocol):
    async def claim(self, key: str, *, stale_after: float | None = None) -> bool:
        """Record a platform delivery (an event, a command, a press); False when it was seen
        before, by this process or another. `stale_after`: a claim older than this many
        seconds may be made again."""
        ...


class Threads(Protocol):
    async def get(self, key: ThreadKey) -> ThreadState | None:
        """What the thread's next turn continues from (None before its first image)."""
        ...

    async def is_easels(self, key: ThreadKey) -> bool:
        """True when easel started this thread (a reply there is a turn)."""
        ...

    async def open(self, key: ThreadKey, *, started_by: str | None = None) -> None:
        """Mark a thread as easel's before its first image exists."""

    async def starter(self, key: ThreadKey) -> str | None:
        """Who started the thread's drawing (None for threads from before this was kept)."""
        ...


class Ledger(Protocol):
    """Every turn, step by step. Each write moves a turn only as TurnStatus's table allows."""

    async def begin(
        self,
        request: DrawRequest,
        *,
        thread: ThreadKey,
        options: ImageOptions,
        status: TurnStatus,
        message: Mapping[str, Any],
        inputs: Sequence[Mapping[str, Any]],
    ) -> int: ...

    async def move(self, turn_id: int, status: TurnStatus) -> None: ...

    async def posted(self, turn_id: int, message: Mapping[str, Any]) -> None:
        """Where the turn's message is, once it is posted."""

    async def earlier_active(self, turn_id: int, key: ThreadKey) -> bool:
        """An earlier turn of the thread holds this one up (on any replica)."""
        ...

    async def wait_turn(self, turn_id: int, key: ThreadKey) -> None:
        """Return once no earlier turn of the thread holds this one up."""

    async def take_over(self, *, running: Collection[int]) -> list[StoredTurn]:
        """Unfinished turns no live replica runs, made this replica's, oldest first."""
        ...

    async def hold(self, turn_id: int, final: FinalImage, *, drawn_from: str | None = None) -> None:
        """Keep the final image (outbox), then mark the turn delivering. `drawn_from`: the
        previous_response_id it was drawn with."""

    async def held(self, turn_id: int) -> Held | None:
        """The finished image a delivering turn still owes, and its file if it is placed."""
        ...

    async def placed(
        self, turn_id: int, *, key: ThreadKey, final: FinalImage, file_ref: str
    ) -> None:
        """The file is in the thread: record it and advance the thread's chain, in one step."""

    async def complete(
        self,
        turn_id: int,
        *,
        final: FinalImage,
        cost_usd: float | None,
        image_size: str | None = None,
    ) -> None:
        """The message shows the file: mark the turn delivered and empty its outbox.
        `image_size`: the final image's WIDTHxHEIGHT."""

    async def end(self, turn_id: int, *, status: TurnStatus, error_code: str) -> None:
        """End a turn that delivered nothing (failed, interrupted), dropping any held image."""

    async def get(self, turn_id: int) -> StoredTurn | None: ...

    async def last_interrupted(self, key: ThreadKey) -> StoredTurn | None:
        """The thread's latest turn, when it was interrupted (what "retry" retries)."""
        ...


class Drawings(Protocol):
    """Finished drawings and the buttons pressed on them."""

    async def pressed(self, origin: int, action: Action) -> tuple[int, int]:
        """(unfinished, finished): how many turns `action` drew from drawing `origin`."""
        ...

    async def delete(self, turn_id: int, *, by: str) -> bool:
        """Mark a delivered drawing deleted, and let its thread go on from its last image not
        deleted; False when it is not delivered or is deleted already."""
        ...

    async def image_of(self, key: ThreadKey, response_id: str) -> str | None:
        """The file of the drawing in thread `key` that `response_id` drew; None when there
        is none or it was deleted."""
        ...


class SettingsStore(Protocol):
    async def overrides(self, platform: str, workspace: str) -> dict[str, Any]:
        """The settings a workspace's admins changed: field name -> stored (JSON) value."""
        ...

    async def save(
        self,
        platform: str,
        workspace: str,
        *,
        user_id: str,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> None:
        """Store new values and audit each change (field -> (old, new)) in one transaction."""

    async def chosen(self, field_names: Sequence[str]) -> list[tuple[str, str, str, Any]]:
        """Every workspace's stored value of these fields: (platform, workspace, field, value)."""
        ...


class Usage(Protocol):
    async def delivered_count(
        self, platform: str, workspace: str, user_id: str, *, since: float
    ) -> int: ...

    async def spend(
        self, platform: str, workspace: str, *, since: float, by: str | None = None
    ) -> dict[str, tuple[int, float]]:
        """Delivered drawings and their estimated cost since `since`: in all (key ""), or by
        "user_id" or "channel"."""
        ...


class Admissions(Protocol):
    """Drawings admitted and not ended yet, counted on every replica."""

    async def admit(
        self, person: tuple[str, str, str], check: Callable[[int], Awaitable[None]]
    ) -> int:
        """With this person's admissions serialised: `await check(running)`, then record the
        admission and return its id (`check` raising refuses it)."""
        ...

    async def release(self, admission_id: int) -> None: ...

    async def forget_the_dead(self) -> None:
        """Admissions of replicas that are gone no longer count."""


class Replicas(Protocol):
    """This replica's lease on the turns it runs."""

    @property
    def replica(self) -> str: ...
    @property
    def lease_seconds(self) -> float: ...

    async def renew(self) -> None: ...

    async def leave(self) -> None: ...

    async def forget_the_dead(self) -> None: ...


class Facts(Protocol):
    """Small named facts easel keeps for itself (what it last registered with Discord)."""

    async def get(self, name: str) -> str | None: ...

    async def put(self, name: str, value: str) -> None: ...


class PublicPreviews(Protocol):
    """Previews served at EASEL_PUBLIC_URL until they expire; any replica answers for any."""

    async def put(self, token: str, *, mime_type: str, data: bytes, ttl: float) -> None: ...

    async def get(self, token: str) -> tuple[str, bytes] | None:
        """The preview's (mime type, bytes), or None when unknown or expired."""
        ...

    async def drop(self, token: str) -> None: ...


class Secrets(Protocol):
    async def key(self, name: str) -> bytes:
        """A random key created the first time it is asked for, and the same one ever after
        (on every replica)."""
        ...


class Store(Protocol):
    """One database engine's parts, held together."""

    @property
    def claims(self) -> Claims: ...
    @property
    def threads(self) -> Threads: ...
    @property
    def drawings(self) -> Drawings: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def settings(self) -> SettingsStore: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def secrets(self) -> Secrets: ...
    @property
    def admissions(self) -> Admissions: ...
    @property
    def replicas(self) -> Replicas: ...
    @property
    def previews(self) -> PublicPreviews: ...

    async def ping(self) -> bool: ...
