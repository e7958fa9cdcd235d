"""Plain values the core passes around. Frozen, so a turn cannot change what it was given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any

from bot.turns.status import TurnStatus


@dataclass(frozen=True, slots=True)
class ThreadKey:
    """Where a drawing lives. Always carries the workspace, so two workspaces never collide."""

    platform: str
    workspace: str
    channel: str
    thread: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.channel}:{self.thread}"


@dataclass(frozen=True, slots=True)
class ImageOptions:
    """How to draw: the image_generation tool's settings plus the mainline model."""

    # Both active and recommended by OpenAI as read on 2026-12-01 (README: "Which models, and
    # why"); easel checks them with OpenAI at start and every day after.
    model: str = "gpt-6.1-terra"
    image_model: str = "gpt-image-2"
    size: str = "auto"
    quality: str = "auto"
    output_format: str = "png"
    compression: int | None = None
    background: str = "auto"
    moderation: str = "auto"
    partial_images: int = 2
    input_fidelity: str | None = None


class Exists(StrEnum):
    YES = "yes"
    NO = "no"  # OpenAI says there is no such model (never was, or retired)
    UNKNOWN = "unknown"  # nobody could say: a gateway without /models, a 5xx, no network


@dataclass(frozen=True, slots=True)
class ModelStatus:
    """What the image service says of one model name."""

    model: str
    exists: Exists
    shutdown_date: date | None = None  # announced, or None
    retired: bool = False  # it did exist: OpenAI's 404 says it "has been deprecated"
    # Why it is unknown, or what OpenAI said; None when there was no one to ask (offline).
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class InputImage:
    """An image a person attached, already verified to decode as one of the allowed formats.

    `mask`: a PNG whose transparent pixels mark the region of the image to change."""

    data: bytes
    mime_type: str
    name: str
    mask: bool = False


class Action(StrEnum):
    """The buttons under every finished drawing, in the order they are shown."""

    REDO = "redo"  # the same prompt and options, from the same point in the conversation
    VARY = "vary"  # a variation: the image goes in with the thread's context
    BIGGER = "bigger"  # redrawn at the largest size allowed, from itself
    EDIT = "edit"  # a form whose text becomes the thread's next turn
    DELETE = "delete"  # easel's message and file removed; the turn marked deleted

    @property
    def label(self) -> str:
        return self.value.capitalize()


@dataclass(frozen=True, slots=True)
class DrawRequest:
    """One person asking for one drawing turn, translated from a platform payload.

    `thread` is None for a new drawing (its message will start the thread) and names the
    thread for a reply that continues one.
    """

    platform: str
    workspace: str
    channel: str
    user_id: str
    prompt: str
    thread: str | None = None
    # Platform-specific identity of the delivery (event id, channel+ts): seen once, drawn once.
    dedupe_key: str | None = None
    # What the person chose for this drawing (within what is allowed), e.g. "landscape".
    size: str | None = None
    quality: str | None = None
    # The largest file the platform takes here; the output format is chosen to fit it.
    max_upload_bytes: int | None = None
    # How many files the person attached (a reply of only "retry" with none retries).
    attachment_count: int = 0
    # A button pressed on a finished drawing, and that drawing's turn.
    action: Action | None = None
    origin: int | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread is not None

    @property
    def shown(self) -> str:
        """The words people see for this turn: its prompt, or for Vary and Bigger what the
        button does (their prompts are easel's own words to the image model)."""
        if self.action is Action.VARY:
            return "Vary: a variation of this drawing"
        if self.action is Action.BIGGER:
            return f"Bigger: this drawing redrawn at {self.size}"
        return self.prompt

    @property
    def thread_key(self) -> ThreadKey | None:
        if self.thread is None:
            return None
        return ThreadKey(self.platform, self.workspace, self.channel, self.thread)


@dataclass(frozen=True, slots=True)
class Preview:
    """A partial render. `index` is 0-based; `total` is how many the tool was asked for."""

    index: int
    total: int
    data: bytes
    output_format: str


@dataclass(frozen=True, slots=True)
class FinalImage:
    """The finished image, taken from the image_generation_call output item."""

    data: bytes
    output_format: str
    response_id: str
    image_call_id: str
    revised_prompt: str | None = None
    usage: Mapping[str, Any] | None = field(default=None, compare=False)
    # What the image service says it made, when it says (it resolves "auto"): for pricing.
    size: str | None = None
    quality: str | None = None
    input_images: int = 0  # the images the call read (an edit's input tokens)

    @property
    def mime_type(self) -> str:
        return MIME_TYPES.get(self.output_format, "application/octet-stream")

    @property
    def filename(self) -> str:
        return f"easel-{self.image_call_id}.{self.output_format}"

    def without_data(self) -> FinalImage:
        """The image's details with its bytes let go: all that is needed once the file is in
        the thread (the outbox keeps the bytes until the turn is delivered)."""
        return replace(self, data=b"")


@dataclass(frozen=True, slots=True)
class Held:
    """A finished image a turn still owes, and where delivering it had got to."""

    final: FinalImage
    file_ref: str | None = None  # set once the file is in the thread


@dataclass(frozen=True, slots=True)
class ThreadState:
    """What the next turn in a thread continues from."""

    last_response_id: str
    last_image_call_id: str
    last_file_ref: str | None


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """A turn as the ledger keeps it: enough to explain, deliver or retry it after a restart.

    `message` and `inputs` are the adapter's own JSON: where the turn's one message is, and
    which files the person attached.
    """

    id: int
    status: TurnStatus
    key: ThreadKey
    user_id: str
    prompt: str
    message: Mapping[str, Any]
    inputs: tuple[Mapping[str, Any], ...] = ()
    size: str | None = None
    quality: str | None = None
    max_upload_bytes: int | None = None
    options: ImageOptions = field(default_factory=ImageOptions)  # what it was drawn with
    action: Action | None = None  # the button that drew it, pressed on turn `origin`
    origin: int | None = None
    drawn_from: str | None = None  # the previous_response_id it was drawn with
    response_id: str | None = None
    image_call_id: str | None = None
    file_ref: str | None = None  # its final file in the thread
    image_size: str | None = None  # WIDTHxHEIGHT of its final image
    deleted_by: str | None = None  # who deleted it (it stays delivered: it was paid for)

    @property
    def deleted(self) -> bool:
        return self.deleted_by is not None

    def retried_by(self, user_id: str) -> DrawRequest:
        """The same drawing asked again, by `user_id`, in the thread it belongs to."""
        k = self.key
        return DrawRequest(
            platform=k.platform,
            workspace=k.workspace,
            channel=k.channel,
            user_id=user_id,
            prompt=self.prompt,
            thread=k.thread,
            dedupe_key=f"retry:{k.platform}:{self.id}",
            size=self.size,
            quality=self.quality,
            max_upload_bytes=self.max_upload_bytes,
            action=self.action,
            origin=self.origin,
        )


MIME_TYPES: Mapping[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}
