"""The bad-input catalogue: what people (and forgers) may send easel that it must refuse.

CATALOGUE below is the whole list: what is sent, on which routes, and what must come back.
Each row runs on every route where its input makes sense (Slack's /draw and thread replies,
its signed HTTP endpoint and settings form; Discord's /draw, thread replies and settings)
against the fake OpenAI, Slack and Discord servers. Besides the words people see, every row
checks that nothing was started or paid for (no request reached OpenAI, no turn was stored,
no placeholder was posted, no file was fetched that should not have been), that no setting
changed, and that the next request is drawn as usual: in a thread, from its last image.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from bot.models import Action
from bot.turns.inputs import GONE
from bot.turns.presses import DELETED
from bot.workspace.admission import USAGE_HINT
from tests.chats import Chat, DiscordChat, File, OutsideHost, SlackChat, all_turns
from tests.conftest import eventually, settle
from tests.fakes.openai_server import FakeOpenAI, make_png
from tests.test_images import _blank_png

SLACK_DRAW, SLACK_REPLY = "slack-draw", "slack-reply"
DISCORD_DRAW, DISCORD_REPLY = "discord-draw", "discord-reply"
PROMPTS = (SLACK_DRAW, SLACK_REPLY, DISCORD_DRAW, DISCORD_REPLY)
DRAWS = (SLACK_DRAW, DISCORD_DRAW)
REPLIES = (SLACK_REPLY, DISCORD_REPLY)
# Slack's /draw takes no files, so files arrive in thread replies; Discord's /draw has `image`.
ATTACHING = (SLACK_REPLY, DISCORD_REPLY, DISCORD_DRAW)
PRESSES = ("slack-press", "discord-press")  # the buttons under a finished drawing


# -- what is sent ------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    text: str


@dataclass(frozen=True)
class SlackBytes:
    """A /draw whose form body carries `text` as these bytes: percent-encoded, as a form
    encoder writes any byte, or raw in the body; signed correctly either way."""

    text: bytes
    raw: bool = False


@dataclass(frozen=True)
class Attach:
    files: tuple[File, ...]
    prompt: str = "use this"


@dataclass(frozen=True)
class Forged:
    how: str  # bad-signature, no-signature, stale-timestamp


@dataclass(frozen=True)
class Elsewhere:
    where: str  # thread: a thread easel did not start; top-level: no thread at all


@dataclass(frozen=True)
class SettingsByMember:
    """A settings change by someone who may not make it (not an admin, no Manage Server)."""


@dataclass(frozen=True)
class Pressed:
    """A button pressed under the thread's drawing: by someone other than its asker, on a
    drawing deleted before, or forged as from another workspace (another Discord server; on
    Slack, not signed by Slack)."""

    action: Action
    by_other: bool = False
    on_deleted: bool = False
    forged: bool = False


Send = Prompt | SlackBytes | Attach | Forged | Elsewhere | SettingsByMember | Pressed


# -- what must come back -----------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """Said in the chat ({platform} reads Slack or Discord). Refusals that need the file's
    bytes come once they are read, inside the turn, in the turn's own message; the rest come
    before anything is posted or stored."""

    words: tuple[str, ...]
    after_reading: bool = False


@dataclass(frozen=True)
class Drawn:
    prompt: str  # what OpenAI is asked to draw: the input, cleaned


@dataclass(frozen=True)
class Status:
    code: int


@dataclass(frozen=True)
class Ignored:
    """Not for easel: no words, no drawing."""


Expect = Refused | Drawn | Status | Ignored


@dataclass(frozen=True)
class Row:
    entry: int
    name: str
    routes: tuple[str, ...]
    send: Send
    expect: Expect


# -- inputs ------------------------------------------------------------------------------


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def sixty_mb() -> bytes:
    """A real 60 MB file: a PNG followed by 60 MB of zeros (no image checker reads that far)."""
    return PNG + bytes(60 * 2**20 - len(PNG))


def bomb() -> bytes:
    """A valid PNG of 40000x40000 black pixels (1.6 gigapixels) in under 200 KB."""
    return _blank_png(40_000, 40_000)


def mask(size: tuple[int, int], *, hole: bool = True) -> bytes:
    """A mask: opaque, with a transparent corner (the region to change) unless not `hole`."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        image.putpixel((0, 0), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


