"""The spec helpers: the validators accept what the specs allow and reject what they forbid."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.specs import (
    assert_valid,
    discord_request_validator,
    discord_validator,
    openai_validator,
    spec_path,
)

# A streaming Responses API request that draws (or edits, with an input image) via the
# image_generation tool, continuing an earlier response.
DRAW_REQUEST: dict[str, Any] = {
    "model": "gpt-5-mini",
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "a cat"},
                {
                    "type": "input_image",
                    "image_url": "data:image/png;base64,iVBORw0KGgo=",
                    "detail": "auto",
                },
            ],
        }
    ],
    "tools": [
        {
            "type": "image_generation",
            "model": "gpt-image-2",
            "size": "1024x1024",
            "quality": "high",
            "output_format": "png",
            "background": "auto",
            "moderation": "auto",
            "partial_images": 2,
        }
    ],
    "tool_choice": {"type": "image_generation"},
    "stream": True,
    "previous_response_id": "resp_1",
}


def _input_image(body: dict[str, Any]) -> dict[str, Any]:
    image: dict[str, Any] = body["input"][0]["content"][1]
    return image


def _image_tool(body: dict[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = body["tools"][0]
    return tool


def test_spec_path_skips_naming_the_missing_file() -> None:
    with pytest.raises(pytest.skip.Exception, match=r"no-such-spec\.json is missing"):
        spec_path("no-such-spec.json")


def test_create_response_accepts_a_streaming_draw_request() -> None:
    assert_valid(openai_validator("CreateResponse"), DRAW_REQUEST)


def test_openai_validator_is_cached() -> None:
    assert openai_validator("CreateResponse") is openai_validator("CreateResponse")


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda b: _image_tool(b).update(partial_images=7), r"partial_images: 7 is greater"),
        (lambda b: _image_tool(b).update(quality="ultra"), r"quality: 'ultra' is not one of"),
        (lambda b: _image_tool(b).update(output_format="gif"), r"output_format: 'gif'"),
        # The spec requires `detail` on an input_image content part.
        (lambda b: _input_image(b).pop("detail"), r"'detail' is a required property"),
        (lambda b: b.update(tool_choice={"type": "image_gen"}), r"'image_gen' is not one of"),
        (lambda b: b.update(stream="yes"), r"\$\.stream"),
    ],
    ids=["partial_images", "quality", "output_format", "no_detail", "tool_choice", "stream"],
)
def test_create_response_rejects_a_broken_request(
    breakage: Callable[[dict[str, Any]], object], expected: str
) -> None:
    body = copy.deepcopy(DRAW_REQUEST)
    breakage(body)
    with pytest.raises(AssertionError, match=expected):
        assert_valid(openai_validator("CreateResponse"), body)


def test_openai_validator_rejects_an_unknown_schema_name() -> None:
    spec_path("openai-openapi.yaml")
    with pytest.raises(KeyError, match="NoSuchSchema"):
        openai_validator("NoSuchSchema")


def test_discord_validator_checks_a_message_create_body() -> None:
    validator = discord_validator("MessageCreateRequest")
    assert_valid(validator, {"content": "a gray tabby cat hugging an otter"})
    with pytest.raises(AssertionError, match=r"\$\.content: 5 is not of type"):
        assert_valid(validator, {"content": 5})


def test_discord_request_validator_finds_the_operation_by_method_and_path() -> None:
    original = discord_request_validator("PATCH", "/webhooks/1/tok-en/messages/@original")
    assert original is not None
    assert_valid(original, {"content": "preview 1 of 2", "attachments": [{"id": "0"}]})
    with pytest.raises(AssertionError, match="content"):
        assert_valid(original, {"content": 5})
    thread = discord_request_validator("POST", "/channels/1/messages/2/threads")
    assert thread is not None
    with pytest.raises(AssertionError, match="name"):
        assert_valid(thread, {"auto_archive_duration": 10080})
    assert discord_request_validator("GET", "/users/@me") is None  # no body to check
