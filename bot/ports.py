"""The narrow interfaces the core talks to. Adapters and the backend implement them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from bot.errors import EaselError
from bot.models import (
    DrawRequest,
    FinalImage,
    ImageOptions,
    InputImage,
    Preview,
    StoredTurn,
    ThreadKey,
    ThreadState,
)


class Surface(Protocol):
    """One turn's message on a chat platform: a placeholder that previews, finishes or fails."""

    @property
    def preview_interval(self) -> float:
        """The least number of seconds between two preview edits of the one message."""
        ...

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        """Post the ONE placeholder message of this turn; return the thread it belongs to.

        For a new drawing the placeholder starts the thread; for a reply it is posted in it;
        for a retry the interrupted turn's message is reused. `waiting`: an earlier turn in
        the thread is still drawing, and this one waits for it.
        """
        ...

    def message_ref(self) -> Mapping[str, Any]:
        """Where the placeholder is, as JSON the platform's adapter can reopen after a
        restart (see `Reopen`). Valid after `start`."""
        ...

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        """The attached files, as JSON the adapter can fetch again for a retry."""
        ...

    async def drawing(self) -> None:
        """The turn that waited now draws."""

    async def delivering(self) -> None:
        """The image is finished but the platform did not take it yet: say so."""

    async def interrupted(self, turn_id: int) -> None:
        """Say the turn was interrupted, with a way to retry it (Retry button or reply)."""

    async def preview(self, preview: Preview) -> None:
        """Show a newer partial render in the placeholder message."""

    async def finish(self, final: FinalImage) -> str:
        """Upload the final image as a file and edit the message; return the file's reference."""
        ...

    async def fail(self, error: EaselError) -> None:
        """Replace the placeholder's progress with the error's user message."""

    async def attachments(self) -> tuple[InputImage, ...]:
        """The verified images the person attached to this turn's message (may be none).

        Raises AttachmentRejected naming the file that cannot be used.
        """
        ...

    async def fetch_image(self, file_ref: str) -> InputImage:
        """Fetch an earlier final image back from the platform by the reference `finish` gave."""
        ...


class Reopen(Protocol):
    """An adapter's way back to a stored turn's message (after a restart, or for a retry).

    With `request` the surface draws that request in the message; without, it only delivers
    or explains the stored turn."""

    def __call__(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> Surface: ...


class ImageBackend(Protocol):
    """Streams one drawing: zero or more previews, then exactly one final image."""

    def generate(
        self,
        *,
        prompt: str,
        options: ImageOptions,
        previous_response_id: str | None,
        images: Sequence[InputImage],
    ) -> AsyncIterator[Preview | FinalImage]: ...


class Store(Protocol):
    """Durable state: threads, turns, deliveries already seen, settings and their audit."""

    async def claim_delivery(self, key: str) -> bool:
        """Record a platform delivery; False when it was seen before (a retry)."""
        ...

    async def get_thread(self, key: ThreadKey) -> ThreadState | None: ...

    async def is_thread(self, key: ThreadKey) -> bool:
        """True when easel started this thread (a reply there is a turn)."""
        ...

    async def open_thread(self, key: ThreadKey, *, started_by: str | None = None) -> None:
        """Mark a thread as easel's before its first image exists."""

    async def thread_starter(self, key: ThreadKey) -> str | None:
        """Who started the thread's drawing (None for threads from before this was kept)."""

    async def advance_thread(
        self, key: ThreadKey, *, response_id: str, image_call_id: str, file_ref: str
    ) -> None: ...

    async def begin_turn(
        self,
        request: DrawRequest,
        *,
        thread: ThreadKey,
        options: ImageOptions,
        status: str = "drawing",
        message: Mapping[str, Any] | None = None,
        inputs: Sequence[Mapping[str, Any]] = (),
    ) -> int: ...

    async def set_status(self, turn_id: int, status: str) -> None: ...

    async def hold(self, turn_id: int, final: FinalImage) -> None:
        """Persist the final image (outbox) and mark the turn delivering, in one step."""

    async def held(self, turn_id: int) -> FinalImage | None: ...

    async def complete_turn(
        self,
        turn_id: int,
        *,
        key: ThreadKey,
        final: FinalImage,
        file_ref: str,
        cost_usd: float | None,
    ) -> None:
        """Advance the thread, mark the turn delivered and empty its outbox, in one step."""

    async def stored_turn(self, turn_id: int) -> StoredTurn | None: ...

    async def unfinished_turns(self) -> list[StoredTurn]: ...

    async def last_interrupted(self, key: ThreadKey) -> StoredTurn | None: ...

    async def end_turn(
        self,
        turn_id: int,
        *,
        status: str,
        response_id: str | None = None,
        error_code: str | None = None,
        usage: Mapping[str, Any] | None = None,
        cost_usd: float | None = None,
    ) -> None: ...

    async def settings_overrides(self, platform: str, workspace: str) -> dict[str, Any]:
        """The settings a workspace's admins changed: field name -> stored (JSON) value."""
        ...

    async def save_settings(
        self,
        platform: str,
        workspace: str,
        *,
        user_id: str,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> None:
        """Store new values and audit each change (field -> (old, new)) in one transaction."""

    async def settings_audit(self, platform: str, workspace: str) -> list[dict[str, Any]]: ...

    async def delivered_count(
        self, platform: str, workspace: str, user_id: str, *, since: float
    ) -> int: ...

    async def spend(
        self, platform: str, workspace: str, *, since: float, by: str | None = None
    ) -> dict[str, tuple[int, float]]: ...
