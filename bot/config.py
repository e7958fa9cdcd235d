"""Process configuration, read from the environment (and `.env`) once, at start-up.

The chat platforms' part is read in bot.chat_config; single variables in bot.env."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bot.chat_config import DiscordConfig, SlackConfig, discord_config, slack_config
from bot.env import ConfigError, get, number, whole
from bot.logs import FORMATS as LOG_FORMATS
from bot.models import ImageOptions
from bot.workspace.options import validate_options
from bot.workspace.prices import PriceTable, PriceTableError
from bot.workspace.sizes import LARGEST, STABLE, parse_size, within


@dataclass(frozen=True, slots=True)
class Config:
    backend: str  # "openai" or "offline"
    playground: bool  # serve the local web playground
    openai_api_key: str | None
    openai_base_url: str | None
    openai_timeout: float
    openai_max_retries: int
    slack: SlackConfig | None
    discord: DiscordConfig | None
    host: str
    port: int
    public_url: str | None
    db_path: Path  # SQLite: the database file (when db_url is not set)
    log_level: str
    log_format: str  # "text" or "json", see bot.logs
    preview_interval: float
    shutdown_grace: float
    delivery_max_pause: float = 60.0  # seconds between attempts while a platform is down
    chat_timeout: float = 30.0  # seconds a chat platform may stay silent before a call fails
    db_url: str | None = None  # PostgreSQL: a libpq URL, for several replicas on one database
    lease_seconds: float = 30.0  # a dead replica's turns are taken over within this
    pg_password: str | None = None  # PGPASSWORD, which libpq reads itself: never logged
    metrics_port: int | None = None  # set: GET /metrics on a listener of its own (0: any port)
    metrics_host: str = "127.0.0.1"
    defaults: ImageOptions = field(default_factory=ImageOptions)
    prices: PriceTable = field(default_factory=PriceTable.load)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values no log line may show: the tokens, the signing secret, the API key."""
        values = [self.openai_api_key, _password(self.db_url), self.pg_password]
        if self.slack is not None:
            values += [self.slack.bot_token, self.slack.app_token, self.slack.signing_secret]
        if self.discord is not None:
            values.append(self.discord.token)
        return tuple(v for v in values if v)


_IMAGE_VARIABLES = {
    "size": "EASEL_SIZE",
    "quality": "EASEL_QUALITY",
    "output format": "EASEL_OUTPUT_FORMAT",
    "compression": "EASEL_COMPRESSION",
    "background": "EASEL_BACKGROUND",
    "moderation": "EASEL_MODERATION",
    "partial images": "EASEL_PARTIAL_IMAGES",
    "input fidelity": "EASEL_INPUT_FIDELITY",
    "a transparent background": "EASEL_BACKGROUND",
}


def _defaults(env: Mapping[str, str]) -> ImageOptions:
    base = ImageOptions()
    compression = get(env, "EASEL_COMPRESSION")
    options = ImageOptions(
        model=get(env, "EASEL_MODEL") or base.model,
        image_model=get(env, "EASEL_IMAGE_MODEL") or base.image_model,
        size=_size(env, base.size),
        quality=get(env, "EASEL_QUALITY") or base.quality,
        output_format=get(env, "EASEL_OUTPUT_FORMAT") or base.output_format,
        compression=whole(env, "EASEL_COMPRESSION", 0) if compression else None,
        background=get(env, "EASEL_BACKGROUND") or base.background,
        moderation=get(env, "EASEL_MODERATION") or base.moderation,
        partial_images=whole(env, "EASEL_PARTIAL_IMAGES", base.partial_images),
        input_fidelity=get(env, "EASEL_INPUT_FIDELITY"),
    )
    problems = validate_options(options)
    if problems:
        raise ConfigError("; ".join(_name_variable(problem) for problem in problems))
    if options.size != "auto" and not within(options.size, STABLE):
        raise ConfigError(
            f"EASEL_SIZE: {options.size} is larger than {STABLE}, the largest size a workspace "
            f"allows until its admins raise its Largest size (up to {LARGEST}, experimental)"
        )
    return options


def _size(env: Mapping[str, str], default: str) -> str:
    """EASEL_SIZE as easel keeps sizes, auto or WIDTHxHEIGHT; text that is no size is kept
    as it is, for validate_options to name with every other problem."""
    raw = get(env, "EASEL_SIZE")
    try:
        return default if raw is None else parse_size(raw)
    except ValueError:
        return raw or default


def _name_variable(problem: str) -> str:
    for field_name, variable in _IMAGE_VARIABLES.items():
        if problem.startswith(field_name):
            return f"{variable}: {problem}"
    return problem


BACKENDS = ("openai", "offline")
_TRUE = ("1", "true", "yes", "on")


