"""A fake Slack Web API served over real local HTTP.

The real `slack_sdk.web.async_client.AsyncWebClient` talks to it (`base_url=fake.api_url`),
including the three-step `files_upload_v2`. Files go through a processing phase like on Slack:
`chat.update` with an image block naming an unprocessed file fails with `invalid_blocks`.
Things Slack accepts but a careful bot must avoid are recorded in `fake.violations`.
"""

from __future__ import annotations

import json
import random
import string
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.faults import Fault, Faults, Kind, answer, rate_limited, status
from tests.fakes.ratelimit import TokenBucket
from tests.fakes.server import LocalServer
from tests.fakes.slack_messages import Messages
from tests.fakes.slack_state import (
    Call,
    FakeFile,
    SlackError,
    default_user,
    read_args,
    require,
    sniff,
)

__all__ = ["Call", "FakeFile", "FakeSlack"]

_Json = dict[str, Any]
# Stands for "carry the call out, then lose its answer" (a LOST fault) between two steps.
_LOST = web.Response(status=200)
_ID_CHARS = string.ascii_uppercase + string.digits
_ROUTES = ("upload", "download", "respond")  # fault names beside the Web API methods
_SLACK_ERRORS = {429: "ratelimited", 503: "service_unavailable", 504: "request_timeout"}


def _error_json(fault: Fault) -> tuple[_Json, dict[str, str]]:
    """Slack's body for an HTTP error status."""
    error = _SLACK_ERRORS.get(fault.status, "internal_error" if fault.status >= 500 else "")
    return {"ok": False, "error": error or "invalid_request"}, {}


