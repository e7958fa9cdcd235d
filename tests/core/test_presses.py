"""The buttons under a finished drawing, in the core: Redo, Vary, Bigger, Edit and Delete.

What each sends to the image service, where its turn goes, who may press it, and that a press
draws once (a repeated interaction, a double click) but again when pressed after it ended."""

from __future__ import annotations

import asyncio

import pytest

from bot import errors
from bot.models import Action, ImageOptions
from bot.store.sqlite import SqliteStore
from bot.turns.inputs import BIGGER_PROMPT, VARY_PROMPT
from bot.turns.presses import ALREADY, Press
from tests.core.chat import Core, core, key, request
from tests.waiting import eventually


async def _reply(c: Core, thread: str, prompt: str) -> None:
    await c.draw(prompt, thread=thread, dedupe=f"reply:{prompt}")
    await c.turns.join()


def _buttons(c: Core) -> list[int | None]:
    return [m.buttons for m in c.chat.messages.values()]


async def test_every_finished_drawing_shows_buttons_for_its_own_turn(store: SqliteStore) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    await _reply(c, thread, "make it blue")
    assert _buttons(c) == [1, 2]


async def test_redo_draws_the_same_prompt_again_from_the_same_point_as_a_new_turn(
    store: SqliteStore,
) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    await _reply(c, thread, "make it blue")
    await c.press(Action.REDO, 2)
    await c.turns.join()
    redo = c.backend.calls[-1]
    assert (redo.prompt, redo.previous_response_id) == ("make it blue", "resp_1")
    assert [m.thread for m in c.chat.messages.values()] == [thread] * 3  # its own message
    assert _buttons(c) == [1, 2, 3]
    [*_, stored] = await store.ledger.turns(key(thread))
    assert (stored["action"], stored["origin"], stored["status"]) == ("redo", 2, "delivered")
    state = await store.threads.get(key(thread))
    assert state is not None and state.last_response_id == "resp_3"  # the thread goes on


async def test_redo_of_a_first_drawing_draws_it_fresh_with_its_own_size_and_quality(
    store: SqliteStore,
) -> None:
    c = core(store)
    await c.drawn("a cat")
    await c.press(Action.REDO, 1)
    await c.turns.join()
    first, redo = c.backend.calls
    assert (redo.prompt, redo.previous_response_id) == ("a cat", None)
    assert redo.options is not None and first.options is not None
    assert (redo.options.size, redo.options.quality) == (first.options.size, first.options.quality)


async def test_a_button_draws_once_while_its_drawing_runs_and_again_after_it_ended(
    store: SqliteStore,
) -> None:
    c = core(store)
    await c.drawn("a cat")
    gate = c.backend.hold()
    await c.press(Action.REDO, 1, interaction="click-1")
    await asyncio.wait_for(c.backend.started.wait(), 5)
    with pytest.raises(errors.BadInput) as refused:
        await c.press(Action.REDO, 1, interaction="click-2")
    assert refused.value.user_message == ALREADY[Action.REDO]
    await c.press(Action.REDO, 1, interaction="click-1")  # the platform sent it again: nothing
    gate.set()
    await c.turns.join()
    assert len(c.backend.calls) == 2
    await c.press(Action.REDO, 1, interaction="click-3")  # pressed on purpose, once it ended
    await c.turns.join()
    assert len(c.backend.calls) == 3


async def test_a_double_click_draws_once(store: SqliteStore) -> None:
    c = core(store)
    await c.drawn("a cat")
    outcomes = await asyncio.gather(
        c.press(Action.VARY, 1, interaction="a"),
        c.press(Action.VARY, 1, interaction="b"),
        return_exceptions=True,
    )
    await c.turns.join()
    refused = [o for o in outcomes if isinstance(o, errors.BadInput)]
    assert len(refused) == 1 and refused[0].user_message == ALREADY[Action.VARY]
    assert len(c.backend.calls) == 2


async def test_vary_sends_the_image_with_the_threads_context(store: SqliteStore) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    await _reply(c, thread, "make it blue")
    await c.press(Action.VARY, 1)
    await c.turns.join()
    vary = c.backend.calls[-1]
    assert (vary.prompt, vary.previous_response_id) == (VARY_PROMPT, "resp_2")
    assert [i.data for i in vary.images] == [c.backend.finals[0]]
    assert vary.options is not None and vary.options.size == "1024x1024"  # its own size


async def test_bigger_redraws_from_itself_at_the_largest_size_in_its_shape(
    store: SqliteStore,
) -> None:
    c = core(store)
    c.backend.size = (1536, 1024)
    thread = await c.drawn("a cat")
    await _reply(c, thread, "make it blue")
    await c.press(Action.BIGGER, 1)
    await c.turns.join()
    bigger = c.backend.calls[-1]
    assert (bigger.prompt, bigger.previous_response_id) == (BIGGER_PROMPT, "resp_1")
    assert [i.data for i in bigger.images] == [c.backend.finals[0]]
    assert bigger.options is not None
    assert bigger.options.size == "2336x1552"  # 3:2 within 2560x1440's pixels
    assert bigger.options.input_fidelity is None  # gpt-image-2 takes no input_fidelity


async def test_bigger_asks_high_fidelity_of_an_older_image_model_and_says_when_it_cannot(
    store: SqliteStore,
) -> None:
    c = core(store, defaults=ImageOptions(image_model="gpt-image-1.5"))
    c.backend.size = (768, 768)
    await c.drawn("a cat")
    c.backend.size = (1024, 1024)  # what the image service makes of it
    await c.press(Action.BIGGER, 1)
    await c.turns.join()
    bigger = c.backend.calls[-1].options
    assert bigger is not None and (bigger.size, bigger.input_fidelity) == ("1024x1024", "high")
    with pytest.raises(errors.NotAllowed, match="1024x1024, already as large as this workspace"):
        await c.press(Action.BIGGER, 2)  # the largest square it takes


