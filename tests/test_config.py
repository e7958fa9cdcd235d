"""bot.config.load_config: a runnable configuration, or a ConfigError that says what to set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import load_config
from bot.env import ConfigError
from bot.models import ImageOptions

HTTP_ENV = {
    "OPENAI_API_KEY": "sk-test",
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_SIGNING_SECRET": "signing-test",
}
SOCKET_ENV = {
    "OPENAI_API_KEY": "sk-test",
    "SLACK_BOT_TOKEN": "xoxb-test",
    "SLACK_APP_TOKEN": "xapp-test",
}


def _with(base: dict[str, str], **changes: str | None) -> dict[str, str]:
    """`base` with some variables set (str) or removed (None)."""
    env = dict(base)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _refused(env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(env)
    assert type(caught.value) is ConfigError
    return str(caught.value)


# --- valid ---------------------------------------------------------------------------------


def test_minimal_http_mode_env() -> None:
    config = load_config(HTTP_ENV)
    assert config.openai_api_key == "sk-test"
    assert config.slack is not None
    assert config.slack.bot_token == "xoxb-test"
    assert config.slack.signing_secret == "signing-test"
    assert config.slack.app_token is None
    assert config.slack.socket_mode is False


def test_minimal_socket_mode_env() -> None:
    config = load_config(SOCKET_ENV)
    assert config.slack is not None
    assert config.slack.app_token == "xapp-test"
    assert config.slack.signing_secret is None
    assert config.slack.socket_mode is True


def test_defaults() -> None:
    config = load_config(HTTP_ENV)
    assert config.port == 3000
    assert config.host == "0.0.0.0"
    assert config.db_path == Path("easel.db")
    assert config.public_url is None
    assert config.openai_base_url is None
    assert config.openai_timeout == 300.0
    assert config.openai_max_retries == 2
    assert config.log_level == "INFO"
    assert config.log_format == "text"
    assert config.preview_interval == 1.2
    assert config.shutdown_grace == 60.0
    assert config.slack is not None and config.slack.api_url is None
    assert config.defaults == ImageOptions()
    assert config.defaults.partial_images == 2


def test_settings_are_read_and_converted() -> None:
    env = _with(
        HTTP_ENV,
        EASEL_PORT="8080",
        EASEL_HOST="127.0.0.1",
        EASEL_DB="/var/lib/easel/easel.db",
        EASEL_LOG_LEVEL="debug",
        EASEL_OPENAI_TIMEOUT="30",
        EASEL_OPENAI_MAX_RETRIES="0",
        EASEL_PREVIEW_INTERVAL="0",
        EASEL_SHUTDOWN_GRACE="5.5",
    )
    config = load_config(env)
    assert config.port == 8080
    assert isinstance(config.port, int)
    assert config.host == "127.0.0.1"
    assert config.db_path == Path("/var/lib/easel/easel.db")
    assert config.log_level == "DEBUG"
    assert config.openai_timeout == 30.0
    assert config.openai_max_retries == 0
    assert config.preview_interval == 0.0
    assert config.shutdown_grace == 5.5


def test_image_defaults_are_read() -> None:
    env = _with(
        HTTP_ENV,
        EASEL_SIZE="1536x1024",
        EASEL_QUALITY="high",
        EASEL_OUTPUT_FORMAT="webp",
        EASEL_COMPRESSION="80",
        EASEL_BACKGROUND="opaque",
        EASEL_MODERATION="low",
        EASEL_PARTIAL_IMAGES="0",
        EASEL_INPUT_FIDELITY="high",
    )
    defaults = load_config(env).defaults
    assert defaults.size == "1536x1024"
    assert defaults.quality == "high"
    assert defaults.output_format == "webp"
    assert defaults.compression == 80
    assert defaults.background == "opaque"
    assert defaults.moderation == "low"
    assert defaults.partial_images == 0
    assert defaults.input_fidelity == "high"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://easel.example.com/", "https://easel.example.com"),
        ("https://easel.example.com//", "https://easel.example.com"),
        ("https://easel.example.com", "https://easel.example.com"),
        ("  https://easel.example.com/  ", "https://easel.example.com"),
    ],
)
def test_public_url_loses_its_trailing_slash(given: str, expected: str) -> None:
    assert load_config(_with(HTTP_ENV, EASEL_PUBLIC_URL=given)).public_url == expected


def test_blank_values_count_as_unset() -> None:
    env = _with(HTTP_ENV, EASEL_PORT="  ", EASEL_SIZE="", SLACK_APP_TOKEN=" ")
    config = load_config(env)
    assert config.port == 3000
    assert config.defaults.size == "auto"
    assert config.slack is not None and config.slack.socket_mode is False


# --- missing requirements ------------------------------------------------------------------


def test_no_platform_serves_the_playground_on_loopback() -> None:
    config = load_config({"OPENAI_API_KEY": "sk-test"})
    assert config.slack is None and config.playground
    assert config.host == "127.0.0.1"
    assert config.backend == "openai"


def test_app_token_without_bot_token_names_the_bot_token() -> None:
    message = _refused(_with(SOCKET_ENV, SLACK_BOT_TOKEN=None))
    assert "SLACK_BOT_TOKEN" in message


@pytest.mark.parametrize("base", [HTTP_ENV, SOCKET_ENV], ids=["http", "socket"])
def test_without_an_openai_key_drawings_come_from_the_offline_backend(
    base: dict[str, str],
) -> None:
    assert load_config(_with(base, OPENAI_API_KEY=None)).backend == "offline"


def test_the_offline_backend_can_be_asked_for_with_a_key() -> None:
    assert load_config(_with(HTTP_ENV, EASEL_BACKEND="offline")).backend == "offline"


def test_asking_for_openai_without_a_key_names_the_key() -> None:
    message = _refused(_with(HTTP_ENV, OPENAI_API_KEY=None, EASEL_BACKEND="openai"))
    assert "OPENAI_API_KEY" in message


@pytest.mark.parametrize(("raw", "fmt"), [("json", "json"), ("JSON", "json"), ("text", "text")])
def test_log_format_is_read(raw: str, fmt: str) -> None:
    assert load_config(_with(HTTP_ENV, EASEL_LOG_FORMAT=raw)).log_format == fmt


def test_an_unknown_log_format_is_refused_naming_the_variable() -> None:
    message = _refused(_with(HTTP_ENV, EASEL_LOG_FORMAT="yaml"))
    assert "EASEL_LOG_FORMAT" in message and "text or json" in message


def test_an_unknown_log_level_is_refused_naming_the_variable() -> None:
    message = _refused(_with(HTTP_ENV, EASEL_LOG_LEVEL="verbose"))
    assert "EASEL_LOG_LEVEL" in message and "DEBUG" in message
    assert load_config(_with(HTTP_ENV, EASEL_LOG_LEVEL="debug")).log_level == "DEBUG"


def test_secrets_are_every_token_key_and_secret_configured() -> None:
    env = _with(SOCKET_ENV, SLACK_SIGNING_SECRET="signing-test", DISCORD_TOKEN="discord-test-token")
    assert sorted(load_config(env).secrets) == sorted(
        ["sk-test", "xoxb-test", "xapp-test", "signing-test", "discord-test-token"]
    )
    assert load_config({}).secrets == ()


def test_an_unknown_backend_is_refused() -> None:
    assert "EASEL_BACKEND" in _refused(_with(HTTP_ENV, EASEL_BACKEND="magic"))


def test_bot_token_alone_names_app_token_and_signing_secret() -> None:
    message = _refused(_with(HTTP_ENV, SLACK_SIGNING_SECRET=None))
    assert "SLACK_APP_TOKEN" in message
    assert "SLACK_SIGNING_SECRET" in message


def test_an_empty_environment_runs_the_offline_playground() -> None:
    config = load_config({})
    assert (config.slack, config.playground, config.backend) == (None, True, "offline")
    assert config.host == "127.0.0.1"


@pytest.mark.parametrize(("flag", "on"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_the_playground_runs_beside_slack_only_when_asked(flag: str, on: bool) -> None:
    assert load_config(_with(HTTP_ENV, EASEL_PLAYGROUND=flag)).playground is on


def test_slack_http_mode_listens_on_every_interface_by_default() -> None:
    assert load_config(HTTP_ENV).host == "0.0.0.0"
    assert load_config(SOCKET_ENV).host == "127.0.0.1"


# --- bad numbers ---------------------------------------------------------------------------

NUMBER_VARIABLES = [
    "EASEL_PORT",
    "EASEL_OPENAI_TIMEOUT",
    "EASEL_OPENAI_MAX_RETRIES",
    "EASEL_PREVIEW_INTERVAL",
    "EASEL_SHUTDOWN_GRACE",
    "EASEL_PARTIAL_IMAGES",
    "EASEL_COMPRESSION",
]


@pytest.mark.parametrize("name", NUMBER_VARIABLES)
@pytest.mark.parametrize("raw", ["three", "12abc", "0x10"])
def test_a_value_that_is_not_a_number_is_refused_naming_the_variable(name: str, raw: str) -> None:
    env = _with(HTTP_ENV, **{name: raw})
    if name == "EASEL_COMPRESSION":
        env["EASEL_OUTPUT_FORMAT"] = "jpeg"
    message = _refused(env)
    assert name in message
    assert "number" in message
    assert repr(raw) in message


@pytest.mark.parametrize("name", NUMBER_VARIABLES)
def test_a_negative_number_is_refused_naming_the_variable(name: str) -> None:
    env = _with(HTTP_ENV, **{name: "-1"})
    if name == "EASEL_COMPRESSION":
        env["EASEL_OUTPUT_FORMAT"] = "jpeg"
    message = _refused(env)
    assert name in message
    assert "at least" in message


def test_openai_timeout_below_one_second_is_refused() -> None:
    message = _refused(_with(HTTP_ENV, EASEL_OPENAI_TIMEOUT="0.5"))
    assert "EASEL_OPENAI_TIMEOUT" in message
    assert "at least 1" in message


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("EASEL_PORT", "nan"),
        ("EASEL_PORT", "inf"),
        ("EASEL_PREVIEW_INTERVAL", "nan"),
        ("EASEL_OPENAI_TIMEOUT", "inf"),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_variable(name: str, raw: str) -> None:
    message = _refused(_with(HTTP_ENV, **{name: raw}))
    assert name in message


def test_port_above_65535_is_refused_naming_the_variable() -> None:
    message = _refused(_with(HTTP_ENV, EASEL_PORT="70000"))
    assert "EASEL_PORT" in message


# --- invalid image defaults ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"EASEL_SIZE": "huge"}, "size"),
        ({"EASEL_QUALITY": "ultra"}, "quality"),
        ({"EASEL_OUTPUT_FORMAT": "gif"}, "output format"),
        ({"EASEL_MODERATION": "off"}, "moderation"),
        ({"EASEL_INPUT_FIDELITY": "max"}, "input fidelity"),
        ({"EASEL_BACKGROUND": "transparent", "EASEL_OUTPUT_FORMAT": "jpeg"}, "background"),
        ({"EASEL_COMPRESSION": "50"}, "compression"),  # the default output format is png
        ({"EASEL_COMPRESSION": "50", "EASEL_OUTPUT_FORMAT": "png"}, "compression"),
        ({"EASEL_COMPRESSION": "101", "EASEL_OUTPUT_FORMAT": "jpeg"}, "compression"),
        ({"EASEL_PARTIAL_IMAGES": "5"}, "partial images"),
    ],
    ids=[
        "size",
        "quality",
        "format",
        "moderation",
        "fidelity",
        "transparent-jpeg",
        "compression-default-png",
        "compression-png",
        "compression-101",
        "partial-images-5",
    ],
)
def test_invalid_image_default_is_refused_naming_the_field(
    changes: dict[str, str], field: str
) -> None:
    message = _refused(_with(HTTP_ENV, **changes))
    assert field in message


def test_every_invalid_image_default_is_reported_at_once() -> None:
    message = _refused(_with(HTTP_ENV, EASEL_SIZE="huge", EASEL_PARTIAL_IMAGES="5"))
    assert "size" in message
    assert "partial images" in message


def test_transparent_background_is_fine_with_png_and_webp() -> None:
    for output_format in ("png", "webp"):
        env = _with(HTTP_ENV, EASEL_BACKGROUND="transparent", EASEL_OUTPUT_FORMAT=output_format)
        assert load_config(env).defaults.background == "transparent"


def test_compression_is_fine_with_jpeg() -> None:
    env = _with(HTTP_ENV, EASEL_COMPRESSION="0", EASEL_OUTPUT_FORMAT="jpeg")
    assert load_config(env).defaults.compression == 0


def test_image_default_errors_name_the_variable_to_change() -> None:
    message = _refused(_with(HTTP_ENV, EASEL_SIZE="huge"))
    assert message.startswith("EASEL_SIZE: size huge is not a size: write auto, square")


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ("3840x1000", "EASEL_SIZE: size 3840x1000 is wider than 3:1"),
        ("1000x1000", "EASEL_SIZE: size 1000x1000: width and height must be multiples of 16"),
        ("5120x2880", "EASEL_SIZE: size 5120x2880 is larger than 3840x2160"),
        ("640x640", "EASEL_SIZE: size 640x640 has fewer than 655,360 pixels"),
        # within the rules, but above the largest size a workspace allows by default
        ("3840x2160", "EASEL_SIZE: 3840x2160 is larger than 2560x1440, the largest size"),
    ],
)
def test_a_custom_default_size_is_held_to_the_rules_naming_the_variable(
    size: str, words: str
) -> None:
    assert words in _refused(_with(HTTP_ENV, EASEL_SIZE=size))


def test_a_custom_default_size_within_the_rules_is_read() -> None:
    assert load_config(_with(HTTP_ENV, EASEL_SIZE="1536X864")).defaults.size == "1536x864"
    assert load_config(_with(HTTP_ENV, EASEL_SIZE="landscape")).defaults.size == "1536x1024"
    older = _with(HTTP_ENV, EASEL_SIZE="1536x864", EASEL_IMAGE_MODEL="gpt-image-1.5")
    assert "EASEL_SIZE: size 1536x864 is not a size gpt-image-1.5 takes" in _refused(older)


@pytest.mark.parametrize(
    ("alias", "size"),
    [("square", "1024x1024"), ("portrait", "1024x1536"), ("landscape", "1536x1024")],
)
def test_size_aliases_are_accepted(alias: str, size: str) -> None:
    assert load_config(_with(HTTP_ENV, EASEL_SIZE=alias)).defaults.size == size


@pytest.mark.parametrize("name", ["EASEL_PORT", "EASEL_PARTIAL_IMAGES", "EASEL_COMPRESSION"])
def test_whole_number_settings_refuse_fractions(name: str) -> None:
    env = _with(HTTP_ENV, **{name: "2.5"}, EASEL_OUTPUT_FORMAT="jpeg")
    assert "whole number" in _refused(env)


def test_slack_admins_are_read_as_a_set_of_user_ids() -> None:
    config = load_config({**HTTP_ENV, "EASEL_SLACK_ADMINS": "U1, U2  U3,"})
    assert config.slack is not None
    assert config.slack.admins == frozenset({"U1", "U2", "U3"})


def test_a_price_table_of_ones_own_is_used(tmp_path: Path) -> None:
    table = tmp_path / "prices.toml"
    table.write_text(
        'as_of = "2030-01-01"\n[images."m"]\nlow = { "1024x1024" = 0.5 }\n', encoding="utf-8"
    )
    config = load_config({**HTTP_ENV, "EASEL_PRICES": str(table)})
    assert config.prices.as_of == "2030-01-01"
    assert config.prices.image_price("m", "low", "1024x1024") == 0.5


def test_an_unreadable_price_table_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"EASEL_PRICES.*missing\.toml"):
        load_config({**HTTP_ENV, "EASEL_PRICES": str(tmp_path / "missing.toml")})


def test_every_variable_easel_reads_is_in_the_readmes_configuration_table() -> None:
    root = Path(__file__).parents[1]
    source = "".join(
        (root / "bot" / name).read_text(encoding="utf-8")
        for name in ("config.py", "chat_config.py")
    )
    read = set(re.findall(r'\(env, "([A-Z][A-Z0-9_]+)"', source))
    assert {"OPENAI_API_KEY", "EASEL_DB", "DISCORD_TOKEN"} <= read  # the pattern finds them
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.M))
    assert read - table == set(), "variables easel reads that the README does not list"
    assert table - read == set(), "variables the README lists that easel does not read"


# --- Discord shards --------------------------------------------------------------------------

DISCORD_ENV = {"DISCORD_TOKEN": "discord-test-token"}


def test_without_shard_variables_discord_runs_unsharded() -> None:
    config = load_config(DISCORD_ENV)
    assert config.discord is not None
    assert config.discord.shard_count is None
    assert config.discord.shard_ids == ()


@pytest.mark.parametrize(
    ("count", "ids", "expected"),
    [
        ("2", "0", (0,)),
        ("2", "1", (1,)),
        ("4", "3, 1", (3, 1)),
        ("4", "0 2", (0, 2)),
        ("3", None, (0, 1, 2)),  # a count alone: every shard in this process
        ("1", None, (0,)),
    ],
)
def test_shard_variables_are_read(count: str, ids: str | None, expected: tuple[int, ...]) -> None:
    env = _with(DISCORD_ENV, DISCORD_SHARD_COUNT=count, DISCORD_SHARD_IDS=ids)
    config = load_config(env)
    assert config.discord is not None
    assert config.discord.shard_count == int(count)
    assert config.discord.shard_ids == expected


@pytest.mark.parametrize(
    ("count", "ids", "words"),
    [
        ("0", None, ["DISCORD_SHARD_COUNT", "at least 1"]),
        ("-2", None, ["DISCORD_SHARD_COUNT", "at least 1"]),
        ("two", None, ["DISCORD_SHARD_COUNT", "number", "'two'"]),
        ("1.5", None, ["DISCORD_SHARD_COUNT", "whole number"]),
        ("2", "2", ["DISCORD_SHARD_IDS", "shard 2", "DISCORD_SHARD_COUNT=2", "0 to 1"]),
        ("2", "0,0", ["DISCORD_SHARD_IDS", "shard 0 twice"]),
        ("2", "0,one", ["DISCORD_SHARD_IDS", "'one'"]),
        ("2", "-1", ["DISCORD_SHARD_IDS", "'-1'"]),
        ("2", "1.0", ["DISCORD_SHARD_IDS", "'1.0'"]),
        ("2", ",", ["DISCORD_SHARD_IDS", "','"]),
        (None, "0", ["DISCORD_SHARD_IDS", "DISCORD_SHARD_COUNT is not"]),
    ],
)
def test_invalid_shard_variables_are_refused_naming_the_variable(
    count: str | None, ids: str | None, words: list[str]
) -> None:
    message = _refused(_with(DISCORD_ENV, DISCORD_SHARD_COUNT=count, DISCORD_SHARD_IDS=ids))
    for word in words:
        assert word in message


@pytest.mark.parametrize("name", ["DISCORD_SHARD_COUNT", "DISCORD_SHARD_IDS", "DISCORD_GUILD_ID"])
def test_discord_variables_without_a_token_name_the_token(name: str) -> None:
    message = _refused(_with(HTTP_ENV, **{name: "1"}))
    assert name in message
    assert "DISCORD_TOKEN" in message
