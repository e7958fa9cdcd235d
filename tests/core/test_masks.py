"""Region edits in the core: which attachment is the mask, which image it marks, and the
masks refused in words before anything is paid."""

from __future__ import annotations

import io

import pytest

from bot.models import Action, InputImage
from bot.store.sqlite import SqliteStore
from bot.turns.inputs import MARKED_GONE
from bot.turns.masks import is_mask_name
from tests.core.chat import Core, core


def png(size: tuple[int, int], *, hole: bool = True, mode: str = "RGBA") -> bytes:
    """An opaque PNG of `size`; with `hole`, its top-left quarter transparent."""
    from PIL import Image

    image = Image.new(mode, size, (0, 0, 0, 255) if mode == "RGBA" else (0, 0, 0))
    if hole:
        image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def attach(name: str, data: bytes) -> InputImage:
    return InputImage(data=data, mime_type="image/png", name=name)


PHOTO = attach("photo.png", png((1024, 1024), hole=False, mode="RGB"))


async def _reply(c: Core, thread: str, prompt: str, *attached: InputImage) -> None:
    await c.draw(prompt, thread=thread, dedupe=f"reply:{prompt}", attached=attached)
    await c.turns.join()


@pytest.mark.parametrize(
    ("name", "is_mask"),
    [
        ("mask.png", True),
        ("MASK.PNG", True),
        ("cat-mask.png", True),
        ("cat_mask.png", True),
        ("mask.jpg", False),
        ("unmask.png", False),
        ("masked.png", False),
    ],
)
def test_which_names_make_a_mask(name: str, is_mask: bool) -> None:
    assert is_mask_name(name) is is_mask


async def test_a_mask_beside_an_image_goes_as_the_tools_mask(store: SqliteStore) -> None:
    c = core(store)
    mask = attach("mask.png", png((1024, 1024)))
    await c.draw("a hat on the cat", attached=(PHOTO, mask))
    await c.turns.join()
    [call] = c.backend.calls
    assert [i.name for i in call.images] == ["photo.png"]
    assert call.mask is not None and call.mask.data == mask.data and call.mask.mask


async def test_a_mask_alone_in_a_thread_marks_its_last_image(store: SqliteStore) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    await _reply(c, thread, "mask: a red hat", attach("brush.png", png((1024, 1024))))
    call = c.backend.calls[-1]
    assert call.prompt == "a red hat"  # `mask:` said which PNG is the mask
    assert call.previous_response_id == "resp_1"
    assert [i.data for i in call.images] == [c.backend.finals[0]]
    assert call.mask is not None and call.mask.name == "brush.png"


async def test_redo_of_a_mask_alone_marks_the_image_the_original_marked(
    store: SqliteStore,
) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    brush = attach("brush.png", png((1024, 1024)))
    await _reply(c, thread, "mask: a red hat", brush)
    await _reply(c, thread, "make it night")  # the thread's last image is now the third
    await c.press(Action.REDO, 2, attached=(brush,))
    await c.turns.join()
    redo = c.backend.calls[-1]
    assert (redo.prompt, redo.previous_response_id) == ("a red hat", "resp_1")
    assert [i.data for i in redo.images] == [c.backend.finals[0]]  # not the night one
    assert redo.mask is not None and redo.mask.data == brush.data

    # With the image it marked deleted, the Redo says so and draws nothing.
    await c.press(Action.DELETE, 1)
    await c.press(Action.REDO, 2, attached=(brush,))
    await c.turns.join()
    assert len(c.backend.calls) == 4
    last = list(c.chat.messages.values())[-1]
    assert last.shows == f"failed: {MARKED_GONE}"


@pytest.mark.parametrize(
    ("mask", "words"),
    [
        (png((512, 512)), "is 512x512, but the image it marks is 1024x1024"),
        (png((1024, 1024), hole=False), "has no transparent pixel"),
        (png((1024, 1024), hole=False, mode="RGB"), "has no transparent pixel"),
    ],
)
async def test_a_mask_that_cannot_mark_the_image_is_refused_before_anything_is_paid(
    store: SqliteStore, mask: bytes, words: str
) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    await _reply(c, thread, "a red hat", attach("mask.png", mask))
    assert len(c.backend.calls) == 1, "nothing was sent to the image service"
    shown = list(c.chat.messages.values())[-1].shows
    assert shown.startswith("failed: The mask mask.png") and words in shown


async def test_a_mask_with_nothing_to_mark_says_what_to_attach(store: SqliteStore) -> None:
    c = core(store)
    await c.draw("a red hat", attached=(attach("mask.png", png((1024, 1024))),))
    await c.turns.join()
    assert c.backend.calls == []
    [message] = c.chat.messages.values()
    assert message.shows.startswith("failed: A mask marks a region of an image")
