"""The SDK's Server-Sent Events decoder with a line splitter fit for multi-megabyte lines.

The Responses API sends each image as one base64 string inside one `data:` line: 2-4 MB for
a partial, the same again (twice) for the final. The `openai` SDK splits lines with a regular
expression that visits every byte in Python-driven steps, about 70 ms of event-loop time per
4 MB line, which made it the largest cost in easel (see the benchmark in the README). This
decoder keeps the SDK's own field handling (`SSEDecoder.decode`, the WHATWG rules), finds
line ends with `bytes.find` (memchr), and hands each event's data on as the bytes received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from openai._streaming import SSEDecoder

LF, CR = 10, 13


class LineSplitter:
    """Splits a byte stream at CR, LF and CRLF (also across chunks) into lines.

    Each line is a memoryview, valid until the next one is asked for: a line that lies
    within one chunk is never copied; the pieces of one that spans chunks are kept as views
    and joined once at its end (growing a buffer instead would copy it again at each resize).
    """

    def __init__(self) -> None:
        self._parts: list[memoryview] = []
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
                self._parts.append(whole[start:])
                return
            if self._parts:
                self._parts.append(whole[start:end])
                yield self._join()
            else:
                yield whole[start:end]
            start = end + 1
            if chunk[end] == CR:
                if start == size:
                    self._skip_lf = True
                elif chunk[start] == LF:
                    start += 1

    def finish(self) -> Iterator[memoryview]:
        if self._parts:
            yield self._join()

    def _join(self) -> memoryview:
        line = b"".join(self._parts)
        self._parts.clear()
        return memoryview(line)


class FastSSEDecoder(SSEDecoder):
    """`SSEDecoder` whose byte-to-line step costs memchr, not a Python loop, per byte, and
    whose events are their data alone, as bytes: never decoded to text, so the image inside
    can be found and decoded straight from them (bot.openai.events).

    Every line but `data:` goes through `SSEDecoder.decode`, so an event is dispatched
    exactly when the SDK's decoder dispatches one; its data is what the SDK's would be,
    encoded (its name, id and retry carry nothing easel reads).
    """

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def _dispatched(self, lines: Iterator[memoryview]) -> Iterator[bytes]:
        for line in lines:
            if line[:5].tobytes() == b"data:" or line.tobytes() == b"data":
                start = 6 if line[5:6].tobytes() == b" " else 5
                self._parts.append(line[start:].tobytes())  # no view outlives the line
            elif not line:
                if self.decode("") is not None or self._parts:
                    data = self._parts[0] if len(self._parts) == 1 else b"\n".join(self._parts)
                    self._parts.clear()
                    yield data
            else:
                self.decode(str(line, "utf-8"))

    def iter_data(self, iterator: Iterator[bytes]) -> Iterator[bytes]:
        splitter = LineSplitter()
        try:
            for chunk in iterator:
                yield from self._dispatched(splitter.feed(chunk))
            yield from self._dispatched(splitter.finish())
        finally:
            self._reset()
            self._parts.clear()

    async def aiter_data(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        splitter = LineSplitter()
        data = b""
        try:
            async for chunk in iterator:
                for data in self._dispatched(splitter.feed(chunk)):
                    yield data
                data = b""  # not held while the next bytes are awaited (it may be 4 MB)
            for data in self._dispatched(splitter.finish()):
                yield data
        finally:
            self._reset()
            self._parts.clear()
