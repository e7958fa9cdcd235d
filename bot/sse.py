"""The SDK's Server-Sent Events decoder with a line splitter fit for multi-megabyte lines.

The Responses API sends each image as one base64 string inside one `data:` line: 2-4 MB for
a partial, the same again (twice) for the final. The `openai` SDK splits lines with a regular
expression that visits every byte in Python-driven steps, about 70 ms of event-loop time per
4 MB line, which made it the largest cost in easel (see the benchmark in the README). This
decoder keeps the SDK's own field handling (`SSEDecoder.decode`, the WHATWG rules) and only
finds line ends with `bytes.find` (memchr) and decodes each `data:` line once.

It plugs into the SDK through `_make_sse_decoder`, the hook the SDK's clients use to choose
their stream decoder (`EaselOpenAI` below).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import openai
from openai._streaming import ServerSentEvent, SSEBytesDecoder, SSEDecoder

LF, CR = 10, 13


class LineSplitter:
    """Splits a byte stream at CR, LF and CRLF (also across chunks) into lines.

    Each line is a memoryview, valid until the next one is asked for: a line that lies
    within one chunk is never copied, one that spans chunks is copied once into a buffer.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skip_lf = False  # the last chunk ended with CR: a leading LF belongs to it

    def feed(self, chunk: bytes) -> Iterator[memoryview]:
        start, size = 0, len(chunk)
        if self._skip_lf and size and chunk[0] == LF:
            start = 1
        self._skip_lf = False
        whole = memoryview(chunk)
        while start < size:
            lf = chunk.find(b"\n", start)
            cr = chunk.find(b"\r", start, size if lf < 0 else lf)
            end = cr if cr >= 0 else lf
            if end < 0:
                self._buffer += whole[start:]
                return
            if self._buffer:
                self._buffer += whole[start:end]
                yield from self._flush()
            else:
                yield whole[start:end]
            start = end + 1
            if chunk[end] == CR:
                if start == size:
                    self._skip_lf = True
                elif chunk[start] == LF:
                    start += 1

    def finish(self) -> Iterator[memoryview]:
        if self._buffer:
            yield from self._flush()

    def _flush(self) -> Iterator[memoryview]:
        with memoryview(self._buffer) as line:
            yield line
        self._buffer.clear()


class FastSSEDecoder(SSEDecoder):
    """`SSEDecoder` whose byte-to-line step costs memchr, not a Python loop, per byte.

    `data:` lines, the ones that carry images, are decoded straight from the received bytes
    into the event's data (one copy); every other line goes through `SSEDecoder.decode`.
    """

    def _events(self, lines: Iterator[memoryview]) -> Iterator[ServerSentEvent]:
        for line in lines:
            if line[:5].tobytes() == b"data:":
                start = 6 if line[5:6].tobytes() == b" " else 5
                self._data.append(str(line[start:], "utf-8"))  # no view outlives the line
                continue
            event = self.decode(str(line, "utf-8"))
            if event is not None:
                yield event

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[ServerSentEvent]:
        splitter = LineSplitter()
        try:
            for chunk in iterator:
                yield from self._events(splitter.feed(chunk))
            yield from self._events(splitter.finish())
        finally:
            self._reset()

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[ServerSentEvent]:
        splitter = LineSplitter()
        try:
            async for chunk in iterator:
                for event in self._events(splitter.feed(chunk)):
                    yield event
            for event in self._events(splitter.finish()):
                yield event
        finally:
            self._reset()


class EaselOpenAI(openai.AsyncOpenAI):
    """`AsyncOpenAI` that decodes streams with `FastSSEDecoder`; otherwise the SDK unchanged."""

    def _make_sse_decoder(self) -> SSEDecoder | SSEBytesDecoder:
        return FastSSEDecoder()
