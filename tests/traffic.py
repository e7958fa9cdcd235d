"""Slack's requests as people send them to several easel replicas behind a load balancer:
drawings and their replies spread at random, some sent to two replicas (as Slack retries an
event, or a balancer replays a request), and what each request became."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass
from typing import Any

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.fleet import Fleet, TableWatch, Turn

WORDS = "cannot reach its database"  # what easel says while its database is away
FORM = "application/x-www-form-urlencoded"
COLOURS = ("", "in blue", "at night")


def prompt_of(request: dict[str, Any]) -> str:
    return str(request["input"][0]["content"][0]["text"])


def open_streams(openai: FakeOpenAI) -> set[str]:
    """The prompts whose stream the fake OpenAI has begun and not completed."""
    done = set(openai.known_response_ids)
    return {
        prompt_of(request)
        for n, request in enumerate(openai.requests, start=1)
        if f"resp_{n}" not in done
    }


@dataclass
class Sent:
    """One request as a person sent it, and where the load balancer took it."""

    prompt: str
    user: str
    thread: str | None  # the thread a reply is in
    replicas: tuple[int, ...]  # two: sent again to another replica, as Slack retries
    refused: bool = False  # answered with words at once, nothing drawn


class Traffic:
    """`threads` drawings, each with a reply or two, spread at random over the routed
    replicas; at most `at_once` threads are being started at a time."""

    def __init__(
        self,
        fleet: Fleet,
        watch: TableWatch,
        slack: FakeSlack,
        *,
        seed: int,
        threads: int,
        at_once: int = 20,
    ) -> None:
        self.fleet = fleet
        self.watch = watch
        self.slack = slack
        self.rng = random.Random(seed)
        self.threads = threads
        self.sent: dict[str, Sent] = {}
        self._room = asyncio.Semaphore(at_once)
        self._events = itertools.count(1)
        self._owners: dict[int, str] = {}

    async def run(self) -> None:
        await asyncio.gather(*(self._thread(n) for n in range(self.threads)))

    async def _thread(self, n: int) -> None:
        user = f"U{n:03d}"
        async with self._room:
            root = await self._command(f"[{n:02d}.0] a lighthouse number {n}", user)
            if root.refused:
                return
            turn = await self.watch.until(
                lambda: self.watch.turns.get(root.prompt) or told(self.slack, root)
            )
            if not isinstance(turn, Turn):
                return  # its placeholder says the database could not be reached
            if self.rng.random() < 0.5:  # some replies wait for the drawing, some queue behind it
                await self.watch.until(lambda: self._ended(root.prompt))
            last = root.replicas[0]
            for k in range(1, 2 + self.rng.randrange(2)):
                prompt = f"[{n:02d}.{k}] the same lighthouse {COLOURS[k]}"
                last = (await self._reply(prompt, user, turn.thread, avoid=last)).replicas[0]
            await self.watch.until(lambda: self._ended(root.prompt))

    def _ended(self, prompt: str) -> bool:
        turn = self.watch.turns.get(prompt)
        return turn is not None and turn.finished

    def _route(self, prompt: str, user: str, thread: str | None, avoid: int | None) -> Sent:
        """Where the request goes: a routed replica (not `avoid`, when another is routed), and
        one time in six to a second one as well. Recorded before anything is sent."""
        routed = sorted(self.fleet.routed)
        first = self.rng.choice([n for n in routed if n != avoid] or routed)
        others = [n for n in routed if n != first]
        twice = others and self.rng.random() < 1 / 6
        replicas = (first, self.rng.choice(others)) if twice else (first,)
        sent = self.sent[prompt] = Sent(prompt=prompt, user=user, thread=thread, replicas=replicas)
        return sent

    async def _command(self, prompt: str, user: str) -> Sent:
        sent = self._route(prompt, user, None, None)
        body = self.fleet.senders[0].signed.command(prompt, user=user)
        answers = await asyncio.gather(
            *(self.fleet.senders[n].post(body, FORM) for n in sent.replicas)
        )
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        words = [a.text for a in answers if a.text]
        assert all(WORDS in w for w in words), words  # nothing else is refused
        sent.refused = len(words) == len(answers)
        return sent

    async def _reply(self, prompt: str, user: str, thread: str, *, avoid: int) -> Sent:
        sent = self._route(prompt, user, thread, avoid)
        n = next(self._events)
        event = self.fleet.senders[0].reply_event(
            thread_ts=thread,
            text=prompt,
            user=user,
            ts=f"{1800000000 + n}.000100",
            parent_user_id="UBOT",  # Slack says who started the thread: easel
        )
        body = self.fleet.senders[0].signed.event_callback(event, event_id=f"Ev{n:08d}")
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        answers = await asyncio.gather(
            *(
                self.fleet.senders[r].post(body, "application/json", **(retry if k else {}))
                for k, r in enumerate(sent.replicas)
            )
        )
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        return sent

    def pending(self, replica: int) -> list[str]:
        """Requests sent to `replica` whose turn is not recorded with its message yet."""
        turns = self.watch.turns
        return [
            s.prompt
            for s in self.sent.values()
            if replica in s.replicas
            and not s.refused
            and not (s.prompt in turns and turns[s.prompt].posted)
        ]

    def owner(self, replica: int) -> str | None:
        """The id `replica` writes into turns.owner: read off a turn only it took, the first
        time one is seen (before anything could be taken over)."""
        if replica not in self._owners:
            for turn in self.watch.rows:
                sent = self.sent.get(turn.prompt)
                if sent is not None and sent.replicas == (replica,) and turn.owner:
                    self._owners[replica] = turn.owner
                    break
        return self._owners.get(replica)


def told(slack: FakeSlack, sent: Sent) -> bool:
    """The person was told the database could not be reached: in the turn's own message, or
    (a reply that never got one) in words for them alone in the thread."""
    for message in slack.messages.values():
        if sent.prompt in message["text"] and WORDS in message["text"]:
            return True
    return sent.thread is not None and any(
        e["user"] == sent.user and e["thread_ts"] == sent.thread and WORDS in e["text"]
        for e in slack.ephemerals
    )
