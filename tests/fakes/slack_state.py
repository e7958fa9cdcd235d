"""Pieces of the fake Slack workspace: recorded calls, files, argument parsing, Block Kit checks.

`slack_server.FakeSlack` serves them over HTTP.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from tests.fakes.slack_elements import check_actions, typed_items

_Json = dict[str, Any]

MAX_BLOCKS = 50
_JSON_ARGS = ("blocks", "attachments", "files", "metadata")


@dataclass
class Call:
    """One request the fake answered. `args` merges query, form and JSON bodies (JSON strings
    such as `blocks` and `files` are decoded); the token is never included."""

    method: str
    args: _Json
    at: float  # time.monotonic() on arrival
    status: int = 200


class SlackError(Exception):
    """Answered as `{"ok": false, "error": error, **extra}` with HTTP 200, like Slack does."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def require(args: _Json, key: str, error: str) -> str:
    """A string argument that must be there; SlackError(`error`) when it is not."""
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise SlackError(error)
    return value


async def read_args(request: web.Request) -> _Json:
    """Query string, then a JSON or form body; JSON-encoded strings in known fields decoded.

    Raises ValueError on a malformed JSON body.
    """
    args: _Json = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body is not an object")
            args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_ARGS:
        if isinstance(args.get(key), str):
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


def default_user(user_id: str, team_id: str) -> _Json:
    bot = user_id == "UBOT"
    return {
        "id": user_id,
        "team_id": team_id,
        "name": "easel" if bot else user_id.lower(),
        "real_name": "Easel" if bot else f"User {user_id}",
        "deleted": False,
        "is_admin": False,
        "is_owner": False,
        "is_bot": bot,
        "tz": "UTC",
        "profile": {"display_name": "", "real_name": "Easel" if bot else f"User {user_id}"},
    }


