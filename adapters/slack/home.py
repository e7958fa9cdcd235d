"""The App Home tab: how to use easel and how it is set up to draw."""

from __future__ import annotations

from typing import Any

from bot.models import ImageOptions


def home_view(defaults: ImageOptions) -> dict[str, Any]:
    settings = (
        f"*Image model:* {defaults.image_model}   *Size:* {defaults.size}   "
        f"*Quality:* {defaults.quality}\n*Format:* {defaults.output_format}   "
        f"*Background:* {defaults.background}   *Previews:* {defaults.partial_images}"
    )
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Draw with easel"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "Type `/draw a gray tabby cat hugging an otter` in any channel easel "
                    "is in. Reply in the drawing's thread to edit it; attach images to use "
                    "them in the edit.",
                },
            },
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn", "text": settings}},
        ],
    }
