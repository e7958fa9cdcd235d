"""A chat platform's side of one turn: its message, previews, final file and inputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from bot.errors import EaselError
from bot.models import (
    DrawRequest,
    FinalImage,
    InputImage,
    Preview,
    StoredTurn,
    ThreadKey,
)


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
