"""Log output at the wire: easel runs against the fakes with bot.logs' real handler on the root
logger, and every line it (and slack_sdk, discord.py, openai, aiohttp...) wrote is read back."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.runtime import Runtime, running
from bot.config import Config, load_config
from bot.logs import EaselHandler, configure
from bot.models import ThreadKey
from tests.conftest import (
    BOT_TOKEN,
    CHANNEL,
    OPENAI_KEY,
    SIGNING_SECRET,
    TEAM,
    USER,
    SlackSender,
    draw,
    eventually,
    settle,
)
from tests.fakes.discord_server import GUILD_ID, FakeDiscord, wait_ready
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.fakes.slack_server import FakeSlack
from tests.fakes.slack_socket import FakeSocketMode
from tests.test_slack_socket_mode import command

APP_TOKEN = "xapp-test-logs"
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{200,}")


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, given back as it was: without the handler configure() installs."""
    root = logging.getLogger()
    level = root.level
    yield root
    for handler in [h for h in root.handlers if isinstance(h, EaselHandler)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def capture(config: Config, *, level: str = "DEBUG") -> io.StringIO:
    """Route every log record through the handler easel's entry point installs, into a buffer."""
    stream = io.StringIO()
    configure(level=level, fmt=config.log_format, secrets=config.secrets, stream=stream)
    return stream


def root_messages(slack_fake: FakeSlack) -> list[dict[str, Any]]:
    return [
        m
        for m in slack_fake.messages.values()
        if m.get("user") == "UBOT" and not m.get("thread_ts") and not m.get("files")
    ]


async def turn_of(runtime: Runtime, key: ThreadKey) -> dict[str, Any]:
    turns = await runtime.store.ledger.turns(key)
    assert len(turns) == 1, turns
    return turns[0]


# --- the handler on its own -----------------------------------------------------------------


def emit(stream: io.StringIO, build: Any) -> list[str]:
    """Log through the configured handler; return the lines it wrote."""
    start = len(stream.getvalue())
    build(logging.getLogger("tests.logs"))
    return stream.getvalue()[start:].splitlines()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_and_image_data_are_redacted_in_messages_arguments_and_tracebacks(
    fmt: str, root_logger: logging.Logger
) -> None:
    stream = io.StringIO()
    secret, short = "xoxb-123-456-abcdef", "hunter2"
    blob = base64.b64encode(make_png((40, 40), seed=3, blur=0)).decode()
    configure(level="INFO", fmt=fmt, secrets=[secret, short, None], stream=stream)

    def log_all(log: logging.Logger) -> None:
        log.info("token %s and %s", secret, short)
        log.info("body {'image_url': 'data:image/png;base64,%s'}", blob[:120])
        log.info("raw %s", blob)
        try:
            raise ValueError(f"refused {secret} with {blob}")
        except ValueError:
            log.exception("failed")

    lines = emit(stream, log_all)
    text = "\n".join(lines)
    assert secret not in text and blob[:60] not in text
    assert short in text  # shorter than 8 characters: not a secret worth blanking words for
    if fmt == "json":
        records = [json.loads(line) for line in lines]
        messages = [r["message"] for r in records]
        traceback = records[-1]["exc_info"]
    else:
        messages = [line.split(": ", 1)[1] for line in lines[:3]] + [lines[3].split(": ", 1)[1]]
        traceback = "\n".join(lines[4:])
    assert messages[0] == f"token [redacted] and {short}"
    assert messages[1] == "body {'image_url': 'data:image/png;base64,[base64, 120 chars]'}"
    assert messages[2] == f"raw [base64, {len(blob)} chars]"
    assert messages[3] == "failed"
    assert "Traceback (most recent call last)" in traceback
    assert f"ValueError: refused [redacted] with [base64, {len(blob)} chars]" in traceback


def test_a_record_with_nothing_to_redact_is_left_as_it_was(root_logger: logging.Logger) -> None:
    handler = configure(level="INFO", secrets=["xoxb-123-456-abcdef"], stream=io.StringIO())
    args = ("a heron", 3)
    record = logging.LogRecord("tests.logs", logging.INFO, __file__, 1, "%s x%d", args, None)
    handler.handle(record)
    assert record.msg == "%s x%d" and record.args is args  # not rendered into a new string


def test_configure_again_replaces_the_handler(root_logger: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure(level="INFO", stream=first)
    configure(level="WARNING", fmt="json", stream=second)
    assert sum(isinstance(h, EaselHandler) for h in root_logger.handlers) == 1
    logging.getLogger("tests.logs").warning("once")
    assert first.getvalue() == "" and json.loads(second.getvalue())["message"] == "once"
    with pytest.raises(ValueError, match="text, json"):
        configure(level="INFO", fmt="xml")


def test_warnings_are_written_by_the_same_handler() -> None:
    """Pillow warns about a decompression bomb it was asked to open: the warning is a log line
    in easel's format, not a bare line on stderr. (In a process of its own: pytest owns the
    warnings machinery of its own.)"""
    script = (
        "import warnings; from PIL import Image; from bot.logs import configure; "
        "configure(level='INFO', fmt='json'); "
        "warnings.warn('Image size exceeds limit', Image.DecompressionBombWarning)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    [line] = [json.loads(text) for text in done.stderr.splitlines()]
    assert line["logger"] == "py.warnings" and line["level"] == "WARNING"
    assert "DecompressionBombWarning: Image size exceeds limit" in line["message"]


# --- the entry point ------------------------------------------------------------------------


def easel_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The offline playground, as `easel` runs with nothing configured, on a free port."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "EASEL_PORT": "0",
        "EASEL_DB": str(tmp_path / "easel.db"),
        **extra,
    }


def test_easel_writes_json_lines_when_asked(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli"],
        env=easel_env(tmp_path, EASEL_LOG_FORMAT="json"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:  # ends if easel dies before it is running
            lines.append(line)
            if "easel is running" in line:
                break
    finally:
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=15)
    lines += rest.splitlines()
    assert process.returncode == 0, lines
    records = [json.loads(line) for line in lines]
    assert any(r["message"].startswith("listening on") for r in records), lines
    assert any(r["message"].startswith("stopping") for r in records), lines


def test_an_unknown_log_format_stops_easel_naming_the_variable(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli"],
        env=easel_env(tmp_path, EASEL_LOG_FORMAT="yaml"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "EASEL_LOG_FORMAT" in done.stderr and "'yaml'" in done.stderr


# --- which turn each line belongs to --------------------------------------------------------


async def test_json_lines_carry_the_turn_they_were_logged_in(
    env: dict[str, str],
    root_logger: logging.Logger,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
) -> None:
    config = load_config({**env, "EASEL_LOG_FORMAT": "json"})
    assert config.log_format == "json"
    stream = capture(config)
    prompts = ["a heron at dawn", "a fox at dusk"]
    openai_fake.push(Script(delay=0.1), Script(delay=0.1))  # both turns run at the same time
    async with running(config) as runtime:
        sender = SlackSender(port=runtime.port)
        try:
            for prompt in prompts:
                assert (await sender.command(prompt)).status_code == 200
            await settle(runtime)
        finally:
            await sender.aclose()
        turns: dict[int, tuple[str, str, str]] = {}  # turn id -> (thread, prompt, response)
        for message in root_messages(slack_fake):
            row = await turn_of(runtime, ThreadKey("slack", TEAM, CHANNEL, message["ts"]))
            assert row["status"] == "delivered"
            turns[row["id"]] = (f"{CHANNEL}/{message['ts']}", row["prompt"], row["response_id"])
    assert sorted(prompt for _, prompt, _ in turns.values()) == sorted(prompts)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all(isinstance(line, dict) for line in lines)
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    marked = [line for line in lines if "turn_id" in line]
    for line in marked:
        thread, _, _ = turns[line["turn_id"]]
        assert (line["platform"], line["workspace"], line["thread"]) == ("slack", TEAM, thread)
    unmarked = [line for line in lines if "turn_id" not in line]
    assert all(not {"platform", "workspace", "thread"} & line.keys() for line in unmarked)
    assert any(line["message"].startswith("listening on") for line in unmarked)

    for turn_id, (thread, prompt, response_id) in turns.items():
        mine = [line for line in marked if line["turn_id"] == turn_id]
        said = [line["message"] for line in mine if line["logger"].startswith("bot.turns.")]
        assert f"turn {turn_id} started" in said[0] and f"turn {turn_id} delivered" in said[-1]
        # What the libraries log while serving the turn is marked with it too: the openai
        # SDK's line naming the request (the fake numbers requests and responses alike) ...
        request_id = response_id.replace("resp_", "req_")
        assert f"request_id: {request_id}" in [line["message"] for line in mine]
        # ... and slack_sdk's lines for the Web API calls that show this turn's drawing.
        slack_calls = [line["message"] for line in mine if line["logger"].startswith("slack_sdk")]
        ts = thread.split("/")[1]
        assert any("chat.update" in m and ts in m and prompt in m for m in slack_calls)
        assert any("files.completeUploadExternal" in m and ts in m for m in slack_calls)
    # Every line the openai SDK wrote once easel was serving was written inside a turn (before,
    # it asked about the models in use); no line that names one turn's prompt or thread is
    # marked with the other turn.
    serving = next(i for i, line in enumerate(lines) if line["message"].startswith("listening"))
    before = [line["message"] for line in lines[:serving] if line["logger"].startswith("openai")]
    assert [m for m in before if m.startswith("HTTP Response")] == ["HTTP Response: GET 200"] * 2
    after = lines[serving:]
    assert all("turn_id" in line for line in after if line["logger"].startswith("openai"))
    for line in marked:
        for turn_id, (thread, prompt, _) in turns.items():
            if turn_id != line["turn_id"]:
                assert prompt not in line["message"] and thread.split("/")[1] not in line["message"]


async def test_text_lines_end_with_the_turn(
    env: dict[str, str],
    discord_env: dict[str, str],
    root_logger: logging.Logger,
    slack_fake: FakeSlack,
    discord_fake: FakeDiscord,
) -> None:
    config = load_config({**env, **discord_env})
    assert config.log_format == "text"
    stream = capture(config, level="INFO")
    async with running(config) as runtime:
        await wait_ready(discord_fake)
        sender = SlackSender(port=runtime.port)
        try:
            await sender.command("a slack heron")
            await settle(runtime)
        finally:
            await sender.aclose()
        mid = await draw(discord_fake, runtime, "a discord heron")
        [message] = root_messages(slack_fake)
        ts = message["ts"]
        slack_turn = await turn_of(runtime, ThreadKey("slack", TEAM, CHANNEL, ts))
        discord_key = ThreadKey("discord", str(GUILD_ID), str(mid), str(mid))
        discord_turn = await turn_of(runtime, discord_key)

    text = stream.getvalue()
    expected = {
        slack_turn["id"]: f" [turn {slack_turn['id']} slack {TEAM} {CHANNEL}/{ts}]",
        discord_turn["id"]: f" [turn {discord_turn['id']} discord {GUILD_ID} {mid}/{mid}]",
    }
    for turn_id, suffix in expected.items():
        for event in ("started", "delivered"):
            pattern = rf"^\S+ \S+ INFO bot\.turns\.\S+: turn {turn_id} {event} .*$"
            found = re.search(pattern, text, re.M)
            assert found is not None and found.group().endswith(suffix), text
    listening = re.search(r"^\S+ \S+ INFO adapters\.serving: listening on .*$", text, re.M)
    assert listening is not None and "[turn" not in listening.group()


# --- what is never written ------------------------------------------------------------------


def slack_reply(*, thread_ts: str, text: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "file_share",
        "channel": CHANNEL,
        "user": USER,
        "text": text,
        "ts": f"{int(time.time())}.000500",
        "thread_ts": thread_ts,
        "team": TEAM,
        "files": files,
    }


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_no_secret_and_no_image_data_reaches_any_line(
    mode: str,
    env: dict[str, str],
    discord_env: dict[str, str],
    root_logger: logging.Logger,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
    discord_fake: FakeDiscord,
) -> None:
    full_env = {**env, **discord_env}
    if mode == "socket":
        full_env["SLACK_APP_TOKEN"] = APP_TOKEN
    config = load_config(full_env)
    secrets = [BOT_TOKEN, SIGNING_SECRET, OPENAI_KEY, discord_fake.token]
    secrets += [APP_TOKEN] if mode == "socket" else []
    assert set(secrets) <= set(config.secrets)
    stream = capture(config)  # DEBUG on the root logger: every library says all it says
    photo = make_png((96, 96), seed=11, blur=0)
    discord_photo = make_png((80, 80), seed=13, blur=0)
    photo_url = "data:image/png;base64," + base64.b64encode(photo).decode()
    # People paste things. At DEBUG, slack_sdk logs each message easel posts (with the prompt
    # in it), discord.py each gateway event, aiosqlite each statement's parameters: a data URL
    # or a token pasted into a prompt reaches those lines unless the handler redacts it.
    slack_text = f"add this otter, same colours as {photo_url}"
    discord_prompt = "a sign that reads " + " ".join(secrets)
    socket_mode = FakeSocketMode(slack_fake, app_token=APP_TOKEN)
    async with socket_mode, running(config) as runtime:
        sender = SlackSender(port=runtime.port)
        try:
            if mode == "socket":
                await socket_mode.connected()
            await wait_ready(discord_fake)
            openai_fake.push(Script(delay=0.05))  # previews, then the final image
            await send_command(mode, sender, socket_mode, "a lighthouse at dusk")
            await settle(runtime)
            [message] = root_messages(slack_fake)
            shared = slack_fake.add_file(photo, "otter.png", CHANNEL)
            reply = slack_reply(thread_ts=message["ts"], text=slack_text, files=[shared])
            await send_event(mode, sender, socket_mode, reply)
            await eventually(lambda: len(openai_fake.requests) == 2)
            await settle(runtime)
            attachment = discord_fake.upload(discord_photo, "ref.png")
            mid = await draw(discord_fake, runtime, discord_prompt, attachment=attachment)
        finally:
            await sender.aclose()
        slack_key = ThreadKey("slack", TEAM, CHANNEL, message["ts"])
        discord_key = ThreadKey("discord", str(GUILD_ID), str(mid), str(mid))
        statuses = [t["status"] for t in await runtime.store.ledger.turns(slack_key)]
        statuses += [t["status"] for t in await runtime.store.ledger.turns(discord_key)]

    # The flow really ran: three drawings with previews, two with an input image, delivered.
    assert statuses == ["delivered"] * 3
    assert len(openai_fake.images_sent) == 3 and len(openai_fake.partials_sent) == 6
    inputs = [
        part["image_url"].split(",", 1)[1]
        for request in openai_fake.requests
        for part in request["input"][0]["content"]
        if part["type"] == "input_image"
    ]
    assert len(inputs) == 2
    assert any(slack_text in r["input"][0]["content"][0]["text"] for r in openai_fake.requests)
    text = stream.getvalue()
    assert len(text.splitlines()) > 100  # the libraries' DEBUG lines, not only easel's own
    assert "[base64, " in text and "[redacted]" in text

    leaks = [f"the secret {secret!r}" for secret in secrets if secret in text]
    images = [*openai_fake.images_sent.values(), photo, discord_photo]
    images += [png for _, _, png in openai_fake.partials_sent]
    for encoded in [base64.b64encode(png).decode() for png in images] + inputs:
        if encoded in text or encoded[64:128] in text:
            leaks.append(f"image data {encoded[64:80]}…")
    leaks += [f"a base64 run of {len(m)} characters" for m in BASE64_RUN.findall(text)]
    assert leaks == [], leaks


async def send_command(
    mode: str, sender: SlackSender, socket_mode: FakeSocketMode, text: str
) -> None:
    if mode == "http":
        assert (await sender.command(text)).status_code == 200
        return
    await socket_mode.send("slash_commands", command(text), accepts_response_payload=True)


async def send_event(
    mode: str, sender: SlackSender, socket_mode: FakeSocketMode, event: dict[str, Any]
) -> None:
    if mode == "http":
        assert (await sender.event(event)).status_code == 200
        return
    callback = {
        "token": "unused",
        "team_id": TEAM,
        "api_app_id": "A1",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{time.monotonic_ns()}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }
    await socket_mode.send("events_api", callback)
