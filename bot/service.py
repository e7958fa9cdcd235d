"""The use case: one drawing turn, turns in a thread in arrival order, and task ownership.

    settings -> placeholder -> stream -> previews -> final file -> store

The thread's `previous_response_id` advances only after the final image is delivered, so a
failed turn leaves the thread where it was.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import replace

from bot import errors
from bot.models import DrawRequest, FinalImage, ImageOptions, InputImage, ThreadKey
from bot.ports import ImageBackend, Store, Surface
from bot.previews import PreviewEditor
from bot.settings import SIZE_ALIASES, fit_upload_limit, validate_options

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


class DrawService:
    """Owns every turn's task: keeps a reference, orders turns per thread, drains on close."""

    def __init__(self, *, store: Store, backend: ImageBackend, defaults: ImageOptions) -> None:
        self._store = store
        self._backend = backend
        self._defaults = defaults
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[ThreadKey, asyncio.Task[None]] = {}
        self._closing = False

    def options_for(self, request: DrawRequest) -> ImageOptions:
        """The defaults (checked at start-up), with this request's own choices (checked here),
        fitted to its platform's file limit."""
        options = self._defaults
        if request.size is not None:
            options = replace(options, size=SIZE_ALIASES.get(request.size, request.size))
        if request.quality is not None:
            options = replace(options, quality=request.quality)
        problems = validate_options(options) if options is not self._defaults else []
        if problems:
            raise errors.BadInput(f"That drawing cannot be made: {'; '.join(problems)}.")
        return fit_upload_limit(options, request.max_upload_bytes)

    def submit(self, request: DrawRequest, surface: Surface) -> asyncio.Task[None]:
        """Schedule a turn and return at once. Raises BadInput for a request not worth a turn.

        The turn is queued behind the thread's earlier turns synchronously, here, so turns
        run in the order they were submitted.
        """
        if self._closing:
            raise errors.BadInput("easel is restarting. Please try again in a minute.")
        clean_prompt(request.prompt)
        self.options_for(request)
        key = request.thread_key
        before = self._tails.get(key) if key is not None else None
        task = asyncio.create_task(self._run(request, surface, before), name="easel-turn")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
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
        self, request: DrawRequest, surface: Surface, before: asyncio.Task[None] | None
    ) -> None:
        if request.dedupe_key is not None and not await self._store.claim_delivery(
            request.dedupe_key
        ):
            log.info("ignoring a repeated delivery %s", request.dedupe_key)
            return
        if before is not None:
            await asyncio.wait([before])
        try:
            await self.run_turn(request, surface)
        except Exception:
            # The outermost handler of a background turn: nothing above it would see this.
            log.exception("drawing turn crashed")
            await _fail_quietly(surface, errors.EaselError())

    async def run_turn(self, request: DrawRequest, surface: Surface) -> None:
        """One turn, start to end. Expected failures end in surface.fail() with clear words."""
        prompt = clean_prompt(request.prompt)
        options = self.options_for(request)
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
            await self._store.open_thread(key)
        turn_id = await self._store.begin_turn(request, thread=key, options=options)
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
        await self._store.end_turn(
            turn_id, status="delivered", response_id=final.response_id, usage=final.usage
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
