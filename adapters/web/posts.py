"""What the playground's page posts: a /draw or a reply (with its images), and button presses.

The person's own words join the thread as their message once easel has taken the request:
a /draw opens a thread in the channel, a reply or a press continues one.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import BodyPartReader, web

from adapters.web.hub import Hub, Message
from adapters.web.surface import WebSurface
from bot import errors
from bot.images import MAX_INPUT_BYTES
from bot.models import Action, DrawRequest
from bot.turns.inputs import GONE
from bot.turns.presses import Press, PressSurfaceFor
from bot.turns.service import DrawService

WORKSPACE = "local"  # the playground is one workspace, one channel and one person
CHANNEL = "playground"
PERSON = "you"
# A press's id, made by the page for each click: claimed once, so a repeated post draws once.
INTERACTION = re.compile(r"[A-Za-z0-9_-]{8,64}")
MENTION = re.compile(r"<@([^>]+)>")  # how the core's words name a person
PRESSED = {Action.REDO: "Redo", Action.VARY: "Vary", Action.BIGGER: "Bigger"}


class Posts:
    """Turns the page's posts into DrawRequests and Presses for the drawing service."""

    def __init__(self, *, hub: Hub, turns: DrawService, preview_interval: float) -> None:
        self._hub = hub
        self._turns = turns
        self._interval = preview_interval

    async def draw(self, request: web.Request) -> web.StreamResponse:
        fields, files = await _read_form(request)
        prompt = fields.get("prompt", "").strip()
        if prompt.startswith("/draw"):
            prompt = prompt.removeprefix("/draw").strip()
        thread = fields.get("thread") or None
        if thread is not None and thread not in self._hub.threads:
            return web.json_response({"error": "That thread is not easel's."}, status=404)
        request_id = fields.get("id") or uuid.uuid4().hex
        draw = DrawRequest(
            platform="web",
            workspace=WORKSPACE,
            channel=CHANNEL,
            user_id=PERSON,
            prompt=prompt,
            thread=thread,
            dedupe_key=f"web:{request_id}",
            attachment_count=len(files),
        )
        opened = None if thread is not None else self._hub.new_id()
        said = prompt if thread is not None else f"/draw {prompt}"
        attached = ", ".join(name for name, _ in files)

        def surface_for(admitted: DrawRequest) -> WebSurface:
            self._say(opened or thread or "", said, attached=attached, opening=opened is not None)
            return WebSurface(
                hub=self._hub,
                request=admitted,
                attached=files,
                preview_interval=self._interval,
                thread=opened,
            )

        try:
            await self._turns.draw(draw, surface_for)
        except errors.EaselError as exc:
            return refused(exc)
        return web.json_response({"ok": True}, status=202)

    async def press(self, request: web.Request) -> web.StreamResponse:
        """A button under a finished drawing: {action, turn, interaction, text (Edit's)}."""
        try:
            press = read_press(await _json(request))
            drawing = self._hub.drawing(press.turn_id)
            if drawing is None:
                return web.json_response({"error": GONE}, status=404)
            said = press.text if press.action is Action.EDIT else PRESSED.get(press.action)
            await self._turns.press(press, self._reply(drawing.thread, said or ""))
        except errors.EaselError as exc:
            return refused(exc)
        return web.json_response({"ok": True}, status=202)

    def _reply(self, thread: str, said: str) -> PressSurfaceFor:
        """The surface of a press's new turn, in the drawing's thread, once easel takes it."""

        def surface_for(admitted: DrawRequest, inputs: Sequence[Mapping[str, Any]]) -> WebSurface:
            # The playground keeps no uploads (inputs_ref is empty): nothing to fetch again.
            self._say(thread, said)
            return WebSurface(hub=self._hub, request=admitted, preview_interval=self._interval)

        return surface_for

    def _say(self, thread: str, text: str, *, attached: str = "", opening: bool = False) -> None:
        """The person's own message in the thread; a new thread's takes the thread's id."""
        self._hub.add(
            Message(
                id=thread if opening else self._hub.new_id(),
                thread=thread,
                author=PERSON,
                text=text,
                line=f"attached: {attached}" if attached else "",
                state="sent",
                opening=opening,
            )
        )


def refused(exc: errors.EaselError) -> web.StreamResponse:
    """The words of a refusal, as the page shows them."""
    if isinstance(exc, errors.NotAllowed):
        status = 403
    elif isinstance(exc, errors.BadInput):
        status = 400
    else:  # easel's own trouble (its database away): the request was fine
        status = 503
    words = MENTION.sub(r"\1", exc.user_message)  # the page shows a person by name
    return web.json_response({"error": words}, status=status)


def read_press(body: object) -> Press:
    """The press the page describes; BadInput, in words, for anything else."""
    if not isinstance(body, dict):
        raise errors.BadInput("easel did not understand that button.")
    try:
        action = Action(str(body.get("action")))
    except ValueError:
        raise errors.BadInput("easel has no such button.") from None
    turn = body.get("turn")
    if not isinstance(turn, int) or isinstance(turn, bool) or turn < 1:
        raise errors.BadInput(GONE)
    interaction = body.get("interaction")
    if not isinstance(interaction, str) or not INTERACTION.fullmatch(interaction):
        raise errors.BadInput("That click carried no id of its own: reload the page.")
    text = body.get("text")
    if text is not None and not isinstance(text, str):
        raise errors.BadInput("Type what to change in the drawing.")
    return Press(
        action=action,
        turn_id=turn,
        platform="web",
        workspace=WORKSPACE,
        user_id=PERSON,
        interaction=interaction,
        text=text,
    )


async def _json(request: web.Request) -> object:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.BadInput("easel did not understand that button.") from None


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Text fields and image files of a multipart form, reading at most MAX_INPUT_BYTES."""
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    if not request.content_type.startswith("multipart/"):
        form = await request.post()
        return {k: str(v) for k, v in form.items()}, files
    reader = await request.multipart()
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename:
            chunks = []
            while chunk := await part.read_chunk():
                total += len(chunk)
                if total > MAX_INPUT_BYTES:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=MAX_INPUT_BYTES,
                        actual_size=total,
                        text="easel takes up to 20 MB of images per message.",
                    )
                chunks.append(chunk)
            files.append((part.filename, b"".join(chunks)))
        elif part.name:
            fields[part.name] = await part.text()
    return fields, files
