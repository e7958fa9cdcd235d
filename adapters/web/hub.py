"""The playground's state: threads of messages, images by URL, and live subscribers."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MAX_IMAGES = 400  # kept in memory; the oldest final images are forgotten first
QUEUE_SIZE = 256  # per browser tab; a tab that falls this far behind is dropped


@dataclass(slots=True)
class Message:
    id: str
    thread: str
    author: str  # "you" or "easel"
    text: str  # what the person typed; for easel's message, the prompt it draws
    line: str = ""
    image: str | None = None  # URL of the image this message shows
    download: str | None = None  # URL of the final file
    note: str | None = None  # revised prompt, or the error in plain words
    state: str = "drawing"  # drawing | preview | done | failed | deleted; "sent" for yours
    turn: int | None = None  # the turn a finished drawing's buttons act on
    # Part of the thread's opening post (the /draw and its drawing), shown in the channel;
    # the other messages are replies, shown in the thread.
    opening: bool = False


@dataclass(slots=True)
class Thread:
    id: str
    messages: list[Message] = field(default_factory=list)


class Hub:
    """Holds every thread and image of this process, and fans updates out to browsers."""

    def __init__(self) -> None:
        self.threads: dict[str, Thread] = {}
        self._images: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._subscribers: set[asyncio.Queue[str]] = set()

    # -- messages ----------------------------------------------------------------------------

    def new_id(self) -> str:
        # Random, not counted: thread ids outlive the process in the store.
        return f"m{secrets.token_hex(8)}"

    def add(self, message: Message) -> None:
        thread = self.threads.setdefault(message.thread, Thread(id=message.thread))
        thread.messages.append(message)
        self.publish(message)

    def find(self, message_id: object) -> Message | None:
        """The message with this id, if it is still on the page."""
        for message in self._messages():
            if message.id == message_id:
                return message
        return None

    def drawing(self, turn_id: int) -> Message | None:
        """The finished drawing of turn `turn_id` on this page, if it is here."""
        for message in self._messages():
            if message.turn == turn_id and message.state == "done":
                return message
        return None

    def _messages(self) -> Iterator[Message]:
        for thread in self.threads.values():
            yield from thread.messages

    def publish(self, message: Message) -> None:
        payload = json.dumps({"type": "message", "message": asdict(message)})
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(payload)
            except asyncio.QueueFull:
                log.warning("a playground tab fell behind; dropping it")
                self._subscribers.discard(queue)

    def remove(self, message: Message) -> None:
        """The message is deleted: gone from its thread, and from every open tab."""
        thread = self.threads.get(message.thread)
        if thread is not None and message in thread.messages:
            thread.messages.remove(message)
        message.state, message.image, message.download = "deleted", None, None
        self.publish(message)

    def snapshot(self) -> list[dict[str, Any]]:
        return [asdict(m) for m in self._messages()]

    # -- subscribers -------------------------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        """How many browser tabs follow the playground now."""
        return len(self._subscribers)

    # -- images ------------------------------------------------------------------------------

    def put_image(self, data: bytes, mime_type: str) -> str:
        token = secrets.token_urlsafe(16)
        self._images[token] = (mime_type, data)
        while len(self._images) > MAX_IMAGES:
            self._images.popitem(last=False)
        return token

    def image(self, token: str) -> tuple[str, bytes] | None:
        return self._images.get(token)

    def drop_image(self, token: str) -> None:
        self._images.pop(token, None)
