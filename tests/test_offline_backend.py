"""bot.offline.OfflineImageBackend: deterministic, labelled, sharpening, and continuable.

Pictures are compared the way a person would see them: decoded, flattened onto grey, and
measured by mean absolute pixel difference or by edge energy. No test asserts a duration.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, ImageStat

from bot import errors
from bot.clock import SystemClock
from bot.errors import EaselError
from bot.models import DrawRequest, FinalImage, ImageOptions, InputImage, Preview, ThreadKey
from bot.offline import OfflineImageBackend
from bot.offline.spec import parse_size
from bot.store.sqlite import SqliteStore
from bot.turns.safety import SafetyIds
from bot.turns.service import DrawService
from bot.workspace.prices import PriceTable
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.workspaces import Workspaces

SIZES = {"auto": (1024, 1024), "1536x1024": (1536, 1024), "1024x1536": (1024, 1536)}
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
SMALL = "256x192"  # for the tests about content rather than sizes: quick to draw
CAT = "a gray tabby cat hugging an otter"
RAMEN = "a bowl of ramen on a wooden table, steam rising"


def options(**changes: Any) -> ImageOptions:
    return dataclasses.replace(ImageOptions(size=SMALL, partial_images=2), **changes)


async def frames(
    backend: OfflineImageBackend,
    prompt: str,
    opts: ImageOptions,
    *,
    previous: str | None = None,
    images: Sequence[InputImage] = (),
) -> tuple[list[Preview], FinalImage]:
    """Everything one generate() streams; asserts the shape: previews, then exactly one final."""
    items = [
        item
        async for item in backend.generate(
            prompt=prompt, options=opts, previous_response_id=previous, images=images
        )
    ]
    assert items, "generate() streamed nothing"
    *previews, final = items
    assert isinstance(final, FinalImage)
    assert all(isinstance(item, Preview) for item in previews)
    return [item for item in previews if isinstance(item, Preview)], final


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def flat(data: bytes) -> Image.Image:
    """The picture as a viewer shows it: any transparency laid over mid grey, in RGB."""
    image = decode(data).convert("RGBA")
    grey = Image.new("RGBA", image.size, (128, 128, 128, 255))
    return Image.alpha_composite(grey, image).convert("RGB")


def difference(a: bytes | Image.Image, b: bytes | Image.Image) -> float:
    """Mean absolute difference per channel, 0 (identical) to 255."""
    first = flat(a) if isinstance(a, bytes) else a.convert("RGB")
    second = flat(b) if isinstance(b, bytes) else b.convert("RGB")
    assert first.size == second.size
    return sum(ImageStat.Stat(ImageChops.difference(first, second)).mean) / 3


def sharpness(data: bytes) -> float:
    """Edge energy: the mean of FIND_EDGES (a Laplacian) over a 4x reduced grey copy.

    The reduction keeps the measure above 8-bit rounding noise, which at full size is as
    large as the faint edges of a heavily blurred frame.
    """
    small = decode(data).convert("RGBA").reduce(4)
    grey = Image.alpha_composite(Image.new("RGBA", small.size, (128, 128, 128, 255)), small)
    return ImageStat.Stat(grey.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def backend() -> OfflineImageBackend:
    return OfflineImageBackend(frame_delay=0)


# --- sizes, formats, backgrounds -----------------------------------------------------------

# Each cell draws one full-size final; previews (a few more full-size frames each) are checked
# per format and background at a smaller size below, which keeps this file quick.
GRID = list(itertools.product(SIZES, PIL_FORMATS, ("auto", "opaque", "transparent")))


@pytest.mark.parametrize(("size", "output_format", "background"), GRID)
async def test_every_size_format_and_background(
    backend: OfflineImageBackend, size: str, output_format: str, background: str
) -> None:
    opts = ImageOptions(
        size=size, output_format=output_format, background=background, partial_images=0
    )
    previews, final = await frames(backend, CAT, opts)
    assert previews == []
    assert final.output_format == output_format
    assert final.mime_type == f"image/{output_format}"
    image = decode(final.data)
    assert image.size == SIZES[size]
    assert image.format == PIL_FORMATS[output_format]
    if background == "transparent" and output_format != "jpeg":
        assert image.mode == "RGBA"
        low, _ = image.getchannel("A").getextrema()
        assert low == 0, "a transparent background has fully transparent pixels"
    else:
        # jpeg has no alpha: a transparent request falls back to an opaque picture.
        assert image.mode == "RGB"


@pytest.mark.parametrize(
    ("output_format", "background"),
    list(itertools.product(PIL_FORMATS, ("auto", "transparent"))),
)
async def test_previews_sharpen_into_the_final(
    backend: OfflineImageBackend, output_format: str, background: str
) -> None:
    opts = options(
        size="512x384", output_format=output_format, background=background, partial_images=3
    )
    previews, final = await frames(backend, RAMEN, opts)
    assert [(p.index, p.total) for p in previews] == [(0, 3), (1, 3), (2, 3)]
    mode = decode(final.data).mode
    for preview in previews:
        assert preview.output_format == output_format
        shown = Image.open(io.BytesIO(preview.data))
        assert (shown.format, shown.size, shown.mode) == (
            PIL_FORMATS[output_format],
            (512, 384),
            mode,
        )
    energies = [sharpness(item.data) for item in (*previews, final)]
    assert energies[0] < energies[1] < energies[2] <= energies[3], energies


@pytest.mark.parametrize("partial_images", [0, 1, 2, 3])
async def test_partial_images_stream_that_many_previews_then_one_final(
    backend: OfflineImageBackend, partial_images: int
) -> None:
    previews, final = await frames(backend, CAT, options(partial_images=partial_images))
    assert [(p.index, p.total) for p in previews] == [
        (index, partial_images) for index in range(partial_images)
    ]
    energies = [sharpness(item.data) for item in (*previews, final)]
    assert all(a < b for a, b in itertools.pairwise(energies[:-1])), energies
    assert energies[-1] >= max(energies), energies


async def test_compression_sets_the_jpeg_and_webp_quality(backend: OfflineImageBackend) -> None:
    for output_format in ("jpeg", "webp"):
        _, rough = await frames(
            backend, CAT, options(output_format=output_format, compression=10, partial_images=0)
        )
        _, fine = await frames(
            backend, CAT, options(output_format=output_format, compression=95, partial_images=0)
        )
        assert len(rough.data) < len(fine.data)


def test_sizes_auto_presets_and_any_width_by_height() -> None:
    assert parse_size("auto") == (1024, 1024)
    assert parse_size("1536x1024") == (1536, 1024)
    assert parse_size("320x200") == (320, 200)
    for bad in ("big", "0x0", "100000x10", "1024"):
        with pytest.raises(errors.GenerationFailed):
            parse_size(bad)


async def test_any_width_by_height_is_drawn_at_that_size(backend: OfflineImageBackend) -> None:
    _, final = await frames(backend, CAT, options(size="320x200", partial_images=0))
    assert decode(final.data).size == (320, 200)


# --- determinism and the label -------------------------------------------------------------


async def test_same_prompt_and_options_give_the_same_bytes(backend: OfflineImageBackend) -> None:
    for output_format in PIL_FORMATS:
        opts = options(output_format=output_format, background="transparent")
        first_previews, first = await frames(backend, CAT, opts)
        second_previews, second = await frames(OfflineImageBackend(frame_delay=0), CAT, opts)
        assert first.data == second.data
        assert [p.data for p in first_previews] == [p.data for p in second_previews]
        assert first.response_id != second.response_id
        assert first.image_call_id != second.image_call_id


async def test_different_prompts_give_visibly_different_pictures(
    backend: OfflineImageBackend,
) -> None:
    prompts = [CAT, RAMEN, "a lighthouse at dusk", "a lighthouse at dawn"]
    finals = [(await frames(backend, prompt, options(partial_images=0)))[1] for prompt in prompts]
    for a, b in itertools.combinations(finals, 2):
        assert a.data != b.data
        assert difference(a.data, b.data) > 20


async def test_final_is_labelled_offline_and_carries_offline_ids(
    backend: OfflineImageBackend,
) -> None:
    _, final = await frames(backend, CAT, options(size="512x512", partial_images=0))
    _, other = await frames(backend, RAMEN, options(size="512x512", partial_images=0))
    assert final.revised_prompt == f"offline preview: {CAT}"
    assert final.response_id.startswith("offline_")
    assert final.image_call_id.startswith("offline_ig_")
    assert final.usage is None
    # The badge in the top-left corner is a dark plate with bright text, the same on every
    # picture of a size, while the pictures around it differ.
    badge = (20, 16, 110, 32)
    corners = [flat(item.data).crop(badge) for item in (final, other)]
    assert difference(*corners) == 0
    assert difference(final.data, other.data) > 20
    low, high = corners[0].convert("L").getextrema()
    assert low < 30 and high > 150, (low, high)


async def test_the_words_are_drawn_into_the_picture(backend: OfflineImageBackend) -> None:
    _, short = await frames(backend, "cat", options(size="512x512", partial_images=0))
    _, long = await frames(backend, "cat " * 30, options(size="512x512", partial_images=0))
    # Inside the dark caption bar along the bottom: more words, more white text.
    caption = (24, 396, 488, 494)
    bright = [
        decode(item.data).convert("L").crop(caption).histogram()[201:] for item in (short, long)
    ]
    assert 0 < sum(bright[0]) < sum(bright[1])


# --- continuing ----------------------------------------------------------------------------


async def test_a_reply_starts_from_the_remembered_picture(backend: OfflineImageBackend) -> None:
    _, first = await frames(backend, CAT, options())
    _, edit = await frames(backend, "now at night", options(), previous=first.response_id)
    _, unrelated = await frames(backend, "now at night", options())
    assert edit.data != first.data
    to_first = difference(edit.data, first.data)
    assert 3 < to_first < difference(unrelated.data, first.data) / 2
    assert edit.revised_prompt == "offline preview: now at night"


async def test_an_edit_is_deterministic_too(backend: OfflineImageBackend) -> None:
    _, first = await frames(backend, CAT, options())
    _, one = await frames(backend, "add a hat", options(), previous=first.response_id)
    _, two = await frames(backend, "add a hat", options(), previous=first.response_id)
    assert one.data == two.data


async def test_an_unknown_previous_response_raises_context_expired(
    backend: OfflineImageBackend,
) -> None:
    stream = backend.generate(
        prompt=CAT, options=options(), previous_response_id="resp_gone", images=()
    )
    with pytest.raises(errors.ContextExpired):
        await anext(stream)


async def test_only_the_most_recent_pictures_are_remembered() -> None:
    backend = OfflineImageBackend(frame_delay=0, max_remembered=2)
    opts = options(partial_images=0)
    _, a = await frames(backend, "a", opts)
    _, b = await frames(backend, "b", opts)
    await frames(backend, "a again", opts, previous=a.response_id)  # a is used: now the newest
    # Remembering that edit's final pushes out b, the least recently used, and keeps a.
    await frames(backend, "a once more", opts, previous=a.response_id)
    with pytest.raises(errors.ContextExpired):
        await frames(backend, "b again", opts, previous=b.response_id)


async def test_an_input_image_is_the_starting_point(backend: OfflineImageBackend) -> None:
    photo = Image.new("RGB", (640, 400), (30, 120, 220))
    ImageDraw.Draw(photo).ellipse((200, 60, 440, 300), fill=(250, 230, 20))
    attached = InputImage(data=encoded(photo, "JPEG"), mime_type="image/jpeg", name="sun.jpg")
    _, edited = await frames(backend, CAT, options(), images=[attached])
    _, fresh = await frames(backend, CAT, options())
    fitted = ImageOps.fit(photo, (256, 192))
    # Compare above the caption bar, where the picture is.
    picture = (0, 0, 256, 130)
    to_input = difference(flat(edited.data).crop(picture), fitted.crop(picture))
    to_fresh = difference(flat(edited.data).crop(picture), flat(fresh.data).crop(picture))
    assert to_input * 2 < to_fresh, (to_input, to_fresh)


async def test_a_remembered_picture_wins_over_input_images(backend: OfflineImageBackend) -> None:
    _, first = await frames(backend, CAT, options())
    other = InputImage(
        data=encoded(Image.new("RGB", (64, 64), "red")), mime_type="image/png", name="red.png"
    )
    _, with_input = await frames(
        backend, "again", options(), previous=first.response_id, images=[other]
    )
    _, without = await frames(backend, "again", options(), previous=first.response_id)
    assert with_input.data == without.data


# --- the event loop ------------------------------------------------------------------------


async def test_drawing_never_blocks_the_event_loop(
    backend: OfflineImageBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    pillow_threads: set[int] = set()
    save = Image.Image.save

    def watched_save(self: Image.Image, *args: object, **kwargs: object) -> None:
        pillow_threads.add(threading.get_ident())
        save(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "save", watched_save)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        opts = ImageOptions(size="1536x1024", output_format="png", partial_images=3)
        previews, final = await frames(backend, CAT, opts)
    finally:
        task.cancel()
    sizes = [Image.open(io.BytesIO(item.data)).size for item in (*previews, final)]
    assert sizes == [(1536, 1024)] * 4
    assert pillow_threads and loop_thread not in pillow_threads
    # Had the drawing run on the loop, the ticker would tick at most once per streamed frame.
    assert ticks > 8, ticks


# --- through the real service --------------------------------------------------------------


class Platform:
    """A pretend chat platform: keeps the files surfaces upload, and what happened, in order."""

    def __init__(self) -> None:
        self.files: dict[str, FinalImage] = {}
        self.events: list[tuple[str, str]] = []
        self.threads = 0
        self.made: list[RecordingSurface] = []

    def surface(self, request: DrawRequest) -> RecordingSurface:
        self.made.append(RecordingSurface(self, request))
        return self.made[-1]


class RecordingSurface:
    """Implements bot.ports.Surface for one turn, recording every call."""

    def __init__(self, platform: Platform, request: DrawRequest) -> None:
        self._platform = platform
        self._request = request
        self.previews: list[Preview] = []
        self.finals: list[FinalImage] = []
        self.failures: list[EaselError] = []
        self.fetched: list[str] = []
        self.key: ThreadKey | None = None

    @property
    def preview_interval(self) -> float:
        return 0.0

    @property
    def preview_format(self) -> str:
        return "webp"

    def claim_preview(self) -> bool:
        return True

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        request = self._request
        if request.thread is None:
            self._platform.threads += 1
            thread = f"thread-{self._platform.threads}"
        else:
            thread = request.thread
        self.key = ThreadKey(request.platform, request.workspace, request.channel, thread)
        self._platform.events.append(("start", thread))
        return self.key

    async def preview(self, preview: Preview) -> None:
        self.previews.append(preview)
        self._platform.events.append(("preview", str(preview.index)))

    async def place_final(self, final: FinalImage, *, again: bool) -> str:
        self.finals.append(final)
        file_ref = f"F{len(self._platform.files) + 1}"
        self._platform.files[file_ref] = final
        return file_ref

    async def show_final(self, final: FinalImage, file_ref: str, *, turn_id: int) -> None:
        self._platform.events.append(("finish", file_ref))

    async def erase(self, file_ref: str | None) -> None:
        self._platform.events.append(("erase", file_ref or ""))

    async def fail(self, error: EaselError) -> None:
        self.failures.append(error)
        self._platform.events.append(("fail", error.code))

    async def attachments(self) -> tuple[InputImage, ...]:
        return ()

    def message_ref(self) -> dict[str, str]:
        assert self.key is not None
        return {"thread": self.key.thread}

    def inputs_ref(self) -> list[dict[str, str]]:
        return []

    async def drawing(self) -> None:
        self._platform.events.append(("drawing", ""))

    async def delivering(self) -> None:
        self._platform.events.append(("delivering", ""))

    async def interrupted(self, turn_id: int) -> None:
        self._platform.events.append(("interrupted", str(turn_id)))

    async def fetch_image(self, file_ref: str) -> InputImage:
        self.fetched.append(file_ref)
        final = self._platform.files[file_ref]
        return InputImage(data=final.data, mime_type=final.mime_type, name=final.filename)


def request(prompt: str, thread: str | None = None) -> DrawRequest:
    return DrawRequest(
        platform="test", workspace="W1", channel="C1", user_id="U1", prompt=prompt, thread=thread
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(path=tmp_path / "db") as opened:
        yield opened


def offline_service(store: SqliteStore, defaults: ImageOptions) -> DrawService:
    prices = PriceTable.load()
    workspaces = Workspaces(
        settings=store.settings,
        usage=store.usage,
        defaults=WorkspaceSettings.from_defaults(defaults),
        prices=prices,
        clock=SystemClock(),
    )
    return DrawService(
        store=store,
        backend=OfflineImageBackend(frame_delay=0),
        workspaces=workspaces,
        prices=prices,
        safety=SafetyIds(b"test key"),
    )


async def turn(service: DrawService, platform: Platform, draw: DrawRequest) -> RecordingSurface:
    await service.draw(draw, platform.surface)
    await service.join()
    surface = platform.made[-1]
    assert not surface.failures, [error.detail for error in surface.failures]
    assert len(surface.finals) == 1
    return surface


async def test_through_the_service_draw_reply_and_restart(store: SqliteStore) -> None:
    defaults = ImageOptions(size=SMALL, output_format="png", partial_images=2)
    platform = Platform()
    service = offline_service(store, defaults)

    first = await turn(service, platform, request(CAT))
    assert first.previews, "the previews reach the chat"
    kinds = [kind for kind, _ in platform.events]
    assert kinds[0] == "start" and kinds[-1] == "finish"
    assert set(kinds[1:-1]) == {"preview"}
    assert first.key is not None
    thread = first.key.thread
    drawn = first.finals[0]
    assert drawn.revised_prompt == f"offline preview: {CAT}"

    reply = await turn(service, platform, request("now at night", thread=thread))
    edit = reply.finals[0]
    assert reply.fetched == [], "the backend still remembers the thread's picture"
    state = await store.threads.get(first.key)
    assert state is not None and state.last_response_id == edit.response_id
    _, unrelated = await frames(OfflineImageBackend(frame_delay=0), "now at night", defaults)
    assert difference(edit.data, drawn.data) < difference(unrelated.data, drawn.data) / 2

    # A restart: a new backend remembers nothing, the store still knows the thread.
    restarted = offline_service(store, defaults)
    after = await turn(restarted, platform, request("and a moon", thread=thread))
    assert after.fetched == ["F2"], "ContextExpired made the service fetch the last image"
    recovered = after.finals[0]
    _, unrelated = await frames(OfflineImageBackend(frame_delay=0), "and a moon", defaults)
    assert difference(recovered.data, edit.data) < difference(unrelated.data, edit.data) / 2
    state = await store.threads.get(first.key)
    assert state is not None and state.last_response_id == recovered.response_id


@pytest.mark.parametrize(("size", "output_format", "background"), GRID)
async def test_through_the_service_at_every_size_format_and_background(
    store: SqliteStore, size: str, output_format: str, background: str
) -> None:
    defaults = ImageOptions(
        size=size, output_format=output_format, background=background, partial_images=1
    )
    service = offline_service(store, defaults)
    surface = await turn(service, Platform(), request("a lighthouse at dusk"))
    image = decode(surface.finals[0].data)
    assert image.size == SIZES[size]
    assert image.format == PIL_FORMATS[output_format]
    transparent = background == "transparent" and output_format != "jpeg"
    assert image.mode == ("RGBA" if transparent else "RGB")
    assert surface.finals[0].revised_prompt == "offline preview: a lighthouse at dusk"
    assert surface.key is not None
    state = await store.threads.get(surface.key)
    assert state is not None and state.last_response_id == surface.finals[0].response_id
