"""FastSSEDecoder dispatches exactly the events the SDK's own SSEDecoder dispatches, with the
same data (as bytes), however the bytes arrive."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from openai._streaming import ServerSentEvent, SSEDecoder

from bot.openai.sse import FastSSEDecoder, LineSplitter

STREAMS = [
    b"event: a\ndata: one\n\n",
    b"event: a\r\ndata: one\r\ndata: two\r\n\r\n",
    b"event: a\rdata: one\r\rdata:no-space\r\r",
    b"data\n\ndata:\n\ndata:  two spaces\n\n",
    b': a comment\nid: 7\nretry: 1500\nevent: b\ndata: {"x": 1}\n\n',
    b"id: bad\x00id\nretry: soon\nfoo: bar\ndata: x\n\n",
    "data: caf\u00e9 \u2603 \U0001f3a8\n\n".encode(),
    b"event: big\ndata: " + b"QUJD" * 250_000 + b"\n\n" + b"data: tail\r\n\r\n",
    b"data: no final newline",
    b"data: ends in CR\r",
    b"\n\n\r\n\r\r",
]
EVENTS = [1, 1, 2, 3, 1, 1, 1, 2, 0, 0, 0]  # complete events in each; an unfinished one is dropped


def chunked(data: bytes, rng: random.Random) -> list[bytes]:
    """`data` cut at random places, including 0- and 1-byte chunks and cuts inside CRLF."""
    cuts = sorted({rng.randrange(len(data) + 1) for _ in range(rng.randrange(1, 40))})
    cuts += [i for i in range(len(data) - 1) if data[i : i + 2] == b"\r\n" and rng.random() < 0.5]
    cuts = sorted(set(cuts))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def as_data(events: list[ServerSentEvent]) -> list[bytes]:
    return [e.data.encode() for e in events]


def sdk_events(chunks: list[bytes]) -> list[ServerSentEvent]:
    return list(SSEDecoder().iter_bytes(iter(chunks)))


async def fast_events(chunks: list[bytes]) -> list[bytes]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return [data async for data in FastSSEDecoder().aiter_data(source())]


@pytest.mark.parametrize("index", range(len(STREAMS)))
async def test_same_events_as_the_sdk_decoder_for_any_chunking(index: int) -> None:
    data = STREAMS[index]
    expected = as_data(sdk_events([data]))
    assert len(expected) == EVENTS[index]  # the SDK's reading, as a sanity check of the data
    rng = random.Random(index)
    for _ in range(30):
        chunks = chunked(data, rng)
        assert await fast_events(chunks) == expected, chunks[:5]
        assert list(FastSSEDecoder().iter_data(iter(chunks))) == expected


async def test_byte_by_byte() -> None:
    data = b"event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\rdata: 3\n\n"
    assert await fast_events([bytes([b]) for b in data]) == [b"1", b"2", b"3"]


def test_lines_within_one_chunk_are_views_of_it() -> None:
    splitter = LineSplitter()
    chunk = b"first\nsecond\r\nthird"
    seen = []
    for line in splitter.feed(chunk):
        assert line.obj is chunk  # a view into the received bytes: nothing copied
        seen.append(bytes(line))
    assert seen == [b"first", b"second"]
    assert [bytes(line) for line in splitter.feed(b" part\n")] == [b"third part"]
    assert list(splitter.finish()) == []


def lines_of(data: bytes) -> Iterator[bytes]:
    splitter = LineSplitter()
    for line in splitter.feed(data):
        yield bytes(line)
    for line in splitter.finish():
        yield bytes(line)


def test_every_line_ending_splits_once() -> None:
    assert list(lines_of(b"a\nb\r\nc\rd\r\n\re")) == [b"a", b"b", b"c", b"d", b"", b"e"]


def unwanted_after(key: bytes) -> Callable[[bytes], int | None]:
    """Drop the string value that follows `key` in a line's head."""

    def find(head: bytes) -> int | None:
        at = head.find(key)
        return None if at < 0 else at + len(key)

    return find


LONG_LINE = b'data: {"big": "' + b"QUJD" * 100_000 + b'", "tail": 1}'
ESCAPED = b'data: {"big": "' + b'x\\"y\\\\' * 5_000 + b"QUJD" * 10_000 + b'", "tail": 2}'


@pytest.mark.parametrize("line", [LONG_LINE, ESCAPED], ids=["base64", "escapes"])
def test_an_unwanted_string_is_let_go_and_the_line_keeps_its_ends(line: bytes) -> None:
    expected = line[: line.index(b'"big": "') + 8] + line[line.rindex(b'", "tail"') :]
    data = b"event: x\n" + line + b"\r\n\r\nnext\n"
    rng = random.Random(7)
    for _ in range(20):
        splitter = LineSplitter(unwanted=unwanted_after(b'"big": "'))
        lines: list[bytes] = []
        for chunk in chunked(data, rng):
            lines += [bytes(x) for x in splitter.feed(chunk)]
        lines += [bytes(x) for x in splitter.finish()]
        assert lines == [b"event: x", expected, b"", b"next"]


def test_an_unwanted_string_is_never_held_whole() -> None:
    splitter = LineSplitter(unwanted=unwanted_after(b'"big": "'))
    held = []
    for at in range(0, len(LONG_LINE), 16_384):
        assert list(splitter.feed(LONG_LINE[at : at + 16_384])) == []
        held.append(splitter.held)
    assert max(held) < 3 * 16_384  # its head and a chunk, never the 400 kB string
    [line] = [bytes(x) for x in splitter.feed(b"\n")]
    assert line.endswith(b'"big": "", "tail": 1}')


def test_a_line_nothing_is_unwanted_in_is_kept_whole() -> None:
    splitter = LineSplitter(unwanted=unwanted_after(b'"absent": "'))
    lines = [bytes(x) for x in splitter.feed(LONG_LINE[:50_000])]
    lines += [bytes(x) for x in splitter.feed(LONG_LINE[50_000:] + b"\n")]
    assert lines == [LONG_LINE]
