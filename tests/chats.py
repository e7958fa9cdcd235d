"""Two ways into easel behind one interface: send something through Slack or Discord, then read
back what easel said, posted, fetched and stored. The bad-input catalogue runs on these.

A route names the way in: slack-draw, slack-reply, slack-http (signed requests as such),
slack-settings, slack-press, discord-draw, discord-reply, discord-settings, discord-press.
`open()` first makes a delivered drawing to reply to or press the buttons of (on reply and
press routes), then marks the fakes' records: only what follows is read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from aiohttp import web

from adapters.runtime import Runtime
from bot.models import Action, ThreadKey
from bot.store.sqlite import SqliteStore
from tests.buttons import button_of, pressed_on
from tests.conftest import CHANNEL, SIGNING_SECRET, TEAM, USER, SlackSender, eventually, settle
from tests.conftest import draw as discord_draw
from tests.discord_buttons import answered, custom_id
from tests.fakes.discord_server import (
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_PERMISSIONS,
    USER_ID,
    FakeDiscord,
)
from tests.fakes.faults import status
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.server import LocalServer
from tests.fakes.slack_server import FakeSlack
from tests.slack import (
    ADMIN,
    OTHER,
    block_text,
    open_modal,
    press_edit,
    root_message,
    submit,
)
from tests.test_discord_settings import EPHEMERAL, set_setting

PLACEHOLDER = "drawing…"
OPENS = ("slack-reply", "slack-press", "discord-reply", "discord-press")  # on a drawing
OTHER_MEMBER, OTHER_GUILD = 1601, 1399


@dataclass(frozen=True)
class File:
    name: str
    content: bytes | Callable[[], bytes]  # a function for what is costly to make: made on use
    content_type: str | None = None  # the type the platform declares; None: as it would sniff
    outside: bool = False  # its URL points at a host that is not one of the platform's

    @property
    def data(self) -> bytes:
        return self.content() if callable(self.content) else self.content


class OutsideHost(LocalServer):
    """A file host on loopback that belongs to no platform; it records every request."""

    def __init__(self) -> None:
        app = web.Application()
        app.router.add_get("/{path:.*}", self._serve)
        super().__init__(app)
        self.requests: list[str] = []

    async def _serve(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(body=b"\x89PNG\r\n\x1a\n", content_type="image/png")

    def url(self, name: str) -> str:
        return f"{self.base_url}/files/{name}"


async def all_turns(store: SqliteStore) -> list[tuple[str, str | None]]:
    """Every turn in the store, in order, as (status, error code)."""
    rows = await store.db.all("SELECT status, error_code FROM turns ORDER BY id")
    return [(str(status), code) for status, code in rows]


class Chat:
    """What the catalogue needs from a platform; each method is one thing a person does."""

    platform = ""
    workspace = ""

    def __init__(
        self, *, route: str, runtime: Runtime, openai: FakeOpenAI, outside: OutsideHost
    ) -> None:
        self.route = route
        self.runtime = runtime
        self.openai = openai
        self.outside = outside
        self.thread: ThreadKey | None = None  # the delivered drawing replies go to
        self.status: int | None = None  # the HTTP status of a request sent as such
        self.said: list[str] = []  # answers given straight back: acks, callbacks, form errors
        self.by_other = False  # the last press was someone else's, not the asker's

    async def open(self) -> None:
        raise NotImplementedError

    async def press(self, action: Action, *, by_other: bool = False, forged: bool = False) -> None:
        """Press `action` under the thread's drawing: as its asker, as someone else, or
        `forged` as from another workspace."""
        raise NotImplementedError

    async def delete_drawing(self) -> None:
        """The asker deletes the thread's drawing (before the mark: the row starts there)."""
        raise NotImplementedError

    async def drawing_turn(self) -> int:
        assert self.thread is not None
        [turn, *_] = await self.runtime.store.ledger.turns(self.thread)
        return int(turn["id"])

    async def draw(self, text: str, files: Sequence[File] = ()) -> None:
        raise NotImplementedError

    async def reply(self, text: str, files: Sequence[File] = ()) -> None:
        raise NotImplementedError

    async def elsewhere(self, where: str) -> None:
        raise NotImplementedError

    async def member_changes_settings(self) -> None:
        raise NotImplementedError

    def told(self, *, outside_thread: bool = False) -> str:
        """Every word easel showed since the mark (only outside easel's thread, if asked)."""
        raise NotImplementedError

    def placeholders(self) -> int:
        """Messages easel posted (or deferrals it made) to start a turn, since the mark."""
        raise NotImplementedError

    def fetched(self) -> bool:
        """Whether any file sent since the mark was fetched from the platform's file host."""
        raise NotImplementedError

    def images_sent(self) -> int:
        """Files easel uploaded since the mark (previews and finals)."""
        raise NotImplementedError

    def threads_opened(self) -> int:
        """Threads easel opened since the mark (Slack's need no opening)."""
        return 0

    async def draw_again(self) -> None:
        """A good request after the bad one: a reply in the thread, or a new drawing."""
        if self.thread is not None:
            await self.reply("now at dusk")
        else:
            await self.draw("a quiet harbour")
        await settle(self.runtime)


