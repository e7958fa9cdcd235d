"""Previews at EASEL_PUBLIC_URL behind a load balancer: Slack's fetch of a preview may reach
any replica, so each one answers for the previews the others put up (PostgreSQL)."""

from __future__ import annotations

import httpx2

from adapters.runtime import running
from bot.config import load_config
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import SlackSender, image_refs
from tests.waiting import eventually, settle

pytest_plugins = ["tests.postgres"]


async def test_any_replica_serves_a_preview_another_put_up(
    env: dict[str, str], pg_url: str, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(delay=0.5))
    config = load_config({**env, "EASEL_DB": pg_url, "EASEL_PUBLIC_URL": "https://easel.test"})
    async with (
        running(config) as drawer,
        running(config) as other,
        httpx2.AsyncClient() as http,
    ):
        slack = SlackSender(port=drawer.port)
        await slack.command("a kite")
        shown = await eventually(
            lambda: [
                r for c in slack_fake.calls_to("chat.update") for r in image_refs(c.args["blocks"])
            ]
        )
        token = shown[0].rsplit("/", 1)[1]
        served = await http.get(f"http://127.0.0.1:{other.port}/previews/{token}")
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.content[:2] == b"\xff\xd8"  # a JPEG, as put up by the drawing replica
        unknown = await http.get(f"http://127.0.0.1:{other.port}/previews/{'x' * 32}")
        assert unknown.status_code == 404
        await settle(drawer)
        await slack.aclose()
        # Once the final image is shown, no replica serves the preview any longer.
        for port in (drawer.port, other.port):
            gone = await http.get(f"http://127.0.0.1:{port}/previews/{token}")
            assert gone.status_code == 404
