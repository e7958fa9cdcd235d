"""The offline backend's ModelCatalog: it draws without a model, so it knows of none."""

from __future__ import annotations

from bot.models import Exists, ModelStatus


class OfflineModelCatalog:
    """Implements bot.ports.ModelCatalog: every model is unknown, and no one was asked."""

    async def status(self, model: str, *, fresh: bool = False) -> ModelStatus:
        return ModelStatus(model=model, exists=Exists.UNKNOWN)
