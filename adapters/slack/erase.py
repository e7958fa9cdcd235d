"""Deleting a drawing from Slack: its message, then its final file (what is gone already
counts as deleted)."""

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
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
    if ts is not None:
        steps.append(("chat.delete", lambda: client.chat_delete(channel=channel, ts=ts)))
    if file_ref is not None:
        steps.append(("files.delete", lambda: client.files_delete(file=file_ref)))
    for what, step in steps:
        try:
            await call(step, what=what)
        except PlatformError as exc:
            if exc.reason in ALREADY_GONE:
                continue
            if exc.later:
                raise errors.ChatUnavailable(NOT_DELETED_YET, detail=exc.reason) from exc
            raise errors.ChatRefused(NOT_DELETED.format(exc.reason), detail=exc.reason) from exc