PNG = make_png((8, 8), seed=2, blur=0)
EMPTY = USAGE_HINT
# What must never be shown back: control characters, lone surrogates, undecodable bytes' mark.
UNSHOWABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffd]")


CATALOGUE: list[Row] = [
    # 1-4: the prompt
    Row(1, "empty-prompt", PROMPTS, Prompt(""), Refused((EMPTY,))),
    Row(2, "whitespace-only-prompt", PROMPTS, Prompt(" \t\n \u3000 "), Refused((EMPTY,))),
    Row(
        3,
        "100000-character-prompt",
        PROMPTS,
        Prompt("a" * 100_000),
        Refused(("That prompt is 100,000 characters long", "easel takes up to 32,000")),
    ),
    Row(3, "prompt-one-over-the-limit", DRAWS, Prompt("a" * 32_001), Refused(("32,000",))),
    Row(
        4,
        "control-characters-are-stripped-and-the-words-drawn",
        PROMPTS,
        Prompt("\x00a \x07cat\x1b\x7f"),
        Drawn("a cat"),
    ),
    Row(
        4,
        "a-prompt-of-only-control-characters-is-refused-as-empty",
        PROMPTS,
        Prompt("\x00\x01\x07\x1b\x7f"),
        Refused((EMPTY,)),
    ),
    Row(
        4,
        "lone-surrogates-are-stripped-and-the-words-drawn",
        (SLACK_REPLY, DISCORD_DRAW, DISCORD_REPLY),  # JSON carries them; a form body cannot
        Prompt("\ud800a cat\udfff"),
        Drawn("a cat"),
    ),
    Row(
        4,
        "bytes-not-utf8-and-control-characters-are-stripped-and-the-words-drawn",
        (SLACK_DRAW,),
        SlackBytes(b"a \xff\xfe\x00cat\x07"),
        Drawn("a cat"),
    ),
    Row(
        4,
        "bytes-not-utf8-only-are-refused-as-empty",
        (SLACK_DRAW,),
        SlackBytes(b"\xff\xfe\xc0\x00\x07"),
        Refused((EMPTY,)),
    ),
    Row(
        4,
        "raw-bytes-not-utf8-in-the-signed-body-are-refused-with-400",
        (SLACK_DRAW,),
        SlackBytes(b"a \xff\xfe cat", raw=True),
        Status(400),
    ),
    # 5-11: what is attached
    Row(
        5,
        "fifty-attachments",
        REPLIES,
        Attach(tuple(File(f"sketch-{n}.png", PNG) for n in range(50))),
        Refused(("That message has 50 files", "up to 8 images")),
    ),
    Row(
        6,
        "zero-byte-file",
        ATTACHING,
        Attach((File("empty.png", b"", "image/png"),)),
        Refused(("empty.png is empty",)),
    ),
    Row(
        7,
        "text-file-renamed-png",
        ATTACHING,
        Attach((File("cat.png", b"not really a png\n", "image/png"),)),
        Refused(("cat.png is not an image easel can read",), after_reading=True),
    ),
    Row(
        7,
        "text-file-by-its-type",
        ATTACHING,
        Attach((File("notes.txt", b"just some notes\n", "text/plain"),)),
        Refused(("notes.txt is not an image",)),
    ),
    Row(
        8,
        "sixty-mb-image-refused-before-download",
        ATTACHING,
        Attach((File("huge.png", sixty_mb),)),
        Refused(("huge.png is 60 MB", "up to 20 MB")),
    ),
    Row(
        9,
        "decompression-bomb",
        ATTACHING,
        Attach((File("bomb.png", bomb),)),
        Refused(("bomb.png is 1,600,000,000 pixels", "50 megapixels"), after_reading=True),
    ),
    Row(
        10,
        "animated-gif",
        ATTACHING,
        Attach((File("party.gif", animated_gif),)),
        Refused(("party.gif is animated", "still images"), after_reading=True),
    ),
    Row(
        11,
        "attachment-outside-the-platforms-file-hosts",
        ATTACHING,
        Attach((File("elsewhere.png", PNG, outside=True),)),
        Refused(("elsewhere.png is not stored on {platform}",)),
    ),
    Row(
        11,
        "mask-of-another-size-than-its-image",
        REPLIES,
        Attach((File("photo.png", PNG), File("mask.png", mask((16, 16))))),
        Refused(("The mask mask.png is 16x16, but the image it marks is 8x8",), after_reading=True),
    ),
    Row(
        11,
        "mask-with-no-transparent-pixel",
        REPLIES,
        Attach((File("photo.png", PNG), File("photo_mask.png", mask((8, 8), hole=False)))),
        Refused(("The mask photo_mask.png has no transparent pixel",), after_reading=True),
    ),
    # 12-14: requests that are not Slack's
    Row(12, "bad-signature", ("slack-http",), Forged("bad-signature"), Status(401)),
    Row(13, "missing-signature", ("slack-http",), Forged("no-signature"), Status(401)),
    Row(14, "replayed-stale-timestamp", ("slack-http",), Forged("stale-timestamp"), Status(401)),
    # 15: messages that are not for easel
    Row(15, "reply-in-a-thread-easel-did-not-start", REPLIES, Elsewhere("thread"), Ignored()),
    Row(15, "message-outside-any-thread", REPLIES, Elsewhere("top-level"), Ignored()),
    # 16-17: settings changed by someone who may not
    Row(
        16,
        "settings-form-submitted-by-a-non-admin",
        ("slack-settings",),
        SettingsByMember(),
        Refused(("Only workspace admins",)),
    ),
    Row(
        17,
        "settings-set-by-a-member-without-manage-server",
        ("discord-settings",),
        SettingsByMember(),
        Refused(("Manage Server",)),
    ),
    # 18-20: the buttons under a drawing, pressed by whoever should not, or on nothing
    Row(
        18,
        "forged-press-from-another-workspace",
        ("slack-press",),
        Pressed(Action.REDO, forged=True),
        Status(401),
    ),
    Row(
        18,
        "press-from-another-server",
        ("discord-press",),
        Pressed(Action.REDO, forged=True),
        Refused((GONE,)),
    ),
    Row(
        19,
        "press-on-a-deleted-drawing",
        PRESSES,
        Pressed(Action.VARY, on_deleted=True),
        Refused((DELETED,)),
    ),
    Row(
        20,
        "delete-by-someone-else",
        PRESSES,
        Pressed(Action.DELETE, by_other=True),
        Refused(("who asked for this drawing, or an admin",)),
    ),
]


