"""GET /metrics at the wire: easel started with EASEL_METRICS_PORT, a /draw through the fake
Slack and OpenAI, then a real scrape parsed with prometheus_client's own text parser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.env import ConfigError
from bot.openai.errors import API_CODES
from bot.telemetry import error_codes
from tests.conftest import CHANNEL, TEAM, USER, SlackSender, draw, settle
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.faults import rate_limited, status
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack

PROMPT = "a gray tabby cat hugging an otter with an orange scarf"
TIMINGS = ("ack", "first_preview", "final", "model", "delivery")
ALLOWED = {
    "platform": {"slack", "discord", "web", "other"},
    "status": {"delivered", "failed", "interrupted", "other"},
    "code": {"", "other", *error_codes(), *API_CODES},
    "kind": {"later", "refused", "bug", "other"},
}


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "EASEL_METRICS_PORT": "0", "EASEL_DELIVERY_MAX_PAUSE": "0.05"}


@pytest.fixture
def discord_env(discord_env: dict[str, str]) -> dict[str, str]:
    return {**discord_env, "EASEL_METRICS_PORT": "0"}


async def scrape(runtime: Runtime, *, host: str = "127.0.0.1") -> list[Sample]:
    """Every sample /metrics shows, each label value checked to come from a fixed set."""
    assert runtime.metrics_port is not None
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.get(f"http://{host}:{runtime.metrics_port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert PROMPT not in response.text
    samples = [s for f in text_string_to_metric_families(response.text) for s in f.samples]
    for sample in samples:
        assert not {USER, CHANNEL, TEAM} & set(sample.labels.values()), sample
        if sample.name.startswith("easel_"):
            for name, value in sample.labels.items():
                assert name == "le" or value in ALLOWED[name], sample
    return samples


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def scraped_until(
    runtime: Runtime, check: Callable[[list[Sample]], bool], within: float = 10
) -> list[Sample]:
    """Scrape until `check` holds for what /metrics shows; return that scrape."""
    async with asyncio.timeout(within):
        while not check(samples := await scrape(runtime)):  # noqa: ASYNC110 - a scrape, polled
            await asyncio.sleep(0.05)
    return samples


async def test_a_delivered_drawing_is_counted_timed_and_costed(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI
) -> None:
    assert easel.metrics_port not in (None, easel.port)
    openai_fake.push(Script(delay=0.25))  # frames apart, so that a preview is shown
    response = await slack.command(PROMPT)
    assert response.status_code == 200
    drawing = await scraped_until(easel, lambda s: value(s, "easel_drawings_in_flight") == 1)
    assert value(drawing, "easel_turns_total") == 0
    await settle(easel)

    samples = await scrape(easel)
    assert value(samples, "easel_turns_total") == 1
    assert value(samples, "easel_turns_total", platform="slack", status="delivered", code="") == 1
    for timing in TIMINGS:
        assert value(samples, f"easel_{timing}_seconds_count", platform="slack") == 1, timing
        assert value(samples, f"easel_{timing}_seconds_sum", platform="slack") > 0, timing
    sums = {t: value(samples, f"easel_{t}_seconds_sum") for t in TIMINGS}
    assert sums["final"] > sums["model"] > sums["first_preview"]  # as the turn went
    assert value(samples, "easel_estimated_spend_usd_total", platform="slack") > 0
    assert value(samples, "easel_drawings_in_flight") == 0
    assert value(samples, "easel_openai_errors_total") == 0
    assert value(samples, "easel_platform_errors_total") == 0
    assert value(samples, "easel_delivery_retries_total") == 0
    await scraped_until(easel, lambda s: value(s, "easel_event_loop_lag_seconds_count") >= 1)


async def test_an_openai_429_counts_its_code_and_the_failed_turn(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI
) -> None:
    openai_fake.faults.set("responses.create", rate_limited(None))
    await slack.command(PROMPT)
    await settle(easel)

    samples = await scrape(easel)
    assert value(samples, "easel_openai_errors_total") == 1
    assert value(samples, "easel_openai_errors_total", code="rate_limit_exceeded") == 1
    failed = {"platform": "slack", "status": "failed", "code": "service_busy"}
    assert value(samples, "easel_turns_total", **failed) == 1
    assert value(samples, "easel_turns_total") == 1
    assert value(samples, "easel_model_seconds_count") == 0
    assert value(samples, "easel_estimated_spend_usd_total") == 0
    assert value(samples, "easel_drawings_in_flight") == 0


async def test_a_slack_503_on_the_upload_counts_a_platform_error_and_a_retry(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0))
    slack_fake.faults.set("files.completeUploadExternal", status(503))
    await slack.command(PROMPT)
    await settle(easel)

    samples = await scrape(easel)
    assert value(samples, "easel_platform_errors_total", platform="slack", kind="later") == 1
    assert value(samples, "easel_platform_errors_total") == 1
    assert value(samples, "easel_delivery_retries_total", platform="slack") == 1
    assert value(samples, "easel_turns_total", platform="slack", status="delivered") == 1
    assert value(samples, "easel_first_preview_seconds_count") == 0  # none was streamed


async def test_a_discord_drawing_is_counted_as_discord(
    easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    await draw(discord_fake, easel_discord, PROMPT)
    samples = await scrape(easel_discord)
    assert value(samples, "easel_turns_total", platform="discord", status="delivered") == 1
    assert value(samples, "easel_final_seconds_count", platform="discord") == 1
    assert value(samples, "easel_ack_seconds_count") == 0  # Slack's HTTP requests only


async def test_metrics_are_not_served_on_the_port_that_faces_slack(easel: Runtime) -> None:
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.get(f"http://127.0.0.1:{easel.port}/metrics")
        assert response.status_code == 404
        health = await http.get(f"http://127.0.0.1:{easel.metrics_port}/healthz")
        assert health.status_code == 404  # and the metrics listener serves nothing else


async def test_without_a_metrics_port_nothing_is_served(env: dict[str, str]) -> None:
    without = {k: v for k, v in env.items() if k != "EASEL_METRICS_PORT"}
    async with running(load_config(without)) as runtime:
        assert runtime.metrics_port is None


@pytest.fixture
async def easel_on_all_addresses(env: dict[str, str]) -> AsyncIterator[Runtime]:
    """easel as Slack's HTTP mode runs by default: its web server on every address."""
    everywhere = {k: v for k, v in env.items() if k != "EASEL_HOST"}
    async with running(load_config(everywhere)) as runtime:
        yield runtime


