"""/draw end to end: signed Slack requests in, the fake OpenAI and Slack APIs on the wire."""

from __future__ import annotations

import base64

from adapters.runtime import Runtime
from bot.models import ThreadKey
from tests.conftest import CHANNEL, OPENAI_KEY, TEAM, SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import block_text, image_refs, root_message
from tests.specs import assert_valid, openai_validator


async def test_draw_streams_previews_into_one_message_and_uploads_the_final(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(delay=0.25))  # frames seconds apart, as from the real model
    response = await slack.command("a gray tabby cat hugging an otter with an orange scarf")
    assert response.status_code == 200
    await settle(easel)

    # ONE placeholder message in the channel, never a second one.
    posts = slack_fake.calls_to("chat.postMessage")
    assert len(posts) == 1
    assert posts[0].args["channel"] == CHANNEL
    assert "drawing…" in str(posts[0].args["blocks"])
    message = root_message(slack_fake)
    ts = message["ts"]

    # Previews: each edit of that same message shows a newer preview, uploaded in its thread.
    updates = [c for c in slack_fake.calls_to("chat.update") if c.args["ts"] == ts]
    preview_updates = [u for u in updates if "preview" in str(u.args["blocks"])]
    assert preview_updates, "no preview was shown"
    assert "preview 1 of 2" in str(preview_updates[0].args["blocks"])
    preview_files = [r for u in preview_updates for r in image_refs(u.args["blocks"])]
    assert preview_files and all(slack_fake.files[f].thread_ts == ts for f in preview_files)

    # The final image is a real file in the thread, with the revised prompt.
    request = openai_fake.requests[0]
    image_call_id, final_png = next(iter(openai_fake.images_sent.items()))
    finals = [f for f in slack_fake.files.values() if f.data == final_png]
    assert len(finals) == 1
    final = finals[0]
    assert (final.channel, final.thread_ts) == (CHANNEL, ts)
    assert "a revised prompt" in (final.initial_comment or "")
    assert final.name.endswith(".png") and image_call_id in final.name

    # The message ends showing the final file, and the previews are cleaned up.
    assert image_refs(message["blocks"]) == [final.id]
    assert "Reply in this thread to edit" in block_text(message["blocks"])
    assert all(slack_fake.files[f].deleted for f in preview_files)
    assert slack_fake.violations == []

    # The request: streamed, the tool forced, settings applied, valid against the spec.
    assert request["stream"] is True
    assert request["tool_choice"] == {"type": "image_generation"}
    tool = request["tools"][0]
    assert tool["type"] == "image_generation" and tool["partial_images"] == 2
    assert "previous_response_id" not in request
    assert openai_fake.headers[0]["authorization"] == f"Bearer {OPENAI_KEY}"
    assert_valid(openai_validator("CreateResponse"), request)

    # The thread now continues from this response.
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, ts))
    assert state is not None
    assert state.last_response_id == openai_fake.known_response_ids[0]
    assert (state.last_image_call_id, state.last_file_ref) == (image_call_id, final.id)


async def test_reply_in_thread_edits_with_previous_response_id(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a lighthouse at dusk")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]

    await slack.event(slack.reply_event(thread_ts=ts, text="now make it look realistic"))
    await settle(easel)

    assert len(openai_fake.requests) == 2
    second = openai_fake.requests[1]
    assert second["previous_response_id"] == openai_fake.known_response_ids[0]
    assert second["input"][0]["content"][0]["text"] == "now make it look realistic"
    assert_valid(openai_validator("CreateResponse"), second)

    # A new placeholder in the thread, edited to its final state; the final file in the thread.
    in_thread = [
        c for c in slack_fake.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts
    ]
    assert len(in_thread) == 1
    reply_ts = next(
        m["ts"]
        for m in slack_fake.messages.values()
        if m.get("thread_ts") == ts and m.get("user") == "UBOT" and not m.get("files")
    )
    second_png = openai_fake.images_sent[list(openai_fake.images_sent)[1]]
    final = next(f for f in slack_fake.files.values() if f.data == second_png)
    assert final.thread_ts == ts
    assert image_refs(slack_fake.messages[(CHANNEL, reply_ts)]["blocks"]) == [final.id]
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, ts))
    assert state is not None and state.last_response_id == openai_fake.known_response_ids[1]
    assert slack_fake.violations == []


async def test_attached_image_goes_in_as_input_image(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a cat")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    from tests.fakes.openai_server import make_png

    photo = make_png((32, 24), seed=7, blur=0)
    shared = slack_fake.add_file(photo, "otter.png", CHANNEL)
    await slack.event(slack.reply_event(thread_ts=ts, text="add this otter", files=[shared]))
    await settle(easel)

    content = openai_fake.requests[1]["input"][0]["content"]
    images = [part for part in content if part["type"] == "input_image"]
    assert len(images) == 1
    prefix = "data:image/png;base64,"
    assert images[0]["image_url"].startswith(prefix)
    assert base64.b64decode(images[0]["image_url"][len(prefix) :]) == photo
    assert shared["id"] in slack_fake.downloads
    assert_valid(openai_validator("CreateResponse"), openai_fake.requests[1])


async def test_expired_context_continues_from_the_last_image(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a red bicycle")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    first_png = next(iter(openai_fake.images_sent.values()))
    openai_fake.expired_ids.add(openai_fake.known_response_ids[0])

    await slack.event(slack.reply_event(thread_ts=ts, text="paint it blue"))
    await settle(easel)

    refused, retried = openai_fake.requests[1], openai_fake.requests[2]
    assert refused["previous_response_id"] == openai_fake.known_response_ids[0]
    assert "previous_response_id" not in retried
    images = [p for p in retried["input"][0]["content"] if p["type"] == "input_image"]
    assert len(images) == 1
    assert base64.b64decode(images[0]["image_url"].split(",", 1)[1]) == first_png
    # The turn succeeded: the thread moved on, and nobody was told about lost context.
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, ts))
    assert state is not None and state.last_response_id == openai_fake.known_response_ids[-1]
    shown = " ".join(block_text(c.args["blocks"]) for c in slack_fake.calls_to("chat.update"))
    assert "Reply in this thread" in shown
    assert "expired" not in shown and "context" not in shown and ":warning:" not in shown


async def test_expired_context_with_the_last_image_gone_still_draws(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await slack.command("a red bicycle")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, ts))
    assert state is not None and state.last_file_ref is not None
    slack_fake.files[state.last_file_ref].deleted = True  # someone deleted the image
    openai_fake.expired_ids.add(openai_fake.known_response_ids[0])

    await slack.event(slack.reply_event(thread_ts=ts, text="paint it blue"))
    await settle(easel)

    retried = openai_fake.requests[-1]
    assert "previous_response_id" not in retried
    assert [p["type"] for p in retried["input"][0]["content"]] == ["input_text"]
    after = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, ts))
    assert after is not None and after.last_response_id == openai_fake.known_response_ids[-1]
