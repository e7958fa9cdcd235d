"""Reading the environment: values of one variable each, or a ConfigError naming it."""

from __future__ import annotations

import math
from collections.abc import Mapping


class ConfigError(ValueError):
    """The environment does not describe a runnable easel; the message says what to set."""


def get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def number(
    env: Mapping[str, str], name: str, default: float, *, low: float = 0, high: float = math.inf
) -> float:
    raw = get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, not {raw!r}")
    if value < low:
        raise ConfigError(f"{name} must be at least {low:g}")
    if value > high:
        raise ConfigError(f"{name} must be at most {high:g}")
    return value


def whole(
    env: Mapping[str, str], name: str, default: int, *, low: int = 0, high: float = math.inf
) -> int:
    value = float(number(env, name, default, low=low, high=high))
    if not value.is_integer():
        raise ConfigError(f"{name} must be a whole number, not {value:g}")
    return int(value)
