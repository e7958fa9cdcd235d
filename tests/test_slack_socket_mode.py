"""Socket Mode end to end: envelopes over a WebSocket in, the fake OpenAI and Slack APIs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from adapters.errors import StartupError
from adapters.runtime import Runtime, running
from adapters.slack.edit_form import EMPTY
from bot.config import load_config
from bot.models import Action, ThreadKey
from bot.turns.inputs import VARY_PROMPT
from tests.buttons import button_of, drawing, edit_submission, pressed_on, prompt_of
from tests.conftest import CHANNEL, TEAM, USER, eventually, settle
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_socket import FakeSocketMode
from tests.slack import block_text, image_refs, root_message

APP_TOKEN = "xapp-test"


@pytest.fixture
async def socket_mode(slack_fake: FakeSlack) -> AsyncIterator[FakeSocketMode]:
    async with FakeSocketMode(slack_fake, app_token=APP_TOKEN) as fake:
        yield fake


@pytest.fixture
async def easel(env: dict[str, str], socket_mode: FakeSocketMode) -> AsyncIterator[Runtime]:
    """easel as configured for Socket Mode: an app token and no signing secret."""
    socket_env = {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"}
    socket_env["SLACK_APP_TOKEN"] = APP_TOKEN
    async with running(load_config(socket_env)) as runtime:
        await socket_mode.connected()
        yield runtime


def command(text: str) -> dict[str, Any]:
    """A slash command's payload as Socket Mode carries it: the HTTP form's fields, as JSON."""
    return {
        "token": "unused",
        "team_id": TEAM,
        "team_domain": "test",
        "channel_id": CHANNEL,
        "channel_name": "general",
        "user_id": USER,
        "user_name": "someone",
        "command": "/draw",
        "text": text,
        "api_app_id": "A1",
        "is_enterprise_install": "false",
        "response_url": "",
        "trigger_id": f"trigger-{time.monotonic_ns()}",
    }


def event_callback(event: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    return {
        "token": "unused",
        "team_id": TEAM,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }


async def test_draw_and_thread_edit_over_socket_mode(
    easel: Runtime,
    socket_mode: FakeSocketMode,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
) -> None:
    # One open checks the app token at start-up, one opens the connection.
    assert socket_mode.opens == 2 and socket_mode.connections == 1
    openai_fake.push(Script(delay=0.25))
    ack = await socket_mode.send(
        "slash_commands", command("a cat in a hat"), accepts_response_payload=True
    )
    assert ack["envelope_id"] == socket_mode.envelopes[-1]["envelope_id"]
    assert "payload" not in ack  # a bare ack: nothing shown in the channel but the drawing
    await settle(easel)

    # ONE placeholder message in the channel, edited to show the final file in its thread.
    posts = slack_fake.calls_to("chat.postMessage")
    assert len(posts) == 1
    assert posts[0].args["channel"] == CHANNEL
    assert "drawing…" in str(posts[0].args["blocks"])
    message = root_message(slack_fake)
    ts = message["ts"]
    assert len(openai_fake.requests) == 1
    assert openai_fake.requests[0]["input"][0]["content"][0]["text"] == "a cat in a hat"
    image_call_id, final_png = next(iter(openai_fake.images_sent.items()))
    finals = [f for f in slack_fake.files.values() if f.data == final_png]
    assert len(finals) == 1
    final = finals[0]
    assert (final.channel, final.thread_ts) == (CHANNEL, ts)
    assert final.name.endswith(".png") and image_call_id in final.name
    assert image_refs(message["blocks"]) == [final.id]
    assert "Reply in this thread to edit" in block_text(message["blocks"])
    assert slack_fake.violations == []

    # A reply in the drawing's thread arrives as an Events API envelope and edits the drawing.
    reply = {
        "type": "message",
        "channel": CHANNEL,
        "user": USER,
        "text": "make it blue",
        "ts": "1800000001.000100",
        "thread_ts": ts,
        "team": TEAM,
    }
    ack = await socket_mode.send("events_api", event_callback(reply, event_id="Ev00000001"))
    assert ack == {"envelope_id": socket_mode.envelopes[-1]["envelope_id"]}
    await eventually(lambda: len(openai_fake.requests) == 2)
    await settle(easel)

    second = openai_fake.requests[1]
    assert second["previous_response_id"] == openai_fake.known_response_ids[0]
    assert second["input"][0]["content"][0]["text"] == "make it blue"
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, ts))
    assert state is not None and state.last_response_id == openai_fake.known_response_ids[1]
    assert slack_fake.violations == []
    assert socket_mode.violations == [] and socket_mode.other == []


async def test_healthz_reports_the_socket_connection(
    easel: Runtime, socket_mode: FakeSocketMode
) -> None:
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.get(f"http://127.0.0.1:{easel.port}/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "ready": True, "store": True, "slack": True}
    assert socket_mode.open_sockets == 1


async def test_no_http_events_endpoint_in_socket_mode(easel: Runtime) -> None:
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.post(f"http://127.0.0.1:{easel.port}/slack/events", json={})
    assert response.status_code == 404


async def test_reconnects_when_slack_asks_and_keeps_answering(
    easel: Runtime, socket_mode: FakeSocketMode
) -> None:
    opened = socket_mode.opens
    await socket_mode.disconnect("refresh_requested")
    await eventually(lambda: socket_mode.connections == 2 and socket_mode.open_sockets == 1)
    assert socket_mode.opens == opened + 1  # a fresh URL for the new connection
    ack = await socket_mode.send("slash_commands", command(""), accepts_response_payload=True)
    assert "/draw a gray tabby cat" in ack["payload"]["text"]
    assert socket_mode.violations == []


async def test_empty_draw_is_acked_with_the_usage_hint(
    easel: Runtime, socket_mode: FakeSocketMode, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    ack = await socket_mode.send("slash_commands", command("   "), accepts_response_payload=True)
    assert "/draw a gray tabby cat" in ack["payload"]["text"]
    await settle(easel)
    assert openai_fake.requests == []
    assert slack_fake.calls_to("chat.postMessage") == []
    assert socket_mode.violations == []


@pytest.mark.parametrize("token", ["xapp-wrong", "xoxb-test"])
async def test_a_refused_app_token_stops_start_up_with_clear_words(
    token: str, env: dict[str, str], socket_mode: FakeSocketMode
) -> None:
    socket_env = {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"}
    socket_env["SLACK_APP_TOKEN"] = token
    with pytest.raises(StartupError, match="SLACK_APP_TOKEN"):
        async with running(load_config(socket_env)):
            pytest.fail("easel started with a token Slack refuses")


async def test_healthz_turns_unhealthy_while_the_socket_is_down(
    easel: Runtime, socket_mode: FakeSocketMode, slack_fake: FakeSlack
) -> None:
    slack_fake.fail("apps.connections.open", "internal_error", times=1000)
    await socket_mode.drop()
    url = f"http://127.0.0.1:{easel.port}/healthz"
    async with httpx2.AsyncClient(timeout=5) as http:

        async def unhealthy() -> httpx2.Response | None:
            response = await http.get(url)
            return response if response.status_code == 503 else None

        response = None
        for _ in range(100):
            if response := await unhealthy():
                break
            await asyncio.sleep(0.05)
    assert response is not None
    assert response.json() == {"ok": False, "ready": True, "store": True, "slack": False}


async def test_buttons_and_the_edit_form_over_socket_mode(
    easel: Runtime,
    socket_mode: FakeSocketMode,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
) -> None:
    openai_fake.default = Script(image_size=(1024, 1024))
    await socket_mode.send("slash_commands", command("a lighthouse"), accepts_response_payload=True)
    await settle(easel)
    root = root_message(slack_fake)

    # A press arrives as an interactive envelope, acked bare, and draws in the thread.
    ack = await socket_mode.send("interactive", pressed_on(root, button_of(root, Action.VARY)))
    assert ack == {"envelope_id": socket_mode.envelopes[-1]["envelope_id"]}
    await settle(easel)
    assert prompt_of(openai_fake.requests[-1]) == VARY_PROMPT
    assert drawing(slack_fake, 2)["thread_ts"] == root["ts"]

    # Edit opens its form; a form sent empty is answered in its box, through the ack.
    await socket_mode.send("interactive", pressed_on(root, button_of(root, Action.EDIT)))
    form = await eventually(lambda: slack_fake.modals and slack_fake.modals[-1])
    form = {**form, "id": "VM000000001"}
    empty = edit_submission(form, " ")
    ack = await socket_mode.send("interactive", empty, accepts_response_payload=True)
    assert ack["payload"] == {"response_action": "errors", "errors": {"prompt": EMPTY}}
    ack = await socket_mode.send(
        "interactive", edit_submission(form, "at night"), accepts_response_payload=True
    )
    assert ack == {"envelope_id": socket_mode.envelopes[-1]["envelope_id"]}  # it closes
    await settle(easel)
    edit = openai_fake.requests[-1]
    assert prompt_of(edit) == "at night"
    assert edit["previous_response_id"] == openai_fake.known_response_ids[1]
    assert drawing(slack_fake, 3)["thread_ts"] == root["ts"]
    assert slack_fake.violations == [] and socket_mode.violations == []
