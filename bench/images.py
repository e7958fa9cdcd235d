"""Realistic image payloads: PNGs with photographic noise, 1.5-3 MB, made once and cached.

Noise does not compress, so these PNGs are as large as a detailed photo of the same size:
1024x1024 about 1.6-2.0 MB, 1536x1024 about 2.4-2.9 MB. Each size has three frames (two
partials, blurrier, then the final), so every frame a drawing receives is different.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFilter

SIZES: tuple[tuple[int, int], ...] = ((1024, 1024), (1536, 1024))
# Blur radius per frame: partial 0, partial 1, final. Less blur: more detail, more bytes.
FRAME_BLUR = (1.2, 1.05, 0.95)
DEFAULT_CACHE = Path(__file__).resolve().parent / "out" / "cache"


def noisy_png(size: tuple[int, int], blur: float) -> bytes:
    """Gradients blended with Gaussian noise, then slightly blurred: reads like a photo's grain."""
    w, h = size
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize(size),
            Image.linear_gradient("L").rotate(90).resize(size),
            Image.radial_gradient("L").resize(size),
        ],
    )
    noise = Image.merge("RGB", [Image.effect_noise((w, h), 120) for _ in range(3)])
    image = Image.blend(base, noise, 0.5).filter(ImageFilter.GaussianBlur(blur))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def frames(size: tuple[int, int], cache: Path = DEFAULT_CACHE) -> list[bytes]:
    """[partial 0, partial 1, final] PNGs for `size`, read from `cache` or made and stored."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for k, blur in enumerate(FRAME_BLUR):
        path = cache / f"noise-{size[0]}x{size[1]}-{k}.png"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(noisy_png(size, blur))
            tmp.replace(path)
        out.append(path.read_bytes())
    return out
