"""Removing a drawing from Slack: its final file (files.delete) and its message (chat.delete).

What is gone already counts as removed; what Slack cannot do for now, or will not do, is said
in words the presser can act on (the drawing stays marked deleted, and Delete again retries).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.failures import Caller, PlatformError
from bot import errors

NOT_DELETED_YET = (
    "Slack is not answering right now, so the drawing is not removed yet. "
    "Press Delete again in a minute."
)
NOT_DELETED = "Slack would not remove the drawing ({})."
ALREADY_GONE = frozenset({"message_not_found", "file_not_found", "file_deleted"})


async def erase(
    call: Caller, client: AsyncWebClient, *, channel: str, ts: str | None, file_ref: str | None
) -> None:
    """Delete the file `file_ref`, then the message at `ts` in `channel` (either may be None):
    the message goes last, so while anything is left its Delete button is there to press
    again."""
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
    if file_ref is not None:
        steps.append(("files.delete", lambda: client.files_delete(file=file_ref)))
    if ts is not None:
        steps.append(("chat.delete", lambda: client.chat_delete(channel=channel, ts=ts)))
    for what, step in steps:
        try:
            await call(step, what=what)
        except PlatformError as exc:
            if exc.reason.rpartition(": ")[2] in ALREADY_GONE:  # "chat.delete: message_not_found"
                continue
            if exc.later:
                raise errors.ChatUnavailable(NOT_DELETED_YET, detail=exc.reason) from exc
            raise errors.ChatRefused(NOT_DELETED.format(exc.reason), detail=exc.reason) from exc
