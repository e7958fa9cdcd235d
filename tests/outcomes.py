"""What every run of several replicas must show, read from the `turns` table, the fake
OpenAI's requests and the fake Slack's messages and files."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.fleet import TableWatch, Turn, poll
from tests.slack import block_text
from tests.traffic import Traffic, prompt_of, told


def retry_value(blocks: list[dict[str, Any]]) -> str | None:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == "easel_retry":
                return str(element["value"])
    return None


def shown_files(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["slack_file"]["id"] for b in blocks if b.get("type") == "image" and "slack_file" in b]


def check_messages(turns: Iterable[Turn], slack: FakeSlack, *, told: Iterable[str] = ()) -> None:
    """A delivered turn's message shows its file; an interrupted one says so, with Retry.
    Only a turn whose person was `told` the database was away may have no message recorded."""
    for turn in turns:
        assert turn.status in ("delivered", "interrupted"), turn
        if not turn.posted and turn.status == "interrupted" and turn.prompt in told:
            continue
        message = slack.messages[(turn.message["channel"], turn.message["ts"])]
        if turn.status == "delivered":
            assert shown_files(message["blocks"]) == [turn.file_ref], (turn, message)
            assert "Reply in this thread" in block_text(message["blocks"]), turn
        else:
            assert retry_value(message["blocks"]) == str(turn.id), (turn, message)
            assert "restarted while drawing" in block_text(message["blocks"]), turn


def check_drawn_once(turns: list[Turn], openai: FakeOpenAI) -> None:
    """No request reached OpenAI twice; every delivered turn was drawn."""
    drawn = Counter(prompt_of(request) for request in openai.requests)
    twice = {prompt: count for prompt, count in drawn.items() if count > 1}
    assert not twice, twice
    recorded = Counter(turn.prompt for turn in turns)
    assert all(count == 1 for count in recorded.values()), recorded
    assert set(drawn) <= set(recorded), set(drawn) - set(recorded)
    assert all(turn.prompt in drawn for turn in turns if turn.status == "delivered")


def check_order(turns: list[Turn], openai: FakeOpenAI) -> None:
    """Each turn drew on the image delivered just before it in its thread: interrupted turns
    leave the chain where it was, and no two turns of a thread drew at once."""
    requests = {prompt_of(request): request for request in openai.requests}
    threads: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        threads[turn.thread].append(turn)
    for thread, its_turns in threads.items():
        last = None
        for turn in sorted(its_turns, key=lambda t: t.id):
            if (request := requests.get(turn.prompt)) is not None:
                assert request.get("previous_response_id") == last, (thread, turn, its_turns)
            if turn.status == "delivered":
                last = turn.response_id


def check_files(turns: list[Turn], slack: FakeSlack) -> None:
    """Every delivered turn's final is in its thread exactly once; no other final is."""
    finals = [f for f in slack.files.values() if f.completed and f.name.startswith("easel-")]
    delivered = [turn for turn in turns if turn.status == "delivered"]
    for turn in delivered:
        assert turn.final is not None
        named = [f for f in finals if f.name.startswith(f"easel-{turn.final['image_call_id']}.")]
        assert [(f.id, f.thread_ts, f.deleted) for f in named] == [
            (turn.file_ref, turn.thread, False)
        ], (turn, named)
    assert len(finals) == len(delivered), sorted(f.name for f in finals)


def check_owners(turns: list[Turn], traffic: Traffic, *, dead: int | None = None) -> None:
    """A turn stays with the replica that took its request while that replica lives: no
    replica takes over the turns of one that is alive."""
    owners = {n: traffic.owner(n) for n in range(len(traffic.fleet.bots))}
    assert None not in owners.values() and len(set(owners.values())) == len(owners), owners
    for turn in turns:
        routed = traffic.sent[turn.prompt].replicas
        if routed == (dead,):
            assert turn.owner != owners[dead], turn
        elif len(routed) == 1:
            assert turn.owner == owners[routed[0]], (turn, routed, owners)


def check_all(
    turns: list[Turn], openai: FakeOpenAI, slack: FakeSlack, *, told: Iterable[str] = ()
) -> None:
    check_messages(turns, slack, told=told)
    check_drawn_once(turns, openai)
    check_order(turns, openai)
    check_files(turns, slack)
    assert slack.violations == []


async def all_finished(
    watch: TableWatch, traffic: Traffic, *, lease: float, within: float = 40
) -> list[Turn]:
    """Once every request that was not refused has a turn (or was told in words that the
    database could not be reached), and every turn has ended."""

    def missing() -> list[str]:
        recorded = {turn.prompt for turn in watch.rows}
        return [
            s.prompt
            for s in traffic.sent.values()
            if not s.refused and s.prompt not in recorded and not told(traffic.slack, s)
        ]

    def done() -> bool:
        return not missing() and all(turn.finished for turn in watch.rows)

    try:
        await watch.until(done, within=within)
    except TimeoutError:
        unfinished = [turn for turn in watch.rows if not turn.finished]
        raise AssertionError(f"missing {missing()}; unfinished {unfinished}") from None

    async def nothing_in_flight() -> bool:  # every admitted drawing's place was given back
        return await watch.table.count("admissions") == 0

    try:
        await poll(nothing_in_flight, within=2 * lease)
    except TimeoutError:
        left = await watch.table.all("SELECT * FROM admissions")
        users = {row[3] for row in left}
        theirs = [s for s in traffic.sent.values() if s.user in users]
        raise AssertionError(f"drawings still in flight: {left}; their requests {theirs}") from None
    return watch.rows
