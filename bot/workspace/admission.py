"""Admission: the workspace's settings, quotas and checks, made before anything is posted
or paid for. A refused request gets BadInput (or NotAllowed) with words a person can act on.

The prompt is cleaned here, once: the request an admission carries is the one every surface
is built from, the one stored and the one sent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from bot import errors
from bot.models import Action, DrawRequest, ImageOptions
from bot.ports import Admissions, Threads
from bot.workspace.options import fit_upload_limit, validate_options
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.sizes import parse_size, size_problem, takes_custom_sizes
from bot.workspace.workspaces import Workspaces

log = logging.getLogger(__name__)

MAX_PROMPT_CHARS = 32_000
USAGE_HINT = "Tell easel what to draw, for example: /draw a gray tabby cat hugging an otter"
# C0 controls except tab and newline, DEL, and lone surrogates never belong in a prompt.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_prompt(prompt: str) -> str:
    """The prompt as it will be sent, or BadInput with words that say what to change."""
    cleaned = _UNPRINTABLE.sub("", prompt).strip()
    if not cleaned:
        raise errors.BadInput(USAGE_HINT)
    if len(cleaned) > MAX_PROMPT_CHARS:
        raise errors.BadInput(
            f"That prompt is {len(cleaned):,} characters long; easel takes up to "
            f"{MAX_PROMPT_CHARS:,}. Please shorten it."
        )
    return cleaned


def is_usage(text: str) -> bool:
    """`/draw usage` asks for the person's usage rather than a drawing."""
    return text.strip().lower() == "usage"


@dataclass(frozen=True, slots=True)
class Admission:
    """A request that passed every check, with the options its turn will draw with.

    It holds a place in its person's daily limit until its turn ends (or it is released)."""

    request: DrawRequest
    options: ImageOptions
    settings: WorkspaceSettings
    place: int  # its place among the person's drawings in flight (bot.ports.Admissions)


class AdmissionDesk:
    """Every check a request passes before it may be drawn.

    It counts the drawings in progress per person, on every replica, so two at once cannot
    both slip under a daily limit: an admission holds its place until `release`."""

    def __init__(self, *, workspaces: Workspaces, threads: Threads, admissions: Admissions) -> None:
        self._workspaces = workspaces
        self._threads = threads
        self._admissions = admissions
        self._closing = False

    def close(self) -> None:
        """Refuse every request from now on: easel is stopping."""
        self._closing = True

    async def admit(self, request: DrawRequest) -> Admission:
        """Every check made before anything is posted or paid for; BadInput says why not."""
        if self._closing:
            raise errors.BadInput("easel is restarting. Please try again in a minute.")
        request = replace(request, prompt=clean_prompt(request.prompt))
        settings = await self._workspaces.settings(request.platform, request.workspace)
        await self.may_draw_here(request, settings)
        options = options_for(request, settings)

        async def check(running: int) -> None:
            await self._workspaces.quotas.check(
                platform=request.platform,
                workspace=request.workspace,
                user_id=request.user_id,
                settings=settings,
                running=running,
            )

        who = (request.platform, request.workspace, request.user_id)
        place = await self._admissions.admit(who, check)  # one at a time, on every replica
        return Admission(request=request, options=options, settings=settings, place=place)

    async def may_draw_here(
        self, request: DrawRequest, settings: WorkspaceSettings | None = None
    ) -> None:
        """Whether easel draws here at all, and whether this person may reply here (NotAllowed
        says why not); asked before a form opens too, so nobody types into a form for
        nothing."""
        if settings is None:
            settings = await self._workspaces.settings(request.platform, request.workspace)
        if not settings.enabled:
            raise errors.NotAllowed("easel is turned off in this workspace by its admins.")
        key = request.thread_key
        if key is None and settings.channels and request.channel not in settings.channels:
            raise errors.NotAllowed("/draw is not turned on in this channel. Ask an admin.")
        if key is not None and settings.reply_policy == "starter":
            starter = await self._threads.starter(key)
            if starter is not None and starter != request.user_id:
                raise errors.NotAllowed(
                    "Only the person who started this drawing can edit it here. "
                    "Start your own with /draw."
                )

    async def release(self, admission: Admission) -> None:
        """Give back an admission that will not be drawn (its turn ended, or never started)."""
        await self._admissions.release(admission.place)


def options_for(request: DrawRequest, settings: WorkspaceSettings) -> ImageOptions:
    """The workspace's options with this request's own choices (within what is allowed),
    fitted to its platform's file limit."""
    options = settings.image_options()
    if request.size is not None:
        options = replace(options, size=chosen_size(request.size, settings))
    if request.quality is not None:
        if request.quality not in settings.allowed_qualities:
            allowed = ", ".join(settings.allowed_qualities)
            raise errors.NotAllowed(
                f"That quality is not allowed here. Allowed qualities: {allowed}."
            )
        options = replace(options, quality=request.quality)
    if request.action is Action.BIGGER and not takes_custom_sizes(options.image_model):
        # A redraw from itself, as close as it can; gpt-image-2 and later always are, and
        # take no input_fidelity.
        options = replace(options, input_fidelity="high")
    # The settings were checked when they were set; only a request's own choices are new.
    chose = request.size is not None or request.quality is not None
    problems = validate_options(options) if chose else []
    if problems:
        raise errors.BadInput(f"That drawing cannot be made: {'; '.join(problems)}.")
    return fit_upload_limit(options, request.max_upload_bytes)


def chosen_size(text: str, settings: WorkspaceSettings) -> str:
    """The size a person asked for, as sent; BadInput naming the image model's rule it
    breaks, or NotAllowed naming the workspace's allowed sizes (and its largest)."""
    try:
        size = parse_size(text)
    except ValueError as exc:
        raise errors.BadInput(f"That size cannot be drawn: {exc}.") from None
    if problem := size_problem(size, settings.image_model):
        raise errors.BadInput(f"That size cannot be drawn: {problem}.")
    if refusal := settings.sizes.refusal(size):
        raise errors.NotAllowed(
            f"That size is not allowed here: {refusal}. Allowed sizes: {settings.sizes.describe()}."
        )
    return size
