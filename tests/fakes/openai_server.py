"""A fake OpenAI API served over real local HTTP: the streaming Responses API and models.

It streams spec-shaped Server-Sent Events for image generation so the real
`openai.AsyncOpenAI` client can talk to it. Tests queue `Script`s to choose what each
request gets (partials, errors, delays, hangs, broken streams), and `faults` fails
"responses.create" or "models.retrieve" at the HTTP level.

`GET /v1/models/{id}` answers the spec's `Model` object; `shutdown_dates` announces a model's
shutdown date, `unknown_models` answers 404 `model_not_found`, and `models_gateway` stands for
a gateway in front of the API that does not serve `/models` at all (404, HTML or text). Every
other model exists with no shutdown announced, easel's defaults included.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from aiohttp import web

from tests.fakes.faults import Fault, Faults, json_response
from tests.fakes.openai_stream import ResponseStream, Script, Sent, make_png
from tests.fakes.server import LocalServer

__all__ = ["FakeOpenAI", "ModelRequest", "Script", "make_png"]

_Json = dict[str, Any]
ROUTES = frozenset({"responses.create", "models.retrieve"})
MODEL_CREATED = 1686935002
GATEWAY_404 = {
    "html": (
        "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
        "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n",
        "text/html",
    ),
    "text": ("404 page not found\n", "text/plain"),
}


@dataclass
class ModelRequest:
    model: str
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]  # names lower-cased


def _error_body(code: str | None, message: str, type_: str, param: str | None = None) -> _Json:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _error_type(status: int) -> str:
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


def _error_json(fault: Fault) -> tuple[_Json, dict[str, str]]:
    """OpenAI's body for an HTTP error status."""
    if fault.status == 429:
        message = "Rate limit reached for requests. Please try again later."
        return _error_body("rate_limit_exceeded", message, "requests"), {}
    message = "The server had an error while processing your request. Sorry about that!"
    return _error_body(None, message, _error_type(fault.status)), {}


class FakeOpenAI(LocalServer):
    """A real aiohttp server on 127.0.0.1 speaking the streaming Responses API."""

    def __init__(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/responses", self._handle)
        app.router.add_get("/v1/models/{model}", self._model)
        super().__init__(app)
        self.request_times: list[float] = []  # time.monotonic() at each request
        self.requests: list[_Json] = []
        self.headers: list[dict[str, str]] = []  # names lower-cased
        self.expired_ids: set[str] = set()
        self.model_requests: list[ModelRequest] = []
        self.shutdown_dates: dict[str, date | None] = {}  # absent: no date announced
        self.unknown_models: set[str] = set()
        self.models_gateway: Literal["html", "text"] | None = None
        self.faults = Faults(names=lambda: ROUTES, render=_error_json, closing=self.closing)
        self._sent = Sent()
        self._scripts: deque[Script] = deque()
        self.default = Script()  # what a request gets when no Script is queued
        self._counter = 0

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1" if self.origin else ""

    @property
    def known_response_ids(self) -> list[str]:
        return self._sent.known_response_ids

    @property
    def images_sent(self) -> dict[str, bytes]:
        return self._sent.images_sent

    @property
    def partials_sent(self) -> list[tuple[str, int, bytes]]:
        return self._sent.partials_sent

    def push(self, *scripts: Script) -> None:
        self._scripts.extend(scripts)

    async def _model(self, request: web.Request) -> web.StreamResponse:
        model = request.match_info["model"]
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.model_requests.append(ModelRequest(model, time.monotonic(), headers))
        if (faulty := await self.faults.intercept("models.retrieve", request)) is not None:
            return faulty
        if self.models_gateway is not None:
            text, content_type = GATEWAY_404[self.models_gateway]
            return web.Response(status=404, text=text, content_type=content_type)
        if model in self.unknown_models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            body = _error_body("model_not_found", message, "invalid_request_error")
            return json_response(body, 404)
        shutdown = self.shutdown_dates.get(model)
        return json_response(
            {
                "id": model,
                "object": "model",
                "created": MODEL_CREATED,
                "owned_by": "system",
                "shutdown_date": shutdown.isoformat() if shutdown is not None else None,
            },
            200,
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            err = _error_body(None, "The body is not valid JSON.", "invalid_request_error")
            return web.json_response(err, status=400)
        self.requests.append(body)
        self.request_times.append(time.monotonic())
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        self._counter += 1
        n = self._counter
        req_headers = {"x-request-id": f"req_{n}"}
        if (faulty := await self.faults.intercept("responses.create", request)) is not None:
            return faulty

        def reject(
            status: int, code: str | None, message: str, param: str | None = None
        ) -> web.Response:
            err = _error_body(code, message, _error_type(status), param)
            return json_response(err, status, req_headers)

        prev = body.get("previous_response_id")
        if prev is not None and prev in self.expired_ids:
            msg = f"Previous response with id '{prev}' not found."
            return reject(400, "previous_response_not_found", msg, "previous_response_id")
        if body.get("stream") is not True:
            return reject(400, None, "This fake only streams: send stream=true.", "stream")
        tools = body.get("tools")
        tool = next(
            (t for t in tools or [] if isinstance(t, dict) and t.get("type") == "image_generation"),
            None,
        )
        if tool is None:
            msg = "The request needs an `image_generation` tool in `tools`."
            return reject(400, None, msg, "tools")

        script = self._scripts.popleft() if self._scripts else self.default
        if script.http_error is not None:
            status, code, message = script.http_error
            payload = _error_body(code, message, _error_type(status))
            retry_after = script.retry_after
            fault = Fault(
                status=status, payload=payload, retry_after=retry_after, headers=req_headers
            )
            return await self.faults.answer(fault, request)

        sse_headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        resp = web.StreamResponse(headers={**sse_headers, **req_headers})
        await resp.prepare(request)
        stream = ResponseStream(
            server=self, sent=self._sent, request=request, resp=resp, script=script
        )
        try:
            await stream.run(body, tool, n)
            await resp.write_eof()
        except ConnectionError:
            pass  # the client went away mid-stream (or a broken stream closed it)
        return resp
