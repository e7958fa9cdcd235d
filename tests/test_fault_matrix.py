"""Every outbound call against every fault shape, at the wire.

For each call easel makes (Slack's Web API methods and the upload URL, Discord's routes and
CDN, OpenAI's create call and its stream) and each way a real service fails (5xx with a JSON,
HTML, text or empty body; 429 with and without Retry-After; a reset; no answer; a truncated
body), the fault plays on that call, then ends, and:
- nothing crashes (no ERROR record),
- the person reads words that say what happened, or the drawing arrives,
- every finished image is delivered exactly once, and none is drawn twice,
- easel is healthy after: /healthz says 200 and the next drawing arrives.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from tests.conftest import SlackSender, eventually, settle
from tests.fakes.discord_server import FakeDiscord, wait_ready
from tests.fakes.faults import HANG, RESET, TRUNCATE, Fault, rate_limited, status
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.fakes.slack_server import FakeSlack
from tests.slack import ADMIN, block_text, press_edit, root_message

SHAPES: dict[str, Fault] = {
    "503-json": status(503),
    "503-html": status(503, body="html"),
    "503-text": status(503, body="text"),
    "503-empty": status(503, body="empty"),
    "429-retry-after": rate_limited(1),
    "429-bare": rate_limited(None),
    "reset": RESET,
    "hang": HANG,
    "truncate": TRUNCATE,
}
MATRIX_ENV = {
    "EASEL_CHAT_TIMEOUT": "1.5",
    "EASEL_DELIVERY_MAX_PAUSE": "0.05",
    "EASEL_OPENAI_TIMEOUT": "1.5",
    "EASEL_PARTIAL_IMAGES": "1",
}
DONE = "Reply in this thread to edit the image."


@dataclass(frozen=True)
class Row:
    """One call: how easel is made to make it, and what the person sees while it fails."""

    method: str
    flow: str
    outcome: str  # "delivered", "words" (nothing drawn, and said), "quiet" (nothing to say)
    slow: bool = False  # frames seconds apart, so that a preview is shown (and replaced)
    times: int | None = 1  # how many calls the fault plays on (None: until it ends)


SLACK = [
    Row("chat.postMessage", "draw", "delivered"),
    Row("chat.update", "draw", "delivered"),
    Row("files.getUploadURLExternal", "draw", "delivered"),
    Row("upload", "draw", "delivered"),
    Row("files.completeUploadExternal", "draw", "delivered"),
    Row("files.info", "draw", "delivered"),
    Row("files.delete", "draw", "delivered", slow=True),
    Row("users.info", "settings", "words", times=None),  # aiohttp retries a GET once
    Row("views.open", "settings", "quiet"),
    Row("views.publish", "home", "quiet"),
]
DISCORD = [
    Row("interaction_callback", "draw", "quiet"),
    Row("edit_original", "draw", "delivered"),
    Row("thread_create", "draw", "delivered"),
    Row("message_create", "reply", "delivered"),
    Row("message_edit", "reply", "delivered"),
    Row("cdn", "reply-with-image", "words", times=None),  # aiohttp retries a GET once
]


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level(logging.WARNING)
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def healthy(runtime: Runtime) -> None:
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.get(f"http://127.0.0.1:{runtime.port}/healthz")
    assert response.status_code == 200, response.text


# -- Slack --------------------------------------------------------------------------------


@pytest.fixture
async def slack_easel(env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with running(load_config({**env, **MATRIX_ENV})) as runtime:
        yield runtime


def finals(slack_fake: FakeSlack) -> list[Any]:
    return [f for f in slack_fake.files.values() if f.completed and f.name.startswith("easel-")]


async def slack_flow(row: Row, runtime: Runtime, sender: SlackSender, fake: FakeSlack) -> str:
    """Make easel call `row.method`; the words the person was shown, if any."""
    if row.flow == "draw":
        await sender.command("a lighthouse", response_url=fake.response_url())
        await settle(runtime, within=40)
        return " ".join(r.get("text", "") for r in fake.responses)
    if row.flow == "home":
        await sender.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
        await settle(runtime)
        return ""
    opened = len(fake.modals)
    await press_edit(sender, ADMIN)
    tried = lambda: any(name == "views.open" for name, _ in fake.faults.fired)  # noqa: E731
    await eventually(lambda: len(fake.modals) > opened or tried(), within=10)
    await settle(runtime)
    return " ".join(str(m["blocks"]) for m in fake.modals[opened:])


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("row", SLACK, ids=lambda row: row.method)
async def test_slack(
    row: Row,
    shape: str,
    slack_easel: Runtime,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
    errors_logged: Callable[[], list[str]],
) -> None:
    slack_fake.users[ADMIN] = {"is_admin": True}
    sender = SlackSender(port=slack_easel.port)
    if row.slow:
        openai_fake.push(Script(delay=0.2))
    slack_fake.faults.set(row.method, SHAPES[shape], times=row.times)
    said = await slack_flow(row, slack_easel, sender, slack_fake)
    assert slack_fake.faults.fired, f"{row.method} was never called"
    assert errors_logged() == []
    if row.outcome == "delivered":
        assert len(finals(slack_fake)) == 1 and DONE in block_text(
            root_message(slack_fake)["blocks"]
        )
        assert len(openai_fake.requests) == 1
    elif row.outcome == "words":
        assert "could not be asked" in said
    await healthy(slack_easel)
    # After the fault, everything works: the same flow, then a drawing.
    slack_fake.faults.clear()
    if row.flow != "draw":
        await slack_flow(row, slack_easel, sender, slack_fake)
        assert row.flow != "settings" or slack_fake.modals
        assert row.flow != "home" or ADMIN in slack_fake.views
    before = len(finals(slack_fake))
    await sender.command("a second lighthouse")
    await settle(slack_easel, within=40)
    assert len(finals(slack_fake)) == before + 1
    await sender.aclose()


# -- Discord ------------------------------------------------------------------------------


@pytest.fixture
async def discord_easel(
    discord_env: dict[str, str], discord_fake: FakeDiscord
) -> AsyncIterator[Runtime]:
    async with running(load_config({**discord_env, **MATRIX_ENV})) as runtime:
        await wait_ready(discord_fake)
        await eventually(lambda: runtime.discord is not None and runtime.discord.connected())
        yield runtime


def discord_finals(fake: FakeDiscord) -> list[str]:
    return [
        a["filename"]
        for m in fake.messages.values()
        for a in m.get("attachments") or []
        if a["filename"].startswith("easel-")
    ]


async def discord_draw(fake: FakeDiscord, runtime: Runtime, prompt: str) -> dict[str, Any]:
    interaction = fake.interaction(prompt)
    await fake.dispatch("INTERACTION_CREATE", interaction)
    # easel answers the interaction (or meets the fault on its answer) once it has admitted
    # the drawing: only then is the turn submitted, for settle() to wait on.
    await eventually(
        lambda: (
            any(c["id"] == int(interaction["id"]) for c in fake.callbacks)
            or any(name == "interaction_callback" for name, _ in fake.faults.fired)
        ),
        within=20,
    )
    await settle(runtime, within=40)
    return interaction


async def discord_flow(row: Row, fault: Fault, runtime: Runtime, fake: FakeDiscord) -> int | None:
    """Make easel call `row.method` while `fault` plays on it; the drawing's thread."""
    if row.flow == "draw":
        fake.faults.set(row.method, fault, times=1)
        interaction = await discord_draw(fake, runtime, "a lighthouse")
        return fake.originals.get(interaction["token"])
    interaction = await discord_draw(fake, runtime, "a lighthouse")
    thread = fake.originals[interaction["token"]]
    fake.faults.set(row.method, fault, times=row.times)
    files = [fake.upload(make_png((32, 32), 2, 0), "ref.png")] if "image" in row.flow else []
    await fake.dispatch(
        "MESSAGE_CREATE", fake.person_message(thread, "at night", attachments=files)
    )
    await eventually(lambda: len(fake.bot_messages_in(thread)) >= 2, within=20)
    await settle(runtime, within=40)
    return thread


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("row", DISCORD, ids=lambda row: row.method)
async def test_discord(
    row: Row,
    shape: str,
    discord_easel: Runtime,
    openai_fake: FakeOpenAI,
    discord_fake: FakeDiscord,
    errors_logged: Callable[[], list[str]],
) -> None:
    thread = await discord_flow(row, SHAPES[shape], discord_easel, discord_fake)
    assert discord_fake.faults.fired, f"{row.method} was never called"
    assert errors_logged() == []
    drawn = len(openai_fake.requests)
    if row.outcome == "delivered":
        assert len(discord_finals(discord_fake)) == drawn, "each drawing delivered, once"
    elif row.outcome == "words":
        assert thread is not None
        answer = discord_fake.bot_messages_in(thread)[-1]["content"]
        assert "could not download ref.png from Discord" in answer
        assert drawn == 1 and len(discord_finals(discord_fake)) == 1
    else:
        assert drawn == 0, "an interaction easel could not answer is not drawn"
    await healthy(discord_easel)
    discord_fake.faults.clear()
    await discord_draw(discord_fake, discord_easel, "a second lighthouse")
    assert len(discord_finals(discord_fake)) == len(openai_fake.requests) == drawn + 1


