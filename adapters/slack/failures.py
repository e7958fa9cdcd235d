"""Every way a Slack Web API call fails, classified once (see adapters.failures).

slack_sdk raises SlackApiError for any HTTP answer that is not ok, whatever its body: its
`response.data` is a dict for JSON, `{}` for HTML or nothing, a str for text, None for an
empty JSON body, and for a body that claims JSON but is not, `response` is aiohttp's own
response object. files_upload_v2 says a refused upload only in words (SlackRequestError).
Network failures come through as aiohttp's or asyncio's own exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError

from adapters.failures import Kind, PlatformError, by_status, network_failure

# What Slack says when it is down or busy rather than refusing: worth trying again later.
UNAVAILABLE = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
_UPLOAD_STATUS = re.compile(r"status: (\d+)")


def _status(response: Any) -> int | None:
    for name in ("status_code", "status"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return value
    return None


def retry_after(response: Any) -> float | None:
    """The seconds of a 429's `Retry-After` header, when it has a number."""
    headers = getattr(response, "headers", None)
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            text = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return float(str(text))
            except ValueError:
                return None
    return None


def error_code(exc: SlackApiError) -> str | None:
    """Slack's `error` field, when the answer was JSON that has one."""
    data = getattr(exc.response, "data", None)
    error = data.get("error") if isinstance(data, Mapping) else None
    return str(error) if error else None


def classify(exc: BaseException) -> PlatformError | None:
    """LATER, REFUSED, or None for an exception that is not Slack's (a bug)."""
    if isinstance(exc, SlackApiError):
        status, error = _status(exc.response), error_code(exc)
        reason = error or f"HTTP {status}"
        wait = retry_after(exc.response) if status == 429 else None
        if error in UNAVAILABLE:
            return PlatformError(Kind.LATER, reason, status=status, retry_after=wait)
        kind = by_status(status) if status is not None and status != 200 else Kind.REFUSED
        return PlatformError(kind, reason, status=status)
    if isinstance(exc, SlackRequestError):
        # files_upload_v2: "Failed to upload a file (status: 503, body: None, ...)".
        found = _UPLOAD_STATUS.search(str(exc))
        if found is None:
            return None
        return PlatformError(by_status(int(found[1])), f"upload HTTP {found[1]}")
    if network_failure(exc):
        return PlatformError(Kind.LATER, type(exc).__name__)
    return None


def field(response: Any, name: str) -> Any:
    """A field of a Slack answer that must be there; a 200 without it is refused (checked,
    never indexed blindly)."""
    data = getattr(response, "data", None)
    value = data.get(name) if isinstance(data, Mapping) else None
    if value is None:
        raise PlatformError(Kind.REFUSED, f"Slack's answer has no {name!r}")
    return value
