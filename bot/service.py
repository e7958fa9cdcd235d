"""The use case: one drawing turn, turns in a thread in arrival order, and task ownership.

    admit (settings, quotas) -> placeholder -> stream -> previews -> final file -> store

The thread's `previous_response_id` advances only after the final image is delivered, so a
failed turn leaves the thread where it was.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot import errors
from bot.clock import Clock, SystemClock
from bot.logs import bind_turn
from bot.models import DrawRequest, FinalImage, ImageOptions, InputImage, ThreadKey
from bot.ports import ImageBackend, Store, Surface
from bot.previews import PreviewEditor
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


class Interrupted(errors.EaselError):
    code = "interrupted"
    default_message = "easel was restarted while drawing this. Please ask again."


@dataclass(frozen=True, slots=True)
class Admission:
    """A request that passed every check, with the options its turn will draw with.

    It holds a place in its person's daily limit until its turn ends (or it is released)."""

    request: DrawRequest
    options: ImageOptions
    settings: WorkspaceSettings


class DrawService:
    """Owns every turn's task: keeps a reference, orders turns per thread, drains on close."""

    def __init__(
        self,
        *,
        store: Store,
        backend: ImageBackend,
        defaults: ImageOptions,
        prices: PriceTable | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._backend = backend
        self._defaults = WorkspaceSettings.from_defaults(defaults)
        self.quotas = Quotas(
            store=store, clock=clock or SystemClock(), prices=prices or PriceTable.load()
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[ThreadKey, asyncio.Task[None]] = {}
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

    async def draw(self, request: DrawRequest, surface: Surface) -> asyncio.Task[None]:
        """Admit the request and start its turn. Raises BadInput for one not to be drawn."""
        return self.submit(await self.admit(request), surface)

    def submit(self, admission: Admission, surface: Surface) -> asyncio.Task[None]:
        """Schedule an admitted turn and return at once.

        The turn is queued behind the thread's earlier turns synchronously, here, so turns
        run in the order they were submitted.
        """
        request = admission.request
        key = request.thread_key
        before = self._tails.get(key) if key is not None else None
        task = asyncio.create_task(self._run(admission, surface, before), name="easel-turn")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self.release(admission))
        if key is not None:
            self._follow(key, task)
        return task

    def _follow(self, key: ThreadKey, task: asyncio.Task[None]) -> None:
        self._tails[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._tails.get(key) is done:
                del self._tails[key]

        task.add_done_callback(forget)

    async def _run(
        self, admission: Admission, surface: Surface, before: asyncio.Task[None] | None
    ) -> None:
        request = admission.request
        if request.dedupe_key is not None and not await self._store.claim_delivery(
            request.dedupe_key
        ):
            log.info("ignoring a repeated delivery %s", request.dedupe_key)
            return
        if before is not None:
            await asyncio.wait([before])
        try:
            await self.run_turn(admission, surface)
        except Exception:
            # The outermost handler of a background turn: nothing above it would see this.
            log.exception("drawing turn crashed")
            await _fail_quietly(surface, errors.EaselError())

    async def run_turn(self, admission: Admission, surface: Surface) -> None:
        """One turn, start to end. Expected failures end in surface.fail() with clear words."""
        request, options = admission.request, admission.options
        prompt = clean_prompt(request.prompt)
        try:
            key = await surface.start()
        except errors.EaselError as exc:
            log.warning("could not start a turn in %s: %s", request.channel, exc.detail)
            await surface.fail(exc)
            return
        if request.thread_key is None:
            current = asyncio.current_task()
            if current is not None and key not in self._tails:
                # Replies to this new thread queue behind the drawing that starts it.
                self._follow(key, current)
            await self._store.open_thread(key, started_by=request.user_id)
        turn_id = await self._store.begin_turn(request, thread=key, options=options)
        bind_turn(
            turn_id,
            platform=key.platform,
            workspace=key.workspace,
            thread=f"{key.channel}/{key.thread}",
        )
        log.info("turn %d started in %s", turn_id, key)
        try:
            images = await surface.attachments()
            final = await self._draw(key, prompt, images, options, surface, request.is_reply)
            file_ref = await surface.finish(final)
        except errors.EaselError as exc:
            log.info("turn %d failed: %s (%s)", turn_id, exc.code, exc.detail or exc.user_message)
            await self._store.end_turn(turn_id, status="failed", error_code=exc.code)
            await surface.fail(exc)
            return
        except asyncio.CancelledError:
            await asyncio.shield(self._interrupt(turn_id, surface))
            raise
        await self._store.advance_thread(
            key,
            response_id=final.response_id,
            image_call_id=final.image_call_id,
            file_ref=file_ref,
        )
        cost = self.quotas.prices.estimate(options, final)
        await self._store.end_turn(
            turn_id,
            status="delivered",
            response_id=final.response_id,
            usage=final.usage,
            cost_usd=cost,
        )
        log.info("turn %d delivered %s as %s", turn_id, final.image_call_id, file_ref)

    async def _interrupt(self, turn_id: int, surface: Surface) -> None:
        await self._store.end_turn(turn_id, status="interrupted", error_code="interrupted")
        await _fail_quietly(surface, Interrupted())

    async def _draw(
        self,
        key: ThreadKey,
        prompt: str,
        images: Sequence[InputImage],
        options: ImageOptions,
        surface: Surface,
        is_reply: bool,
    ) -> FinalImage:
        state = await self._store.get_thread(key) if is_reply else None
        previous = state.last_response_id if state else None
        async with PreviewEditor(
            show=surface.preview, min_interval=surface.preview_interval
        ) as editor:
            try:
                return await self._stream(editor, prompt, options, previous, images)
            except errors.ContextExpired:
                if state is None:
                    raise
                log.info("context of %s expired; continuing from its last image", key)
                if state.last_file_ref is not None:
                    try:
                        images = (await surface.fetch_image(state.last_file_ref), *images)
                    except errors.EaselError as exc:
                        # Still draw: from the words alone, rather than not at all.
                        log.warning("last image of %s is unavailable: %s", key, exc.detail)
                return await self._stream(editor, prompt, options, None, images)

    async def _stream(
        self,
        editor: PreviewEditor,
        prompt: str,
        options: ImageOptions,
        previous: str | None,
        images: Sequence[InputImage],
    ) -> FinalImage:
        async for item in self._backend.generate(
            prompt=prompt, options=options, previous_response_id=previous, images=images
        ):
            if isinstance(item, FinalImage):
                return item
            editor.offer(item)
        raise errors.GenerationFailed(detail="the backend ended without a final image")

    @property
    def idle(self) -> bool:
        return not self._tasks

    async def join(self) -> None:
        """Wait until no turn is running or queued."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self, *, grace: float) -> None:
        """Stop taking turns, give running ones `grace` seconds, then interrupt the rest."""
        self._closing = True
        pending = set(self._tasks)
        if pending:
            log.info("waiting up to %.0fs for %d drawing(s)", grace, len(pending))
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)


async def _fail_quietly(surface: Surface, error: errors.EaselError) -> None:
    try:
        async with asyncio.timeout(10):
            await surface.fail(error)
    except Exception:
        log.warning("could not tell the user that the turn failed", exc_info=True)
