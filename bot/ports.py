"""The narrow interfaces the core talks to, one per role. Adapters and the backend implement
them; each part of the core asks only for the roles it uses.

A chat platform's side of one turn:   TurnMessage, PreviewSink, FinalSink, Inputs (= Surface)
The image service:                    ImageBackend, ModelCatalog
Durable state:                        Claims, Threads, Ledger, SettingsStore, Usage (= Store)
Whoever watches easel run:            Telemetry
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from bot.errors import EaselError
from bot.models import (
    Action,
    DrawRequest,
    FinalImage,
    Held,
    ImageOptions,
    InputImage,
    ModelStatus,
    Preview,
    StoredTurn,
    ThreadKey,
    ThreadState,
)
from bot.telemetry import Timing
from bot.turns.status import TurnStatus

# -- one turn on a chat platform --------------------------------------------------------------


class TurnMessage(Protocol):
    """The ONE message of a turn: posted once, then edited as the turn moves on."""

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        """Post the placeholder; return the thread it belongs to.

        For a new drawing the placeholder starts the thread; for a reply it is posted in it;
        for a retry the interrupted turn's message is reused. `waiting`: an earlier turn in
        the thread is still drawing, and this one waits for it.
        """
        ...

    def message_ref(self) -> Mapping[str, Any]:
        """Where the message is, as JSON the adapter can reopen after a restart (`Reopen`)."""
        ...

    async def drawing(self) -> None:
        """The turn that waited now draws."""

    async def delivering(self) -> None:
        """The image is finished but the platform did not take it yet: say so."""

    async def interrupted(self, turn_id: int) -> None:
        """Say the turn was interrupted, with a way to retry it (Retry button or reply)."""

    async def fail(self, error: EaselError) -> None:
        """Replace the message's progress with the error's words."""

    async def erase(self, file_ref: str | None) -> None:
        """Delete the turn's message and its final file (`file_ref`) from the platform; what
        is gone already counts as deleted."""


class PreviewSink(Protocol):
    """Where partial renders are shown, at most one edit every `preview_interval` seconds,
    downscaled and encoded as `preview_format` ("jpeg" or "webp") on the way."""

    @property
    def preview_interval(self) -> float: ...

    @property
    def preview_format(self) -> str: ...

    def claim_preview(self) -> bool:
        """Claim the chat's allowance for the next preview edit. False when the chat has none
        to spare (its edits are metered and owed to final images first): the frame is then
        dropped before it is downscaled. A claim holds until the next `preview()`."""
        ...

    async def preview(self, preview: Preview) -> None: ...


class FinalSink(Protocol):
    """Where the finished image goes, in two steps that are each recorded when they succeed:
    a real file in the thread, then the turn's message showing it."""

    async def place_final(self, final: FinalImage, *, again: bool) -> str:
        """Put the final image in the thread as a file; return its reference. `again`: an
        earlier attempt (in this run or one before it) may have put it there already, so look
        in the thread first (it is named from the image call's id)."""
        ...

    async def show_final(self, final: FinalImage, file_ref: str, *, turn_id: int) -> None:
        """Make the turn's message show the file that is in the thread, with the buttons
        (bot.models.Action) that act on turn `turn_id`."""


class Inputs(Protocol):
    """The images a turn draws from."""

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        """The attached files, as JSON the adapter can fetch again for a retry."""
        ...

    async def attachments(self) -> tuple[InputImage, ...]:
        """The verified images attached to this turn (may be none); AttachmentRejected names
        a file that cannot be used."""
        ...

    async def fetch_image(self, file_ref: str) -> InputImage:
        """An earlier final image, fetched back by the reference `place_final` gave."""
        ...


class Delivery(FinalSink, TurnMessage, Protocol):
    """What delivering a finished image needs: the file, and the message that tells of it."""


class Surface(TurnMessage, PreviewSink, FinalSink, Inputs, Protocol):
    """Every role of one turn on one platform: what an adapter builds per turn."""


SurfaceFor = Callable[[DrawRequest], Surface]
"""Builds a turn's surface from its admitted request (whose prompt is as it will be sent)."""


class Reopen(Protocol):
    """An adapter's way back to a stored turn's message (after a restart, or for a retry).

    With `request` the surface draws that request in the message; without, it only delivers
    or explains the stored turn."""

    def __call__(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> Surface: ...


# -- the image service ------------------------------------------------------------------------


class ImageBackend(Protocol):
    """Streams one drawing: zero or more previews, then exactly one final image."""

    def generate(
        self,
        *,
        prompt: str,
        options: ImageOptions,
        previous_response_id: str | None,
        images: Sequence[InputImage],
        safety_identifier: str | None = None,
        mask: InputImage | None = None,
        wanted: Callable[[], bool] | None = None,
    ) -> AsyncIterator[Preview | FinalImage]:
        """`safety_identifier`: who asked, privacy-preserving (bot.turns.safety). `mask`:
        its transparent pixels mark the region of the first image to change. `wanted()`:
        whether a preview arriving now could be shown; when it says no, the backend may let
        that frame go without decoding it (the next frame asks again)."""
        ...


class ModelCatalog(Protocol):
    """Whether a model exists and when it shuts down, as the image service says."""

    async def status(self, model: str, *, fresh: bool = False) -> ModelStatus:
        """Never raises for the service's failures: what nobody could say is Exists.UNKNOWN.
        `fresh`: ask again even when a recent answer is kept."""
        ...


# -- durable state ----------------------------------------------------------------------------


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


# -- whoever watches easel run ----------------------------------------------------------------


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
