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
    ThreadKey,
    ThreadState,
)


class Surface(Protocol):
    """One turn's message on a chat platform: a placeholder that previews, finishes or fails."""

    @property
    def preview_interval(self) -> float:
        """The least number of seconds between two preview edits of the one message."""
        ...

    async def start(self) -> ThreadKey:
        """Post the ONE placeholder message of this turn; return the thread it belongs to.

        For a new drawing the placeholder starts the thread; for a reply it is posted in it.
        """
        ...

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
        self, request: DrawRequest, *, thread: ThreadKey, options: ImageOptions
    ) -> int: ...

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
