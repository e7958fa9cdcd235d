"""Exactly once, in order, concurrently: retried deliveries, queued replies, many threads."""

from __future__ import annotations

import asyncio
import io
import itertools

import httpx2
from PIL import Image

from adapters.runtime import Runtime, running
from bot.config import load_config
from tests.conftest import SlackSender, eventually, settle
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import block_text, image_refs, root_message


async def test_a_retried_event_never_draws_twice(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    event = slack.reply_event(thread_ts=ts, text="add a rainbow")

    first = await slack.event(event, event_id="Ev1")
    again = await slack.event(
        event, event_id="Ev1", **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    # The same message delivered under another event id is still the same message.
    other = await slack.event(event, event_id="Ev2")
    assert [r.status_code for r in (first, again, other)] == [200, 200, 200]
    await settle(easel)
    prompts = [r["input"][0]["content"][0]["text"] for r in openai_fake.requests]
    assert prompts == ["a lighthouse", "add a rainbow"]


async def test_seen_deliveries_survive_a_restart(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    config = load_config(env)
    async with running(config) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a lighthouse")
        await settle(easel)
        ts = root_message(slack_fake)["ts"]
        event = slack.reply_event(thread_ts=ts, text="add a rainbow")
        await slack.event(event, event_id="Ev1")
        await settle(easel)
        await slack.aclose()
    async with running(config) as easel:
        slack = SlackSender(port=easel.port)
        await slack.event(event, event_id="Ev1", **{"X-Slack-Retry-Num": "2"})
        await settle(easel)
        await slack.aclose()
    assert len(openai_fake.requests) == 2


async def test_replies_in_one_thread_run_in_arrival_order(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    # The first reply draws slowly; the second must wait for it, not overtake it.
    openai_fake.push(Script(delay=0.1), Script())
    first = slack.reply_event(thread_ts=ts, text="first: add a boat")
    second = slack.reply_event(thread_ts=ts, text="second: make it night")
    await slack.event(first)
    await slack.event(second)
    await settle(easel)

    prompts = [r["input"][0]["content"][0]["text"] for r in openai_fake.requests]
    assert prompts == ["a lighthouse", "first: add a boat", "second: make it night"]
    ids = openai_fake.known_response_ids
    assert openai_fake.requests[1]["previous_response_id"] == ids[0]
    assert openai_fake.requests[2]["previous_response_id"] == ids[1]
    # The second reply's request left only after the first reply's image was uploaded.
    first_reply_png = list(openai_fake.images_sent.values())[1]
    uploaded = [
        c.at
        for c in slack_fake.calls_to("files.completeUploadExternal")
        if slack_fake.files[c.args["files"][0]["id"]].data == first_reply_png
    ]
    assert len(uploaded) == 1
    assert openai_fake.request_times[2] > uploaded[0]


async def test_twenty_drawings_in_different_threads_run_at_once(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(*[Script(delay=0.05) for _ in range(20)])
    responses = await asyncio.gather(*(slack.command(f"drawing number {n}") for n in range(20)))
    assert all(r.status_code == 200 for r in responses)
    await settle(easel, within=60)

    roots = [
        m
        for m in slack_fake.messages.values()
        if m.get("user") == "UBOT" and not m.get("thread_ts") and not m.get("files")
    ]
    assert len(roots) == 20
    finals = {
        f.thread_ts: f
        for f in slack_fake.files.values()
        if f.data in openai_fake.images_sent.values()
    }
    assert set(finals) == {m["ts"] for m in roots}
    for message in roots:
        assert image_refs(message["blocks"]) == [finals[message["ts"]].id]
    # Concurrent, not one after another: all 20 requests reached OpenAI before any image
    # was delivered.
    first_final_upload = min(
        c.at
        for c in slack_fake.calls_to("files.completeUploadExternal")
        if slack_fake.files[c.args["files"][0]["id"]].data in openai_fake.images_sent.values()
    )
    assert len(openai_fake.request_times) == 20
    assert max(openai_fake.request_times) < first_final_upload
    assert slack_fake.violations == []


async def test_preview_frames_coalesce_under_a_slow_chat_update(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    slack_fake.latency["chat.update"] = 0.4
    openai_fake.push(Script(partials=3, delay=0.05))
    await slack.command("a busy market")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    updates = [c for c in slack_fake.calls_to("chat.update") if c.args["ts"] == ts]
    previews = [u for u in updates if "preview" in block_text(u.args["blocks"])]
    # Three frames arrived while the first edit was still in flight: later ones replaced
    # the waiting one instead of queueing.
    assert 1 <= len(previews) < 3
    # Never two edits of the message in flight at once: each started after the last ended.
    starts = [u.at for u in updates]
    assert all(b - a >= 0.39 for a, b in itertools.pairwise(starts))
    assert "Reply in this thread" in block_text(root_message(slack_fake)["blocks"])


async def test_public_url_previews_are_served_by_easel(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(delay=0.3))
    config = load_config({**env, "EASEL_PUBLIC_URL": "https://easel.test"})
    async with running(config) as easel, httpx2.AsyncClient() as http:
        slack = SlackSender(port=easel.port)
        await slack.command("a kite")
        # While the drawing runs, the preview it shows is served by easel itself.
        shown = await eventually(
            lambda: [
                r for c in slack_fake.calls_to("chat.update") for r in image_refs(c.args["blocks"])
            ]
        )
        local = shown[0].replace("https://easel.test", f"http://127.0.0.1:{easel.port}")
        served = await http.get(local)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"  # a preview travels small
        small = Image.open(io.BytesIO(served.content))
        sizes = [Image.open(io.BytesIO(png)).size for _, _, png in openai_fake.partials_sent]
        assert small.format == "JPEG" and small.size in sizes  # the frame, re-encoded
        await settle(easel)
        await slack.aclose()
        ts = root_message(slack_fake)["ts"]
        updates = [c for c in slack_fake.calls_to("chat.update") if c.args["ts"] == ts]
        urls = [
            r for u in updates for r in image_refs(u.args["blocks"]) if r.startswith("https://")
        ]
        assert urls and all(u.startswith("https://easel.test/previews/") for u in urls)
        # The URL is unguessable and dies once the final image is shown.
        token = urls[-1].rsplit("/", 1)[1]
        assert len(token) >= 32
        gone = await http.get(f"http://127.0.0.1:{easel.port}/previews/{token}")
        assert gone.status_code == 404
    # Only the final image was uploaded: previews needed no upload and no processing wait.
    assert [f.name for f in slack_fake.files.values()] == [
        f"easel-{next(iter(openai_fake.images_sent))}.png"
    ]


async def test_shutdown_lets_a_running_drawing_finish(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(delay=0.1))
    async with running(load_config(env)) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a slow sunrise")
        await slack.aclose()
        await eventually(lambda: openai_fake.requests)
    # Leaving the block is SIGTERM's path: intake stops, the drawing in flight completes.
    assert "Reply in this thread" in block_text(root_message(slack_fake)["blocks"])


async def test_shutdown_past_the_grace_interrupts_with_clear_words(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(hang_after_partials=True, partials=0))
    config = load_config({**env, "EASEL_SHUTDOWN_GRACE": "0"})
    async with running(config) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("an endless staircase")
        await slack.aclose()
        await eventually(lambda: openai_fake.requests)
        service = easel.turns
    assert service.idle
    shown = block_text(root_message(slack_fake)["blocks"])
    assert "restarted while drawing" in shown
    assert "Retry" in shown