# -- the test ----------------------------------------------------------------------------


@pytest.fixture
async def outside() -> AsyncIterator[OutsideHost]:
    async with OutsideHost() as host:
        yield host


@pytest.fixture
def chat(request: pytest.FixtureRequest, openai_fake: FakeOpenAI, outside: OutsideHost) -> Chat:
    """easel on the row's platform (and only that one), wrapped as a Chat for the route."""
    route: str = request.node.callspec.params["route"]
    common: dict[str, Any] = {"route": route, "openai": openai_fake, "outside": outside}
    if route.startswith("slack"):
        return SlackChat(
            sender=request.getfixturevalue("slack"),
            fake=request.getfixturevalue("slack_fake"),
            runtime=request.getfixturevalue("easel"),
            **common,
        )
    return DiscordChat(
        fake=request.getfixturevalue("discord_fake"),
        runtime=request.getfixturevalue("easel_discord"),
        **common,
    )


async def send(chat: Chat, what: Send) -> None:
    draws = chat.route in DRAWS
    match what:
        case Prompt(text):
            await (chat.draw(text) if draws else chat.reply(text))
        case Attach(files, prompt):
            await (chat.draw(prompt, files) if draws else chat.reply(prompt, files))
        case SlackBytes(text, raw):
            assert isinstance(chat, SlackChat)
            await chat.draw_bytes(text, raw=raw)
        case Forged(how):
            assert isinstance(chat, SlackChat)
            await chat.forge(how)
        case Elsewhere(where):
            await chat.elsewhere(where)
        case SettingsByMember():
            await chat.member_changes_settings()
        case Pressed(action, by_other, _, forged):
            await chat.press(action, by_other=by_other, forged=forged)


