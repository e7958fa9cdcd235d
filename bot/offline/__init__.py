"""The offline image backend: labelled local pictures, no network, no API key."""

from bot.offline.backend import OfflineImageBackend

__all__ = ["OfflineImageBackend"]