def sniff(data: bytes) -> tuple[str, str]:
    """(mimetype, filetype) from the leading bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream", "binary"
    return "text/plain", "text"


def image_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None  # no dimensions and no thumbnail, as for any file Slack cannot render


@dataclass
class FakeFile:
    id: str
    name: str
    title: str
    base_url: str
    data: bytes = b""
    declared_length: int = 0
    user: str = "UBOT"
    channel: str | None = None
    thread_ts: str | None = None
    share_ts: str | None = None  # ts of the message that shared the file into `channel`
    initial_comment: str | None = None
    deleted: bool = False
    deleted_at: float | None = None  # time.monotonic() of the files.delete
    uploaded: bool = False  # bytes were POSTed to the upload URL
    completed: bool = False  # files.completeUploadExternal accepted it
    completed_at: float | None = None
    info_polls: int = 0
    processing_polls: int = 1
    processing_seconds: float | None = None
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def shared(self) -> bool:
        return self.channel is not None

    @property
    def processed(self) -> bool:
        """Processing ends on the poll after the first `processing_polls` files.info polls, or
        `processing_seconds` after completion (when set)."""
        if not self.completed or self.deleted:
            return False
        if self.processing_polls == 0 or self.info_polls > self.processing_polls:
            return True
        if self.processing_seconds is None or self.completed_at is None:
            return False
        return time.monotonic() - self.completed_at >= self.processing_seconds

    @property
    def url_private(self) -> str:
        return f"{self.base_url}/files-pri/{self.id}/{self.name}"

    def to_dict(self) -> _Json:
        mimetype, filetype = sniff(self.data)
        obj: _Json = {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": "",
            "filetype": self.name.rpartition(".")[2].lower() if "." in self.name else "",
            "pretty_type": "",
            "user": self.user,
            "size": len(self.data),
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "url_private": self.url_private,
            "url_private_download": self.url_private,
            "permalink": f"https://test.slack.com/files/{self.user}/{self.id}/{self.name}",
            "shares": {},
            "comments_count": 0,
        }
        if not self.processed:
            return obj
        public = self.channel is not None and self.channel.startswith("C")
        obj.update(mimetype=mimetype, filetype=filetype, pretty_type=filetype.upper())
        obj["is_public"] = public
        if self.channel is not None and self.share_ts is not None:
            share: _Json = {"ts": self.share_ts, "reply_users": [], "reply_count": 0}
            if self.thread_ts is not None:
                share["thread_ts"] = self.thread_ts
            obj["shares"] = {"public" if public else "private": {self.channel: [share]}}
        size = image_size(self.data) if mimetype.startswith("image/") else None
        if size is not None:
            w, h = size
            scale = min(1.0, 360 / max(w, h))
            obj.update(original_w=w, original_h=h)
            obj["thumb_360"] = f"{self.base_url}/files-tmb/{self.id}/{self.id}_360.png"
            obj["thumb_360_w"] = max(1, round(w * scale))
            obj["thumb_360_h"] = max(1, round(h * scale))
        return obj


def _image_source(el: _Json) -> tuple[str, str] | None:
    if isinstance(el.get("image_url"), str):
        return ("image_url", el["image_url"])
    ref = el.get("slack_file")
    if isinstance(ref, dict):
        if isinstance(ref.get("id"), str):
            return ("slack_file", ref["id"])
        if isinstance(ref.get("url"), str):
            return ("slack_file_url", ref["url"])
    return None


def _images(blocks: list[Any]) -> list[tuple[str, _Json]]:
    """(json-pointer, element) for image blocks and image elements of context blocks."""
    found: list[tuple[str, _Json]] = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        if block.get("type") == "image":
            found.append((f"/blocks/{i}", block))
        elif block.get("type") == "context":
            for j, el in enumerate(block.get("elements") or []):
                if isinstance(el, dict) and el.get("type") == "image":
                    found.append((f"/blocks/{i}/elements/{j}", el))
    return found


def check_blocks(blocks: Any, channel: str, files: dict[str, FakeFile], where: str) -> list[str]:
    """Raise SlackError("invalid_blocks") like Slack; return the violations to record."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    errors: list[str] = []
    violations: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for where, block in typed_items(blocks, "/blocks", "block_id", errors):
        if block["type"] == "actions":
            errors += check_actions(block, where)
    by_url = {f.url_private: f for f in files.values()}
    for ptr, el in _images(blocks):
        if not el.get("alt_text"):
            errors.append(f"missing required field: alt_text [json-pointer:{ptr}/alt_text]")
        source = _image_source(el)
        if source is None:
            errors.append(f"must provide either image_url or slack_file [json-pointer:{ptr}]")
            continue
        kind, ref = source
        if kind == "image_url":
            continue
        f = files.get(ref) if kind == "slack_file" else by_url.get(ref)
        if f is None or not f.processed:
            errors.append(f"invalid slack file [json-pointer:{ptr}/slack_file]")
        elif f.channel != channel:
            shared_in = f.channel or "no channel (private upload)"
            violations.append(
                f"{where}: image {ptr} uses file {f.id}, processed but shared in {shared_in}, "
                f"not in {channel}; members of {channel} may not see it"
            )
    if errors:
        raise SlackError("invalid_blocks", errors=errors)
    return violations


def image_sources_by_block_id(blocks: Any) -> dict[str, tuple[str, str]]:
    if not isinstance(blocks, list):
        return {}
    found: dict[str, tuple[str, str]] = {}
    for _, el in _images(blocks):
        source = _image_source(el)
        if isinstance(el.get("block_id"), str) and source is not None:
            found[el["block_id"]] = source
    return found


def check_block_id_reuse(message: _Json, new_blocks: Any, where: str) -> list[str]:
    """Slack clients cache an image block by block_id: a new image under an old id shows stale."""
    earlier: dict[str, set[tuple[str, str]]] = {}
    for version in [*message["history"], message]:
        for block_id, source in image_sources_by_block_id(version.get("blocks")).items():
            earlier.setdefault(block_id, set()).add(source)
    violations: list[str] = []
    for block_id, source in image_sources_by_block_id(new_blocks).items():
        if block_id in earlier and source not in earlier[block_id]:
            violations.append(
                f"{where}: image block_id {block_id!r} reused for {source[1]} after "
                f"{sorted(s[1] for s in earlier[block_id])}; Slack caches images by block_id"
            )
    return violations