class SlackChat(Chat):
    platform = "Slack"
    workspace = TEAM

    def __init__(self, *, sender: SlackSender, fake: FakeSlack, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sender = sender
        self.fake = fake
        self._shared: list[str] = []
        self._shown: dict[str, Any] | None = None

    async def open(self) -> None:
        if self.route in OPENS:
            await self.sender.command("a lighthouse")
            await settle(self.runtime)
            self.thread = ThreadKey("slack", TEAM, CHANNEL, str(root_message(self.fake)["ts"]))
        self.mark()

    def mark(self) -> None:
        self._posts = len(self.fake.calls_to("chat.postMessage"))
        self._uploads = len(self.fake.calls_to("files.completeUploadExternal"))
        self._ephemerals = len(self.fake.ephemerals)
        self._messages = set(self.fake.messages)

    def _answer(self, response: httpx2.Response) -> None:
        self.status = response.status_code
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            self.said.append(str(body.get("text") or ""))
            self.said.extend(str(v) for v in (body.get("errors") or {}).values())
        else:
            self.said.append(response.text)

    async def draw(self, text: str, files: Sequence[File] = ()) -> None:
        assert not files, "Slack's /draw takes no files"
        self._answer(await self.sender.command(text))

    async def draw_bytes(self, text: bytes, *, raw: bool) -> None:
        """/draw whose form body carries `text` as bytes (raw, or percent-encoded), signed
        over those exact bytes as Slack signs: v0:timestamp:body, HMAC-SHA256."""
        fields = {"team_id": TEAM, "channel_id": CHANNEL, "user_id": USER, "command": "/draw"}
        form = urllib.parse.urlencode({**fields, "response_url": "", "trigger_id": "t1"})
        value = text if raw else urllib.parse.quote_from_bytes(text).encode()
        body = form.encode() + b"&text=" + value
        stamp = str(int(time.time()))
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
        }
        async with httpx2.AsyncClient(timeout=10) as http:
            self._answer(await http.post(self.sender.url, content=body, headers=headers))

    async def forge(self, how: str) -> None:
        """A /draw that is not Slack's: a wrong signature, none, or a replayed old one."""
        body = "team_id=T1&channel_id=C1&user_id=U1&command=%2Fdraw&text=a+cat&response_url="
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if how == "bad-signature":
            headers |= self.sender.signed_headers(body) | {"X-Slack-Signature": "v0=" + "0" * 64}
        elif how == "stale-timestamp":
            headers |= self.sender.signed_headers(body, timestamp=int(time.time()) - 6 * 60)
        else:
            assert how == "no-signature", how
        async with httpx2.AsyncClient(timeout=10) as http:
            self._answer(await http.post(self.sender.url, content=body, headers=headers))

    async def press(self, action: Action, *, by_other: bool = False, forged: bool = False) -> None:
        # After a Delete, the message as a client that has not caught up still shows it.
        drawing = self._shown or root_message(self.fake)
        self.by_other = by_other
        payload = pressed_on(
            drawing,
            button_of(drawing, action),
            user=OTHER if by_other else USER,
            team="T2" if forged else TEAM,
        )
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        bad = {"X-Slack-Signature": "v0=" + "0" * 64} if forged else {}
        self._answer(await self.sender.post(body, "application/x-www-form-urlencoded", **bad))

    async def delete_drawing(self) -> None:
        self._shown = root_message(self.fake)
        await self.press(Action.DELETE)
        await eventually(lambda: self.fake.calls_to("chat.delete"))
        await settle(self.runtime)
        self.said.clear()
        self.mark()

    def _share(self, file: File) -> dict[str, Any]:
        shared = self.fake.add_file(file.data, file.name, CHANNEL)
        if file.content_type is not None:
            shared["mimetype"] = file.content_type
        if file.outside:
            shared["url_private"] = shared["url_private_download"] = self.outside.url(file.name)
        self._shared.append(shared["id"])
        return shared

    async def reply(self, text: str, files: Sequence[File] = ()) -> None:
        assert self.thread is not None
        shared = [self._share(f) for f in files]
        event = self.sender.reply_event(thread_ts=self.thread.thread, text=text, files=shared)
        await self.sender.event(event)

    async def elsewhere(self, where: str) -> None:
        if where == "thread":
            event = self.sender.reply_event(thread_ts="1699999999.000001", text="draw me a cat")
        else:
            assert where == "top-level", where
            event = self.sender.reply_event(thread_ts="x", text="draw me a dog")
            del event["thread_ts"]
        await self.sender.event(event)

    async def member_changes_settings(self) -> None:
        self.fake.users[ADMIN] = {"is_admin": True}
        modal = await open_modal(self.sender, self.runtime, self.fake)
        opened = len(self.fake.modals)
        await press_edit(self.sender, USER)  # the button is not shown to them; pressing it anyway
        await settle(self.runtime)
        assert len(self.fake.modals) == opened
        response = await submit(self.sender, USER, modal, size="1536x1024", enabled="off")
        assert response.json()["response_action"] == "errors"
        self._answer(response)

    def told(self, *, outside_thread: bool = False) -> str:
        said = [*self.said]
        thread = self.thread.thread if self.thread else None
        for hint in self.fake.ephemerals[self._ephemerals :]:
            presser = OTHER if self.by_other else USER
            # A press on a thread's first message is answered beside it, in the channel.
            where = (thread, None) if self.route == "slack-press" else (thread,)
            private = hint["user"] == presser and hint["thread_ts"] in where
            said.append(hint["text"] if private else f"(not shown to {USER} here)")
        for key, message in self.fake.messages.items():
            if key in self._messages or message["user"] != "UBOT":
                continue
            if outside_thread and thread and message["thread_ts"] == thread:
                continue
            said.append(message["text"])  # the fallback text: notifications, screen readers
            said.append(block_text(message["blocks"] or []))
        return "\n".join(said)

    def placeholders(self) -> int:
        return len(self.fake.calls_to("chat.postMessage")) - self._posts

    def images_sent(self) -> int:
        return len(self.fake.calls_to("files.completeUploadExternal")) - self._uploads

    def fetched(self) -> bool:
        return any(file_id in self.fake.downloads for file_id in self._shared)


