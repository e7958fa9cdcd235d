"""The edits of one turn's Slack message, metered by its workspace's EditBudget.

An edit that must land (the final image, an error) waits for the budget and, when Slack
answers 429 all the same, teaches the budget and waits again, a few times, before it fails
for now (the core then tries the step again later). A preview edit, or a passing progress
line ("drawing…"), is made only with a spare token (for a preview, claimed before it was
prepared), and a 429 drops it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.failures import Caller, PlatformError
from adapters.slack import blocks
from adapters.slack.budget import EditBudget

log = logging.getLogger(__name__)

MUST_ATTEMPTS = 3  # 429s in a row a must-edit waits out before it fails for now


class MessageEdits:
    def __init__(
        self,
        *,
        client: AsyncWebClient,
        call: Caller,
        budget: EditBudget,
        channel: str,
        prompt: str,
        user_id: str,
        ts: str | None = None,
    ) -> None:
        self._client = client
        self._call = call
        self._budget = budget
        self._channel = channel
        self._prompt = prompt
        self._user_id = user_id
        self.ts = ts
        self._owes = False
        self._claimed = False

    def owe(self) -> None:
        """The message is posted: it will need its final edit."""
        if not self._owes:
            self._owes = True
            self._budget.owe()

    def settle(self) -> None:
        """The message shows its final or its error: it owes nothing more, and a token
        claimed for a preview that never came goes back."""
        if self._owes:
            self._owes = False
            self._budget.settle()
        if self._claimed:
            self._claimed = False
            self._budget.refund()

    def claim(self) -> bool:
        """Claim a spare token for the next preview edit; False when there is none."""
        if not self._claimed:
            self._claimed = self._budget.spare()
        return self._claimed

    async def must(self, new_blocks: list[dict[str, Any]], line: str) -> None:
        """An edit that must land: it waits for the budget, ahead of every preview."""
        for attempt in range(1, MUST_ATTEMPTS + 1):
            await self._budget.take()
            try:
                await self._send(new_blocks, line)
                return
            except PlatformError as exc:
                if not exc.rate_limited or attempt == MUST_ATTEMPTS:
                    raise
                log.info("chat.update rate-limited (attempt %d); waiting its turn again", attempt)

    async def spare(self, new_blocks: list[dict[str, Any]], line: str) -> bool:
        """An edit worth making only with a spare token (a claimed one first): a preview, or
        a passing progress line. False: there was none, and nothing was edited."""
        if not self.claim():
            return False
        self._claimed = False
        await self._send(new_blocks, line)
        return True

    async def image(
        self,
        image: dict[str, Any],
        line: str,
        *,
        preview: bool = False,
        turn_id: int | None = None,
    ) -> bool:
        """Show an image in the message (a finished one with turn `turn_id`'s buttons); False
        when Slack refuses the image (for good), or a preview finds no token. A failure for
        now is raised: the step is tried again."""
        new = blocks.with_image(
            user_id=self._user_id, prompt=self._prompt, image=image, line=line, turn_id=turn_id
        )
        try:
            if preview:
                return await self.spare(new, line)
            await self.must(new, line)
        except PlatformError as exc:
            if exc.later:
                raise
            log.warning("Slack refused the image update: %s", exc.reason)
            return False
        return True

    async def _send(self, new_blocks: list[dict[str, Any]], line: str) -> None:
        assert self.ts is not None, "start() posts the message first"
        ts = self.ts
        try:
            await self._call(
                lambda: self._client.chat_update(
                    channel=self._channel,
                    ts=ts,
                    text=blocks.fallback_text(self._prompt, line),
                    blocks=new_blocks,
                ),
                what="chat.update",
            )
        except PlatformError as exc:
            if exc.rate_limited:
                self._budget.throttled(exc.retry_after)
            raise
