"""The SDK's Server-Sent Events decoder with a line splitter fit for multi-megabyte lines.

The Responses API sends each image as one base64 string inside one `data:` line: 2-4 MB for
a partial, the same again (twice) for the final. The `openai` SDK splits lines with a regular
expression that visits every byte in Python-driven steps, about 70 ms of event-loop time per
4 MB line, which made it the largest cost in easel (see the benchmark in the README). This
decoder keeps the SDK's own field handling (`SSEDecoder.decode`, the WHATWG rules), finds
line ends with `bytes.find` (memchr), and hands each event's data on as the bytes received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

from openai._streaming import SSEDecoder

LF, CR = 10, 13


# Where, in the first bytes of a long line, a string starts whose bytes are not wanted (the
# offset just past its opening quote); None: keep the whole line.
Unwanted = Callable[[bytes], int | None]
HEAD = 16 * 1024  # bytes of a long line that `Unwanted` is shown


class LineSplitter:
    """Splits a byte stream at CR, LF and CRLF (also across chunks) into lines.

    Each line is a memoryview, valid until the next one is asked for: a line that lies
    within one chunk is never copied; the pieces of one that spans chunks are kept as views
    and joined once at its end (growing a buffer instead would copy it again at each resize).

    With `unwanted`, a line that grows past HEAD bytes is shown to it once; a string it
    points at is let go as its bytes arrive (up to its closing quote, escapes honoured), and
    the line ends up with an empty string in its place.
    """

    def __init__(self, *, unwanted: Unwanted | None = None) -> None:
        self._parts: list[memoryview] = []
        self._size = 0  # bytes in _parts
        self._skip_lf = False  # the last chunk ended with CR: a leading LF belongs to it
        self._unwanted = unwanted
        self._checked = False  # this line was shown to `unwanted`
        self._dropping = False  # inside an unwanted string
        self._escaped = False  # ... and the last piece ended with its backslash

    def feed(self, chunk: bytes) -> Iterator[memoryview]:
        start, size = 0, len(chunk)
        if self._skip_lf and size and chunk[0] == LF:
            start = 1
        self._skip_lf = False
        while start < size:
            lf = chunk.find(b"\n", start)
            cr = chunk.find(b"\r", start, size if lf < 0 else lf)
            end = cr if cr >= 0 else lf
            if end < 0:
                self._keep(chunk, start, size)
                return
            if self._parts or self._dropping:
                self._keep(chunk, start, end)
                yield self._join()
            else:
                yield memoryview(chunk)[start:end]
            start = end + 1
            if chunk[end] == CR:
                if start == size:
                    self._skip_lf = True
                elif chunk[start] == LF:
                    start += 1

    def finish(self) -> Iterator[memoryview]:
        if self._parts or self._dropping:
            yield self._join()

    @property
    def held(self) -> int:
        """Bytes of the unfinished line held now."""
        return self._size

    def _keep(self, chunk: bytes, start: int, end: int) -> None:
        if self._dropping:
            start = self._string_end(chunk, start, end)
            if start < 0:
                return  # all of it inside the unwanted string
            self._dropping = False
        if start < end:
            self._parts.append(memoryview(chunk)[start:end])
            self._size += end - start
        if self._unwanted is not None and not self._checked and self._size >= HEAD:
            self._check()

    def _check(self) -> None:
        """Show the line's head to `unwanted`; drop the string it points at, if any."""
        self._checked = True
        head = b"".join(self._parts)
        self._parts, self._size = [memoryview(head)], len(head)
        at = self._unwanted(head) if self._unwanted is not None else None
        if at is None:
            return
        self._parts, self._size = [memoryview(head)[:at]], at
        self._dropping = True
        self._keep(head, at, len(head))

    def _string_end(self, chunk: bytes, start: int, end: int) -> int:
        """Where in chunk[start:end] the string ends (its closing quote); -1: not there."""
        at = start + 1 if self._escaped else start
        self._escaped = False
        while True:
            quote = chunk.find(b'"', at, end)
            backslash = chunk.find(b"\\", at, quote if quote >= 0 else end)
            if backslash < 0:
                return quote
            if backslash + 1 >= end:
                self._escaped = True
                return -1
            at = backslash + 2

    def _join(self) -> memoryview:
        line = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        self._checked = self._dropping = self._escaped = False
        return memoryview(line)


class FastSSEDecoder(SSEDecoder):
    """`SSEDecoder` whose byte-to-line step costs memchr, not a Python loop, per byte, and
    whose events are their data alone, as bytes: never decoded to text, so the image inside
    can be found and decoded straight from them (bot.openai.events).

    Every line but `data:` goes through `SSEDecoder.decode`, so an event is dispatched
    exactly when the SDK's decoder dispatches one; its data is what the SDK's would be,
    encoded (its name, id and retry carry nothing easel reads).
    """

    def __init__(self, *, unwanted: Unwanted | None = None) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._unwanted = unwanted  # see LineSplitter

    def _dispatched(self, lines: Iterator[memoryview]) -> Iterator[bytes]:
        for line in lines:
            if line[:5].tobytes() == b"data:" or (len(line) == 4 and line.tobytes() == b"data"):
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
        splitter = LineSplitter(unwanted=self._unwanted)
        try:
            for chunk in iterator:
                yield from self._dispatched(splitter.feed(chunk))
            yield from self._dispatched(splitter.finish())
        finally:
            self._reset()
            self._parts.clear()

    async def aiter_data(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        splitter = LineSplitter(unwanted=self._unwanted)
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
