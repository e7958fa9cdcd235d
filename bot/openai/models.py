"""ModelCatalog over the official `openai` SDK: `GET /models/{id}` (`client.models.retrieve`).

What OpenAI answers is kept for a day (`keep`). A 404 with OpenAI's `model_not_found` means
there is no such model (a retired one says it "has been deprecated"); an answer carries the
model's `shutdown_date` when one is announced. Anything else is not an answer about the
model: a gateway at OPENAI_BASE_URL that does not serve /models (404 as HTML or text, or any
answer that is not OpenAI's) is kept like an answer, while a 5xx, a refused key or a network
failure is not kept, and the last answer (if any) still stands.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import aiohttp
import httpx2
import openai

from bot.clock import Clock
from bot.models import Exists, ModelStatus
from bot.openai.errors import RETIRED_WORDS

log = logging.getLogger(__name__)

DAY = 86_400.0
NO_MODELS = "OPENAI_BASE_URL does not serve OpenAI's /models"


class OpenAIModelCatalog:
    """Implements bot.ports.ModelCatalog. The client is built and owned by the entry point."""

    def __init__(
        self, *, client: openai.AsyncOpenAI, clock: Clock, keep: float = DAY, timeout: float = 10
    ) -> None:
        self._client = client.with_options(timeout=timeout)
        self._clock = clock
        self._keep = keep
        self._kept: dict[str, tuple[float, ModelStatus]] = {}

    async def status(self, model: str, *, fresh: bool = False) -> ModelStatus:
        now = self._clock.monotonic()
        kept = self._kept.get(model)
        if kept is not None and not fresh and now - kept[0] < self._keep:
            return kept[1]
        status, lasting = await self._ask(model)
        if lasting:
            self._kept[model] = (now, status)
        elif kept is not None:  # a failure to ask does not forget what OpenAI said before
            log.info("could not ask OpenAI about %s again (%s)", model, status.reason)
            return kept[1]
        return status

    async def _ask(self, model: str) -> tuple[ModelStatus, bool]:
        """What OpenAI says, and whether that is an answer to keep."""
        try:
            found: Any = await self._client.models.retrieve(model)
        except openai.NotFoundError as exc:
            return _not_found(model, exc), True
        except openai.APIStatusError as exc:
            return _unknown(model, f"OpenAI answered {exc.status_code}"), False
        except (openai.APIError, httpx2.HTTPError, aiohttp.ClientError, ValueError) as exc:
            return _unknown(model, f"OpenAI could not be reached ({type(exc).__name__})"), False
        return _found(model, found), True


def _unknown(model: str, reason: str) -> ModelStatus:
    return ModelStatus(model=model, exists=Exists.UNKNOWN, reason=reason)


def _not_found(model: str, exc: openai.NotFoundError) -> ModelStatus:
    if exc.code != "model_not_found":  # a 404 page from whatever stands at OPENAI_BASE_URL
        return _unknown(model, f"{NO_MODELS} (404 without OpenAI's model_not_found)")
    said = exc.body.get("message") if isinstance(exc.body, dict) else None
    message = said if isinstance(said, str) else exc.message
    retired = RETIRED_WORDS.search(message) is not None
    return ModelStatus(model=model, exists=Exists.NO, retired=retired, reason=message)


def _found(model: str, found: Any) -> ModelStatus:
    """A 200: OpenAI's Model object, read defensively (it is only known by its fields)."""
    if getattr(found, "object", None) != "model" or not isinstance(getattr(found, "id", None), str):
        return _unknown(model, f"{NO_MODELS} (its answer is not a model)")
    return ModelStatus(
        model=model, exists=Exists.YES, shutdown_date=_date(getattr(found, "shutdown_date", None))
    )


def _date(raw: object) -> date | None:
    if not isinstance(raw, str):
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        log.warning("OpenAI's shutdown_date %r is not a date; ignored", raw)
        return None
