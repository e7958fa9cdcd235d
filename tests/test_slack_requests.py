"""Requests to /slack/events at the wire: the signature is checked on the raw body before
anything parses it; a replayed /draw draws once; every listener acts on the workspace the
request is authenticated for, and only its own admins (asked of Slack) change settings; a
view Slack does not take is logged and shown again on the next open."""

from __future__ import annotations

import json
import logging
import time

import httpx2
import pytest

from adapters.runtime import Runtime, running
from adapters.slack.views import EDIT_ACTION, MODAL_ID, ONLY_ADMINS
from bot.config import load_config
from tests.conftest import USER, SlackSender, eventually, settle
from tests.fakes.faults import status
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.slack import ADMIN, TEAM, open_modal, press_edit, root_message, submit

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
DEEP = "[" * 100_000 + "]" * 100_000


async def post(slack: SlackSender, body: str, headers: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(slack.url, content=body.encode(), headers=headers)


def signed(slack: SlackSender, body: str, content_type: str, **kw: int) -> dict[str, str]:
    return slack.signed.headers(body, content_type, **kw)


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "adapters.slack.runner"]


@pytest.mark.parametrize("body", ["{not json", DEEP, '{"type": "url_verification"}'])
async def test_an_unsigned_body_is_refused_401_before_it_is_read(
    easel: Runtime, slack: SlackSender, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(slack, body, {"Content-Type": JSON})
    assert response.status_code == 401
    assert errors(caplog) == []
    [line] = refusals(caplog)
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert "not signed by Slack" in line.getMessage()


@pytest.mark.parametrize("how", ["bad-signature", "old-timestamp", "timestamp-not-a-number"])
async def test_a_forged_or_stale_signature_is_refused_401(
    easel: Runtime,
    slack: SlackSender,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    caplog.set_level(logging.INFO)
    body = slack.signed.command("a cat")
    if how == "old-timestamp":  # signed correctly, six minutes ago
        headers = signed(slack, body, FORM, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = signed(slack, body, FORM)
        if how == "bad-signature":
            headers["X-Slack-Signature"] = "v0=" + "0" * 64
        else:
            headers["X-Slack-Request-Timestamp"] = "soon"
    response = await post(slack, body, headers)
    assert response.status_code == 401
    await settle(easel)
    assert openai_fake.requests == []
    assert errors(caplog) == []
    assert [r.levelno for r in refusals(caplog)] == [logging.WARNING]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("{not json", JSON), (DEEP, JSON), ("[1, 2]", JSON), ("payload=%7Bnot+json", FORM)],
)
async def test_a_signed_body_that_cannot_be_read_is_refused_400_quietly(
    easel: Runtime,
    slack: SlackSender,
    caplog: pytest.LogCaptureFixture,
    body: str,
    content_type: str,
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(slack, body, signed(slack, body, content_type))
    assert response.status_code == 400
    assert errors(caplog) == []
    [line] = refusals(caplog)
    assert line.levelno == logging.WARNING and line.exc_info is None


async def test_a_signed_command_still_draws(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    response = await slack.command("a lighthouse")
    assert response.status_code == 200 and not response.content
    await settle(easel)
    assert len(openai_fake.requests) == 1
    assert root_message(slack_fake)["ts"]


async def test_a_replayed_draw_is_acked_quietly_and_drawn_once(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    body = slack.signed.command("a paid lighthouse")
    headers = signed(slack, body, FORM)  # the same bytes and headers each time, as replayed
    for _ in range(3):
        response = await post(slack, body, headers)
        assert response.status_code == 200 and not response.content
        await settle(easel)
    assert len(openai_fake.requests) == 1
    root_message(slack_fake)  # exactly one placeholder
    assert slack_fake.ephemerals == [] and slack_fake.responses == []


async def test_a_replay_of_a_command_without_a_trigger_id_is_drawn_once(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    body = slack.signed.command("a lighthouse at dusk").replace("&trigger_id=", "&no_trigger=")
    headers = signed(slack, body, FORM)
    for _ in range(2):
        assert (await post(slack, body, headers)).status_code == 200
        await settle(easel)
    assert len(openai_fake.requests) == 1
    root_message(slack_fake)
    second = slack.signed.command("a lighthouse at dusk").replace("&trigger_id=", "&no_trigger=")
    assert second != body  # the same words asked again are a new drawing
    assert (await post(slack, second, signed(slack, second, FORM))).status_code == 200
    await settle(easel)
    assert len(openai_fake.requests) == 2


# -- whose workspace: the one the bot token is for, never the one a payload names ----------

OUTSIDER = "UEXT"  # an admin of another organisation, met in a Slack Connect channel


@pytest.fixture
def admins(slack_fake: FakeSlack) -> None:
    slack_fake.users[ADMIN] = {"is_admin": True}
    slack_fake.users[OUTSIDER] = {"is_admin": True, "is_owner": True, "team_id": "T9"}


async def test_a_form_naming_another_workspace_changes_only_this_one(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, admins: None
) -> None:
    modal = await open_modal(slack, easel, slack_fake)
    response = await submit(slack, ADMIN, modal, team="T2", daily_limit="3")
    assert response.status_code == 200 and not response.content
    assert await easel.store.settings.audit("slack", "T2") == []
    assert [(a["field"], a["new"]) for a in await easel.store.settings.audit("slack", TEAM)] == [
        ("daily_limit", 3)
    ]


async def test_draw_and_the_home_tab_read_the_authenticated_workspace(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    await easel.workspaces.change_settings("slack", TEAM, user_id=ADMIN, texts={"enabled": "off"})
    slack.signed.team = "T2"  # every payload from here on names another workspace
    refused = await slack.command("a cat on T2's account")
    assert "turned off in this workspace" in refused.text
    await slack.event({"type": "app_home_opened", "user": USER, "channel": "D1", "tab": "home"})
    view = await eventually(lambda: slack_fake.views.get(USER))
    assert "*Enabled:* off" in json.dumps(view["blocks"])
    await settle(easel)
    assert openai_fake.requests == []


async def test_an_admin_of_another_organisation_is_not_an_admin_here(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, admins: None
) -> None:
    modal = await open_modal(slack, easel, slack_fake)
    assert (await press_edit(slack, OUTSIDER, team="T9")).status_code == 200
    await eventually(lambda: len(slack_fake.calls_to("users.info")) >= 2)
    await settle(easel)
    assert slack_fake.modals == [modal]  # no form for them
    body = (await submit(slack, OUTSIDER, modal, team="T9", enabled="off")).json()
    assert body["response_action"] == "errors"
    assert list(body["errors"].values()) == [ONLY_ADMINS]
    assert await easel.store.settings.audit("slack", TEAM) == []


async def test_an_outsider_listed_in_easel_slack_admins_may_change_settings(
    env: dict[str, str], slack_fake: FakeSlack, admins: None
) -> None:
    async with running(load_config({**env, "EASEL_SLACK_ADMINS": OUTSIDER})) as easel:
        slack = SlackSender(port=easel.port)
        try:
            modal = await open_modal(slack, easel, slack_fake, user=OUTSIDER)
            response = await submit(slack, OUTSIDER, modal, team="T9", quality="low")
        finally:
            await slack.aclose()
        assert response.status_code == 200 and not response.content
        audit = await easel.store.settings.audit("slack", TEAM)
        assert [(a["user_id"], a["field"]) for a in audit] == [(OUTSIDER, "quality")]


async def test_when_slack_cannot_say_who_is_an_admin_the_form_says_so_and_saves_nothing(
    easel: Runtime,
    slack: SlackSender,
    slack_fake: FakeSlack,
    admins: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    modal = await open_modal(slack, easel, slack_fake)
    slack_fake.faults.set("users.info", status(503, body="html"), times=None)
    body = (await submit(slack, ADMIN, modal, daily_limit="5")).json()
    assert body["response_action"] == "errors"
    [words] = body["errors"].values()
    assert "could not be asked" in words and "Try again" in words and "Only" not in words
    assert await easel.store.settings.audit("slack", TEAM) == []

    notice = await open_modal(slack, easel, slack_fake)  # the button says the same
    assert "could not be asked" in json.dumps(notice["blocks"])
    assert "callback_id" not in notice
    assert errors(caplog) == []
    slack_fake.faults.clear("users.info")
    assert (await submit(slack, ADMIN, modal, daily_limit="5")).status_code == 200
    assert len(await easel.store.settings.audit("slack", TEAM)) == 1


# -- when Slack does not take a view ------------------------------------------------------


async def test_the_home_tab_and_the_form_survive_slack_refusing_to_show_them(
    easel: Runtime,
    slack: SlackSender,
    slack_fake: FakeSlack,
    admins: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    slack_fake.faults.set("views.publish", status(503, body="html"))
    slack_fake.faults.set("views.open", status(502, body="text"))
    home = {"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "home"}
    await slack.event(home)
    assert (await press_edit(slack, ADMIN)).status_code == 200
    warned = await eventually(lambda: len(_home_warnings(caplog)) == 2)
    assert warned and slack_fake.views == {} and slack_fake.modals == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []

    await slack.event(home)  # the next open works
    assert EDIT_ACTION in json.dumps(await eventually(lambda: slack_fake.views.get(ADMIN)))
    assert (await open_modal(slack, easel, slack_fake))["callback_id"] == MODAL_ID


def _home_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "adapters.slack.home" and r.levelno == logging.WARNING and not r.exc_info
    ]
