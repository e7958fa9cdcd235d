"""The buttons under every finished drawing on Slack, at the wire: what each one sends to
OpenAI, what Slack is sent, that a press draws once, and that buttons outlive a restart."""

from __future__ import annotations

import json

import pytest

from adapters.runtime import Runtime, running
from bot.config import Config
from bot.models import Action, ThreadKey
from bot.turns.inputs import BIGGER_PROMPT, VARY_PROMPT
from bot.turns.presses import ALREADY
from tests.buttons import (
    LABELS,
    buttons,
    calm,
    drawing,
    drawn_and_replied,
    images_of,
    open_edit,
    press,
    prompt_of,
    said_to,
    submit_edit,
    thread_messages,
    told,
)
from tests.conftest import CHANNEL, TEAM, USER, SlackSender, eventually, settle
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.fakes.slack_server import FakeSlack
from tests.slack import OTHER, block_text, image_refs, root_message
from tests.specs import assert_valid, openai_validator


@pytest.fixture(autouse=True)
def square(openai_fake: FakeOpenAI) -> None:
    """Finals as large as OpenAI draws them: a press draws at its drawing's size, which must
    be one OpenAI can draw."""
    openai_fake.default = Script(image_size=(1024, 1024))


async def test_every_finished_drawing_carries_five_buttons_for_its_own_turn(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    thread = await drawn_and_replied(easel, slack, slack_fake)
    root, reply = root_message(slack_fake), thread_messages(slack_fake, thread)[0]
    for turn_id, message in ((1, root), (2, reply)):
        stored = await easel.store.ledger.get(turn_id)
        assert stored is not None and stored.message["ts"] == message["ts"]
        shown = buttons(message)
        assert [b["text"]["text"] for b in shown] == LABELS == [a.label for a in Action]
        assert [b["action_id"] for b in shown] == [f"easel_{a.value}" for a in Action]
        assert {b["value"] for b in shown} == {str(turn_id)}
        assert image_refs(message["blocks"]) == [stored.file_ref]  # after the image
        assert message["blocks"][-1]["type"] == "actions"
        delete = shown[-1]
        assert delete["style"] == "danger" and delete["confirm"]["style"] == "danger"
        assert delete["confirm"]["confirm"]["text"] == "Delete"
    assert slack_fake.violations == []


async def test_a_drawing_shown_as_text_still_carries_its_buttons(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    slack_fake.fail("files.info", "file_not_found", times=1000)  # never says it is processed
    await slack.command("a windmill")
    await settle(easel, within=60)
    root = root_message(slack_fake)
    assert "Done: the image is in the thread" in block_text(root["blocks"])
    assert image_refs(root["blocks"]) == []
    assert [b["text"]["text"] for b in buttons(root)] == LABELS
    assert {b["value"] for b in buttons(root)} == {"1"}


async def test_redo_draws_the_same_prompt_from_the_originals_own_previous_response(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    thread = await drawn_and_replied(easel, slack, slack_fake)
    await press(slack, slack_fake, 2, Action.REDO)
    await settle(easel)

    _, reply, redo = openai_fake.requests
    ids = openai_fake.known_response_ids
    assert prompt_of(redo) == prompt_of(reply) == "make it stormy"
    assert redo["previous_response_id"] == reply["previous_response_id"] == ids[0]
    assert redo["tools"] == reply["tools"]
    assert_valid(openai_validator("CreateResponse"), redo)
    # A new message in the thread, showing the new image with buttons of its own.
    messages = thread_messages(slack_fake, thread)
    assert len(messages) == 2 and messages[-1] is drawing(slack_fake, 3)
    redo_png = openai_fake.images_sent[list(openai_fake.images_sent)[2]]
    [redone] = [f for f in slack_fake.files.values() if f.data == redo_png]
    assert redone.thread_ts == thread and image_refs(messages[-1]["blocks"]) == [redone.id]
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, thread))
    assert state is not None and state.last_response_id == ids[2]
    assert slack_fake.violations == []


async def test_redo_draws_again_from_the_original_attachments(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a cat")
    await settle(easel)
    thread = root_message(slack_fake)["ts"]
    photo = make_png((32, 24), seed=7, blur=0)
    shared = slack_fake.add_file(photo, "otter.png", CHANNEL)
    await slack.event(slack.reply_event(thread_ts=thread, text="add this otter", files=[shared]))
    await settle(easel)
    await press(slack, slack_fake, 2, Action.REDO)
    await settle(easel)

    reply, redo = openai_fake.requests[1:]
    assert images_of(redo) == images_of(reply) == [photo]
    assert slack_fake.downloads.count(shared["id"]) == 2  # fetched again from Slack
    assert prompt_of(redo) == "add this otter"
    assert_valid(openai_validator("CreateResponse"), redo)


async def test_vary_sends_the_image_with_the_threads_latest_response(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    thread = await drawn_and_replied(easel, slack, slack_fake)
    await press(slack, slack_fake, 1, Action.VARY)
    await settle(easel)

    vary = openai_fake.requests[-1]
    first_png = next(iter(openai_fake.images_sent.values()))
    assert prompt_of(vary) == VARY_PROMPT
    assert vary["previous_response_id"] == openai_fake.known_response_ids[1]
    assert images_of(vary) == [first_png]
    assert vary["tools"][0]["size"] == "1024x1024"  # the drawing's own size
    assert_valid(openai_validator("CreateResponse"), vary)
    assert len(thread_messages(slack_fake, thread)) == 2
    assert drawing(slack_fake, 3)["thread_ts"] == thread
    # People read what the button did, not easel's words to the image model.
    assert "Vary: a variation of this drawing" in drawing(slack_fake, 3)["text"]
    assert VARY_PROMPT not in str(drawing(slack_fake, 3))


async def test_bigger_redraws_the_image_at_the_workspaces_largest_size_in_its_shape(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(image_size=(1536, 1024)))
    await slack.command("a lighthouse")
    await settle(easel)
    await press(slack, slack_fake, 1, Action.BIGGER)
    await settle(easel)

    bigger = openai_fake.requests[-1]
    assert prompt_of(bigger) == BIGGER_PROMPT
    assert bigger["previous_response_id"] == openai_fake.known_response_ids[0]
    assert images_of(bigger) == [next(iter(openai_fake.images_sent.values()))]
    assert bigger["tools"][0]["size"] == "2336x1552"  # 3:2, within 2560x1440's pixels
    assert "input_fidelity" not in bigger["tools"][0]  # gpt-image-2 takes none
    assert_valid(openai_validator("CreateResponse"), bigger)
    assert "Bigger: this drawing redrawn at 2336x1552" in drawing(slack_fake, 2)["text"]

    # Where the workspace allows nothing larger, the presser is told so and nothing is drawn.
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id="UADMIN", texts={"largest_size": "1536x1024"}
    )
    await press(slack, slack_fake, 1, Action.BIGGER)
    [words] = await told(slack_fake, 1)
    assert "already as large as this workspace allows" in words
    await calm(easel, slack_fake)
    assert len(openai_fake.requests) == 2 and len(said_to(slack_fake)) == 1


async def test_the_same_press_sent_twice_draws_once(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    for _ in range(2):  # a replay of the same signed request: the same click
        await press(slack, slack_fake, 1, Action.VARY, action_ts="1800000000.000100")
    await calm(easel, slack_fake)
    assert len(openai_fake.requests) == 2
    assert said_to(slack_fake) == []


async def test_a_second_click_while_drawing_is_told_and_a_press_after_it_ended_draws_again(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    openai_fake.push(Script(delay=0.3, image_size=(1024, 1024)))  # a second or so
    await press(slack, slack_fake, 1, Action.REDO)
    await eventually(lambda: len(openai_fake.requests) == 2)
    await press(slack, slack_fake, 1, Action.REDO)
    assert await told(slack_fake, 1) == [ALREADY[Action.REDO]]
    await settle(easel)
    assert len(openai_fake.requests) == 2

    await press(slack, slack_fake, 1, Action.REDO)  # pressed on purpose, once it ended
    await settle(easel)
    assert len(openai_fake.requests) == 3
    assert prompt_of(openai_fake.requests[2]) == "a lighthouse"


async def test_bigger_asks_an_older_image_model_for_high_input_fidelity(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id="UADMIN", texts={"image_model": "gpt-image-1.5"}
    )
    openai_fake.push(Script(image_size=(768, 768)))
    await slack.command("a lighthouse")
    await settle(easel)
    await press(slack, slack_fake, 1, Action.BIGGER)
    await settle(easel)

    first, bigger = openai_fake.requests
    assert "input_fidelity" not in first["tools"][0]
    tool = bigger["tools"][0]
    assert (tool["model"], tool["size"], tool["input_fidelity"]) == (
        "gpt-image-1.5",
        "1024x1024",  # the largest square it draws
        "high",
    )
    assert images_of(bigger) == [next(iter(openai_fake.images_sent.values()))]
    assert_valid(openai_validator("CreateResponse"), bigger)


async def test_presses_that_draw_are_admitted_as_replies_are(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    thread = root_message(slack_fake)["ts"]

    async def refused(texts: dict[str, str], user: str, words: str) -> None:
        await easel.workspaces.change_settings("slack", TEAM, user_id="UADMIN", texts=texts)
        before = len(said_to(slack_fake, user))
        for action in (Action.REDO, Action.VARY, Action.BIGGER):
            await press(slack, slack_fake, 1, action, user=user)
        said = (await told(slack_fake, before + 3, user))[before:]
        assert len(said) == 3 and all(words in s for s in said), said

    await refused({"reply_policy": "starter"}, OTHER, "Only the person who started this")
    await refused({"daily_limit": "1"}, USER, "You have used today's 1 drawing")
    await refused({"daily_limit": "none", "enabled": "off"}, USER, "turned off in this workspace")
    await calm(easel, slack_fake)
    assert len(openai_fake.requests) == 1
    assert thread_messages(slack_fake, thread) == []
    where = {(e["channel"], e["thread_ts"]) for e in slack_fake.ephemerals}
    assert where == {(CHANNEL, None)}  # where the button was pressed: the thread's first

    # The starter presses Redo under the starter-only policy, once easel is on again.
    await easel.workspaces.change_settings("slack", TEAM, user_id="UADMIN", texts={"enabled": "on"})
    await press(slack, slack_fake, 1, Action.REDO)
    await settle(easel)
    assert len(openai_fake.requests) == 2 and len(thread_messages(slack_fake, thread)) == 1


async def test_edit_says_who_may_not_draw_there_before_its_form_opens(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id="UADMIN", texts={"reply_policy": "starter"}
    )
    await press(slack, slack_fake, 1, Action.EDIT, user=OTHER)
    [words] = await told(slack_fake, 1, OTHER)
    assert "Only the person who started this drawing" in words
    assert slack_fake.modals == []  # nobody types into a form for nothing
    await open_edit(slack, easel, slack_fake, 1)  # the starter's opens
    assert len(slack_fake.modals) == 1


async def test_every_button_works_after_a_restart(
    config: Config, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    async with running(config) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a lighthouse")
        await settle(easel)
        form = await open_edit(slack, easel, slack_fake, 1)  # opened before, sent after
        await slack.aclose()
    before = json.dumps(root_message(slack_fake)["blocks"])
    thread = root_message(slack_fake)["ts"]
    async with running(config) as easel:
        slack = SlackSender(port=easel.port)
        await press(slack, slack_fake, 1, Action.VARY)
        await settle(easel)
        await submit_edit(slack, form, "at night")
        await settle(easel)
        await press(slack, slack_fake, 1, Action.DELETE)
        await calm(easel, slack_fake)
        await slack.aclose()
        deleted = await easel.store.ledger.get(1)
    first = next(iter(openai_fake.images_sent.values()))
    _, vary, edit = openai_fake.requests
    ids = openai_fake.known_response_ids
    assert (prompt_of(vary), images_of(vary)) == (VARY_PROMPT, [first])
    assert (prompt_of(edit), edit["previous_response_id"]) == ("at night", ids[1])
    assert [drawing(slack_fake, t)["thread_ts"] for t in (2, 3)] == [thread, thread]
    # Delete removed the first drawing's message, its buttons as they were drawn before the
    # restart (a tombstone now: its thread goes on).
    assert [m["blocks"] for m in slack_fake.chat.deleted] == [json.loads(before)]
    assert slack_fake.messages[(CHANNEL, thread)]["subtype"] == "tombstone"
    assert (
        deleted is not None
        and deleted.deleted_by == USER
        and slack_fake.files[str(deleted.file_ref)].deleted
    )
    assert said_to(slack_fake) == []
