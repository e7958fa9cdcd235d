"""In-process fakes of the core's ports: a chat platform and an image backend.

The core's behaviour (order per thread, admission, recovery, retry, delivery) is tested with
these, without sockets, against a real SQLite store; what a platform or OpenAI does at the
wire is tested against the fake servers in tests/fakes.
"""

from __future__ import annotations

import asyncio
import io
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from bot import errors
from bot.models import (
    Action,
    DrawRequest,
    FinalImage,
    ImageOptions,
    InputImage,
    Preview,
    StoredTurn,
    ThreadKey,
)
from bot.ports import Store
from bot.turns.presses import Press
from bot.turns.safety import SafetyIds
from bot.turns.service import DrawService
from bot.workspace.prices import PriceTable
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.workspaces import Workspaces
from tests.clock import ManualClock


def _png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


PREVIEW_PNG = _png((1536, 1024))


@dataclass
class Message:
    """One turn's message as the chat shows it: every line it showed, newest last."""

    id: str
    thread: str
    lines: list[str] = field(default_factory=list)
    file: str | None = None
    buttons: int | None = None  # the turn its buttons act on, once it shows the final

    @property
    def shows(self) -> str:
        return self.lines[-1] if self.lines else ""


class Chat:
    """A chat platform in memory. Knobs: `refuse_start`, `start_failures`, `place_failures`,
    `show_failures` and `interrupt_gate`."""

    def __init__(self, platform: str = "test") -> None:
        self.platform = platform
        self.messages: dict[str, Message] = {}
        self.files: dict[str, FinalImage] = {}
        self.fetched: list[str] = []
        self.notices: list[str] = []
        self.refuse_start: Exception | None = None
        self.start_failures: deque[Exception] = deque()
        # Each failure of placing the file comes after the file is in the thread (its answer
        # was lost), as a dropped connection after an upload does.
        self.place_failures: deque[Exception] = deque()
        self.place_attempts: list[bool] = []  # each attempt's `again`
        self.show_failures: deque[Exception] = deque()
        self.show_attempts = 0
        self.erase_failures: deque[Exception] = deque()
        self.interrupting = 0  # calls to interrupted() begun
        self.interrupt_gate: asyncio.Event | None = None  # when set: interrupted() waits for it

    def surface_for(self, request: DrawRequest, attached: Sequence[InputImage] = ()) -> ChatSurface:
        return ChatSurface(self, request, attached=attached)

    def reopen(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> ChatSurface:
        return ChatSurface(self, request or turn.retried_by(turn.user_id), message=turn.message)

    def in_thread(self, thread: str) -> list[Message]:
        return [m for m in self.messages.values() if m.thread == thread]


class ChatSurface:
    """Implements bot.ports.Surface on a Chat."""

    def __init__(
        self,
        chat: Chat,
        request: DrawRequest,
        *,
        message: Mapping[str, Any] | None = None,
        attached: Sequence[InputImage] = (),
    ) -> None:
        self._chat = chat
        self.request = request
        self._attached = tuple(attached)
        self.message: Message | None = chat.messages[message["id"]] if message else None

    @property
    def preview_interval(self) -> float:
        return 0.0

    @property
    def preview_format(self) -> str:
        return "jpeg"

    def claim_preview(self) -> bool:
        return True

    def _show(self, line: str) -> None:
        assert self.message is not None, "the message is posted first"
        self.message.lines.append(line)

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        if self._chat.refuse_start is not None:
            raise self._chat.refuse_start
        if self._chat.start_failures:
            raise self._chat.start_failures.popleft()
        if self.message is None:
            message_id = f"m{len(self._chat.messages) + 1}"
            self.message = Message(id=message_id, thread=self.request.thread or message_id)
            self._chat.messages[message_id] = self.message
        self._show("waiting" if waiting else "drawing")
        r = self.request
        return ThreadKey(r.platform, r.workspace, r.channel, self.message.thread)

    def message_ref(self) -> Mapping[str, Any]:
        assert self.message is not None
        return {"id": self.message.id}

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        return ()

    async def drawing(self) -> None:
        self._show("drawing")

    async def delivering(self) -> None:
        self._show("delivering")

    async def interrupted(self, turn_id: int) -> None:
        self._chat.interrupting += 1
        if self._chat.interrupt_gate is not None:
            await self._chat.interrupt_gate.wait()
        self._show(f"interrupted: retry {turn_id}")

    async def fail(self, error: errors.EaselError) -> None:
        if self.message is None:
            self._chat.notices.append(error.user_message)
            return
        self._show(f"failed: {error.user_message}")

    async def preview(self, preview: Preview) -> None:
        self._show(f"preview {preview.index + 1}")

    async def place_final(self, final: FinalImage, *, again: bool) -> str:
        chat = self._chat
        chat.place_attempts.append(again)
        if again:
            found = [ref for ref, f in chat.files.items() if f.filename == final.filename]
            if found:
                return found[0]
        refused = chat.place_failures and not isinstance(
            chat.place_failures[0], errors.DeliveryDelayed
        )
        if refused:  # refused for good: nothing reached the thread
            raise chat.place_failures.popleft()
        file_ref = f"F{len(chat.files) + 1}"
        chat.files[file_ref] = final  # in the thread, even when the answer is lost below
        if chat.place_failures:
            raise chat.place_failures.popleft()
        return file_ref

    async def show_final(self, final: FinalImage, file_ref: str, *, turn_id: int) -> None:
        self._chat.show_attempts += 1
        if self._chat.show_failures:
            raise self._chat.show_failures.popleft()
        assert self.message is not None
        self.message.file = file_ref
        self.message.buttons = turn_id
        self._show("done")

    async def erase(self, file_ref: str | None) -> None:
        if self._chat.erase_failures:
            raise self._chat.erase_failures.popleft()
        if self.message is not None:
            self._chat.messages.pop(self.message.id, None)
        if file_ref is not None:
            self._chat.files.pop(file_ref, None)

    async def attachments(self) -> tuple[InputImage, ...]:
        return self._attached

    async def fetch_image(self, file_ref: str) -> InputImage:
        self._chat.fetched.append(file_ref)
        final = self._chat.files[file_ref]
        return InputImage(data=final.data, mime_type=final.mime_type, name=final.filename)


@dataclass
class Call:
    prompt: str
    previous_response_id: str | None
    images: Sequence[InputImage]
    mask: InputImage | None = None
    options: ImageOptions | None = None


class Backend:
    """Implements bot.ports.ImageBackend. Each call draws one preview then a final; `hold()`
    makes the next call wait before its final until the returned event is set; `fail()`
    makes the next call raise; `expired` response ids raise ContextExpired."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.finals: list[bytes] = []  # each call's final image, a PNG of `size`
        self.size = (1024, 1024)
        self.expired: set[str] = set()
        self._holds: deque[asyncio.Event] = deque()
        self._failures: deque[Exception] = deque()
        self.started = asyncio.Event()

    def hold(self) -> asyncio.Event:
        gate = asyncio.Event()
        self._holds.append(gate)
        return gate

    def fail(self, error: Exception) -> None:
        self._failures.append(error)

    async def generate(
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
        self.calls.append(Call(prompt, previous_response_id, images, mask, options))
        n = len(self.calls)
        self.started.set()
        if previous_response_id in self.expired:
            raise errors.ContextExpired(detail=f"{previous_response_id} expired")
        gate = self._holds.popleft() if self._holds else None
        yield Preview(index=0, total=1, data=PREVIEW_PNG, output_format="png")
        if gate is not None:
            await gate.wait()
        if self._failures:
            raise self._failures.popleft()
        self.finals.append(_png(self.size, (n % 256, 0, 0)))
        yield FinalImage(
            data=self.finals[-1],
            output_format="png",
            response_id=f"resp_{n}",
            image_call_id=f"ig_{n}",
        )


@dataclass
class Core:
    """The service and its in-process platform and backend, on one store."""

    store: Store
    chat: Chat
    backend: Backend
    turns: DrawService
    workspaces: Workspaces
    pressed: int = 0

    async def draw(
        self, prompt: str = "a cat", *, attached: Sequence[InputImage] = (), **where: Any
    ) -> None:
        """One request through the service, as an adapter hands it over."""
        await self.turns.draw(
            request(prompt, **where), lambda r: self.chat.surface_for(r, attached)
        )

    async def press(
        self,
        action: Action,
        turn_id: int,
        *,
        user: str = "U1",
        interaction: str | None = None,
        admin: bool = False,
        text: str | None = None,
        workspace: str = "W1",
        attached: Sequence[InputImage] = (),
    ) -> None:
        """A button pressed on a finished drawing, as an adapter hands it over (`attached`:
        what the adapter fetches again of the drawing's attachments, for Redo)."""
        self.pressed += 1
        press = Press(
            action=action,
            turn_id=turn_id,
            platform=self.chat.platform,
            workspace=workspace,
            user_id=user,
            interaction=interaction or f"press-{self.pressed}",
            admin=admin,
            text=text,
        )
        await self.turns.press(press, lambda r, inputs: self.chat.surface_for(r, attached))

    async def drawn(self, prompt: str = "a cat") -> str:
        """A new drawing, finished; its thread."""
        before = set(self.chat.messages)
        await self.draw(prompt)
        await self.turns.join()
        [new] = set(self.chat.messages) - before
        return self.chat.messages[new].thread


def core(store: Store, **options: Any) -> Core:
    chat, backend = Chat(), Backend()
    turns, workspaces = build(store, backend, chat, **options)
    return Core(store, chat, backend, turns, workspaces)


def build(
    store: Store,
    backend: Backend,
    chat: Chat,
    *,
    defaults: ImageOptions | None = None,
    clock: ManualClock | None = None,
    max_pause: float = 0.01,
    start_pauses: tuple[float, ...] = (0.01,),
) -> tuple[DrawService, Workspaces]:
    """The service as the runtime builds it, on these parts."""
    prices = PriceTable.load()
    workspaces = Workspaces(
        settings=store.settings,
        usage=store.usage,
        defaults=WorkspaceSettings.from_defaults(defaults or ImageOptions()),
        prices=prices,
        clock=clock or ManualClock(),
    )
    turns = DrawService(
        store=store,
        backend=backend,
        workspaces=workspaces,
        prices=prices,
        safety=SafetyIds(b"test key"),
        delivery_max_pause=max_pause,
        start_pauses=start_pauses,
    )
    turns.reopen_with(chat.platform, chat.reopen)
    BUILT.append(turns)
    return turns, workspaces


BUILT: list[DrawService] = []  # closed after each test (tests/core/conftest.py)


def request(
    prompt: str = "a lighthouse",
    *,
    thread: str | None = None,
    user: str = "U1",
    channel: str = "C1",
    dedupe: str | None = None,
    platform: str = "test",
) -> DrawRequest:
    return DrawRequest(
        platform=platform,
        workspace="W1",
        channel=channel,
        user_id=user,
        prompt=prompt,
        thread=thread,
        dedupe_key=dedupe,
    )


def key(thread: str, *, platform: str = "test", channel: str = "C1") -> ThreadKey:
    return ThreadKey(platform, "W1", channel, thread)
