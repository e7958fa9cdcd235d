"""The offline image backend: labelled local pictures, no network, no API key."""

from bot.offline.backend import OfflineImageBackend
from bot.offline.models import OfflineModelCatalog

__all__ = ["OfflineImageBackend", "OfflineModelCatalog"]
