"""Sends what Slack sends to an HTTP-mode app: signed `/draw` commands and message events.

The body is signed with `slack_sdk.signature.SignatureVerifier`, exactly as Slack signs it
(v0 HMAC-SHA256 over `v0:{timestamp}:{body}`), so every request passes Bolt's real check.
"""

from __future__ import annotations

import json
import time
import urllib.parse

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bench.common import now

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench"
TEAM = "T1"
CHANNEL = "C1"
USER = "U1"


class SlackSender:
    def __init__(self, *, port: int, response_url: str, secret: str = SIGNING_SECRET) -> None:
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self._response_url = response_url
        self._signer = SignatureVerifier(secret)
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=30),
        )
        self._events = 0

    async def aclose(self) -> None:
        await self._http.close()

    async def _post(self, body: str, content_type: str) -> tuple[float, float, int]:
        """(sent, answered, status): monotonic times around one signed request."""
        ts = str(int(time.time()))
        signature = self._signer.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }
        sent = now()
        async with self._http.post(self.url, data=body.encode(), headers=headers) as response:
            await response.read()
            return sent, now(), response.status

    async def command(self, text: str, *, user: str = USER) -> tuple[float, float, int]:
        form = {
            "token": "unused",
            "team_id": TEAM,
            "team_domain": "bench",
            "channel_id": CHANNEL,
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": "/draw",
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": self._response_url,
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }
        return await self._post(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")

    async def reply(self, *, thread_ts: str, text: str) -> tuple[float, float, int]:
        """A person's reply in a drawing's thread, as an Events API `message` callback."""
        self._events += 1
        event = {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": USER,
            "text": text,
            "ts": f"{1_800_000_000 + self._events}.000100",
            "thread_ts": thread_ts,
            "team": TEAM,
            "event_ts": f"{1_800_000_000 + self._events}.000100",
        }
        body = {
            "token": "unused",
            "team_id": TEAM,
            "api_app_id": "A1",
            "type": "event_callback",
            "event_id": f"Ev{self._events:08d}",
            "event_time": int(time.time()),
            "event": event,
        }
        return await self._post(json.dumps(body), "application/json")