def _backend(env: Mapping[str, str]) -> str:
    backend = (get(env, "EASEL_BACKEND") or "").lower()
    if backend and backend not in BACKENDS:
        raise ConfigError(f"EASEL_BACKEND must be openai or offline, not {backend!r}")
    if backend == "openai" and get(env, "OPENAI_API_KEY") is None:
        raise ConfigError("EASEL_BACKEND=openai needs OPENAI_API_KEY")
    return backend or ("openai" if get(env, "OPENAI_API_KEY") else "offline")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(env: Mapping[str, str]) -> str:
    level = (get(env, "EASEL_LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"EASEL_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
    return level


def _log_format(env: Mapping[str, str]) -> str:
    log_format = (get(env, "EASEL_LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(
            f"EASEL_LOG_FORMAT must be {' or '.join(LOG_FORMATS)}, not {log_format!r}"
        )
    return log_format


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from `env` (default: the process environment).

    With no chat platform configured easel serves the local playground; with no OpenAI key
    it draws with the offline backend. Both say so at start.
    """
    env = os.environ if env is None else env
    slack = slack_config(env)
    discord = discord_config(env)
    playground = (slack is None and discord is None) or (
        get(env, "EASEL_PLAYGROUND") or ""
    ).lower() in _TRUE
    # Slack's HTTP mode must be reachable from outside; the playground alone stays on loopback.
    http_mode = slack is not None and not slack.socket_mode
    metrics_port, metrics_host = _metrics(env)
    return Config(
        backend=_backend(env),
        playground=playground,
        openai_api_key=get(env, "OPENAI_API_KEY"),
        openai_base_url=get(env, "OPENAI_BASE_URL"),
        openai_timeout=number(env, "EASEL_OPENAI_TIMEOUT", 300.0, low=1),
        openai_max_retries=whole(env, "EASEL_OPENAI_MAX_RETRIES", 2, high=10),
        slack=slack,
        discord=discord,
        host=get(env, "EASEL_HOST") or ("0.0.0.0" if http_mode else "127.0.0.1"),
        port=whole(env, "EASEL_PORT", 3000, high=65535),
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        public_url=(get(env, "EASEL_PUBLIC_URL") or "").rstrip("/") or None,
        db_path=Path(_db(env) or "easel.db"),
        db_url=_db_url(env),
        lease_seconds=number(env, "EASEL_LEASE_SECONDS", 30.0, low=3, high=3600),
        pg_password=get(env, "PGPASSWORD"),
        log_level=_log_level(env),
        log_format=_log_format(env),
        preview_interval=number(env, "EASEL_PREVIEW_INTERVAL", 1.2),
        shutdown_grace=number(env, "EASEL_SHUTDOWN_GRACE", 60.0),
        delivery_max_pause=number(env, "EASEL_DELIVERY_MAX_PAUSE", 60.0, low=0.01, high=3600),
        chat_timeout=number(env, "EASEL_CHAT_TIMEOUT", 30.0, low=0.1, high=600),
        defaults=_defaults(env),
        prices=_prices(env),
    )


def _metrics(env: Mapping[str, str]) -> tuple[int | None, str]:
    """EASEL_METRICS_PORT and EASEL_METRICS_HOST: /metrics on its own listener, never on the
    port that faces Slack, and on loopback unless told otherwise."""
    host = get(env, "EASEL_METRICS_HOST")
    if get(env, "EASEL_METRICS_PORT") is None:
        if host is not None:
            raise ConfigError(
                "EASEL_METRICS_HOST is set but EASEL_METRICS_PORT is not: set the port to "
                "serve /metrics on"
            )
        return None, "127.0.0.1"
    port = whole(env, "EASEL_METRICS_PORT", 0, high=65535)
    if port != 0 and port == whole(env, "EASEL_PORT", 3000, high=65535):
        raise ConfigError(
            f"EASEL_METRICS_PORT must differ from EASEL_PORT ({port}): /metrics is served on "
            "a listener of its own, never on the port that faces Slack"
        )
    if host is not None and (re.search(r"[\s/]", host) or host.count(":") == 1):
        raise ConfigError(
            f"EASEL_METRICS_HOST must be an address to listen on (e.g. 127.0.0.1 or 0.0.0.0), "
            f"not {host!r}"
        )
    return port, host or "127.0.0.1"


_POSTGRES = ("postgresql://", "postgres://")


def _db(env: Mapping[str, str]) -> str | None:
    value = get(env, "EASEL_DB")
    return None if value is not None and value.startswith(_POSTGRES) else value


def _db_url(env: Mapping[str, str]) -> str | None:
    """EASEL_DB as a PostgreSQL URL (any libpq URL), or None for a SQLite file."""
    value = get(env, "EASEL_DB")
    if value is None or not value.startswith(_POSTGRES):
        return None
    try:
        conninfo_to_dict(value)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"EASEL_DB is not a PostgreSQL URL libpq can read: {exc}") from None
    return value


def _password(url: str | None) -> str | None:
    """The password written in a database URL (a secret no log line may show)."""
    if url is None:
        return None
    password = conninfo_to_dict(url).get("password")
    return str(password) if password else None


def _prices(env: Mapping[str, str]) -> PriceTable:
    try:
        return PriceTable.load(get(env, "EASEL_PRICES"))
    except PriceTableError as exc:
        raise ConfigError(f"EASEL_PRICES: {exc}") from None
