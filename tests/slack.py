"""Slack as a person and as Slack itself use it, for tests at the wire: signed requests to
easel (slash commands, Events API callbacks, button presses, form submissions), and what the
fake Slack shows afterwards."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from typing import Any

import httpx2
from slack_sdk.signature import SignatureVerifier

from adapters.runtime import Runtime
from adapters.slack.views import EDIT_ACTION
from tests.fakes.slack_server import FakeSlack
from tests.waiting import eventually, settle

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
TEAM = "T1"
CHANNEL = "C1"
USER = "U1"


class SignedRequests:
    """The bodies Slack sends to an HTTP-mode app, and their signed headers: signed with
    slack_sdk's SignatureVerifier exactly as Slack signs them (v0 HMAC-SHA256 over
    `v0:{timestamp}:{body}`), so every request passes Bolt's real check."""

    def __init__(self, *, secret: str = SIGNING_SECRET, team: str = TEAM) -> None:
        self._signer = SignatureVerifier(secret)
        self.team = team
        self._events = 0

    def headers(
        self, body: str, content_type: str, *, timestamp: int | None = None
    ) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = self._signer.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }

    def command(
        self, text: str, *, user: str = USER, channel: str = CHANNEL, response_url: str = ""
    ) -> str:
        """A `/draw` slash command, form-encoded."""
        return urllib.parse.urlencode(
            {
                "token": "unused",
                "team_id": self.team,
                "team_domain": "test",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": "someone",
                "command": "/draw",
                "text": text,
                "api_app_id": "A1",
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": f"trigger-{time.monotonic_ns()}",
            }
        )

    def reply_event(
        self,
        *,
        thread_ts: str,
        text: str,
        ts: str | None = None,
        user: str = USER,
        channel: str = CHANNEL,
        files: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A person's message in a thread, as a `message` event."""
        self._events += 1
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts or f"{1800000000 + self._events}.000100",
            "thread_ts": thread_ts,
            "team": self.team,
            **extra,
        }
        if files:
            event["subtype"] = "file_share"
            event["files"] = files
        return event

    def event_callback(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        """An Events API callback carrying `event`, as JSON."""
        self._events += 1
        return json.dumps(
            {
                "token": "unused",
                "team_id": self.team,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id or f"Ev{self._events:08d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )


_clicks = itertools.count(1)


def button_press(
    action_id: str,
    *,
    user: str = USER,
    value: str | None = None,
    team: str = TEAM,
    action_ts: str | None = None,
    **where: Any,
) -> dict[str, Any]:
    """The `block_actions` payload of a person pressing the button `action_id`; `where` says
    on what (container, ...). Slack stamps each click with its own `action_ts` (the same one
    in a replay)."""
    stamp = action_ts or f"{int(time.time())}.{next(_clicks):06d}"
    action = {"action_id": action_id, "block_id": "b", "type": "button", "action_ts": stamp}
    if value is not None:
        action["value"] = value
    return {
        "type": "block_actions",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A1",
        "token": "unused",
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "actions": [action],
        **where,
    }


class SlackSender:
    """Sends what Slack sends: signed slash commands, Events API callbacks, presses, forms."""

    def __init__(self, *, port: int, secret: str = SIGNING_SECRET) -> None:
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.signed = SignedRequests(secret=secret)
        self.reply_event = self.signed.reply_event
        self._http = httpx2.AsyncClient(timeout=10)

    async def aclose(self) -> None:
        await self._http.aclose()

    def signed_headers(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        headers = self.signed.headers(body, "", timestamp=timestamp)
        del headers["Content-Type"]
        return headers

    async def post(self, body: str, content_type: str, **headers: str) -> httpx2.Response:
        all_headers = {**self.signed.headers(body, content_type), **headers}
        return await self._http.post(self.url, content=body.encode(), headers=all_headers)

    async def interactive(self, payload: dict[str, Any]) -> httpx2.Response:
        """A signed interactivity request (a button press, a form submission)."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def press(self, action_id: str, **fields: Any) -> httpx2.Response:
        """A person pressing the button `action_id` (`fields` as `button_press` takes them)."""
        return await self.interactive(button_press(action_id, **fields))

    async def command(
        self, text: str, *, user: str = USER, channel: str = CHANNEL, response_url: str = ""
    ) -> httpx2.Response:
        body = self.signed.command(text, user=user, channel=channel, response_url=response_url)
        return await self.post(body, "application/x-www-form-urlencoded")

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, **headers: str
    ) -> httpx2.Response:
        body = self.signed.event_callback(event, event_id=event_id)
        return await self.post(body, "application/json", **headers)


# -- what the fake Slack shows ----------------------------------------------------------


def image_refs(blocks: list[dict[str, Any]]) -> list[str]:
    """The file ids or URLs that a message's image blocks show."""
    refs: list[str] = []
    for block in blocks:
        if block.get("type") == "image":
            refs.append(str(block.get("slack_file", {}).get("id") or block.get("image_url")))
    return refs


def block_text(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if block.get("type") == "section":
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text", "")
            parts.append(text["text"] if isinstance(text, dict) else text)  # a button's label
    return "\n".join(parts)


def _roots(slack_fake: FakeSlack) -> list[dict[str, Any]]:
    return [
        m
        for m in slack_fake.messages.values()
        if m.get("user") == "UBOT" and not m.get("thread_ts") and not m.get("files")
    ]


def root_message(slack_fake: FakeSlack) -> dict[str, Any]:
    roots = _roots(slack_fake)
    assert len(roots) == 1, roots
    return roots[0]


def root_text(slack_fake: FakeSlack) -> str:
    """What easel's one top-level message says; empty until it is posted (for waiting)."""
    roots = _roots(slack_fake)
    assert len(roots) <= 1, roots
    return block_text(roots[0]["blocks"]) if roots else ""


# -- the admins' settings form ----------------------------------------------------------

ADMIN = "UADMIN"
OTHER = "U2"


async def press_edit(slack: SlackSender, user: str, *, team: str = TEAM) -> httpx2.Response:
    home: dict[str, Any] = {
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "home"},
    }
    return await slack.press(EDIT_ACTION, user=user, team=team, **home)


def state_of(modal: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What Slack sends for `modal` as a person left it: initial values, then `changes`."""
    values: dict[str, Any] = {}
    for block in modal["blocks"]:
        name, element = block["block_id"], block["element"]
        kind = element["type"]
        change = changes.get(name)
        if kind == "static_select":
            chosen = element.get("initial_option")
            if change is not None:
                chosen = next(o for o in element["options"] if o["value"] == change)
            state = {"type": kind, "selected_option": chosen}
        elif kind == "multi_static_select":
            chosen = element.get("initial_options") or []
            if change is not None:
                chosen = [o for o in element["options"] if o["value"] in change]
            state = {"type": kind, "selected_options": chosen}
        elif kind == "multi_conversations_select":
            picked = change if change is not None else element.get("initial_conversations", [])
            state = {"type": kind, "selected_conversations": picked}
        else:
            text = change if change is not None else element.get("initial_value")
            state = {"type": kind, "value": text}
        values[name] = {"value": state}
    return {"values": values}


async def submit(
    slack: SlackSender, user: str, modal: dict[str, Any], *, team: str = TEAM, **changes: Any
) -> httpx2.Response:
    """`user` saving `modal` with `changes`; `team` is the workspace the payload names (in
    every place Slack names it)."""
    view = {**modal, "id": "VM1", "state": state_of(modal, **changes)}
    return await slack.interactive(submission(view, user=user, team=team))


def submission(view: dict[str, Any], *, user: str, team: str) -> dict[str, Any]:
    """The `view_submission` payload Slack sends when `user` submits `view` (with its state);
    `team` is the workspace it names, in every place Slack names it."""
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": "test"},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A1",
        "token": "unused",
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "view": {**view, "team_id": team, "app_installed_team_id": team},
        "response_urls": [],
    }


async def open_modal(
    slack: SlackSender, easel: Runtime, slack_fake: FakeSlack, *, user: str = ADMIN
) -> dict[str, Any]:
    """The settings form as `user` opens it with the Edit settings button."""
    opened = len(slack_fake.modals)
    assert (await press_edit(slack, user)).status_code == 200
    await settle(easel)
    await eventually(lambda: len(slack_fake.modals) > opened)
    return slack_fake.modals[-1]
