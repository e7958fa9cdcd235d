"""What stops easel at start: a platform refused its credentials."""

from __future__ import annotations


class StartupError(RuntimeError):
    """A platform refused easel's credentials; the message says what to fix."""
