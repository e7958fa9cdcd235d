"""The image service's errors, in words a person can act on (bot.errors types)."""

from __future__ import annotations

import openai

from bot import errors

_OWNER = "Please tell whoever runs easel."
UNREACHABLE = "easel could not reach the image service. Please try again in a minute."
_TOO_LARGE = ("image_too_large", "request_too_large", "file_too_large")
_UNREADABLE = ("invalid_image", "invalid_image_format", "image_parse_error")
_BUSY = ("rate_limit_exceeded", "server_error", "server_overloaded")


def map_api_error(exc: openai.APIError) -> errors.EaselError:
    """Map an SDK exception (HTTP error, timeout, or a stream error the SDK raised)."""
    if isinstance(exc, openai.APITimeoutError):
        return errors.ServiceTimeout(detail=str(exc))
    if isinstance(exc, openai.APIConnectionError):
        return errors.ServiceBusy(UNREACHABLE, detail=str(exc))
    status = getattr(exc, "status_code", None)
    return map_code(exc.code, exc.message, status=status)


def map_code(code: str | None, message: str, *, status: int | None = None) -> errors.EaselError:
    """Map an API error code (and HTTP status, when there is one) to words a person can use."""
    detail = f"{status or '-'} {code or '-'}: {message}"
    if code == "moderation_blocked":
        return errors.ModerationBlocked(detail=detail)
    if code == "previous_response_not_found":
        return errors.ContextExpired(detail=detail)
    if code == "insufficient_quota":
        return errors.GenerationFailed(
            f"easel's OpenAI account has run out of credit. {_OWNER}", detail=detail
        )
    if code in _TOO_LARGE or status == 413:
        return errors.ImageTooLarge(detail=detail)
    if code in _UNREADABLE:
        return errors.BadInput(
            "The image service could not read one of the images. Try a PNG or JPEG.",
            detail=detail,
        )
    if code in _BUSY or status == 429 or (status is not None and status >= 500):
        return errors.ServiceBusy(detail=detail)
    if status in (401, 403):
        return errors.GenerationFailed(
            f"The image service refused easel's API key. {_OWNER}", detail=detail
        )
    return errors.GenerationFailed(detail=detail)
