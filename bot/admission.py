"""Admission: the workspace's settings, quotas and checks, made before anything is posted
or paid for. A refused request gets BadInput (or NotAllowed) with words a person can act on."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot import errors
from bot.clock import Clock, SystemClock
from bot.models import DrawRequest, ImageOptions, StoredTurn
from bot.ports import Store
from bot.prices import PriceTable
from bot.quotas import Quotas, UsageReport
from bot.settings import SHAPES, SIZE_ALIASES, WorkspaceSettings, change, validate_options
from bot.uploads import fit_upload_limit

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


def is_retry(text: str | None) -> bool:
    """A reply that asks for its thread's interrupted drawing again."""
    return (text or "").strip().strip("!.").lower() == "retry"


NOT_RETRIABLE = {
    "queued": "That drawing is already being drawn again.",
    "drawing": "That drawing is already being drawn again.",
    "delivering": "That drawing is finished and on its way.",
    "delivered": "That drawing was delivered; reply in its thread to change it.",
    "failed": "That drawing failed; ask again with /draw or a reply in its thread.",
}


@dataclass(frozen=True, slots=True)
class Admission:
    """A request that passed every check, with the options its turn will draw with.

    It holds a place in its person's daily limit until its turn ends (or it is released)."""

    request: DrawRequest
    options: ImageOptions
    settings: WorkspaceSettings


class AdmissionDesk:
    """Settings, quotas and every check a request passes before it may be drawn.

    It counts the drawings in progress per person, so two at once cannot both slip under a
    daily limit: an admission holds its place until `release`."""

    def __init__(
        self,
        *,
        store: Store,
        defaults: ImageOptions,
        prices: PriceTable | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._defaults = WorkspaceSettings.from_defaults(defaults)
        self.quotas = Quotas(
            store=store, clock=clock or SystemClock(), prices=prices or PriceTable.load()
        )
        self._running: Counter[tuple[str, str, str]] = Counter()
        self._admitting = asyncio.Lock()
        self._closing = False

    async def settings(self, platform: str, workspace: str) -> WorkspaceSettings:
        """The workspace's settings: the process defaults with its admins' changes on top."""
        overrides = await self._store.settings_overrides(platform, workspace)
        return self._defaults.with_overrides(overrides)

    async def change_settings(
        self, platform: str, workspace: str, *, user_id: str, texts: Mapping[str, str]
    ) -> WorkspaceSettings:
        """Apply typed values (field -> text) after checking them all; record each change.

        The caller has already made sure that `user_id` may change settings here."""
        current = await self.settings(platform, workspace)
        updated, changed = change(current, texts)
        if changed:
            await self._store.save_settings(
                platform,
                workspace,
                user_id=user_id,
                changes={k: (getattr(current, k), v) for k, v in changed.items()},
            )
            log.info(
                "settings of %s:%s changed by %s: %s", platform, workspace, user_id, sorted(changed)
            )
        return updated

    async def usage(
        self,
        platform: str,
        workspace: str,
        user_id: str,
        *,
        settings: WorkspaceSettings | None = None,
    ) -> UsageReport:
        settings = settings or await self.settings(platform, workspace)
        return await self.quotas.report(
            platform=platform, workspace=workspace, user_id=user_id, settings=settings
        )

    def options_for(self, request: DrawRequest, settings: WorkspaceSettings) -> ImageOptions:
        """The workspace's options with this request's own choices (within what is allowed),
        fitted to its platform's file limit."""
        options = settings.image_options()
        if request.size is not None:
            size = SIZE_ALIASES.get(request.size, request.size)
            if size not in settings.allowed_sizes:
                allowed = ", ".join(SHAPES.get(s, s) for s in settings.allowed_sizes)
                raise errors.NotAllowed(f"That size is not allowed here. Allowed sizes: {allowed}.")
            options = replace(options, size=size)
        if request.quality is not None:
            if request.quality not in settings.allowed_qualities:
                allowed = ", ".join(settings.allowed_qualities)
                raise errors.NotAllowed(
                    f"That quality is not allowed here. Allowed qualities: {allowed}."
                )
            options = replace(options, quality=request.quality)
        # The settings were checked when they were set; only a request's own choices are new.
        chose = request.size is not None or request.quality is not None
        problems = validate_options(options) if chose else []
        if problems:
            raise errors.BadInput(f"That drawing cannot be made: {'; '.join(problems)}.")
        return fit_upload_limit(options, request.max_upload_bytes)

    async def admit(self, request: DrawRequest) -> Admission:
        """Every check made before anything is posted or paid for; BadInput says why not."""
        if self._closing:
            raise errors.BadInput("easel is restarting. Please try again in a minute.")
        clean_prompt(request.prompt)
        settings = await self.settings(request.platform, request.workspace)
        if not settings.enabled:
            raise errors.NotAllowed("easel is turned off in this workspace by its admins.")
        key = request.thread_key
        if key is None and settings.channels and request.channel not in settings.channels:
            raise errors.NotAllowed("/draw is not turned on in this channel. Ask an admin.")
        if key is not None and settings.reply_policy == "starter":
            starter = await self._store.thread_starter(key)
            if starter is not None and starter != request.user_id:
                raise errors.NotAllowed(
                    "Only the person who started this drawing can edit it here. "
                    "Start your own with /draw."
                )
        options = self.options_for(request, settings)
        who = (request.platform, request.workspace, request.user_id)
        async with self._admitting:  # one check at a time, so two cannot slip under a limit
            await self.quotas.check(
                platform=request.platform,
                workspace=request.workspace,
                user_id=request.user_id,
                settings=settings,
                running=self._running[who],
            )
            self._running[who] += 1
        return Admission(request=request, options=options, settings=settings)

    def release(self, admission: Admission) -> None:
        """Give back an admission that will not be drawn (its turn ended, or never started)."""
        r = admission.request
        who = (r.platform, r.workspace, r.user_id)
        self._running[who] -= 1
        if self._running[who] <= 0:
            del self._running[who]

    async def retry(
        self, turn_id: int, *, platform: str, workspace: str, user_id: str
    ) -> tuple[Admission, StoredTurn]:
        """Admit an interrupted turn again, asked by `user_id`; BadInput says why not."""
        turn = await self._store.stored_turn(turn_id)
        if turn is None or (turn.key.platform, turn.key.workspace) != (platform, workspace):
            raise errors.BadInput("easel cannot find that drawing any more.")
        if turn.status != "interrupted":
            raise errors.BadInput(NOT_RETRIABLE.get(turn.status, "That cannot be retried."))
        log.info("turn %d retried by %s", turn_id, user_id)
        return await self.admit(turn.retried_by(user_id)), turn
