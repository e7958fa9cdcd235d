"""What one turn draws from: its prompt, the response it continues, its images and mask.

    a /draw            its words and attachments, from nothing before
    a reply, Edit      the thread's last response, with the reply's attachments
    Redo               the drawing's own previous response and attachments, its prompt again
    Vary               the thread's last response, with the drawing as the input image
    Bigger             the drawing's own response, with itself as the input image

A mask marks a region of the first image (or, with none attached, of the thread's last one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot import errors
from bot.models import Action, DrawRequest, InputImage, StoredTurn, ThreadState
from bot.ports import Drawings, Inputs, Ledger, Threads
from bot.turns.masks import NEEDS_IMAGE, check_mask, split_mask

log = logging.getLogger(__name__)

GONE = "easel cannot find that drawing any more."
VARY_PROMPT = (
    "Draw a variation of this image: keep its subject, style and mood, and change the "
    "composition and the details."
)
BIGGER_PROMPT = (
    "Redraw this image at the new, larger size. Keep everything in it the same: the "
    "composition, subjects, colors, style and details."
)
MARKED_GONE = "The image that drawing's mask marked was deleted, so it cannot be drawn again."


@dataclass(frozen=True, slots=True)
class Plan:
    prompt: str
    previous: str | None  # previous_response_id
    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    # When the previous response has expired at OpenAI: draw on the thread's last image
    # (fetched then) or, with None, on the images alone.
    last_file: str | None = None

    def described(self) -> dict[str, Any]:
        """For the log: what the turn draws from, without its bytes."""
        return {
            "previous": self.previous,
            "images": [image.name for image in self.images],
            "mask": self.mask.name if self.mask else None,
        }


async def plan(
    request: DrawRequest,
    attached: tuple[InputImage, ...],
    *,
    threads: Threads,
    ledger: Ledger,
    drawings: Drawings,
    inputs: Inputs,
) -> Plan:
    """The turn's plan; BadInput (with words) before anything is paid when it cannot be."""
    key = request.thread_key
    state = await threads.get(key) if key is not None else None
    images, mask, prompt = split_mask(attached, request.prompt)
    found = await _plan(request, prompt, images, state, ledger=ledger, inputs=inputs)
    if mask is None:
        return found
    if not found.images:
        marked = await _marked(request, found.previous, state, drawings)
        found = Plan(found.prompt, found.previous, (await inputs.fetch_image(marked),))
    await check_mask(mask, found.images[0])
    return Plan(found.prompt, found.previous, found.images, mask, found.last_file)


async def _marked(
    request: DrawRequest, previous: str | None, state: ThreadState | None, drawings: Drawings
) -> str:
    """The image a mask sent alone marks: the thread's last one, or for Redo the one the
    original marked (the image of the response it continued)."""
    key = request.thread_key
    if request.action is not Action.REDO:
        marked = state.last_file_ref if state is not None else None
    elif key is not None and previous is not None:
        marked = await drawings.image_of(key, previous)
        if marked is None:
            raise errors.BadInput(MARKED_GONE)
    else:
        marked = None
    if marked is None:
        raise errors.AttachmentRejected(NEEDS_IMAGE)
    return marked


async def _plan(
    request: DrawRequest,
    prompt: str,
    images: tuple[InputImage, ...],
    state: ThreadState | None,
    *,
    ledger: Ledger,
    inputs: Inputs,
) -> Plan:
    previous = state.last_response_id if state is not None else None
    if request.action not in (Action.REDO, Action.VARY, Action.BIGGER):
        return Plan(prompt, previous, images, last_file=state.last_file_ref if state else None)
    origin = await _origin(request, ledger)
    if request.action is Action.REDO:
        return Plan(prompt, origin.drawn_from, images)
    assert origin.file_ref is not None  # _origin checks
    drawn = await inputs.fetch_image(origin.file_ref)
    if request.action is Action.VARY:
        return Plan(prompt, previous, (drawn, *images))
    return Plan(prompt, origin.response_id, (drawn, *images))


async def _origin(request: DrawRequest, ledger: Ledger) -> StoredTurn:
    origin = await ledger.get(request.origin) if request.origin is not None else None
    if origin is None or origin.file_ref is None or origin.response_id is None:
        raise errors.BadInput(GONE)
    if origin.deleted:
        raise errors.BadInput("That drawing was deleted.")
    return origin
