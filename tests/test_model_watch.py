"""The model watch at the wire: easel checks every model it is configured with against the fake
OpenAI's `GET /v1/models/{id}` at start (stopping for a model set in the environment that is
gone, warning for the rest) and again at each tick of its daily check; /healthz says what it
found without failing."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from adapters.errors import StartupError
from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.openai.models import DAY
from tests.clock import ManualClock
from tests.conftest import TEAM, SlackSender
from tests.fakes.faults import RESET, answer, status
from tests.fakes.openai_server import FakeOpenAI
from tests.process import ROOT
from tests.slack import ADMIN
from tests.waiting import eventually, settle

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


async def health(runtime: Runtime) -> tuple[int, dict[str, Any]]:
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.get(f"http://127.0.0.1:{runtime.port}/healthz")
    return response.status_code, response.json()


def watch_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "model-watch" and not t.done()]


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and r.name == "bot.workspace.watch"
    ]


# -- at start -------------------------------------------------------------------------------


async def test_a_shut_down_model_in_the_environment_stops_easel_naming_the_variable(
    env: dict[str, str], openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    gone = datetime.now(UTC).date() - timedelta(days=39)
    openai_fake.shutdown_dates["gpt-image-1"] = gone
    child = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        **env,
        "EASEL_IMAGE_MODEL": "gpt-image-1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from adapters.cli import run; run()",
        cwd=ROOT,
        env=child,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    async with asyncio.timeout(30):
        output, _ = await process.communicate()
    said = output.decode()
    assert process.returncode == 2, said
    assert (
        f"EASEL_IMAGE_MODEL: OpenAI says gpt-image-1 shut down on {gone.isoformat()}; "
        "choose an active model, for example gpt-image-2"
    ) in said
    assert "easel is running" not in said and "Traceback" not in said
    assert {r.model for r in openai_fake.model_requests} == {"gpt-6.1-terra", "gpt-image-1"}
    assert openai_fake.requests == []


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("unknown", "EASEL_MODEL: OpenAI says gpt-nope does not exist"),
        ("retired", "EASEL_MODEL: OpenAI says gpt-nope has been retired"),
        ("today", f"EASEL_MODEL: OpenAI says gpt-nope shut down on {TODAY.isoformat()}"),
    ],
)
async def test_a_model_openai_does_not_have_stops_the_runtime(
    env: dict[str, str], openai_fake: FakeOpenAI, how: str, words: str
) -> None:
    if how == "unknown":
        openai_fake.unknown_models.add("gpt-nope")
    elif how == "today":
        openai_fake.shutdown_dates["gpt-nope"] = TODAY
    else:
        message = "The model `gpt-nope` has been deprecated, learn more here: https://x"
        error = {"message": message, "type": "invalid_request_error", "code": "model_not_found"}
        retired = answer(404, {"error": {**error, "param": None}})
        openai_fake.faults.set("models.retrieve", retired, where=_asks_for("gpt-nope"))
    config = load_config({**env, "EASEL_MODEL": "gpt-nope"})
    with pytest.raises(StartupError) as caught:
        async with running(config, clock=ManualClock(NOW)):
            pytest.fail("easel started with a model that is gone")
    assert str(caught.value).startswith(words)
    assert "for example gpt-6.1-terra" in str(caught.value)


def _asks_for(model: str) -> Any:
    return lambda request: request.path.endswith(f"/models/{model}")


@pytest.mark.parametrize("how", ["gateway html", "gateway text", "503", "500 html", "reset"])
async def test_when_nobody_can_say_easel_warns_and_starts(
    env: dict[str, str], openai_fake: FakeOpenAI, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    caplog.set_level(logging.WARNING)
    if how.startswith("gateway"):
        openai_fake.models_gateway = "html" if how.endswith("html") else "text"
    else:
        fault = {"503": status(503), "500 html": status(500, body="html"), "reset": RESET}[how]
        openai_fake.faults.set("models.retrieve", fault, times=None)
    async with running(load_config(env), clock=ManualClock(NOW)) as easel:
        assert await health(easel) == (
            200,
            {"ok": True, "ready": True, "store": True, "slack": True},
        )
    warned = records(caplog, logging.WARNING)
    for model in ("gpt-6.1-terra", "gpt-image-2"):
        assert any(
            line.startswith(f"easel could not check {model} with OpenAI (") for line in warned
        )
    assert all("going on without knowing" in line for line in warned), warned


async def test_a_model_shutting_down_soon_is_a_warning_in_the_log_and_in_healthz(
    env: dict[str, str], openai_fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    soon = TODAY + timedelta(days=10)
    openai_fake.shutdown_dates["gpt-5-mini"] = soon
    config = load_config({**env, "EASEL_MODEL": "gpt-5-mini"})
    async with running(config, clock=ManualClock(NOW)) as easel:
        code, body = await health(easel)
        assert len(watch_tasks()) == 1
    assert watch_tasks() == []  # the daily check ends with easel
    said = f"OpenAI says gpt-5-mini shuts down on {soon.isoformat()}, in 10 days"
    assert (code, body["ok"]) == (200, True)
    assert body["warnings"] == [f"{said} (EASEL_MODEL)"]
    assert records(caplog, logging.WARNING) == [
        f"{said}; choose an active model, for example gpt-6.1-terra (EASEL_MODEL)"
    ]


async def test_the_request_names_both_models(
    easel: Runtime, openai_fake: FakeOpenAI, slack: SlackSender
) -> None:
    """The tool's own default is a model that has shut down: easel always names its own."""
    await slack.command("a lighthouse")
    await settle(easel)
    [body] = openai_fake.requests
    assert body["model"] == "gpt-6.1-terra"
    assert [t["model"] for t in body["tools"]] == ["gpt-image-2"]


