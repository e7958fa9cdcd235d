"""Edit at the wire: the button opens a form, and the words typed there become the thread's
next turn; empty, repeated, refused and forged submissions."""

from __future__ import annotations

import json

import pytest

from adapters.runtime import Runtime, running
from adapters.slack import edit_form
from adapters.slack.presses import FORM_NOT_OPENED
from bot.config import Config
from bot.models import Action
from bot.turns.inputs import GONE
from tests.buttons import (
    buttons,
    calm,
    drawing,
    drawn_and_replied,
    easel_of,
    open_edit,
    press,
    said_to,
    submit_edit,
    told,
)
from tests.conftest import CHANNEL, TEAM, SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.specs import assert_valid, openai_validator


@pytest.fixture(autouse=True)
def square(openai_fake: FakeOpenAI) -> None:
    openai_fake.default = Script(image_size=(1024, 1024))


async def test_edit_opens_a_form_whose_words_become_the_threads_next_turn(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    thread = await drawn_and_replied(easel, slack, slack_fake)
    form = await open_edit(slack, easel, slack_fake, 1)
    assert form["callback_id"] == "easel_edit"
    assert json.loads(form["private_metadata"])["turn"] == 1
    [box] = [b for b in form["blocks"] if b["type"] == "input"]
    assert box["element"]["type"] == "plain_text_input" and box["element"]["multiline"] is True
    assert "a lighthouse at dusk" in json.dumps(form["blocks"])  # what it was drawn from

    response = await submit_edit(slack, form, "add a red kite in the sky")
    assert response.status_code == 200 and not response.content  # the form closes
    await settle(easel)
    edit = openai_fake.requests[-1]
    assert edit["input"][0]["content"] == [
        {"type": "input_text", "text": "add a red kite in the sky"}
    ]
    assert edit["previous_response_id"] == openai_fake.known_response_ids[1]  # the thread's
    assert_valid(openai_validator("CreateResponse"), edit)
    message = drawing(slack_fake, 3)
    assert message["thread_ts"] == thread and len(buttons(message)) == 5
    stored = await easel.store.ledger.get(3)
    assert stored is not None and (stored.action, stored.origin) == (Action.EDIT, 1)
    assert said_to(slack_fake) == [] and slack_fake.violations == []


async def test_an_empty_edit_is_refused_in_its_box(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    form = await open_edit(slack, easel, slack_fake, 1)
    for typed in ("   \n ", None):
        response = await submit_edit(slack, form, typed)
        assert response.json() == {
            "response_action": "errors",
            "errors": {"prompt": edit_form.EMPTY},
        }
    await settle(easel)
    assert len(openai_fake.requests) == 1
    # Fixed and sent again from the same form, it draws.
    await submit_edit(slack, form, "at night")
    await settle(easel)
    assert len(openai_fake.requests) == 2


async def test_the_same_submission_sent_twice_draws_once(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    form = await open_edit(slack, easel, slack_fake, 1)
    for _ in range(2):
        await submit_edit(slack, form, "at night")
    await calm(easel, slack_fake)
    assert len(openai_fake.requests) == 2
    assert said_to(slack_fake) == []


async def test_an_edit_the_workspace_refuses_is_told_where_edit_was_pressed(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    thread = await drawn_and_replied(easel, slack, slack_fake)
    form = await open_edit(slack, easel, slack_fake, 2)  # the reply's, in the thread
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id="UADMIN", texts={"enabled": "off"}
    )
    await submit_edit(slack, form, "at night")
    [words] = await told(slack_fake, 1)
    await calm(easel, slack_fake)
    [shown] = slack_fake.ephemerals
    assert "turned off in this workspace" in words and shown["text"] == words
    assert (shown["channel"], shown["thread_ts"]) == (CHANNEL, thread)
    assert len(openai_fake.requests) == 2


async def test_a_form_slack_does_not_open_is_said(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    slack_fake.fail("views.open", "expired_trigger_id")
    await press(slack, slack_fake, 1, Action.EDIT)
    assert await told(slack_fake, 1) == [FORM_NOT_OPENED]


async def test_a_submission_whose_form_says_no_drawing_is_refused_in_its_box(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    form = await open_edit(slack, easel, slack_fake, 1)
    for metadata in ("", "not json", '{"turn": "1"}', "[1]"):
        response = await submit_edit(slack, {**form, "private_metadata": metadata}, "at night")
        assert response.json()["errors"] == {"prompt": edit_form.GONE}
    await settle(easel)
    assert len(openai_fake.requests) == 1


async def test_a_forged_submission_for_another_workspaces_drawing_answers_in_words(
    env: dict[str, str], config: Config, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    async with FakeSlack(team_id="T2") as theirs:
        async with easel_of(env, theirs) as (easel, sender):  # it draws turn 1
            await sender.command("their lighthouse")
            await settle(easel)
            form = await open_edit(sender, easel, theirs, 1)
        async with running(config) as easel:
            slack = SlackSender(port=easel.port)
            response = await submit_edit(slack, form, "paint it over", team="T2")
            assert response.status_code == 200
            await calm(easel, slack_fake)
            await slack.aclose()
    assert said_to(slack_fake) == [GONE]
    assert len(openai_fake.requests) == 1
