"""Every way a Discord REST call fails, classified once (see adapters.failures).

discord.py raises HTTPException (DiscordServerError for 5xx) for any answer that is not ok,
whatever its body (`text` is the body as sent, `code` 0 when it was not Discord's JSON); it
tries 500/502/504 and well-formed 429s again itself before that. A 429 whose JSON lacks
`retry_after` surfaces as a KeyError raised inside discord.http (or its webhook adapter,
for interaction answers). Network failures come
through as aiohttp's or asyncio's own exceptions.
"""

from __future__ import annotations

import json
import traceback

import discord

from adapters.failures import Kind, PlatformError, by_status, network_failure


def _raised_reading_an_answer(exc: BaseException) -> bool:
    """Raised inside discord.py's REST client or its webhook adapter (interaction answers)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = frames[-1].filename.replace("\\", "/") if frames else ""
    return where.endswith(("discord/http.py", "discord/webhook/async_.py"))


def classify(exc: BaseException) -> PlatformError | None:
    """LATER, REFUSED, or None for an exception that is not Discord's (a bug)."""
    if isinstance(exc, discord.HTTPException):
        reason = f"HTTP {exc.status} {exc.code or ''} {exc.text[:200]}".strip()
        return PlatformError(by_status(exc.status), reason, status=exc.status)
    if network_failure(exc):
        return PlatformError(Kind.LATER, type(exc).__name__)
    if isinstance(exc, KeyError | json.JSONDecodeError) and _raised_reading_an_answer(exc):
        # discord.py reading a malformed answer (a 429 without retry_after, a non-JSON body
        # that says it is JSON): Discord or a proxy in front of it is not itself.
        return PlatformError(Kind.LATER, f"malformed answer ({type(exc).__name__})")
    return None
