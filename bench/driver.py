"""One bench run: start the three processes, drive N drawings and their replies, collect.

Drawing i's `/draw` is sent at `i * ramp / N` seconds (ramp 0: all at once, a burst). When its
final image is in the thread, the driver replies once there, which draws again (an edit). Both
are turns; every turn is timed from the signed request to what reached the fake Slack. Once
every turn has its file, the driver waits for every message to show it too: the fake meters
`chat.update` as Slack does, so in a burst those edits trail the files by minutes.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench import metrics
from bench.common import Json, now
from bench.procs import Child, Load, machine_times
from bench.sender import BOT_TOKEN, SIGNING_SECRET, TEAM, SlackSender

POLL = 0.05
SETTLE = 0.3
DONE_PREFIXES = ("Reply in this thread to edit the image.", "Done:")


@dataclass(frozen=True)
class Scenario:
    n: int
    path: str  # "public": EASEL_PUBLIC_URL previews; "upload": previews uploaded to the thread
    model_seconds: float
    ramp: float
    preview_interval: float
    workdir: Path
    cache: Path
    partials_at: str = "0.3,0.6"
    slack_latency: str = ""
    processing_polls: int = 1
    tier3: str = "15/50"  # chat.update per workspace at the fake Slack: BURST/PER_MINUTE, "off"
    size: str | None = None  # EASEL_SIZE (None: the bot's default, 'auto')
    profile: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def mode(self) -> str:
        return "burst" if self.ramp == 0 and self.n > 1 else "ramp"

    @property
    def name(self) -> str:
        return f"{self.path}-n{self.n}-{self.mode}" + ("-profile" if self.profile else "")

    def edits_seconds(self) -> float:
        """How long the fake's chat.update limit takes to let one edit per turn through."""
        if self.tier3 == "off":
            return 0.0
        burst, _, per_minute = self.tier3.partition("/")
        return max(0.0, 2 * self.n - float(burst)) * 60 / float(per_minute)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_db(workdir: Path) -> Path:
    db = workdir / "easel.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def prompt(kind: str, i: int) -> str:
    return f"{kind} {i:03d} " + ("a lighthouse at dusk" if kind == "draw" else "now make it night")


def bot_env(s: Scenario, *, port: int, openai_url: str, slack_api: str, db: Path) -> dict[str, str]:
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": openai_url,
        "EASEL_OPENAI_MAX_RETRIES": "0",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api,
        "EASEL_HOST": "127.0.0.1",
        "EASEL_PORT": str(port),
        "EASEL_DB": str(db),
        "EASEL_PREVIEW_INTERVAL": str(s.preview_interval),
        "EASEL_SHUTDOWN_GRACE": "10",
        "EASEL_LOG_LEVEL": "INFO",
    }
    if s.path == "public":
        env["EASEL_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    if s.size:
        env["EASEL_SIZE"] = s.size
    return {**env, **s.extra_env}


class Progress:
    """Which turns have finished, from what the bot left at the fake Slack (polled): a turn is
    delivered when its final file is in the thread, failed when its message says so, and
    shown when its message shows the final."""

    def __init__(self, api_url: str, http: aiohttp.ClientSession) -> None:
        self._url = api_url + "bench.progress"
        self._http = http
        self.roots: dict[str, str] = {}  # prompt -> ts of the message its turn posted
        self.status: dict[str, str] = {}  # prompt -> "delivered" | "failed"
        self.shown: set[str] = set()  # prompts whose message shows the final
        self._events: dict[str, asyncio.Event] = {}

    def event(self, text: str) -> asyncio.Event:
        return self._events.setdefault(text, asyncio.Event())

    def _settle(self, text: str, status: str) -> None:
        if text not in self.status:
            self.status[text] = status
            self.event(text).set()

    async def poll(self) -> None:
        async with self._http.post(self._url) as response:
            answer = await response.json()
        for m in answer["messages"]:
            line, _, text = m["text"].rpartition(": ")
            self.roots.setdefault(text, m["ts"])
            if line.startswith(DONE_PREFIXES):
                self.shown.add(text)
                self._settle(text, "delivered")
            elif line.startswith(":warning:"):
                self._settle(text, "failed")
        for f in answer["finals"]:
            if f["title"] in self.roots:
                self._settle(f["title"], "delivered")

    async def run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(POLL)

    async def all_shown(self, prompts: list[str], *, within: float) -> None:
        """Until every delivered turn's message shows its final (or `within` seconds)."""
        deadline = now() + within
        while now() < deadline:
            if all(p in self.shown for p in prompts if self.status.get(p) == "delivered"):
                return
            await asyncio.sleep(POLL)


async def _turn(sender: SlackSender, progress: Progress, turn: Json, deadline: float) -> None:
    if turn["kind"] == "draw":
        sent, acked, status = await sender.command(turn["prompt"])
    else:
        sent, acked, status = await sender.reply(thread_ts=turn["thread_ts"], text=turn["prompt"])
    turn.update(sent=sent, acked=acked, http_status=status)
    async with asyncio.timeout(max(0.1, deadline - now())):
        await progress.event(turn["prompt"]).wait()
    turn["status"] = progress.status[turn["prompt"]]


async def drive(s: Scenario, sender: SlackSender, progress: Progress) -> list[Json]:
    turns: list[Json] = []
    start = now() + 0.2
    deadline = start + s.ramp + 2 * s.model_seconds + 30 + 0.2 * s.n

    async def drawing(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i * s.ramp / s.n - now()))
        draw: Json = {"kind": "draw", "i": i, "prompt": prompt("draw", i), "status": "lost"}
        turns.append(draw)
        await _turn(sender, progress, draw, deadline)
        thread_ts = progress.roots[draw["prompt"]]
        reply: Json = {"kind": "reply", "i": i, "prompt": prompt("reply", i), "status": "lost"}
        reply["thread_ts"] = thread_ts
        turns.append(reply)
        await _turn(sender, progress, reply, deadline)

    results = await asyncio.gather(*(drawing(i) for i in range(s.n)), return_exceptions=True)
    for i, result in enumerate(results):
        if isinstance(result, BaseException):
            turns.append({"kind": "driver", "i": i, "status": "lost", "error": repr(result)})
    return turns


