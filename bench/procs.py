"""Child processes of a bench run: started, awaited until ready, always stopped.

Each child announces itself by writing a ready file (JSON); its stdout and stderr go to a log
file. Every wait is bounded. Children also get SIGTERM if the bench process itself dies
(PR_SET_PDEATHSIG), so none outlives a run, even one that was killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from bench.common import Json, child_env, die_with_parent, now

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def machine_times() -> dict[str, float]:
    """CPU seconds of the whole machine so far, by kind, from the first line of /proc/stat."""
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    values = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    return {n: int(v) / CLOCK_TICKS for n, v in zip(names, values, strict=True)}


class Measured(Protocol):
    """A process (or a server's processes) whose CPU a run adds up."""

    @property
    def name(self) -> str: ...

    def cpu_seconds(self) -> float: ...


def process_cpu(pid: int, *, waited: bool = False) -> float:
    """User + system CPU seconds of `pid` so far (0 once it is gone); `waited`: with those
    of its children that ended and were waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if waited:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found.append(int(stat.parent.name))
    return found


class Load:
    """The machine's CPU over a stretch of a run: how busy it was, and how much of it went to
    processes that are not the bench's own (on a shared machine, other work skews latencies)."""

    def __init__(self, children: Sequence[Measured]) -> None:
        self._children = children
        self._machine0 = machine_times()
        self._ours0 = self._ours()

    def _ours(self) -> float:
        me = os.times()
        return sum(c.cpu_seconds() for c in self._children) + me.user + me.system

    def stop(self) -> Json:
        spent = {k: v - self._machine0[k] for k, v in machine_times().items()}
        total = max(sum(spent.values()), 1e-9)
        busy = total - spent["idle"] - spent["iowait"]
        ours = self._ours() - self._ours0
        return {
            "busy_fraction": round(busy / total, 3),
            "others_fraction": round(max(0.0, busy - ours) / total, 3),
        }


async def quiet(*, within: float, busy_below: float = 0.15, sample: float = 2.0) -> float:
    """Wait until the machine has been idle (busy under `busy_below` over `sample` seconds),
    at most `within` seconds; return how busy it was at the last look."""
    deadline = now() + within
    while True:
        before = machine_times()
        await asyncio.sleep(sample)
        spent = {k: v - before[k] for k, v in machine_times().items()}
        busy = 1 - (spent["idle"] + spent["iowait"]) / max(sum(spent.values()), 1e-9)
        if busy < busy_below or now() >= deadline:
            return busy


class ChildFailed(RuntimeError):
    """A child exited or did not get ready in time; the message points at its log."""


class Child:
    def __init__(
        self, name: str, module: str, args: list[str], *, workdir: Path, env: dict[str, str]
    ) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.ready_path = workdir / f"{name}.ready.json"
        self.ready_path.unlink(missing_ok=True)
        argv = [sys.executable, "-m", module, "--ready", str(self.ready_path), *args]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env(env),
                preexec_fn=die_with_parent,  # only sets the death signal: safe before exec
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def ready(self, within: float = READY_TIMEOUT) -> Json:
        deadline = now() + within
        while now() < deadline:
            if self.ready_path.exists():
                info: Json = json.loads(self.ready_path.read_text())
                return info
            if self.proc.poll() is not None:
                raise ChildFailed(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            await asyncio.sleep(0.02)
        raise ChildFailed(f"{self.name} not ready after {within:.0f}s: {self.tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the child has used so far (0 once it is gone)."""
        return process_cpu(self.pid)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def stop(self, within: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait up to `within` seconds, then SIGKILL. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.proc.wait, within)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(timeout=5)
