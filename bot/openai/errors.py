"""The image service's errors, in words a person can act on (bot.errors types).

A dropped connection and a silent one are told apart by the exception chain, not by the
SDK's outer type: over the SDK's aiohttp transport a connection reset or closed before any
answer surfaces as `openai.APITimeoutError` from `httpx2.ConnectTimeout`, with the aiohttp or
OS error beneath it. The innermost error that says which it was decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import aiohttp
import httpx2
import openai

from bot import errors

_OWNER = "Please tell whoever runs easel."
UNREACHABLE = "easel could not reach the image service. Please try again in a minute."
DROPPED = (
    "The connection to the image service dropped while it was answering. "
    "Please try again in a minute."
)
UNREADABLE_ANSWER = "easel could not read the image service's answer. Please try again."
_TOO_LARGE = ("image_too_large", "request_too_large", "file_too_large")
_UNREADABLE = ("invalid_image", "invalid_image_format", "image_parse_error")
_BUSY = ("rate_limit_exceeded", "server_error", "server_overloaded")
# The API's own error codes easel knows: what a failed request is counted by, when it says one.
API_CODES = frozenset(
    {
        "moderation_blocked",
        "previous_response_not_found",
        "model_not_found",
        "insufficient_quota",
        *_TOO_LARGE,
        *_UNREADABLE,
        *_BUSY,
    }
)
# What a connection error's text says when the chain beneath it has been lost.
_DROP_WORDS = re.compile(
    r"\[Errno \d+\]|disconnect|reset by peer|refused|cannot connect|broken pipe"
    r"|connection (was )?closed",
    re.I,
)
_DROPS = (aiohttp.ClientConnectionError, OSError, httpx2.NetworkError, httpx2.ProtocolError)
_MODEL_NAME = re.compile(r"model `([\w.:/-]{1,80})`")
RETIRED_WORDS = re.compile(r"deprecated|retired|shut ?down|no longer", re.I)


def map_api_error(exc: openai.APIError) -> errors.EaselError:
    """Map an SDK exception (HTTP error, timeout, or a stream error the SDK raised)."""
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError is one too
        return map_transport_error(exc)
    status = getattr(exc, "status_code", None)
    return map_code(exc.code, exc.message, status=status)


def counted_code(error: errors.EaselError) -> str:
    """What a failure is counted by: the API's own code when it is one of API_CODES, else the
    bot.errors code it was mapped to (never the API's free text)."""
    cause = error.__cause__
    code = cause.code if isinstance(cause, openai.APIError) else None
    return code if code in API_CODES else error.code


def map_transport_error(exc: BaseException, *, answered: bool = False) -> errors.EaselError:
    """A connection that failed or went quiet. `answered`: the service had begun to answer
    (the stream was being read), so a failed connection dropped rather than never opened."""
    *_, root = _chain(exc)
    beneath = f" from {root!r}" if root is not exc else ""
    detail = f"{'stream' if answered else 'request'}: {exc!r}{beneath}"
    if connection_failed(exc):
        return errors.ServiceBusy(DROPPED if answered else UNREACHABLE, detail=detail)
    return errors.ServiceTimeout(detail=detail)


def connection_failed(exc: BaseException) -> bool:
    """True when the connection was refused, reset or closed; False when it went quiet."""
    for link in reversed(list(_chain(exc))):  # innermost first: what really happened
        if isinstance(link, TimeoutError):  # asyncio's and aiohttp's timeouts are these
            return False
        if isinstance(link, _DROPS):
            return True
        if isinstance(link, httpx2.TimeoutException):  # its own text: the chain beneath is lost
            return isinstance(link, httpx2.ConnectTimeout) and bool(_DROP_WORDS.search(str(link)))
    return not isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and the errors beneath it, outermost first (each once)."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)


def map_code(code: str | None, message: str, *, status: int | None = None) -> errors.EaselError:
    """Map an API error code (and HTTP status, when there is one) to words a person can use."""
    detail = f"{status or '-'} {code or '-'}: {message}"
    if code == "moderation_blocked":
        return errors.ModerationBlocked(detail=detail)
    if code == "previous_response_not_found":
        return errors.ContextExpired(detail=detail)
    if code == "model_not_found":
        return errors.GenerationFailed(model_gone(message), detail=detail)
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


def model_gone(message: str) -> str:
    """The words for a model that does not exist, or no longer does (`model_not_found`)."""
    found = _MODEL_NAME.search(message)
    name = f" {found.group(1)}" if found else ""
    retired = " any more: it has been retired" if RETIRED_WORDS.search(message) else ""
    return (
        f"The model{name} that easel is set to use is not available{retired}. "
        "An admin must choose another one in easel's settings."
    )
