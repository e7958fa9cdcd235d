"""Delete, and presses that cannot be acted on, at the wire: who may delete a drawing, what
Slack is asked to remove, and the words a refused press gets (never silence)."""

from __future__ import annotations

import logging

import pytest

from adapters.runtime import Runtime, running
from adapters.slack.presses import COULD_NOT_CHECK
from bot.config import Config
from bot.models import Action, ThreadKey
from bot.turns.inputs import GONE
from bot.turns.presses import DELETED
from tests.buttons import (
    button_of,
    calm,
    drawing,
    drawn_and_replied,
    easel_of,
    press,
    press_on,
    said_to,
    thread_messages,
    told,
)
from tests.conftest import CHANNEL, TEAM, USER, SlackSender, eventually, settle
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import Call, FakeSlack
from tests.slack import ADMIN, OTHER, root_message


@pytest.fixture(autouse=True)
def square(openai_fake: FakeOpenAI, slack_fake: FakeSlack) -> None:
    openai_fake.default = Script(image_size=(1024, 1024))
    slack_fake.users[ADMIN] = {"is_admin": True}


def removed(slack_fake: FakeSlack) -> list[tuple[str, str]]:
    """What easel asked Slack to remove, previews aside: ("files.delete", file id) and
    ("chat.delete", ts)."""
    return [
        (c.method, str(c.args.get("ts") or c.args.get("file")))
        for c in deletions(slack_fake)
        if c.status == 200
    ]


def deletions(slack_fake: FakeSlack) -> list[Call]:
    """Every files.delete of a final image (not of a preview), and every chat.delete."""
    return [
        c
        for c in slack_fake.calls
        if c.method == "chat.delete"
        or (
            c.method == "files.delete"
            and slack_fake.files[c.args["file"]].name.startswith("easel-")
        )
    ]


async def test_the_asker_deletes_a_drawing_and_the_thread_goes_on_from_the_one_before(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    thread = await drawn_and_replied(easel, slack, slack_fake)
    reply = drawing(slack_fake, 2)
    stored = await easel.store.ledger.get(2)
    assert stored is not None and stored.file_ref is not None
    await press(slack, slack_fake, 2, Action.DELETE)
    await calm(easel, slack_fake)

    assert removed(slack_fake) == [("files.delete", stored.file_ref), ("chat.delete", reply["ts"])]
    assert [m["ts"] for m in slack_fake.chat.deleted] == [reply["ts"]]
    assert thread_messages(slack_fake, thread) == []
    assert slack_fake.files[stored.file_ref].deleted
    assert said_to(slack_fake) == []
    deleted = await easel.store.ledger.get(2)
    assert deleted is not None and deleted.deleted_by == USER
    # The next reply continues from the drawing before the deleted one.
    await slack.event(slack.reply_event(thread_ts=thread, text="add a boat"))
    await settle(easel)
    assert openai_fake.requests[-1]["previous_response_id"] == openai_fake.known_response_ids[0]
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, thread))
    assert state is not None and state.last_response_id == openai_fake.known_response_ids[2]


