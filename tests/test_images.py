"""bot.images.verify_image: only real PNG, JPEG, WebP and GIF images get through, decoded once."""

from __future__ import annotations

import functools
import io
import os
import struct
import zlib

import pytest
from PIL import Image

from bot.errors import AttachmentRejected, BadInput
from bot.images import MAX_INPUT_PIXELS, verify_image


def _encode(fmt: str, size: tuple[int, int] = (32, 24), **params: object) -> bytes:
    """A small real image in `fmt`, made in memory."""
    image = Image.new("RGB", size, (200, 80, 40))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _noisy_png(size: tuple[int, int] = (64, 64)) -> bytes:
    """A PNG of random pixels, so most of the file is image data (a cut lands inside it)."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@functools.cache
def _blank_png(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG, the same file Image.new("1", size).save(..., "PNG") makes.

    Written by hand so that a 20000x20000 header costs a fraction of a second to build: the
    rows are all zeros, so they compress to a few KB.
    """

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "none", then the packed pixels
    compressor = zlib.compressobj(9)
    rows_per_block = 1000
    body = bytearray()
    for start in range(0, height, rows_per_block):
        body += compressor.compress(row * min(rows_per_block, height - start))
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", bytes(body))
        + chunk(b"IEND", b"")
    )


async def _rejection(data: bytes, name: str) -> AttachmentRejected:
    with pytest.raises(AttachmentRejected) as caught:
        await verify_image(data, name=name)
    error = caught.value
    assert name in error.user_message
    assert error.code == "attachment_rejected"
    assert isinstance(error, BadInput)
    return error


# --- accepted ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime_type", "name"),
    [
        ("PNG", "image/png", "sketch.png"),
        ("JPEG", "image/jpeg", "photo.jpg"),
        ("WEBP", "image/webp", "sticker.webp"),
        ("GIF", "image/gif", "icon.gif"),
    ],
)
async def test_real_images_are_accepted_with_their_mime_type_and_bytes_unchanged(
    fmt: str, mime_type: str, name: str
) -> None:
    data = _encode(fmt)
    image = await verify_image(data, name=name)
    assert image.mime_type == mime_type
    assert image.data == data
    assert image.name == name


async def test_mime_type_comes_from_the_content_not_the_file_name() -> None:
    data = _encode("JPEG")
    image = await verify_image(data, name="actually-a-jpeg.png")
    assert image.mime_type == "image/jpeg"


async def test_rgba_png_with_transparency_is_accepted() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(buffer, "PNG")
    image = await verify_image(buffer.getvalue(), name="cutout.png")
    assert image.mime_type == "image/png"


async def test_animated_gif_is_refused_naming_the_file() -> None:
    # The image model takes still images only; an animation would silently lose its frames.
    first = Image.new("RGB", (16, 16), "red")
    second = Image.new("RGB", (16, 16), "blue")
    buffer = io.BytesIO()
    first.save(buffer, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as check:
        assert getattr(check, "is_animated", False)

    error = await _rejection(data, "party.gif")
    assert "party.gif is animated" in error.user_message


async def test_a_still_gif_is_accepted() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buffer, "GIF")
    image = await verify_image(buffer.getvalue(), name="still.gif")
    assert image.mime_type == "image/gif"


async def test_image_just_under_the_pixel_limit_is_not_refused_for_size() -> None:
    # 7000x7000 = 49 Mpx, under the 50 Mpx limit; cheap because it is 1-bit and blank.
    assert MAX_INPUT_PIXELS >= 7000 * 7000
    image = await verify_image(_blank_png(7000, 7000), name="big-but-fine.png")
    assert image.mime_type == "image/png"


async def test_hand_built_blank_png_is_a_real_png() -> None:
    data = _blank_png(64, 48)
    with Image.open(io.BytesIO(data)) as check:
        check.load()
        assert (check.format, check.size, check.mode) == ("PNG", (64, 48), "1")
        assert check.getextrema() == (0, 0)


# --- rejected ------------------------------------------------------------------------------


async def test_empty_file_is_rejected_naming_it() -> None:
    error = await _rejection(b"", "empty.png")
    assert "empty" in error.user_message


async def test_text_file_named_like_a_png_is_rejected_naming_it() -> None:
    error = await _rejection(b"hello, this is not a picture\n" * 4, "photo.png")
    assert "not an image" in error.user_message
    assert error.detail  # what Pillow said, for the logs


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
async def test_truncated_image_is_rejected_naming_it(fmt: str) -> None:
    data = _noisy_png() if fmt == "PNG" else _encode("JPEG", (64, 64))
    half = data[: len(data) // 2]
    error = await _rejection(half, f"cut-off.{fmt.lower()}")
    assert "not an image" in error.user_message


async def test_image_over_the_pixel_limit_is_rejected_in_megapixels() -> None:
    # 8000x8000 = 64 Mpx: over easel's 50 Mpx, under Pillow's own bomb warning (~89 Mpx).
    data = _blank_png(8000, 8000)
    assert len(data) < 20_000
    error = await _rejection(data, "poster.png")
    assert "8000x8000 pixels" in error.user_message
    assert "megapixels" in error.user_message


async def test_decompression_bomb_is_rejected_naming_it() -> None:
    # 20000x20000 = 400 Mpx (50 MB even at 1 bit per pixel) in a file of a few dozen KB.
    data = _blank_png(20_000, 20_000)
    assert len(data) < 100_000
    await _rejection(data, "bomb.png")


@pytest.mark.parametrize("side", [10_000, 20_000])
async def test_decompression_bomb_rejection_says_it_has_too_many_pixels(side: int) -> None:
    error = await _rejection(_blank_png(side, side), "bomb.png")
    assert "pixels" in error.user_message


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("BMP", "scan.bmp"), ("TIFF", "scan.tiff")],
)
async def test_decodable_but_unsupported_format_is_rejected_naming_format_and_file(
    fmt: str, name: str
) -> None:
    data = _encode(fmt)
    with Image.open(io.BytesIO(data)) as check:  # Pillow itself reads it fine
        check.load()
    error = await _rejection(data, name)
    assert f"is a {fmt} file" in error.user_message
    assert "PNG, JPEG, WebP or GIF" in error.user_message


async def test_multi_picture_camera_jpeg_is_accepted_as_jpeg() -> None:
    main = Image.new("RGB", (32, 24), "green")
    depth = Image.new("RGB", (32, 24), "gray")
    buffer = io.BytesIO()
    main.save(buffer, "MPO", save_all=True, append_images=[depth])
    data = buffer.getvalue()
    assert data[:3] == b"\xff\xd8\xff"  # a JPEG stream, as far as anyone downstream can tell

    image = await verify_image(data, name="IMG_0001.JPG")
    assert image.mime_type == "image/jpeg"