async def test_edit_makes_what_was_typed_the_threads_next_turn(store: SqliteStore) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    with pytest.raises(errors.BadInput, match="Type what to change"):
        await c.press(Action.EDIT, 1, text="  ")
    await c.press(Action.EDIT, 1, text="make it red")
    await c.turns.join()
    edit = c.backend.calls[-1]
    assert (edit.prompt, edit.previous_response_id) == ("make it red", "resp_1")
    assert [m.thread for m in c.chat.messages.values()] == [thread, thread]


async def test_delete_removes_the_drawing_keeps_it_counted_and_rewinds_the_thread(
    store: SqliteStore,
) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    await _reply(c, thread, "make it blue")
    await c.press(Action.DELETE, 2)
    assert [m.buttons for m in c.chat.messages.values()] == [1]  # its message is gone
    assert list(c.chat.files) == ["F1"]  # and its file
    [_, deleted] = await store.ledger.turns(key(thread))
    assert (deleted["status"], deleted["deleted_by"]) == ("delivered", "U1")
    assert await store.usage.delivered_count("test", "W1", "U1", since=0) == 2  # paid for
    await _reply(c, thread, "make it green")
    assert c.backend.calls[-1].previous_response_id == "resp_1"  # the last image not deleted


async def test_deleting_a_threads_only_image_lets_it_start_over(store: SqliteStore) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    await c.press(Action.DELETE, 1)
    assert await store.threads.get(key(thread)) is None
    await _reply(c, thread, "a dog instead")
    assert c.backend.calls[-1].previous_response_id is None


async def test_only_the_asker_or_an_admin_may_delete(store: SqliteStore) -> None:
    c = core(store)
    await c.drawn("a cat")
    with pytest.raises(errors.NotAllowed) as refused:
        await c.press(Action.DELETE, 1, user="U2")
    assert "Only <@U1>, who asked for this drawing, or an admin" in refused.value.user_message
    assert len(c.chat.messages) == 1
    await c.press(Action.DELETE, 1, user="U3", admin=True)
    assert c.chat.messages == {}


async def test_presses_on_a_deleted_drawing_or_from_another_workspace_are_refused_in_words(
    store: SqliteStore,
) -> None:
    c = core(store)
    await c.drawn("a cat")
    with pytest.raises(errors.BadInput, match="cannot find that drawing"):
        await c.press(Action.REDO, 1, workspace="W2")
    with pytest.raises(errors.BadInput, match="cannot find that drawing"):
        await c.press(Action.VARY, 99)
    await c.press(Action.DELETE, 1)
    for action in (Action.REDO, Action.VARY, Action.BIGGER, Action.EDIT):
        with pytest.raises(errors.BadInput, match="That drawing was deleted"):
            await c.press(action, 1, text="x")
    assert len(c.backend.calls) == 1


async def test_a_delete_the_platform_did_not_take_is_done_by_pressing_again(
    store: SqliteStore,
) -> None:
    c = core(store)
    await c.drawn("a cat")
    c.chat.erase_failures.append(errors.ChatUnavailable("Slack is not answering"))
    with pytest.raises(errors.ChatUnavailable):
        await c.press(Action.DELETE, 1)
    assert len(c.chat.messages) == 1
    await c.press(Action.DELETE, 1)
    assert c.chat.messages == {} and c.chat.files == {}


async def _starter_only(store: SqliteStore) -> Core:
    """A drawing by U1 in a workspace where only a thread's starter may draw in it."""
    c = core(store)
    await c.drawn("a cat")
    await c.workspaces.change_settings(
        "test", "W1", user_id="ADMIN", texts={"reply_policy": "starter"}
    )
    return c


async def test_a_press_goes_through_admission_like_a_reply(store: SqliteStore) -> None:
    c = await _starter_only(store)
    with pytest.raises(errors.NotAllowed, match="Only the person who started this drawing"):
        await c.press(Action.REDO, 1, user="U2")
    await c.press(Action.REDO, 1, user="U1")
    await c.turns.join()
    assert len(c.backend.calls) == 2


async def test_edits_form_is_refused_before_it_opens_to_whoever_may_not_draw_there(
    store: SqliteStore,
) -> None:
    c = await _starter_only(store)

    def opening(user: str) -> Press:  # Edit pressed: its form is about to open
        return Press(
            Action.EDIT, 1, platform="test", workspace="W1", user_id=user, interaction=user
        )

    with pytest.raises(errors.NotAllowed, match="Only the person who started this drawing"):
        await c.turns.presses.drawing(opening("U2"))
    assert (await c.turns.presses.drawing(opening("U1"))).id == 1
    await c.workspaces.change_settings("test", "W1", user_id="ADMIN", texts={"enabled": "off"})
    with pytest.raises(errors.NotAllowed, match="turned off"):
        await c.turns.presses.drawing(opening("U1"))
    assert len(c.backend.calls) == 1


async def test_a_press_while_the_thread_draws_queues_like_a_reply(store: SqliteStore) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    gate = c.backend.hold()
    await c.turns.draw(request("make it blue", thread=thread, dedupe="r"), c.chat.surface_for)
    await c.press(Action.VARY, 1)
    await eventually(lambda: list(c.chat.messages.values())[-1].shows == "waiting")
    assert len(c.backend.calls) == 2  # the reply draws; the press waits its turn
    gate.set()
    await c.turns.join()
    assert c.backend.calls[-1].previous_response_id == "resp_2"