class DiscordChat(Chat):
    platform = "Discord"
    workspace = str(GUILD_ID)

    def __init__(self, *, fake: FakeDiscord, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fake = fake
        self._uploaded: list[int] = []
        self._tokens: list[str] = []
        self._foreign = 0  # threads people opened, not easel

    async def open(self) -> None:
        if self.route in OPENS:
            mid = await discord_draw(self.fake, self.runtime, "a lighthouse")
            self.thread = ThreadKey("discord", str(GUILD_ID), str(mid), str(mid))
        self.mark()

    def mark(self) -> None:
        self._calls = len(self.fake.calls)
        self._messages = set(self.fake.messages)
        self._threads = len(self.fake.threads)

    def _upload(self, file: File) -> dict[str, Any]:
        url = self.outside.url(file.name) if file.outside else None
        content_type = file.content_type or "image/" + file.name.rpartition(".")[2]
        attachment = self.fake.upload(file.data, file.name, content_type, url=url)
        self._uploaded.append(int(attachment["id"]))
        return attachment

    async def _interact(self, payload: dict[str, Any]) -> None:
        self._tokens.append(payload["token"])
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        await eventually(lambda: any(c["token"] == payload["token"] for c in self.fake.callbacks))

    async def press(self, action: Action, *, by_other: bool = False, forged: bool = False) -> None:
        assert self.thread is not None
        self.by_other = by_other
        payload = self.fake.press(
            int(self.thread.thread),  # the drawing's message, which its thread starts from
            custom_id(action, await self.drawing_turn()),
            member=OTHER_MEMBER if by_other else USER_ID,
            guild=OTHER_GUILD if forged else None,
        )
        self._tokens.append(payload["token"])
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        await answered(self.fake, payload)

    async def delete_drawing(self) -> None:
        # Discord does not take the delete yet: the drawing is deleted, its message still shown.
        self.fake.faults.set("message_delete", status(503), times=None)
        await self.press(Action.DELETE)
        turn = await self.drawing_turn()
        await eventually(lambda: any(f["token"] == self._tokens[-1] for f in self.fake.followups))
        stored = await self.runtime.store.ledger.get(turn)
        assert stored is not None and stored.deleted
        self.fake.faults.clear()
        self._tokens.clear()
        self.mark()

    async def draw(self, text: str, files: Sequence[File] = ()) -> None:
        assert len(files) <= 1, "/draw has one `image` option"
        attachment = self._upload(files[0]) if files else None
        await self._interact(self.fake.interaction(text, attachment=attachment))

    async def reply(self, text: str, files: Sequence[File] = ()) -> None:
        assert self.thread is not None
        attachments = [self._upload(f) for f in files]
        message = self.fake.person_message(int(self.thread.thread), text, attachments=attachments)
        await self.fake.dispatch("MESSAGE_CREATE", message)

    async def elsewhere(self, where: str) -> None:
        if where == "thread":
            thread = self.fake.person_thread("my own thread")
            self._foreign += 1
            await self.fake.dispatch("THREAD_CREATE", thread)
            channel = int(thread["id"])
        else:
            assert where == "top-level", where
            channel = CHANNEL_ID
        await self.fake.dispatch(
            "MESSAGE_CREATE", self.fake.person_message(channel, "draw me a cat")
        )

    async def member_changes_settings(self) -> None:
        self.said.append(
            await set_setting(
                self.fake, "size", "landscape", permissions=MEMBER_PERMISSIONS, member=USER_ID
            )
        )

    def told(self, *, outside_thread: bool = False) -> str:
        said = [*self.said]
        for callback in self.fake.callbacks:
            if callback["token"] in self._tokens and callback["type"] == 4:  # a message
                data = callback["data"]
                private = data.get("flags", 0) & EPHEMERAL
                said.append(data["content"] if private else "(shown to everyone)")
        for followup in self.fake.followups:
            if followup["token"] in self._tokens:  # an answer after a deferral
                private = followup["flags"] & EPHEMERAL
                said.append(followup["content"] if private else "(shown to everyone)")
        answered = {self.fake.originals[c["token"]] for c in self.fake.callbacks if c["type"] == 4}
        answered |= {int(f["id"]) for f in self.fake.followups}
        for mid, message in self.fake.messages.items():
            if mid in self._messages or mid in answered or message["author"]["id"] != str(BOT_ID):
                continue  # (a message callback is read from the callback itself, above)
            if outside_thread and self.thread and message["channel_id"] == self.thread.thread:
                continue
            said.append(str(message["content"]))
        return "\n".join(said)

    def placeholders(self) -> int:
        calls = self.fake.calls[self._calls :]
        deferred = [c for c in calls if c.path.endswith("/callback") and c.payload["type"] == 5]
        posted = [
            c
            for c in calls
            if c.method == "POST"
            and c.path.startswith("/channels/")
            and c.path.endswith("/messages")
            and PLACEHOLDER in str(c.payload.get("content"))
        ]
        return len(deferred) + len(posted)

    def fetched(self) -> bool:
        return any(aid in self.fake.downloads for aid in self._uploaded)

    def images_sent(self) -> int:
        return sum(len(c.files) for c in self.fake.calls[self._calls :])

    def threads_opened(self) -> int:
        return len(self.fake.threads) - self._threads - self._foreign
