"""What the image service's word on a model means for easel, in words: active, shutting down
within WARN_DAYS, gone (no such model, or shut down), or unknown (nobody could say)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.models import Exists, ImageOptions, ModelStatus

WARN_DAYS = 30
MODEL_FIELDS = ("model", "image_model")
VARIABLES = {"model": "EASEL_MODEL", "image_model": "EASEL_IMAGE_MODEL"}
_EXAMPLES = ImageOptions()


class Verdict(StrEnum):
    ACTIVE = "active"
    RETIRING = "retiring"  # a shutdown date within WARN_DAYS
    GONE = "gone"  # no such model, or its shutdown date has come
    UNKNOWN = "unknown"  # nobody could say


@dataclass(frozen=True, slots=True)
class Judgement:
    model: str
    verdict: Verdict
    words: str  # e.g. "OpenAI says gpt-5-mini shuts down on 2026-12-11, in 10 days"
    asked: bool = True  # False: there was no one to ask (the offline backend)

    @property
    def warns(self) -> bool:
        """Whoever runs easel, and the admins who chose it, should hear of it."""
        return self.verdict in (Verdict.RETIRING, Verdict.GONE)


def judge(status: ModelStatus, *, today: date) -> Judgement:
    """What `status` means on `today` (UTC)."""
    model = status.model
    if status.exists is Exists.NO:
        said = "has been retired" if status.retired else "does not exist (or easel may not use it)"
        return Judgement(model, Verdict.GONE, f"OpenAI says {model} {said}")
    if status.exists is Exists.UNKNOWN:
        why = f" ({status.reason})" if status.reason else ""
        words = f"easel could not check {model} with OpenAI{why}"
        return Judgement(model, Verdict.UNKNOWN, words, asked=status.reason is not None)
    when = status.shutdown_date
    if when is None:
        return Judgement(model, Verdict.ACTIVE, f"OpenAI says {model} is active")
    days = (when - today).days
    if days <= 0:
        return Judgement(model, Verdict.GONE, f"OpenAI says {model} shut down on {when}")
    if days <= WARN_DAYS:
        soon = "tomorrow" if days == 1 else f"in {days} days"
        return Judgement(
            model, Verdict.RETIRING, f"OpenAI says {model} shuts down on {when}, {soon}"
        )
    return Judgement(model, Verdict.ACTIVE, f"OpenAI says {model} is active until {when}")


def advice(field: str, judgement: Judgement) -> str:
    """What to do about it, naming a live model for the field."""
    if judgement.verdict is Verdict.UNKNOWN:
        return "make sure the name is right"
    example = getattr(_EXAMPLES, field)
    if example == judgement.model:
        return "choose an active model (OpenAI's deprecations page names the replacements)"
    return f"choose an active model, for example {example}"


def sentence(field: str, judgement: Judgement) -> str:
    """The judgement and what to do about it, as one sentence."""
    return f"{judgement.words}; {advice(field, judgement)}"
