"""Turns written to a real store the way the service writes them, for store and quota tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.models import DrawRequest, FinalImage, ImageOptions, ThreadKey
from bot.ports import Store
from bot.turns.status import TurnStatus


async def begin(
    store: Store,
    request: DrawRequest,
    key: ThreadKey,
    *,
    options: ImageOptions | None = None,
    status: TurnStatus = TurnStatus.DRAWING,
) -> int:
    return await store.ledger.begin(
        request, thread=key, options=options or ImageOptions(), status=status, message={}, inputs=()
    )


def final_image(turn_id: int, *, usage: Mapping[str, Any] | None = None) -> FinalImage:
    return FinalImage(
        data=b"\x89PNG final bytes",
        output_format="png",
        response_id=f"resp_{turn_id}",
        image_call_id=f"ig_{turn_id}",
        usage=usage,
    )


async def deliver(
    store: Store,
    turn_id: int,
    key: ThreadKey,
    *,
    final: FinalImage | None = None,
    cost: float | None = None,
) -> FinalImage:
    """Hold the turn's image, then complete it, as a delivered turn goes."""
    final = final or final_image(turn_id)
    await store.ledger.hold(turn_id, final)
    await store.ledger.placed(turn_id, key=key, final=final, file_ref=f"F{turn_id}")
    await store.ledger.complete(turn_id, final=final, cost_usd=cost)
    return final


async def record(
    store: Store,
    request: DrawRequest,
    key: ThreadKey,
    status: TurnStatus,
    *,
    cost: float | None = None,
) -> int:
    """One turn begun and brought to `status` now (on the store's clock)."""
    turn_id = await begin(store, request, key)
    if status is TurnStatus.DELIVERED:
        await deliver(store, turn_id, key, cost=cost)
    elif status is not TurnStatus.DRAWING:
        await store.ledger.end(turn_id, status=status, error_code="test")
    return turn_id