async def shown(s: Scenario, progress: Progress, turns: list[Json]) -> None:
    """Wait for every message to show its final (Slack's edit limit paces them), and mark
    each turn with whether it did."""
    prompts = [t["prompt"] for t in turns if "prompt" in t]
    await progress.all_shown(prompts, within=s.edits_seconds() + 30)
    for turn in turns:
        turn["shown"] = turn.get("prompt") in progress.shown


async def _settle(http: aiohttp.ClientSession, api_url: str) -> None:
    """Until the fake Slack has seen no new call for SETTLE seconds (at most 10 s)."""
    seen, quiet_since, limit = -1, now(), now() + 10
    while now() < limit and now() - quiet_since < SETTLE:
        async with http.post(api_url + "bench.records") as response:
            count = len((await response.json())["calls"])
        if count != seen:
            seen, quiet_since = count, now()
        await asyncio.sleep(0.1)


async def run(s: Scenario) -> Json:
    """Run one scenario and return its report section (metrics plus where the raw data is)."""
    s.workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    children: list[Child] = []
    try:
        openai_fake = Child(
            "openai",
            "bench.openai_fake",
            [
                *("--model-seconds", str(s.model_seconds), "--partials-at", s.partials_at),
                *("--cache", str(s.cache)),
            ],
            workdir=s.workdir,
            env={},
        )
        children.append(openai_fake)
        slack_args = ["--token", BOT_TOKEN, "--team", TEAM, "--latency", s.slack_latency]
        slack_args += ["--processing-polls", str(s.processing_polls), "--tier3", s.tier3]
        slack_fake = Child("slack", "bench.slack_fake", slack_args, workdir=s.workdir, env={})
        children.append(slack_fake)
        openai_info, slack_info = await openai_fake.ready(), await slack_fake.ready()
        db = fresh_db(s.workdir)
        env = bot_env(
            s, port=port, openai_url=openai_info["base_url"], slack_api=slack_info["api_url"], db=db
        )
        bot_args = ["--profile-dir", str(s.workdir)] if s.profile else []
        bot = Child("bot", "bench.bot", bot_args, workdir=s.workdir, env=env)
        children.append(bot)
        bot_info = await bot.ready()
        return await _measure(s, children, bot_info, openai_info, slack_info)
    finally:
        for child in reversed(children):  # the bot first: it drains against live fakes
            await child.stop()


async def _measure(
    s: Scenario, children: list[Child], bot_info: Json, oai: Json, slack: Json
) -> Json:
    bot = children[-1]
    control = f"http://127.0.0.1:{bot_info['control_port']}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        sender = SlackSender(port=bot_info["port"], response_url=slack["base_url"] + "/respond/h")
        progress = Progress(slack["api_url"], http)
        poller = asyncio.create_task(progress.run())
        try:
            async with http.post(control + "/window/start") as response:
                window_start = await response.json()
            cpu0 = {c.name: c.cpu_seconds() for c in children}
            machine0, self0 = machine_times(), os.times()
            began, load = now(), Load(children)
            turns = await drive(s, sender, progress)
            ended, delivering = now(), load.stop()
            await shown(s, progress, turns)
            await _settle(http, slack["api_url"])
            async with http.post(control + "/window/stop") as response:
                bot_stats = await response.json()
            machine1, self1 = machine_times(), os.times()
            cpu = {c.name: round(c.cpu_seconds() - cpu0[c.name], 3) for c in children}
            cpu["driver"] = round(self1.user + self1.system - self0.user - self0.system, 3)
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            await sender.aclose()
        async with http.get(oai["base_url"].removesuffix("/v1") + "/bench/records") as response:
            openai_records = await response.json()
        async with http.post(slack["api_url"] + "bench.records") as response:
            slack_records = await response.json()
    bot_stats["window_start"] = window_start
    spent = {k: machine1[k] - machine0[k] for k in machine0}
    total = max(sum(spent.values()), 1e-9)
    bot_stats["machine"] = {
        "cpu_seconds_by_process": cpu,
        "busy_fraction": round(1 - (spent["idle"] + spent["iowait"]) / total, 3),
        "fraction_by_kind": {k: round(v / total, 3) for k, v in spent.items()},
        "until_delivered": delivering,  # from the first command to the last file
    }
    raw: Json = {"turns": turns, "openai": openai_records, "slack": slack_records, "bot": bot_stats}
    return metrics.compute(s, raw, drive_seconds=ended - began, bot_log=bot.log_path)
