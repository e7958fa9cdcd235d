"""The privacy-preserving identifier OpenAI asks for on every request an end user causes.

It is an HMAC-SHA256 of the platform, the workspace and the person's id under a key easel
creates once and keeps in its database: stable (the same person always gets the same one, on
every replica), never the raw id, and 64 hex characters, the most the API takes.
"""

from __future__ import annotations

import hashlib
import hmac

KEY_NAME = "safety_identifier"


class SafetyIds:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, *, platform: str, workspace: str, user_id: str) -> str:
        who = "\x1f".join((platform, workspace, user_id)).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, who, hashlib.sha256).hexdigest()
