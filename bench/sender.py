"""Sends what Slack sends to an HTTP-mode app: signed `/draw` commands and message events,
built and signed by the tests' SignedRequests, and timed from outside."""

from __future__ import annotations

import aiohttp

from bench.common import now
from tests.slack import SignedRequests

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
TEAM = "T1"
CHANNEL = "C1"
USER = "U1"
FORM = "application/x-www-form-urlencoded"


class SlackSender:
    def __init__(
        self, *, port: int, response_url: str, signed: SignedRequests | None = None
    ) -> None:
        """`signed`: shared by the senders to several replicas, so that no two events they
        send have the same id, as on Slack."""
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self._response_url = response_url
        self._signed = signed or SignedRequests(secret=SIGNING_SECRET, team=TEAM)
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=30),
        )

    async def aclose(self) -> None:
        await self._http.close()

    async def _post(self, body: str, content_type: str) -> tuple[float, float, int]:
        """(sent, answered, status): monotonic times around one signed request."""
        headers = self._signed.headers(body, content_type)
        sent = now()
        async with self._http.post(self.url, data=body.encode(), headers=headers) as response:
            await response.read()
            return sent, now(), response.status

    async def command(self, text: str, *, user: str = USER) -> tuple[float, float, int]:
        body = self._signed.command(
            text, user=user, channel=CHANNEL, response_url=self._response_url
        )
        return await self._post(body, FORM)

    async def reply(self, *, thread_ts: str, text: str) -> tuple[float, float, int]:
        """A person's reply in a drawing's thread, as an Events API `message` callback."""
        event = self._signed.reply_event(
            thread_ts=thread_ts, text=text, user=USER, channel=CHANNEL, channel_type="channel"
        )
        event["event_ts"] = event["ts"]
        return await self._post(self._signed.event_callback(event), "application/json")
