"""Log output: one line per record, as text or JSON, marked with its drawing turn, redacted.

`configure()` is called once, by the entry point. It puts one handler on the root logger with
two filters, so they see every record of every library (slack_sdk, discord.py, openai, ...):

- TurnFilter adds `turn_id`, `platform`, `workspace` and `thread` to each record made inside a
  drawing turn (`bind_turn()` marks the turn's task; tasks it starts inherit the mark).
- RedactFilter renders the message (and the exception text) and replaces the configured
  secrets with `[redacted]`, and image data with `[base64, N chars]`: every run of 200 or more
  base64 characters, and the payload of a data URL (`...;base64,...`) whatever its length.
  Secrets shorter than 8 characters are left alone: they would blank ordinary words.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
MIN_SECRET_CHARS = 8
MIN_BASE64_RUN = 200
REDACTED = "[redacted]"
# Standard and URL-safe alphabets, with padding. 200 such characters in a row are never words;
# after "base64," (a data URL, perhaps cut short by whoever shortened the text) any length is.
_BASE64_RUN = re.compile(
    rf"(?<=base64,)[A-Za-z0-9+/_-]+={{0,2}}|[A-Za-z0-9+/_-]{{{MIN_BASE64_RUN},}}={{0,2}}"
)
_DATA_URL = "base64,"
# A LogRecord's own `thread` is the OS thread id: the turn's thread travels under another name.
_THREAD_ATTR = "turn_thread"


@dataclass(frozen=True, slots=True)
class Turn:
    turn_id: int
    platform: str
    workspace: str
    thread: str  # "channel/thread" as the platform names them


_turn: ContextVar[Turn | None] = ContextVar("easel_turn", default=None)


def bind_turn(turn_id: int, *, platform: str, workspace: str, thread: str) -> None:
    """Mark every later log record of the current task (and of tasks it starts) as this turn's."""
    _turn.set(Turn(turn_id=turn_id, platform=platform, workspace=workspace, thread=thread))


class TurnFilter(logging.Filter):
    """Adds the bound turn's fields to the record; records outside a turn are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        turn = _turn.get()
        if turn is not None:
            record.turn_id = turn.turn_id
            record.platform = turn.platform
            record.workspace = turn.workspace
            setattr(record, _THREAD_ATTR, turn.thread)
        return True


class Redactor:
    """Replaces secrets and long base64 runs in a string; returns it unchanged (and uncopied)
    when there is nothing to replace."""

    def __init__(self, *, secrets: Iterable[str | None] = ()) -> None:
        kept = {s for s in secrets if s is not None and len(s) >= MIN_SECRET_CHARS}
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted(kept, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if (len(text) >= MIN_BASE64_RUN or _DATA_URL in text) and _BASE64_RUN.search(text):
            text = _BASE64_RUN.sub(_base64_note, text)
        return text


def _base64_note(match: re.Match[str]) -> str:
    return f"[base64, {len(match.group())} chars]"


class RedactFilter(logging.Filter):
    """Renders the record's message and exception text and redacts both, before any formatter
    sees them. A record with nothing to redact keeps its message and arguments as they were."""

    def __init__(self, *, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor
        self._plain = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted is not message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [turn 12 slack T1 C1/1700.1]`, then any traceback."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        turn_id = getattr(record, "turn_id", None)
        if turn_id is None:
            return line
        thread = getattr(record, _THREAD_ATTR, "")
        platform, workspace = getattr(record, "platform", ""), getattr(record, "workspace", "")
        return f"{line} [turn {turn_id} {platform} {workspace} {thread}]"


class EaselJsonFormatter(JsonFormatter):
    """One JSON object per record: timestamp, level, logger, message, the turn's fields when
    bound, and `exc_info` as the filter redacted it."""

    def __init__(self) -> None:
        super().__init__(
            JSON_FORMAT,
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                _THREAD_ATTR: "thread",
            },
        )

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_text:
            return str(super().format(record))
        # The JSON formatter would format exc_info afresh; use the filter's redacted text.
        exc_info, record.exc_info = record.exc_info, None
        try:
            return str(super().format(record))
        finally:
            record.exc_info = exc_info


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return EaselJsonFormatter()
    if fmt == "text":
        return TextFormatter()
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")


class EaselHandler(logging.StreamHandler[TextIO]):
    """The handler configure() installs; a second configure() replaces it."""


def configure(
    *,
    level: str | int,
    fmt: str = "text",
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every log record to `stream` (default stderr) in `fmt`, marked and redacted."""
    handler = EaselHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(TurnFilter())
    handler.addFilter(RedactFilter(redactor=Redactor(secrets=secrets)))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, EaselHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    # Warnings (Pillow's DecompressionBombWarning, deprecations) go through the same handler,
    # as one line each, instead of straight to stderr past the format and the redaction.
    logging.captureWarnings(True)
    return handler
