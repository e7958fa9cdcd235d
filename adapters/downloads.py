"""What both chat adapters need to take images people attach: only the platform's own file
hosts, sizes checked before a byte is read, and a download that stops at the cap."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx2

from adapters.failures import DEFAULT_TIMEOUT
from bot.errors import AttachmentRejected
from bot.images import MAX_INPUT_BYTES, empty_file

Origin = tuple[str, str, int]  # scheme, host, port
DEFAULT_PORTS = {"https": 443, "http": 80}


def origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, the port filled in; None for anything else."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number, or out of range
        return None
    if port is None or not parts.hostname:
        return None
    return scheme, parts.hostname, port


class FileHosts:
    """Where a platform serves its files: its named hosts over HTTPS on the standard port, and
    the exact origin of `api_url` when it is overridden (a compatible API elsewhere, such as
    GovSlack, a proxy or the tests, serves its files). Another port on the same host is
    another server, and is not trusted."""

    def __init__(self, hosts: frozenset[str], *, api_url: str | None) -> None:
        allowed = {("https", host, 443) for host in hosts}
        if api_url and (api := origin(api_url)) is not None:
            allowed.add(api)
        self._origins = frozenset(allowed)

    def allows(self, url: str) -> bool:
        return origin(url) in self._origins


MAX_ATTACHMENTS = 8


def check_count(count: int) -> None:
    """Refuse a message with more files than easel takes at a time."""
    if count > MAX_ATTACHMENTS:
        limit = f"easel takes up to {MAX_ATTACHMENTS} images at a time"
        raise AttachmentRejected(f"That message has {count} files; {limit}.")


def check_size(name: str, size: int | None) -> None:
    """Refuse a file whose declared size is 0 or over the cap, before downloading it (a size
    the platform does not declare is checked while downloading)."""
    if size == 0:
        raise empty_file(name)
    if size is not None and size > MAX_INPUT_BYTES:
        raise AttachmentRejected(
            f"{name} is {size / 1_048_576:.0f} MB; easel takes images up to "
            f"{MAX_INPUT_BYTES // 1_048_576} MB."
        )


async def download(
    http: httpx2.AsyncClient,
    url: str,
    *,
    name: str,
    platform: str,
    headers: dict[str, str] | None = None,
    silence: float = DEFAULT_TIMEOUT,
) -> bytes:
    """GET `url`, refusing as soon as the body (declared or received) passes the cap. A
    download that fails (an error answer, a reset, a cut, silence) says so, by the file."""
    try:
        async with http.stream(
            "GET", url, headers=headers, timeout=httpx2.Timeout(silence)
        ) as response:
            if response.status_code != 200:
                raise _not_downloaded(name, platform, f"HTTP {response.status_code}")
            return await _capped(response, name)
    except httpx2.HTTPError as exc:
        raise _not_downloaded(name, platform, repr(exc)) from exc


def _not_downloaded(name: str, platform: str, detail: str) -> AttachmentRejected:
    return AttachmentRejected(
        f"easel could not download {name} from {platform}, so nothing was drawn. Please try again.",
        detail=detail,
    )


async def _capped(response: httpx2.Response, name: str) -> bytes:
    too_large = AttachmentRejected(
        f"{name} is larger than easel takes ({MAX_INPUT_BYTES // 1_048_576} MB)."
    )
    if int(response.headers.get("content-length") or 0) > MAX_INPUT_BYTES:
        raise too_large
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > MAX_INPUT_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
