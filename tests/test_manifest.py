"""manifest.yml: valid against Slack's manifest schema, and declaring what easel relies on."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.specs import assert_valid, slack_manifest_validator

MANIFEST_PATH = Path(__file__).resolve().parents[1] / "manifest.yml"

BOT_SCOPES = {
    "commands",
    "chat:write",
    "files:write",
    "files:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "users:read",
}
MESSAGE_EVENTS = {"message.channels", "message.groups", "message.im", "message.mpim"}
PLACEHOLDER_URL = "https://easel.example.com/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_is_valid(manifest: dict[str, Any]) -> None:
    assert_valid(slack_manifest_validator("1.0.0"), manifest)


def _add_unknown_top_level_key(m: dict[str, Any]) -> None:
    m["bogus"] = True


def _add_unknown_bot_user_key(m: dict[str, Any]) -> None:
    m["features"]["bot_user"]["avatar"] = "easel.png"


def _make_scope_a_number(m: dict[str, Any]) -> None:
    m["oauth_config"]["scopes"]["bot"].append(42)


def _drop_the_command_slash(m: dict[str, Any]) -> None:
    m["features"]["slash_commands"][0]["command"] = "draw"


def _make_socket_mode_a_string(m: dict[str, Any]) -> None:
    m["settings"]["socket_mode_enabled"] = "yes"


@pytest.mark.parametrize(
    "breakage",
    [
        _add_unknown_top_level_key,
        _add_unknown_bot_user_key,
        _make_scope_a_number,
        _drop_the_command_slash,
        _make_socket_mode_a_string,
    ],
)
def test_broken_manifest_fails_validation(
    manifest: dict[str, Any], breakage: Callable[[dict[str, Any]], None]
) -> None:
    validator = slack_manifest_validator("1.0.0")
    broken = copy.deepcopy(manifest)
    breakage(broken)
    with pytest.raises(AssertionError, match="validation error"):
        assert_valid(validator, broken)


def test_manifest_declares_draw_command(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/draw"}
    draw = commands["/draw"]
    assert draw["description"] == "Draw an image with AI"
    assert draw["should_escape"] is False


def test_manifest_subscribes_to_message_events(manifest: dict[str, Any]) -> None:
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == MESSAGE_EVENTS | {"app_home_opened"}


def test_manifest_enables_socket_mode(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_manifest_requests_exactly_the_bot_scopes_easel_needs(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "easel requests no user scopes"
    assert len(scopes["bot"]) == len(set(scopes["bot"])), "duplicate bot scope"
    assert set(scopes["bot"]) == BOT_SCOPES


def test_manifest_request_urls_agree(manifest: dict[str, Any]) -> None:
    # Bolt serves commands, events and interactivity on one endpoint (HTTP mode only).
    urls = {
        manifest["features"]["slash_commands"][0]["url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    }
    assert urls == {PLACEHOLDER_URL}


def test_manifest_background_color_is_a_hex_color(manifest: dict[str, Any]) -> None:
    # The schema spells this pattern "regex", which JSON Schema ignores, so check it here.
    color = manifest["display_information"]["background_color"]
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", color)