ROWS = [
    pytest.param(row, route, id=f"{row.entry:02d}-{row.name}-{route}")
    for row in CATALOGUE
    for route in row.routes
]


@pytest.mark.parametrize(("row", "route"), ROWS)
async def test_bad_input(row: Row, route: str, chat: Chat, outside: OutsideHost) -> None:
    await chat.open()
    if isinstance(row.send, Pressed) and row.send.on_deleted:
        await chat.delete_drawing()
    store, openai = chat.runtime.store, chat.openai
    asked, turns = len(openai.requests), await all_turns(store)
    last = await last_response(chat)

    await send(chat, row.send)
    await settle(chat.runtime)
    new_turns = (await all_turns(store))[len(turns) :]
    match row.expect:
        case Refused(words, after_reading):
            await said(
                chat, [w.format(platform=chat.platform) for w in words], once=not after_reading
            )
            nothing_paid_for(chat, asked)
            # Refused once the bytes were read: in the turn's own message, the turn marked failed.
            assert new_turns == ([("failed", "attachment_rejected")] if after_reading else [])
            assert chat.placeholders() == int(after_reading)
            assert chat.fetched() == after_reading
        case Drawn(prompt):
            assert len(openai.requests) == asked + 1
            assert openai.requests[-1]["input"][0]["content"][0]["text"] == prompt
            assert new_turns == [("delivered", None)] and chat.placeholders() == 1
            told = chat.told()
            assert prompt in told and not UNSHOWABLE.search(told), told  # shown cleaned too
            asked, last = asked + 1, await last_response(chat)
        case Status(code):
            assert chat.status == code, chat.told()
            nothing_paid_for(chat, asked)
            assert new_turns == [] and chat.placeholders() == 0
        case Ignored():
            await chat.draw_again()  # handled after the ignored message: nothing came of that
            assert chat.told(outside_thread=True) == ""
            assert len(openai.requests) == asked + 1 and chat.placeholders() == 1
            assert openai.requests[-1]["previous_response_id"] == last
            return
    assert outside.requests == []
    await nothing_lost(chat, asked=asked, last=last)


async def last_response(chat: Chat) -> str | None:
    """The response the thread goes on from (None: no thread, or none left)."""
    if chat.thread is None:
        return None
    state = await chat.runtime.store.threads.get(chat.thread)
    return state.last_response_id if state is not None else None


async def said(chat: Chat, words: list[str], *, once: bool) -> None:
    """Each of `words` was said to the person (`once`: in one answer, not repeated)."""
    with contextlib.suppress(TimeoutError):  # a refusal may land just after a turn ends
        await eventually(lambda: all(w in chat.told() for w in words), within=5)
    told = chat.told()
    for w in words:
        assert w in told, told
    assert told.count(words[0]) == 1 or not once, told


def nothing_paid_for(chat: Chat, asked: int) -> None:
    assert len(chat.openai.requests) == asked, "no request may reach OpenAI"
    assert chat.images_sent() == 0 and chat.threads_opened() == 0


async def nothing_lost(chat: Chat, *, asked: int, last: str | None) -> None:
    """The thread is where it was and the settings are as they were: the next request is
    drawn as usual, in a thread from its last delivered image."""
    store, openai = chat.runtime.store, chat.openai
    assert await last_response(chat) == last
    platform = chat.platform.lower()
    assert await store.settings.overrides(platform, chat.workspace) == {}
    assert await store.settings.audit(platform, chat.workspace) == []
    await chat.draw_again()
    assert len(openai.requests) == asked + 1
    assert openai.requests[-1].get("previous_response_id") == last
    assert openai.requests[-1]["tools"][0]["size"] == "auto"
