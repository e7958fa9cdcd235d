"""Sizes: named ones and WIDTHxHEIGHT within the image model's rules (OpenAI's for
gpt-image-2) and the workspace's largest size. The rules and the policy directly, then Slack at
the wire: what reaches OpenAI, what is refused (with words, unpaid), what admins change, and
what a custom size costs. Discord's side is in test_sizes_discord."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from dataclasses import replace

import pytest
from PIL import Image

from adapters.discord.files import fit
from adapters.runtime import Runtime
from bot.models import ImageOptions
from bot.workspace.options import fit_upload_limit
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.sizes import COMMON_SIZES, SizePolicy, custom_size_problem, size_problem
from tests.conftest import TEAM, USER, SlackSender, eventually, settle
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.openai_stream import make_noise
from tests.fakes.slack_server import FakeSlack
from tests.slack import ADMIN, open_modal, submit

MIB = 1024 * 1024
# Each rule of gpt-image-2's sizes, broken, and the words that name it.
BROKEN = [
    ("3840x1000", "3840x1000 is wider than 3:1"),
    ("1008x3840", "1008x3840 is taller than 1:3"),
    ("1000x1000", "1000x1000: width and height must be multiples of 16 (such as 1008x1008)"),
    ("5120x2880", "5120x2880 is larger than 3840x2160"),
    ("4000x1600", "4000x1600 is larger than 3840x2160: its long edge may be at most 3840"),
    ("640x640", "640x640 has fewer than 655,360 pixels"),
]
BROKEN_IDS = ["wide", "tall", "step", "large", "edge", "small"]


@pytest.mark.parametrize(("size", "words"), BROKEN, ids=BROKEN_IDS)
def test_each_broken_rule_is_named(size: str, words: str) -> None:
    problem = size_problem(size, "gpt-image-2")
    assert problem is not None and words in problem


@pytest.mark.parametrize(
    "size", ["auto", "1024x1024", "1536x864", "1024x640", "2304x768", "3840x2160", "2160x3840"]
)
def test_sizes_within_the_rules_pass(size: str) -> None:
    assert size_problem(size, "gpt-image-2") is None
    assert size_problem(size, "gpt-image-2.6-sunburst") is None


def test_models_before_gpt_image_2_take_only_the_standard_sizes() -> None:
    assert size_problem("1536x1024", "gpt-image-1.5") is None
    refused = size_problem("1536x864", "gpt-image-1.5")
    assert refused is not None and "not a size gpt-image-1.5 takes" in refused


def test_every_suggested_size_keeps_the_rules() -> None:
    assert [s for s in COMMON_SIZES if custom_size_problem(s)] == []


def test_the_largest_size_caps_pixels_and_long_edge_either_way_up() -> None:
    policy = WorkspaceSettings.from_defaults(ImageOptions()).sizes
    assert policy.refusal("1440x2560") is None  # the cap, turned
    assert policy.refusal("1920x1920") is None  # as many pixels, a shorter edge
    for size in ("2048x2048", "2880x1216"):  # more pixels; a longer edge
        assert "larger than this workspace's largest size, 2560x1440" in str(policy.refusal(size))
    assert policy.describe() == "auto, square, portrait, landscape, custom up to 2560x1440"


def test_without_custom_only_the_named_sizes_are_allowed() -> None:
    policy = SizePolicy(allowed=("1024x1024",), largest="3840x2160", image_model="gpt-image-2")
    assert policy.refusal("1024x1024") is None
    assert policy.refusal("1536x864") == "1536x864 is not among the allowed sizes"
    assert policy.suggestions("") == [("square (1024x1024)", "1024x1024")]


def test_suggestions_offer_what_is_typed_then_what_is_allowed() -> None:
    policy = WorkspaceSettings.from_defaults(ImageOptions()).sizes
    offered = policy.suggestions("")
    assert len(offered) <= 25
    assert ("landscape (1536x1024)", "1536x1024") in offered
    assert ("2560x1440 (the largest allowed here)", "2560x1440") in offered
    assert all(policy.refusal(value) is None for _, value in offered)
    assert policy.suggestions("1792x1008")[0] == ("1792x1008 (as typed)", "1792x1008")
    assert policy.suggestions("1000x1000")[0][0].startswith("1000x1000: width and height")
    assert [v for _, v in policy.suggestions("port")] == ["1024x1536"]


@pytest.mark.parametrize(
    ("size", "fits"),
    [("1536x864", True), ("2048x1152", True), ("2560x1440", False), ("3840x2160", False)],
)
def test_the_upload_limit_is_estimated_by_pixels(size: str, fits: bool) -> None:
    options = ImageOptions(size=size)
    fitted = fit_upload_limit(options, 10 * MIB)
    assert (fitted == options) is fits
    assert fits or (fitted.output_format, fitted.compression) == ("webp", 90)


async def test_a_noisy_4k_final_is_reencoded_under_10_mib_off_the_event_loop() -> None:
    noisy = make_noise((3840, 2160), 7)
    assert len(noisy) > 20 * MIB  # as large as a PNG of this size gets
    beats = 0
    done = threading.Event()

    async def heartbeat() -> None:
        nonlocal beats
        while not done.is_set():
            beats += 1
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    try:
        fitted = await fit(noisy, "png", 10 * MIB)
    finally:
        done.set()
        await beating
    assert len(fitted.data) <= 10 * MIB and fitted.output_format == "webp"
    assert Image.open(io.BytesIO(fitted.data)).size == (3840, 2160)  # quality gave way first
    assert beats > 2  # the loop kept running while the image was encoded


# --- Slack at the wire ------------------------------------------------------------------


@pytest.fixture
def admin(slack_fake: FakeSlack) -> None:
    slack_fake.users[ADMIN] = {"is_admin": True}


async def test_a_typed_size_reaches_openai(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI
) -> None:
    await slack.command("--size 1536X864 --quality high a wide harbour")
    await settle(easel)
    tool = openai_fake.requests[0]["tools"][0]
    assert (tool["size"], tool["quality"]) == ("1536x864", "high")
    assert openai_fake.requests[0]["input"][0]["content"][0]["text"] == "a wide harbour"


@pytest.mark.parametrize(("size", "words"), BROKEN, ids=BROKEN_IDS)
async def test_a_broken_rule_is_refused_with_its_words_and_nothing_drawn(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, size: str, words: str
) -> None:
    refused = await slack.command(f"--size {size} a harbour")
    assert f"That size cannot be drawn: {words}" in refused.text
    await settle(easel)
    assert openai_fake.requests == []
    assert await easel.store.db.all("SELECT id FROM turns") == []


async def test_a_size_above_the_largest_is_refused_naming_it(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI
) -> None:
    refused = await slack.command("--size 2880x1616 a harbour")
    assert "2880x1616 is larger than this workspace's largest size, 2560x1440" in refused.text
    assert "Allowed sizes: auto, square, portrait, landscape, custom up to 2560x1440" in (
        refused.text
    )
    await settle(easel)
    assert openai_fake.requests == []


async def test_an_admin_raises_the_largest_size_and_sets_a_custom_default_in_the_form(
    easel: Runtime,
    slack: SlackSender,
    slack_fake: FakeSlack,
    openai_fake: FakeOpenAI,
    admin: None,
) -> None:
    modal = await open_modal(slack, easel, slack_fake)
    blocks = {b["block_id"]: b["element"] for b in modal["blocks"]}
    assert blocks["size"]["type"] == "plain_text_input"
    assert blocks["largest_size"]["initial_value"] == "2560x1440"
    assert "custom" in [o["value"] for o in blocks["allowed_sizes"]["initial_options"]]

    too_big = (await submit(slack, ADMIN, modal, size="2880x1616")).json()
    assert "larger than this workspace's largest size, 2560x1440" in too_big["errors"]["size"]
    beyond = (await submit(slack, ADMIN, modal, largest_size="5120x2880")).json()
    assert "5120x2880 is larger than 3840x2160" in beyond["errors"]["largest_size"]

    saved = (await submit(slack, ADMIN, modal, largest_size="3840x2160", size="2880x1616")).json()
    assert saved["response_action"] == "update"  # saved, with a word about experimental sizes
    assert "above 2560x1440 experimental" in json.dumps(saved["view"]["blocks"])
    audit = await easel.store.settings.audit("slack", TEAM)
    assert {(a["user_id"], a["field"], a["old"], a["new"]) for a in audit} == {
        (ADMIN, "largest_size", "2560x1440", "3840x2160"),
        (ADMIN, "size", "auto", "2880x1616"),
    }
    await settle(easel)
    home = json.dumps(slack_fake.views[ADMIN]["blocks"])
    assert "custom up to 3840x2160 (experimental above 2560x1440)" in home

    await slack.command("a harbour at dawn")
    await slack.command("--size 3840x2160 a harbour at noon")
    await settle(easel)
    assert [r["tools"][0]["size"] for r in openai_fake.requests] == ["2880x1616", "3840x2160"]


async def test_a_standard_only_image_model_refuses_custom_sizes(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI
) -> None:
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id=ADMIN, texts={"image_model": "gpt-image-1.5"}
    )
    refused = await slack.command("--size 1536x864 a harbour")
    assert "1536x864 is not a size gpt-image-1.5 takes" in refused.text
    await slack.command("--size landscape a harbour")
    await settle(easel)
    assert [r["tools"][0]["size"] for r in openai_fake.requests] == ["1536x1024"]


async def test_a_custom_size_is_priced_by_its_own_pixels_in_usage(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, admin: None
) -> None:
    async def spend() -> float:
        await settle(easel)
        return (await easel.workspaces.usage("slack", TEAM, USER)).month_spend.usd

    await slack.command("--size square --quality high a harbour")
    square = await spend()
    await slack.command("--size 1536x864 --quality high a harbour")
    both = await spend()
    # Everything but the image is the same: the difference is the image's output tokens,
    # OpenAI's calculator formula worked by hand (1536x864: 4,312; 1024x1024: 7,024) at $30/M.
    assert (both - square) - square == pytest.approx((4312 - 7024) * 30 / 1e6, abs=2e-6)
    await slack.command("usage", user=ADMIN, response_url=slack_fake.response_url("admin"))
    await eventually(lambda: slack_fake.responses)
    assert f"2 drawings, about ${both:,.2f}" in slack_fake.responses[-1]["text"]


def test_a_custom_default_shows_as_typed() -> None:
    settings = replace(WorkspaceSettings.from_defaults(ImageOptions()), size="1536x864")
    assert settings.show("size") == "1536x864"