# -- every day --------------------------------------------------------------------------------


@dataclass
class Ticks:
    """The model watch's wait between checks, driven by the test: each `tick()` lets one
    check run."""

    queue: asyncio.Queue[None]

    async def __call__(self) -> None:
        await self.queue.get()

    def tick(self) -> None:
        self.queue.put_nowait(None)


@pytest.fixture
async def daily(
    env: dict[str, str],
) -> AsyncIterator[tuple[Runtime, ManualClock, Ticks]]:
    clock, ticks = ManualClock(NOW), Ticks(asyncio.Queue())
    async with running(load_config(env), clock=clock, model_tick=ticks) as easel:
        yield easel, clock, ticks


async def next_check(easel: Runtime, ticks: Ticks) -> None:
    done = easel.models.checks
    ticks.tick()
    await eventually(lambda: easel.models.checks > done)


async def test_the_daily_check_asks_afresh_and_says_what_changed(
    daily: tuple[Runtime, ManualClock, Ticks],
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    easel, clock, ticks = daily
    caplog.set_level(logging.WARNING)
    assert easel.models.checks == 1 and len(openai_fake.model_requests) == 2
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id=ADMIN, texts={"model": "gpt-5.6-luna"}
    )
    assert (await health(easel))[1].get("warnings") is None

    ends = TODAY + timedelta(days=20)
    openai_fake.shutdown_dates["gpt-image-2"] = ends
    openai_fake.unknown_models.add("gpt-5.6-luna")
    clock.advance(DAY)
    await next_check(easel, ticks)
    assert sorted(r.model for r in openai_fake.model_requests[3:]) == [
        "gpt-5.6-luna",
        "gpt-6.1-terra",
        "gpt-image-2",
    ]  # every model in use, asked again although each answer was kept for a day
    code, body = await health(easel)
    assert code == 200 and body["warnings"] == [
        f"OpenAI says gpt-image-2 shuts down on {ends}, in 19 days (EASEL_IMAGE_MODEL)",
        "OpenAI says gpt-5.6-luna does not exist (or easel may not use it) "
        f"(Mainline model of slack:{TEAM})",
    ]
    assert len(records(caplog, logging.WARNING)) == 2

    # OpenAI cannot be asked the next day: what it said still stands.
    openai_fake.faults.set("models.retrieve", status(503), times=None)
    clock.advance(DAY)
    await next_check(easel, ticks)
    assert len((await health(easel))[1]["warnings"]) == 2

    # The shutdown date comes while easel runs: an error in the log, health stays 200.
    clock.advance(18 * DAY)
    await next_check(easel, ticks)
    code, body = await health(easel)
    assert code == 200 and f"OpenAI says gpt-image-2 shut down on {ends}" in body["warnings"][0]
    [error] = records(caplog, logging.ERROR)
    assert error.startswith(f"OpenAI says gpt-image-2 shut down on {ends}; choose an active")
    assert error.endswith("(EASEL_IMAGE_MODEL): drawings fail until easel runs with another model")