async def test_the_metrics_listener_binds_loopback_by_default(
    easel_on_all_addresses: Runtime,
) -> None:
    # 127.0.0.2 reaches a socket bound to every address, never one bound to 127.0.0.1.
    runtime = easel_on_all_addresses
    async with httpx2.AsyncClient(timeout=5) as http:
        health = await http.get(f"http://127.0.0.2:{runtime.port}/healthz")
        assert health.status_code == 200
        with pytest.raises(httpx2.ConnectError):
            await http.get(f"http://127.0.0.2:{runtime.metrics_port}/metrics")
    assert await scrape(runtime)  # on 127.0.0.1 it answers


async def test_a_metrics_host_of_ones_own_is_bound(env: dict[str, str]) -> None:
    async with running(load_config({**env, "EASEL_METRICS_HOST": "127.0.0.2"})) as runtime:
        assert await scrape(runtime, host="127.0.0.2")
        async with httpx2.AsyncClient(timeout=5) as http:
            with pytest.raises(httpx2.ConnectError):
                await http.get(f"http://127.0.0.1:{runtime.metrics_port}/metrics")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"EASEL_METRICS_PORT": "nine"}, "EASEL_METRICS_PORT must be a number"),
        ({"EASEL_METRICS_PORT": "70000"}, "EASEL_METRICS_PORT must be at most 65535"),
        ({"EASEL_METRICS_PORT": "3000", "EASEL_PORT": "3000"}, "must differ from EASEL_PORT"),
        ({"EASEL_METRICS_HOST": "0.0.0.0"}, "EASEL_METRICS_HOST is set but EASEL_METRICS_PORT"),
        (
            {"EASEL_METRICS_PORT": "9100", "EASEL_METRICS_HOST": "127.0.0.1:9100"},
            "EASEL_METRICS_HOST must be an address",
        ),
    ],
)
def test_metrics_settings_are_checked_naming_the_variable(
    env: dict[str, str], extra: dict[str, str], words: str
) -> None:
    without = {k: v for k, v in env.items() if not k.startswith("EASEL_METRICS")}
    with pytest.raises(ConfigError, match=words):
        load_config({**without, **extra})


def test_metrics_settings_default_to_none_and_loopback(env: dict[str, str]) -> None:
    without = {k: v for k, v in env.items() if k not in ("EASEL_METRICS_PORT", "EASEL_HOST")}
    config = load_config(without)
    assert (config.metrics_port, config.metrics_host, config.host) == (None, "127.0.0.1", "0.0.0.0")
    config = load_config({**without, "EASEL_METRICS_PORT": "9100"})
    assert (config.metrics_port, config.metrics_host) == (9100, "127.0.0.1")