class FakeSlack(LocalServer):
    """A real aiohttp server on 127.0.0.1 speaking the subset of the Web API the bot uses.

    `faults` fails any Web API method by name, and "upload" (the upload URL), "download" (a
    file's URL) and "respond" (a response_url); `limit_chat_update()` meters chat.update per
    workspace as Slack's Tier 3 does.
    """

    def __init__(self, *, token: str = "xoxb-test", team_id: str = "T1") -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        app.router.add_get("/files-tmb/{file_id}/{name}", self._download)
        app.router.add_post("/respond/{hook}", self._respond)
        super().__init__(app)
        self.token = token
        self.tokens: set[str] = {token}
        self.team_id = team_id
        self.calls: list[Call] = []
        self.files: dict[str, FakeFile] = {}
        self.users: dict[str, _Json] = {}
        self.violations: list[str] = []
        # Messages: posted, edited, deleted (chat.delete), listed by thread.
        self.chat = Messages(files=self.files, violations=self.violations, team_id=team_id)
        self.messages = self.chat.messages
        self.ephemerals = self.chat.ephemerals
        self.responses: list[_Json] = []  # what was posted to a slash command's response_url
        self.views: dict[str, _Json] = {}  # user id -> the App Home view last published
        self.modals: list[_Json] = []  # every modal opened with views.open
        self.downloads: list[str] = []
        self.latency: dict[str, float] = {}
        self.processing_polls = 1
        self.processing_seconds: float | None = None
        self.chat_update_limits: dict[str, TokenBucket] = {}  # team -> its Tier 3 bucket
        self._chat_update_limit: tuple[float, float, Callable[[], float]] | None = None
        self._rng = random.Random()
        self._methods: dict[str, Callable[[_Json], _Json]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self.chat.post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self.chat.post_ephemeral,
            "chat.delete": self.chat.delete,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._files_info,
            "files.delete": self._files_delete,
            "users.info": self._users_info,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "conversations.replies": self.chat.replies,
        }
        self.faults = Faults(names=self._fault_names, render=_error_json, closing=self.closing)

    # ---- lifecycle and test controls

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/" if self.base_url else ""

    def _fault_names(self) -> set[str]:
        return {*self._methods, *_ROUTES}

    def client(self, *, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
        """An AsyncWebClient aimed at this server, ignoring any HTTP(S)_PROXY env variable."""
        client = AsyncWebClient(token=token or self.token, base_url=self.api_url, **kwargs)
        client.proxy = None  # slack_sdk would send 127.0.0.1 traffic through an env proxy
        return client

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls to `method` answer HTTP 429 with `Retry-After`."""
        self.faults.add(method, rate_limited(retry_after), times=times)

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls to `method` answer `{"ok": false, "error": error}`."""
        self.faults.add(method, answer(200, {"ok": False, "error": error}), times=times)

    def unavailable(self, method: str, times: int = 1_000_000) -> None:
        """The next `times` calls to `method` ("upload": the upload URL) answer HTTP 503, as
        Slack does during an outage; `times=0` ends the outage."""
        self.faults.set(method, status(503, body="text"), times=times)

    def limit_chat_update(
        self,
        *,
        burst: float = 15,
        per_minute: float = 50,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Meter chat.update per workspace as Slack's Tier 3: `burst` calls at once, then
        `per_minute`; beyond, 429 `ratelimited` with `Retry-After` in whole seconds."""
        self._chat_update_limit = (burst, per_minute / 60, clock)
        self.chat_update_limits.clear()

    def _metered(self, method: str) -> int | None:
        """The Retry-After (seconds) of a call over its workspace's limit, else None."""
        if method != "chat.update" or self._chat_update_limit is None:
            return None
        burst, rate, clock = self._chat_update_limit
        bucket = self.chat_update_limits.get(self.team_id)
        if bucket is None:
            bucket = TokenBucket(capacity=burst, per_second=rate, clock=clock)
            self.chat_update_limits[self.team_id] = bucket
        return bucket.retry_after()

    def response_url(self, hook: str = "hook") -> str:
        """A slash command's response_url that lands here (recorded in `responses`)."""
        return f"{self.base_url}/respond/{hook}"

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self.faults.intercept("respond", request)) is not None:
            return faulty
        self.responses.append(await request.json())
        return web.Response(text="ok")

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def add_file(
        self, data: bytes, name: str, channel: str | None, *, user: str = "U1", title: str = ""
    ) -> _Json:
        """A file a user already uploaded (processed, shared in `channel` when given)."""
        f = self._new_file(name, len(data))
        f.data, f.user, f.title, f.uploaded = data, user, title or name, True
        f.processing_polls = 0
        self._complete(f, None)
        if channel:
            self._share([f], channel, None, user)
        return f.to_dict()

    # ---- HTTP plumbing

    def _authorized(self, request: web.Request, args: _Json) -> str | None:
        """None when the token is valid, else the Slack error."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else args.pop("token", None)
        args.pop("token", None)
        if not token:
            return "not_authed"
        return None if token in self.tokens else "invalid_auth"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        call = Call(method=method, args={}, at=time.monotonic())
        self.calls.append(call)
        try:
            call.args = await read_args(request)
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_json"})
        faulty = await self._faulty(method, call, request)
        if faulty is not None and faulty is not _LOST:
            return faulty
        response = await self._answer(method, call, request)
        return self.faults.lose(request, response) if faulty is _LOST else response

    async def _answer(self, method: str, call: Call, request: web.Request) -> web.StreamResponse:
        auth_error = self._authorized(request, call.args)
        if auth_error is not None:
            return web.json_response({"ok": False, "error": auth_error})
        if (wait := self._metered(method)) is not None:
            call.status = 429
            return await self.faults.answer(rate_limited(wait), request)
        handler = self._methods.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        try:
            return web.json_response({"ok": True, **handler(call.args)})
        except SlackError as e:
            return web.json_response({"ok": False, "error": e.error, **e.extra})

    async def _faulty(
        self, method: str, call: Call, request: web.Request
    ) -> web.StreamResponse | None:
        """After the method's latency, the answer of a fault armed for it (recorded in `call`)."""
        await self.pause(self.latency.get(method, 0.0))
        fault = self.faults.take(method, request)
        if fault is None:
            return None
        call.status = fault.recorded_status
        if fault.kind is Kind.LOST:
            return _LOST
        return await self.faults.answer(fault, request)

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        call = Call(method="upload", args={"file_id": file_id}, at=time.monotonic())
        self.calls.append(call)
        if (faulty := await self._faulty("upload", call, request)) is not None:
            if faulty is _LOST:
                return self.faults.lose(request, await self._receive(request, call))
            return faulty
        return await self._receive(request, call)

    async def _receive(self, request: web.Request, call: Call) -> web.StreamResponse:
        file_id = call.args["file_id"]
        f = self.files.get(file_id)
        if f is None or f.completed or f.deleted:
            call.status = 404
            return web.Response(status=404, text="Not Found")
        if request.content_type == "multipart/form-data":
            data = b""
            for value in (await request.post()).values():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    break
        else:
            data = await request.read()
        f.data, f.uploaded = data, True
        if len(data) != f.declared_length:
            self.violations.append(
                f"upload {file_id}: {len(data)} bytes, {f.declared_length} declared"
            )
        call.args["length"] = len(data)
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self.faults.intercept("download", request)) is not None:
            return faulty
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.tokens:
            return web.Response(status=401, text="Unauthorized")
        f = self.files.get(request.match_info["file_id"])
        if f is None or f.deleted or not f.completed:
            return web.Response(status=404, text="Not Found")
        self.downloads.append(f.id)
        return web.Response(body=f.data, content_type=sniff(f.data)[0])

    # ---- model

    def _new_file(self, name: str, length: int) -> FakeFile:
        file_id = ""
        while not file_id or file_id in self.files:
            file_id = "F" + "".join(self._rng.choices(_ID_CHARS, k=10))
        f = FakeFile(id=file_id, name=name, title=name, base_url=self.base_url)
        f.declared_length = length
        self.files[file_id] = f
        return f

    def _complete(self, f: FakeFile, text: Any) -> None:
        f.completed, f.completed_at = True, time.monotonic()
        f.processing_seconds = self.processing_seconds
        f.initial_comment = text if isinstance(text, str) else None

    def _share(self, files: list[FakeFile], channel: str, thread: str | None, user: str) -> None:
        """One message shares all the files, its text being the initial comment."""
        ts = self.chat.store(channel, thread, files[0].initial_comment or "", None, user)
        self.messages[(channel, ts)]["files"] = [f.id for f in files]
        for f in files:
            f.channel, f.thread_ts, f.share_ts = channel, thread, ts

    # ---- Web API methods

    def _update(self, args: _Json) -> _Json:
        """chat.update (a subclass may watch it: the benchmark fetches image_url previews)."""
        return self.chat.update(args)

    def _auth_test(self, args: _Json) -> _Json:
        return {
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "easel",
            "team_id": self.team_id,
            "user_id": "UBOT",
            "bot_id": "BBOT",
            "is_enterprise_install": False,
        }

    def _get_upload_url(self, args: _Json) -> _Json:
        filename = require(args, "filename", "invalid_arguments")
        try:
            length = int(args.get("length", ""))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        f = self._new_file(filename, length)
        return {"upload_url": f"{self.base_url}/upload/{f.id}", "file_id": f.id}

    def _complete_upload(self, args: _Json) -> _Json:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments")
        found: list[tuple[FakeFile, _Json]] = []
        for item in items:
            f = self.files.get(item.get("id", "")) if isinstance(item, dict) else None
            if f is None or f.deleted or not f.uploaded:
                raise SlackError("file_not_found")
            if f.completed:
                raise SlackError("file_already_completed")
            found.append((f, item))
        for f, item in found:
            f.title = item.get("title") or f.name
            f.processing_polls = self.processing_polls
            self._complete(f, args.get("initial_comment"))
        channel = args.get("channel_id") or str(args.get("channels") or "").split(",")[0]
        if channel:
            self._share([f for f, _ in found], channel, args.get("thread_ts") or None, "UBOT")
        return {"files": [f.to_dict() for f, _ in found]}

    def _live_file(self, args: _Json) -> FakeFile:
        f = self.files.get(str(args.get("file", "")))
        if f is None or f.deleted or not f.completed:
            raise SlackError("file_not_found")
        return f

    def _files_info(self, args: _Json) -> _Json:
        f = self._live_file(args)
        f.info_polls += 1
        return {"file": f.to_dict(), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _files_delete(self, args: _Json) -> _Json:
        """A bot token deletes only the bot's own files; a deleted file says so."""
        f = self.files.get(str(args.get("file", "")))
        if f is None or not f.completed:
            raise SlackError("file_not_found")
        if f.deleted:
            raise SlackError("file_deleted")
        if f.user != "UBOT":
            raise SlackError("cant_delete_file")
        f.deleted, f.deleted_at = True, time.monotonic()
        return {}

    def _users_info(self, args: _Json) -> _Json:
        user_id = require(args, "user", "user_not_found")
        user = default_user(user_id, self.team_id)
        user.update(self.users.get(user_id, {}))
        return {"user": user}

    def _views_open(self, args: _Json) -> _Json:
        require(args, "trigger_id", "invalid_trigger_id")
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "modal":
            raise SlackError("invalid_arguments")
        if len(view.get("blocks", [])) > 100 or len(view["title"]["text"]) > 24:
            raise SlackError("invalid_arguments")
        self.modals.append(view)
        return {"view": {"id": f"VM{len(self.modals):09d}", **view}}

    def _views_publish(self, args: _Json) -> _Json:
        user_id = require(args, "user_id", "user_not_found")
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        if len(view.get("blocks", [])) > 100:
            raise SlackError("invalid_arguments")
        self.views[user_id] = view
        return {"view": {"id": f"V{len(self.views):010d}", **view}}
