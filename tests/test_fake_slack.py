"""The fake Slack Web API, driven by the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from PIL import Image
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_server import FakeSlack
from tests.waiting import eventually


def png(w: int = 40, h: int = 30, color: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, format="PNG")
    return buf.getvalue()


def image_block(file_id: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "image", "slack_file": {"id": file_id}, "alt_text": "art"}
    if block_id is not None:
        block["block_id"] = block_id
    return block


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> AsyncWebClient:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)  # slack_sdk would proxy 127.0.0.1 too
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


async def upload(client: AsyncWebClient, **kwargs: Any) -> str:
    resp = await client.files_upload_v2(file=png(), filename="art.png", title="Art", **kwargs)
    file_id: str = resp["file"]["id"]
    return file_id


async def test_auth_and_bad_token(fake: FakeSlack, client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert (resp["user_id"], resp["bot_id"], resp["team_id"]) == ("UBOT", "BBOT", "T1")
    with pytest.raises(SlackApiError) as e:
        await fake.client(token="xoxb-wrong").auth_test()
    assert e.value.response["error"] == "invalid_auth"
    assert fake.api_url.endswith("/api/") and fake.api_url.startswith(fake.base_url)


async def test_post_and_update(fake: FakeSlack, client: AsyncWebClient) -> None:
    first = await client.chat_postMessage(channel="C1", text="drawing…")
    reply = await client.chat_postMessage(channel="C1", text="in thread", thread_ts=first["ts"])
    assert float(reply["ts"]) > float(first["ts"])
    assert reply["message"]["thread_ts"] == first["ts"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}]
    updated = await client.chat_update(channel="C1", ts=first["ts"], text="done", blocks=blocks)
    assert updated["message"]["text"] == "done"
    stored = fake.messages[("C1", first["ts"])]
    assert (stored["text"], stored["blocks"]) == ("done", blocks)
    assert stored["history"] == [{"text": "drawing…", "blocks": None}]
    assert fake.calls_to("chat.update")[0].args["blocks"] == blocks
    with pytest.raises(SlackApiError) as e:
        await client.chat_update(channel="C1", ts="1.000000", text="x")
    assert e.value.response["error"] == "message_not_found"


async def test_form_encoded_args_and_misc_methods(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = '[{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]'
    resp = await client.api_call("chat.postMessage", data={"channel": "C9", "blocks": blocks})
    assert fake.messages[("C9", resp["ts"])]["blocks"][0]["type"] == "section"
    eph = await client.chat_postEphemeral(channel="C9", user="U7", text="only you")
    assert fake.ephemerals[0]["message_ts"] == eph["message_ts"]
    fake.users["U7"] = {"is_admin": True}
    user = (await client.users_info(user="U7"))["user"]
    assert (user["id"], user["is_admin"]) == ("U7", True)
    with pytest.raises(SlackApiError) as e:
        await client.api_call("chat.frobnicate")
    assert e.value.response["error"] == "unknown_method"
    fake.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as e:
        await client.chat_postMessage(channel="C9", text="x")
    assert e.value.response["error"] == "channel_not_found"
    await client.chat_postMessage(channel="C9", text="x")


async def test_upload_in_thread_then_processing(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = (await client.chat_postMessage(channel="C1", text="parent"))["ts"]
    file_id = await upload(client, channel="C1", thread_ts=parent, initial_comment="here")
    assert len(file_id) == 11 and file_id.startswith("F") and file_id.isupper()
    f = fake.files[file_id]
    assert (f.data, f.title, f.channel, f.thread_ts) == (png(), "Art", "C1", parent)
    assert f.initial_comment == "here" and f.shared and not f.processed
    methods = [c.method for c in fake.calls]
    assert methods[-3:] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert fake.calls_to("files.completeUploadExternal")[0].args["files"] == [
        {"id": file_id, "title": "Art"}
    ]

    info = (await client.files_info(file=file_id))["file"]
    assert (info["mimetype"], info["shares"]) == ("", {})
    assert "thumb_360" not in info and "original_w" not in info
    assert info["url_private"] == f"{fake.base_url}/files-pri/{file_id}/art.png"

    info = (await client.files_info(file=file_id))["file"]
    assert (info["mimetype"], info["filetype"]) == ("image/png", "png")
    assert (info["original_w"], info["original_h"]) == (40, 30)
    assert info["thumb_360"]
    share = info["shares"]["public"]["C1"][0]
    assert share["thread_ts"] == parent
    assert fake.messages[("C1", share["ts"])]["text"] == "here"


async def test_update_waits_for_processing(fake: FakeSlack, client: AsyncWebClient) -> None:
    file_id = await upload(client, channel="C1")
    ts = (await client.chat_postMessage(channel="C1", text="drawing…"))["ts"]
    for _ in range(2):  # unprocessed, and still unprocessed after the first poll
        with pytest.raises(SlackApiError) as e:
            await client.chat_update(channel="C1", ts=ts, text="art", blocks=[image_block(file_id)])
        assert e.value.response["error"] == "invalid_blocks"
        assert e.value.response["errors"] == [
            "invalid slack file [json-pointer:/blocks/0/slack_file]"
        ]
        await client.files_info(file=file_id)
    await client.chat_update(channel="C1", ts=ts, text="art", blocks=[image_block(file_id)])
    assert fake.violations == []
    with pytest.raises(SlackApiError) as e:
        await client.chat_update(channel="C1", ts=ts, text="x", blocks=[image_block("FNOPE")])
    assert e.value.response["error"] == "invalid_blocks"


async def test_processing_by_time(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.processing_seconds = 0.05
    file_id = await upload(client, channel="C1")
    ts = (await client.chat_postMessage(channel="C1", text="drawing…"))["ts"]
    async with asyncio.timeout(5):  # processed once its time has passed, however often asked
        while not (await client.files_info(file=file_id))["file"].get("mimetype"):
            pass
    await client.chat_update(channel="C1", ts=ts, text="art", blocks=[image_block(file_id)])
    assert fake.files[file_id].processed and fake.violations == []


async def test_unshared_files_are_violations(fake: FakeSlack, client: AsyncWebClient) -> None:
    private = await upload(client)
    elsewhere = await upload(client, channel="C2")
    assert not fake.files[private].shared
    for file_id in (private, elsewhere):
        for _ in range(2):
            await client.files_info(file=file_id)
    ts = (await client.chat_postMessage(channel="C1", text="drawing…"))["ts"]
    await client.chat_update(channel="C1", ts=ts, text="art", blocks=[image_block(private)])
    assert len(fake.violations) == 1 and private in fake.violations[0]
    await client.chat_update(channel="C1", ts=ts, text="art", blocks=[image_block(elsewhere)])
    assert len(fake.violations) == 2 and "C2" in fake.violations[1]


async def test_block_id_reuse_is_a_violation(fake: FakeSlack, client: AsyncWebClient) -> None:
    first = fake.add_file(png(), "a.png", "C1")["id"]
    second = fake.add_file(png(color=(1, 2, 3)), "b.png", "C1")["id"]
    ts = (await client.chat_postMessage(channel="C1", text="drawing…"))["ts"]
    await client.chat_update(channel="C1", ts=ts, text="a", blocks=[image_block(first, "img")])
    await client.chat_update(channel="C1", ts=ts, text="a!", blocks=[image_block(first, "img")])
    assert fake.violations == []  # same image under the same id is fine
    await client.chat_update(channel="C1", ts=ts, text="b", blocks=[image_block(second, "img")])
    assert len(fake.violations) == 1 and "'img'" in fake.violations[0]


async def test_files_delete(fake: FakeSlack, client: AsyncWebClient) -> None:
    file_id = fake.add_file(png(), "a.png", "C1", user="UBOT")["id"]
    ts = (await client.chat_postMessage(channel="C1", text="drawing…"))["ts"]
    await client.files_delete(file=file_id)
    assert fake.files[file_id].deleted
    with pytest.raises(SlackApiError) as e:
        await client.files_info(file=file_id)
    assert e.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as e:
        await client.chat_update(channel="C1", ts=ts, text="a", blocks=[image_block(file_id)])
    assert e.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as e:
        await client.files_delete(file=file_id)
    assert e.value.response["error"] == "file_deleted"
    with pytest.raises(SlackApiError) as e:
        await client.files_delete(file="F0NOSUCHFILE")
    assert e.value.response["error"] == "file_not_found"


async def test_a_bot_deletes_only_its_own_files(fake: FakeSlack, client: AsyncWebClient) -> None:
    theirs = fake.add_file(png(), "theirs.png", "C1", user="U1")["id"]
    with pytest.raises(SlackApiError) as e:
        await client.files_delete(file=theirs)
    assert e.value.response["error"] == "cant_delete_file"
    assert not fake.files[theirs].deleted


async def test_chat_delete_removes_only_the_bots_own_messages(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    alone = (await client.chat_postMessage(channel="C1", text="on its own"))["ts"]
    deleted = await client.chat_delete(channel="C1", ts=alone)
    assert (deleted["channel"], deleted["ts"]) == ("C1", alone)
    assert ("C1", alone) not in fake.messages
    assert [m["text"] for m in fake.chat.deleted] == ["on its own"]
    with pytest.raises(SlackApiError) as e:
        await client.chat_delete(channel="C1", ts=alone)
    assert e.value.response["error"] == "message_not_found"
    theirs = fake.add_file(png(), "theirs.png", "C1", user="U1")
    shared = fake.files[theirs["id"]].share_ts
    assert shared is not None
    with pytest.raises(SlackApiError) as e:
        await client.chat_delete(channel="C1", ts=shared)
    assert e.value.response["error"] == "cant_delete_message"
    assert ("C1", shared) in fake.messages


async def test_chat_delete_of_a_threads_first_message_leaves_a_tombstone(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    root = (await client.chat_postMessage(channel="C1", text="the drawing"))["ts"]
    reply = (await client.chat_postMessage(channel="C1", text="a reply", thread_ts=root))["ts"]
    await client.chat_delete(channel="C1", ts=root)
    listed = (await client.conversations_replies(channel="C1", ts=root))["messages"]
    assert [(m["ts"], m.get("subtype"), m["text"]) for m in listed] == [
        (root, "tombstone", "This message was deleted."),
        (reply, None, "a reply"),
    ]
    with pytest.raises(SlackApiError) as e:
        await client.chat_update(channel="C1", ts=root, text="back")
    assert e.value.response["error"] == "message_not_found"
    await client.chat_delete(channel="C1", ts=reply)
    assert ("C1", reply) not in fake.messages


async def test_rate_limit_is_retried(fake: FakeSlack) -> None:
    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    with pytest.raises(SlackApiError) as e:
        await fake.client(retry_handlers=[]).chat_postMessage(channel="C1", text="x")
    assert (e.value.response.status_code, e.value.response["error"]) == (429, "ratelimited")
    assert e.value.response.headers["Retry-After"] == "0"

    fake.rate_limit("chat.postMessage", times=1, retry_after=0)
    retrying = fake.client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    resp = await retrying.chat_postMessage(channel="C1", text="x")
    assert resp["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 200]


async def test_download_needs_the_token(fake: FakeSlack) -> None:
    info = fake.add_file(png(), "in.png", "C1")
    async with aiohttp.ClientSession() as http:
        async with http.get(info["url_private"]) as resp:
            assert resp.status == 401
        headers = {"Authorization": f"Bearer {fake.token}"}
        async with http.get(info["url_private_download"], headers=headers) as resp:
            assert resp.status == 200
            assert resp.content_type == "image/png"
            assert resp.content_length == len(png())
            assert await resp.read() == png()
    assert fake.downloads == [info["id"]]


async def test_latency_and_prompt_shutdown() -> None:
    async with FakeSlack() as fake:
        slow = fake.client()
        fake.latency["chat.update"] = 0.1
        ts = (await slow.chat_postMessage(channel="C1", text="x"))["ts"]
        start = time.monotonic()
        await slow.chat_update(channel="C1", ts=ts, text="y")
        assert time.monotonic() - start >= 0.1
        fake.latency["auth.test"] = 30
        pending = asyncio.create_task(slow.auth_test())
        await eventually(lambda: fake.calls_to("auth.test"))
        start = time.monotonic()
    assert time.monotonic() - start < 2
    await asyncio.gather(pending, return_exceptions=True)


async def test_buttons_are_checked_as_slack_checks_them(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    def button(**changes: Any) -> dict[str, Any]:
        text = {"type": "plain_text", "text": "Go"}
        return {"type": "button", "action_id": "go", "text": text, "value": "1", **changes}

    confirm = {
        "title": {"type": "plain_text", "text": "Sure?"},
        "text": {"type": "plain_text", "text": "It cannot be undone."},
        "confirm": {"type": "plain_text", "text": "Yes"},
        "deny": {"type": "plain_text", "text": "No"},
        "style": "danger",
    }
    good = [{"type": "actions", "elements": [button(style="danger", confirm=confirm)]}]
    await client.chat_postMessage(channel="C1", text="buttons", blocks=good)
    bad = {
        "duplicate action_id": [button(), button()],
        "no text": [button(text={"type": "mrkdwn", "text": "Go"})],
        "a long label": [button(text={"type": "plain_text", "text": "x" * 76})],
        "a bad style": [button(style="loud")],
        "a long confirm": [
            button(confirm={**confirm, "confirm": {**confirm["deny"], "text": "y" * 31}})
        ],
        "no elements": [],
    }
    for why, elements in bad.items():
        with pytest.raises(SlackApiError) as e:
            blocks = [{"type": "actions", "elements": elements}]
            await client.chat_postMessage(channel="C1", text=why, blocks=blocks)
        assert e.value.response["error"] == "invalid_blocks", why
