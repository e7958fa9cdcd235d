"""Admission: settings, channels, reply policy and quotas, decided before anything is posted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot import errors
from bot.models import DrawRequest
from bot.store.sqlite import SqliteStore
from bot.workspace.admission import USAGE_HINT
from tests.conftest import eventually
from tests.core.chat import Backend, Chat, ChatSurface, build, key, request


async def test_the_prompt_is_cleaned_once_and_drawn_shown_and_stored_the_same(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    turns, _ = build(store, backend, chat)
    built: list[str] = []

    def surface_for(admitted: DrawRequest) -> ChatSurface:
        built.append(admitted.prompt)
        return chat.surface_for(admitted)

    await turns.draw(request("  a\x00 lighthouse\x07 at dusk \n"), surface_for)
    await turns.join()
    assert built == ["a lighthouse at dusk"]
    assert backend.calls[0].prompt == "a lighthouse at dusk"
    [message] = chat.messages.values()
    [turn] = await store.ledger.turns(key(message.thread))
    assert turn["prompt"] == "a lighthouse at dusk"


@pytest.mark.parametrize("prompt", ["", "   ", "\x00\x01"])
async def test_an_empty_prompt_is_refused_before_anything_is_posted(
    store: SqliteStore, prompt: str
) -> None:
    chat, backend = Chat(), Backend()
    turns, _ = build(store, backend, chat)
    with pytest.raises(errors.BadInput) as refused:
        await turns.draw(request(prompt), chat.surface_for)
    assert refused.value.user_message == USAGE_HINT
    assert chat.messages == {} and backend.calls == []


@pytest.mark.parametrize(
    ("texts", "asked", "words"),
    [
        ({"enabled": "off"}, {}, "turned off in this workspace"),
        ({"channels": "C9"}, {}, "not turned on in this channel"),
        ({"daily_limit": "0"}, {}, "daily limit to 0"),
        ({"allowed_sizes": "square", "size": "square"}, {"size": "landscape"}, "sizes: square"),
    ],
)
async def test_workspace_settings_refuse_with_words_and_cost_nothing(
    store: SqliteStore, texts: dict[str, str], asked: dict[str, str], words: str
) -> None:
    chat, backend = Chat(), Backend()
    turns, workspaces = build(store, backend, chat)
    await workspaces.change_settings("test", "W1", user_id="ADMIN", texts=texts)
    with pytest.raises(errors.NotAllowed, match=words):
        await turns.draw(replace(request(), **asked), chat.surface_for)
    assert chat.messages == {} and backend.calls == []


async def test_only_the_starter_may_reply_when_the_policy_says_so(store: SqliteStore) -> None:
    chat, backend = Chat(), Backend()
    turns, workspaces = build(store, backend, chat)
    await workspaces.change_settings(
        "test", "W1", user_id="ADMIN", texts={"reply_policy": "starter"}
    )
    await turns.draw(request("a cat", user="U1"), chat.surface_for)
    await turns.join()
    [root_thread] = [m.thread for m in chat.messages.values()]
    with pytest.raises(errors.NotAllowed, match="Only the person who started"):
        await turns.draw(request("blue", thread=root_thread, user="U2"), chat.surface_for)
    await turns.draw(request("blue", thread=root_thread, user="U1"), chat.surface_for)
    await turns.join()
    assert [c.prompt for c in backend.calls] == ["a cat", "blue"]


async def test_drawings_in_progress_count_against_the_daily_limit_until_they_end(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    turns, workspaces = build(store, backend, chat)
    await workspaces.change_settings("test", "W1", user_id="ADMIN", texts={"daily_limit": "1"})
    backend.fail(errors.ServiceBusy())
    gate = backend.hold()
    await turns.draw(request("first"), chat.surface_for)
    await eventually(lambda: backend.calls)
    with pytest.raises(errors.NotAllowed, match="some still drawing"):
        await turns.draw(request("second"), chat.surface_for)
    gate.set()
    await turns.join()  # the first failed: it gives its place back and costs nothing
    await turns.draw(request("third"), chat.surface_for)
    await turns.join()
    with pytest.raises(errors.NotAllowed, match="used today's 1 drawing"):
        await turns.draw(request("fourth"), chat.surface_for)
    assert [c.prompt for c in backend.calls] == ["first", "third"]


async def test_a_refusal_that_comes_after_admission_gives_the_place_back(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    turns, workspaces = build(store, backend, chat)
    await workspaces.change_settings("test", "W1", user_id="ADMIN", texts={"daily_limit": "1"})
    chat.refuse_start = errors.DeliveryFailed("easel is not in this channel yet.")
    await turns.draw(request("first"), chat.surface_for)
    await turns.join()
    assert chat.notices == ["easel is not in this channel yet."]
    chat.refuse_start = None
    await turns.draw(request("second"), chat.surface_for)
    await turns.join()
    assert [c.prompt for c in backend.calls] == ["second"]
