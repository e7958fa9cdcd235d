"""The image service: what draws, and what says which models exist."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

from bot.models import (
    FinalImage,
    ImageOptions,
    InputImage,
    ModelStatus,
    Preview,
)


class ImageBackend(Protocol):
    """Streams one drawing: zero or more previews, then exactly one final image."""

    def generate(
        self,
        *,
        prompt: str,
        options: ImageOptions,
        previous_response_id: str | None,
        images: Sequence[InputImage],
        safety_identifier: str | None = None,
        mask: InputImage | None = None,
        wanted: Callable[[], bool] | None = None,
    ) -> AsyncIterator[Preview | FinalImage]:
        """`safety_identifier`: who asked, privacy-preserving (bot.turns.safety). `mask`:
        its transparent pixels mark the region of the first image to change. `wanted()`:
        whether a preview arriving now could be shown; when it says no, the backend may let
        that frame go without decoding it (the next frame asks again)."""
        ...


class ModelCatalog(Protocol):
    """Whether a model exists and when it shuts down, as the image service says."""

    async def status(self, model: str, *, fresh: bool = False) -> ModelStatus:
        """Never raises for the service's failures: what nobody could say is Exists.UNKNOWN.
        `fresh`: ask again even when a recent answer is kept."""
        ...
