"""WebSurface: a drawing turn's message in the playground, updated live over SSE."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.downloads import check_count
from adapters.web.hub import Hub, Message
from bot.errors import AttachmentRejected, EaselError, Interrupted
from bot.images import verify_image
from bot.models import MIME_TYPES, DrawRequest, FinalImage, InputImage, Preview, ThreadKey


def image_url(token: str) -> str:
    return f"/images/{token}"


class WebSurface:
    """Implements bot.ports.Surface on the playground's Hub."""

    def __init__(
        self,
        *,
        hub: Hub,
        request: DrawRequest,
        attached: Sequence[tuple[str, bytes]] = (),
        preview_interval: float = 0.2,
        thread: str | None = None,
        message: Message | None = None,
    ) -> None:
        """`thread`: the id a new drawing's thread takes (its /draw is already in it);
        `message`: a stored turn's message, still on the page."""
        self._hub = hub
        self._request = request
        self._attached = list(attached)
        self._interval = preview_interval
        self._thread = thread
        self._message = message
        self._preview: str | None = None

    @property
    def preview_interval(self) -> float:
        return self._interval

    @property
    def preview_format(self) -> str:
        return "webp"

    def claim_preview(self) -> bool:
        return True  # each message's edits are paced by preview_interval alone

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        line = "waiting for the drawing above to finish…" if waiting else "drawing…"
        r = self._request
        if self._message is not None:  # a retry draws again in the turn's own message
            self._update(line=line, state="drawing", image=None, download=None, note=None)
            return ThreadKey(r.platform, r.workspace, r.channel, self._message.thread)
        message_id = self._hub.new_id()
        thread = r.thread or self._thread or message_id
        self._message = Message(
            id=message_id,
            thread=thread,
            author="easel",
            text=r.shown,
            line=line,
            opening=r.thread is None,
        )
        self._hub.add(self._message)
        return ThreadKey(r.platform, r.workspace, r.channel, thread)

    def message_ref(self) -> Mapping[str, Any]:
        return {"id": self._message.id if self._message else None}

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        return ()  # the playground keeps no uploads: a retry there draws from the words

    async def drawing(self) -> None:
        self._update(line="drawing…")

    async def delivering(self) -> None:
        self._update(line="finished, delivering…")

    async def interrupted(self, turn_id: int) -> None:
        await self.fail(Interrupted("easel was restarted while drawing this. Please ask again."))

    async def attachments(self) -> tuple[InputImage, ...]:
        check_count(len(self._attached))
        return tuple([await verify_image(data, name=name) for name, data in self._attached])

    async def preview(self, preview: Preview) -> None:
        mime_type = MIME_TYPES.get(preview.output_format, "image/png")
        token = self._hub.put_image(preview.data, mime_type)
        self._drop_preview()
        self._preview = token
        self._update(
            image=image_url(token),
            line=f"preview {preview.index + 1} of {preview.total}…",
            state="preview",
        )

    async def place_final(self, final: FinalImage, *, again: bool) -> str:
        return self._hub.put_image(final.data, final.mime_type)

    async def show_final(self, final: FinalImage, file_ref: str, *, turn_id: int) -> None:
        token = file_ref
        self._drop_preview()
        self._update(
            turn=turn_id,
            image=image_url(token),
            download=f"{image_url(token)}?download={final.filename}",
            line="",
            note=final.revised_prompt,
            state="done",
        )

    async def fail(self, error: EaselError) -> None:
        self._drop_preview()
        self._update(image=None, line="", note=error.user_message, state="failed")

    async def erase(self, file_ref: str | None) -> None:
        if file_ref is not None:
            self._hub.drop_image(file_ref)
        if self._message is not None:
            self._hub.remove(self._message)

    async def fetch_image(self, file_ref: str) -> InputImage:
        found = self._hub.image(file_ref)
        if found is None:
            raise AttachmentRejected("The thread's last image is no longer in the playground.")
        mime_type, data = found
        return InputImage(data=data, mime_type=mime_type, name=f"{file_ref}.img")

    def _drop_preview(self) -> None:
        if self._preview is not None:
            self._hub.drop_image(self._preview)
            self._preview = None

    def _update(self, **changes: str | int | None) -> None:
        if self._message is None:  # a failure before start(), or a turn from before a restart
            self._message = Message(
                id=self._hub.new_id(),
                thread=self._request.thread or "",
                author="easel",
                text=self._request.shown,
            )
            self._hub.add(self._message)
        for name, value in changes.items():
            setattr(self._message, name, value)
        self._hub.publish(self._message)
