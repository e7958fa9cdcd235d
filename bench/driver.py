"""One bench run: start the fakes and easel, drive N drawings and their replies, collect.

Drawing i's `/draw` is sent at `i * ramp / N` seconds (ramp 0: all at once, a burst). When its
final image is in the thread, the driver replies once there, which draws again (an edit). With
replicas (several easels on one PostgreSQL database), drawing i goes to replica i mod R and
its reply to the next one, as a load balancer may send them. Both
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
from bench.database import Database
from bench.procs import Child, Load, Measured, machine_times
from bench.progress import Progress
from bench.sender import BOT_TOKEN, SIGNING_SECRET, TEAM, SlackSender
from tests.slack import SignedRequests

SETTLE = 0.3


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
    replicas: int = 1  # easel processes; more than one share a PostgreSQL database

    @property
    def mode(self) -> str:
        return "burst" if self.ramp == 0 and self.n > 1 else "ramp"

    @property
    def db(self) -> str:
        return "postgres" if self.replicas > 1 else "sqlite"

    @property
    def name(self) -> str:
        fleet = f"-x{self.replicas}" if self.replicas > 1 else ""
        return f"{self.path}-n{self.n}-{self.mode}{fleet}" + ("-profile" if self.profile else "")

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


def prompt(kind: str, i: int) -> str:
    return f"{kind} {i:03d} " + ("a lighthouse at dusk" if kind == "draw" else "now make it night")


def bot_env(s: Scenario, *, port: int, openai_url: str, slack_api: str, db: str) -> dict[str, str]:
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": openai_url,
        "EASEL_OPENAI_MAX_RETRIES": "0",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api,
        "EASEL_HOST": "127.0.0.1",
        "EASEL_PORT": str(port),
        "EASEL_DB": db,
        "EASEL_PREVIEW_INTERVAL": str(s.preview_interval),
        "EASEL_SHUTDOWN_GRACE": "10",
        "EASEL_LOG_LEVEL": "INFO",
    }
    if s.path == "public":
        env["EASEL_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    if s.size:
        env["EASEL_SIZE"] = s.size
    return {**env, **s.extra_env}


async def _turn(sender: SlackSender, progress: Progress, turn: Json, deadline: float) -> None:
    if turn["kind"] == "draw":
        sent, acked, status = await sender.command(turn["prompt"])
    else:
        sent, acked, status = await sender.reply(thread_ts=turn["thread_ts"], text=turn["prompt"])
    turn.update(sent=sent, acked=acked, http_status=status)
    async with asyncio.timeout(max(0.1, deadline - now())):
        await progress.event(turn["prompt"]).wait()
    turn["status"] = progress.status[turn["prompt"]]


async def drive(s: Scenario, senders: list[SlackSender], progress: Progress) -> list[Json]:
    """Every drawing and its reply; drawing i goes to replica i mod R, its reply to the next."""
    turns: list[Json] = []
    start = now() + 0.2
    deadline = start + s.ramp + 2 * s.model_seconds + 30 + 0.2 * s.n

    async def drawing(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i * s.ramp / s.n - now()))
        draw: Json = {"kind": "draw", "i": i, "prompt": prompt("draw", i), "status": "lost"}
        turns.append(draw)
        await _turn(senders[i % len(senders)], progress, draw, deadline)
        thread_ts = progress.roots[draw["prompt"]]
        reply: Json = {"kind": "reply", "i": i, "prompt": prompt("reply", i), "status": "lost"}
        reply["thread_ts"] = thread_ts
        turns.append(reply)
        await _turn(senders[(i + 1) % len(senders)], progress, reply, deadline)

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
    children: list[Child] = []
    try:
        oai_args = ["--model-seconds", str(s.model_seconds), "--partials-at", s.partials_at]
        oai_args += ["--cache", str(s.cache)]
        children.append(Child("openai", "bench.openai_fake", oai_args, workdir=s.workdir, env={}))
        slack_args = ["--token", BOT_TOKEN, "--team", TEAM, "--latency", s.slack_latency]
        slack_args += ["--processing-polls", str(s.processing_polls), "--tier3", s.tier3]
        children.append(Child("slack", "bench.slack_fake", slack_args, workdir=s.workdir, env={}))
        oai, slack = [await child.ready() for child in children]
        async with Database(s.workdir, replicas=s.replicas) as db:
            bots = _bots(s, db, openai_url=oai["base_url"], slack_api=slack["api_url"])
            children += bots
            try:
                infos = [await bot.ready() for bot in bots]
                measured: list[Measured] = [*children, db] if s.replicas > 1 else [*children]
                result = await _measure(s, measured, infos, oai, slack)
                result["replicas"] = await db.replicas_report()
            finally:  # the bots before their database, and against live fakes
                await asyncio.gather(*(bot.stop() for bot in bots))
            return result
    finally:
        for child in reversed(children):
            await child.stop()


def _bots(s: Scenario, db: Database, *, openai_url: str, slack_api: str) -> list[Child]:
    bots = []
    for n in range(s.replicas):
        env = bot_env(s, port=free_port(), openai_url=openai_url, slack_api=slack_api, db=db.url)
        args = ["--profile-dir", str(s.workdir)] if s.profile else []
        name = "bot" if s.replicas == 1 else f"bot{n}"
        bots.append(Child(name, "bench.bot", args, workdir=s.workdir, env=env))
    return bots


async def _window(http: aiohttp.ClientSession, controls: list[str], action: str) -> list[Json]:
    answers = []
    for control in controls:
        async with http.post(f"{control}/window/{action}") as response:
            answers.append(await response.json())
    return answers


async def _measure(
    s: Scenario, children: list[Measured], bots: list[Json], oai: Json, slack: Json
) -> Json:
    controls = [f"http://127.0.0.1:{bot['control_port']}" for bot in bots]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        response_url = slack["base_url"] + "/respond/h"
        signed = SignedRequests(secret=SIGNING_SECRET, team=TEAM)
        senders = [
            SlackSender(port=bot["port"], response_url=response_url, signed=signed) for bot in bots
        ]
        progress = Progress(slack["api_url"], http)
        poller = asyncio.create_task(progress.run())
        try:
            window_starts = await _window(http, controls, "start")
            cpu0 = {c.name: c.cpu_seconds() for c in children}
            machine0, self0 = machine_times(), os.times()
            began, load = now(), Load(children)
            turns = await drive(s, senders, progress)
            ended, delivering = now(), load.stop()
            await shown(s, progress, turns)
            await _settle(http, slack["api_url"])
            bot_stats = await _window(http, controls, "stop")
            machine1, self1 = machine_times(), os.times()
            cpu = {c.name: round(c.cpu_seconds() - cpu0[c.name], 3) for c in children}
            cpu["driver"] = round(self1.user + self1.system - self0.user - self0.system, 3)
        finally:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
            for sender in senders:
                await sender.aclose()
        async with http.get(oai["base_url"].removesuffix("/v1") + "/bench/records") as response:
            openai_records = await response.json()
        async with http.post(slack["api_url"] + "bench.records") as response:
            slack_records = await response.json()
    bot = metrics.combine(bot_stats, window_starts)
    bot["machine"] = _machine(machine0, machine1, cpu, delivering)
    raw: Json = {"turns": turns, "openai": openai_records, "slack": slack_records, "bot": bot}
    logs = [c.log_path for c in children if isinstance(c, Child) and c.name.startswith("bot")]
    return metrics.compute(s, raw, drive_seconds=ended - began, bot_logs=logs)


def _machine(
    before: dict[str, float], after: dict[str, float], cpu: Json, delivering: Json
) -> Json:
    spent = {k: after[k] - before[k] for k in before}
    total = max(sum(spent.values()), 1e-9)
    return {
        "cpu_seconds_by_process": cpu,
        "busy_fraction": round(1 - (spent["idle"] + spent["iowait"]) / total, 3),
        "fraction_by_kind": {k: round(v / total, 3) for k, v in spent.items()},
        "until_delivered": delivering,  # from the first command to the last file
    }
