"""Previews travel small: downscaled (long side at most 768 px) and encoded as JPEG for
Slack, WebP for Discord and the playground; the final image is never touched."""

from __future__ import annotations

import io

from PIL import Image

from adapters.runtime import Runtime
from tests.conftest import SlackSender, draw, settle
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack

BIG = (1536, 1024)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_slack_previews_are_small_jpegs_and_the_final_is_the_image_itself(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=2, image_size=BIG, delay=0.25))
    await slack.command("a harbour at dusk")
    await settle(easel)
    previews = [f for f in slack_fake.files.values() if f.name.startswith("preview-")]
    assert previews, "no preview reached Slack"
    for preview in previews:
        image = opened(preview.data)
        assert image.format == "JPEG" and preview.name.endswith(".jpeg")
        assert max(image.size) == 768 and image.size == (768, 512)
    [final] = [f for f in slack_fake.files.values() if f.name.startswith("easel-")]
    assert final.data in openai_fake.images_sent.values(), "the final, byte for byte"
    sent = [png for _, _, png in openai_fake.partials_sent]
    assert sum(len(p.data) for p in previews) < sum(len(png) for png in sent) / 3


async def test_discord_previews_are_small_webps_and_the_final_is_the_image_itself(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.push(Script(partials=2, image_size=BIG, delay=0.25))
    await draw(discord_fake, easel_discord, "a harbour at dusk")
    edits = [c for c in discord_fake.calls if c.method == "PATCH" and c.files]
    previews = [name for c in edits for name, _ in c.files if name.startswith("preview-")]
    assert previews and all(name.endswith(".webp") for name in previews)
    blobs = {a: discord_fake.blobs[int(a)] for a in discord_fake.blobs_by_name("preview-")}
    for data in blobs.values():
        image = opened(data)
        assert image.format == "WEBP" and image.size == (768, 512)
    [final] = discord_fake.blobs_by_name("easel-")
    assert discord_fake.blobs[int(final)] in openai_fake.images_sent.values()