async def test_deleting_a_threads_first_drawing_leaves_its_replies(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    thread = await drawn_and_replied(easel, slack, slack_fake)
    first = await easel.store.ledger.get(1)
    assert first is not None and first.file_ref is not None
    await press(slack, slack_fake, 1, Action.DELETE)
    await calm(easel, slack_fake)
    assert removed(slack_fake) == [("files.delete", first.file_ref), ("chat.delete", thread)]
    assert slack_fake.messages[(CHANNEL, thread)]["subtype"] == "tombstone"
    assert [m["ts"] for m in thread_messages(slack_fake, thread)] == [drawing(slack_fake, 2)["ts"]]


async def test_someone_else_is_told_who_may_delete_and_nothing_is_removed(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    await drawn_and_replied(easel, slack, slack_fake)
    await press(slack, slack_fake, 2, Action.DELETE, user=OTHER)
    await calm(easel, slack_fake)
    [words] = said_to(slack_fake, OTHER)
    assert f"<@{USER}>" in words and "or an admin of this workspace can delete it" in words
    [shown] = [e for e in slack_fake.ephemerals if e["user"] == OTHER]
    assert (shown["channel"], shown["thread_ts"]) == (CHANNEL, root_message(slack_fake)["ts"])
    assert removed(slack_fake) == []
    assert [c.args["user"] for c in slack_fake.calls_to("users.info")] == [OTHER]
    kept = await easel.store.ledger.get(2)
    assert kept is not None and not kept.deleted


async def test_an_admin_deletes_anyones_drawing(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    await drawn_and_replied(easel, slack, slack_fake)
    reply = drawing(slack_fake, 2)
    await press(slack, slack_fake, 2, Action.DELETE, user=ADMIN)
    await calm(easel, slack_fake)
    assert [what for what, _ in removed(slack_fake)] == ["files.delete", "chat.delete"]
    assert (CHANNEL, reply["ts"]) not in slack_fake.messages
    deleted = await easel.store.ledger.get(2)
    assert deleted is not None and deleted.deleted_by == ADMIN
    assert said_to(slack_fake, ADMIN) == []


async def test_when_slack_cannot_say_who_is_an_admin_nothing_is_deleted_and_that_is_said(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    await drawn_and_replied(easel, slack, slack_fake)
    slack_fake.unavailable("users.info")
    await press(slack, slack_fake, 2, Action.DELETE, user=ADMIN)
    await calm(easel, slack_fake)
    assert said_to(slack_fake, ADMIN) == [COULD_NOT_CHECK]
    assert removed(slack_fake) == []


async def test_a_deleted_drawings_buttons_answer_in_words_and_delete_again_removes_it_again(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await drawn_and_replied(easel, slack, slack_fake)
    old = drawing(slack_fake, 2)  # as a client that has not caught up still shows it
    await press(slack, slack_fake, 2, Action.DELETE)
    await calm(easel, slack_fake)
    for action in (Action.REDO, Action.VARY, Action.BIGGER, Action.EDIT):
        await press_on(slack, old, button_of(old, action))
    await calm(easel, slack_fake)
    assert said_to(slack_fake) == [DELETED] * 4
    assert len(openai_fake.requests) == 2 and slack_fake.modals == []
    # Delete again: what is gone already counts as removed, and nothing more is said.
    await press_on(slack, old, button_of(old, Action.DELETE))
    await calm(easel, slack_fake)
    assert [c.method for c in deletions(slack_fake)] == ["files.delete", "chat.delete"] * 2
    assert said_to(slack_fake) == [DELETED] * 4


@pytest.mark.parametrize("down", ["files.delete", "chat.delete"])
async def test_a_delete_slack_cannot_carry_out_now_is_said_and_done_when_pressed_again(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, down: str
) -> None:
    await drawn_and_replied(easel, slack, slack_fake)
    reply = drawing(slack_fake, 2)
    stored = await easel.store.ledger.get(2)
    assert stored is not None and stored.file_ref is not None
    slack_fake.unavailable(down)
    await press(slack, slack_fake, 2, Action.DELETE)
    await calm(easel, slack_fake)
    [words] = said_to(slack_fake)
    assert "not removed yet" in words and "Press Delete again" in words
    # The message goes last: it is still there, with its Delete button.
    assert slack_fake.messages[(CHANNEL, reply["ts"])]["blocks"] == reply["blocks"]
    slack_fake.unavailable(down, times=0)
    await press(slack, slack_fake, 2, Action.DELETE)
    await calm(easel, slack_fake)
    assert (CHANNEL, reply["ts"]) not in slack_fake.messages
    assert slack_fake.files[stored.file_ref].deleted
    assert len(said_to(slack_fake)) == 1


async def test_buttons_whose_drawing_is_gone_answer_in_words(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    root = root_message(slack_fake)
    for value in ("999", "not-a-turn"):
        for action in (Action.REDO, Action.DELETE, Action.EDIT):
            button = {"action_id": f"easel_{action.value}", "value": value}
            await press_on(slack, root, button)
    await calm(easel, slack_fake)
    assert said_to(slack_fake) == [GONE] * 6
    assert len(openai_fake.requests) == 1
    assert removed(slack_fake) == [] and slack_fake.modals == []


async def test_a_forged_press_on_another_workspaces_drawing_answers_in_words(
    env: dict[str, str], config: Config, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    async with FakeSlack(team_id="T2") as theirs:
        async with easel_of(env, theirs) as (easel, sender):  # it draws turn 1
            await sender.command("their lighthouse")
            await settle(easel)
        their_drawing = drawing(theirs, 1)
        async with running(config) as easel:
            slack = SlackSender(port=easel.port)
            for action in Action:
                await press_on(slack, their_drawing, button_of(their_drawing, action), team="T2")
            await calm(easel, slack_fake)
            await slack.aclose()
        assert said_to(slack_fake) == [GONE] * 5
        assert len(openai_fake.requests) == 1
        assert slack_fake.modals == [] and theirs.modals == []
        assert deletions(slack_fake) == deletions(theirs) == []
        kept = await eventually(lambda: theirs.messages.get((CHANNEL, their_drawing["ts"])))
        assert kept["blocks"] == their_drawing["blocks"]


async def test_a_deleted_drawing_still_counts_against_the_daily_limit(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id="UADMIN", texts={"daily_limit": "2"}
    )
    thread = await drawn_and_replied(easel, slack, slack_fake)
    await press(slack, slack_fake, 2, Action.DELETE)
    await calm(easel, slack_fake)
    assert (CHANNEL, drawing(slack_fake, 1)["ts"]) in slack_fake.messages
    await slack.event(slack.reply_event(thread_ts=thread, text="add a boat"))
    await settle(easel)
    assert len(openai_fake.requests) == 2  # it was paid for: deleting gives nothing back
    [words] = await told(slack_fake, 1)
    assert "You have used today's 2 drawings" in words
    assert thread_messages(slack_fake, thread) == []


async def test_a_press_not_signed_by_slack_is_refused_and_logged(
    easel: Runtime, slack_fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    slack = SlackSender(port=easel.port)
    await drawn_and_replied(easel, slack, slack_fake)
    await slack.aclose()
    forger = SlackSender(port=easel.port, secret="not-the-signing-secret")
    caplog.set_level(logging.INFO)
    reply = drawing(slack_fake, 2)
    for action in Action:
        container = {"type": "message", "channel_id": CHANNEL, "message_ts": reply["ts"]}
        response = await forger.press(f"easel_{action.value}", value="2", container=container)
        assert response.status_code == 401
    await forger.aclose()
    await calm(easel, slack_fake)
    lines = [r.getMessage() for r in caplog.records if r.name == "adapters.slack.runner"]
    assert len(lines) == 5 and all("not signed by Slack" in line for line in lines), lines
    assert removed(slack_fake) == [] and slack_fake.modals == [] and slack_fake.ephemerals == []
    kept = await easel.store.ledger.get(2)
    assert kept is not None and not kept.deleted
    assert (CHANNEL, reply["ts"]) in slack_fake.messages