# -- OpenAI -------------------------------------------------------------------------------

OPENAI_WORDS = {
    "503-json": "busy",
    "503-html": "busy",
    "503-text": "busy",
    "503-empty": "busy",
    "429-retry-after": "busy",
    "429-bare": "busy",
    "reset": "could not reach",
    "hang": "took too long",
    "truncate": "dropped",
}
STREAM_FAULTS = {
    "cut_mid_event": "dropped",
    "not_json": "could not read",
    "unknown_event": None,  # ignored: the drawing arrives
    "final_twice": None,
}


async def _openai_case(
    runtime: Runtime, fake: FakeSlack, openai_fake: FakeOpenAI, words: str | None
) -> None:
    sender = SlackSender(port=runtime.port)
    await sender.command("a lighthouse", response_url=fake.response_url())
    await settle(runtime, within=40)
    shown = block_text(root_message(fake)["blocks"])
    if words is None:
        assert DONE in shown and len(finals(fake)) == 1
    else:
        assert words in shown and finals(fake) == []
    await healthy(runtime)
    await sender.command("a second lighthouse")
    await settle(runtime, within=40)
    assert len(finals(fake)) == (1 if words is not None else 2)
    await sender.aclose()


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_openai_create(
    shape: str,
    slack_easel: Runtime,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
    errors_logged: Callable[[], list[str]],
) -> None:
    openai_fake.faults.set("responses.create", SHAPES[shape], times=1)
    await _openai_case(slack_easel, slack_fake, openai_fake, OPENAI_WORDS[shape])
    assert errors_logged() == []


@pytest.mark.parametrize("fault", sorted(STREAM_FAULTS))
async def test_openai_stream(
    fault: str,
    slack_easel: Runtime,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
    errors_logged: Callable[[], list[str]],
) -> None:
    openai_fake.push(Script(**{fault: True}))
    await _openai_case(slack_easel, slack_fake, openai_fake, STREAM_FAULTS[fault])
    assert errors_logged() == []
