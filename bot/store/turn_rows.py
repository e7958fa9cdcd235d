"""A turn's row as the ledger reads it back: the columns, and the StoredTurn they make."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.models import Action, ImageOptions, StoredTurn, ThreadKey
from bot.turns.status import TurnStatus

TURN_COLUMNS = (
    "id, status, platform, workspace, channel, thread, user_id, prompt, message, request, options,"
    " action, origin, drawn_from, response_id, image_call_id, file_ref, image_size, deleted_by"
)


def marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def stored(row: Any) -> StoredTurn:
    turn_id, status, platform, workspace, channel, thread, user_id, prompt, message = row[:9]
    wanted = json.loads(row[9]) if row[9] else {}
    action, origin, drawn_from, response_id, image_call_id, file_ref, image_size = row[11:18]
    return StoredTurn(
        id=int(turn_id),
        status=TurnStatus(status),
        key=ThreadKey(platform, workspace, channel, thread),
        user_id=str(user_id),
        prompt=str(prompt),
        message=json.loads(message) if message else {},
        inputs=tuple(wanted.get("inputs") or ()),
        size=wanted.get("size"),
        quality=wanted.get("quality"),
        max_upload_bytes=wanted.get("max_upload_bytes"),
        options=ImageOptions(**json.loads(row[10])),
        action=Action(action) if action else None,
        origin=int(origin) if origin is not None else None,
        drawn_from=drawn_from,
        response_id=response_id,
        image_call_id=image_call_id,
        file_ref=file_ref,
        image_size=image_size,
        deleted_by=row[18],
    )
