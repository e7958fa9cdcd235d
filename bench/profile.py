"""Saves a pyinstrument session of the bot's measured window and names where the time went.

Writes profile.html (interactive), profile.txt (call tree) and profile-flat.txt (functions by
self time), and returns the top functions by self time and by inclusive time, as shares of the
time the event loop was busy (not waiting in epoll).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import Json

TOP = 15
IDLE = "epoll.poll "  # the event loop waiting for something to do


def _name(frame: Any) -> str:
    where = frame.file_path_short or "?"
    return f"{frame.function} ({where}:{frame.line_no})"


def _walk(
    frame: Any, self_time: dict[str, float], total: dict[str, float], seen: set[str]
) -> float:
    """Adds up `frame`'s subtree; returns the idle time in it (inclusive times leave it out)."""
    name = _name(frame)
    children = [c for c in frame.children if not c.is_synthetic]
    own = frame.time - sum(c.time for c in children)
    self_time[name] += own
    idle = own if name.startswith(IDLE) else 0.0
    for child in children:
        idle += _walk(child, self_time, total, seen | {name})
    if name not in seen:  # recursion counts once towards inclusive time
        total[name] += frame.time - idle
    return idle


def top_costs(session: Any) -> Json:
    root = session.root_frame()
    self_time: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    if root is not None:
        _walk(root, self_time, total, set())
    # The share of each function is of the time the loop was busy: a burst's window ends
    # with minutes of waiting (for Slack's edit limit), spent idle in the selector.
    idle = sum(v for k, v in self_time.items() if k.startswith(IDLE))
    busy = max((session.duration or 1.0) - idle, 1e-9)

    def rows(table: dict[str, float]) -> list[Json]:
        ranked = [kv for kv in table.items() if not kv[0].startswith(IDLE) and kv[1] > 0]
        ranked = sorted(ranked, key=lambda kv: kv[1], reverse=True)[:TOP]
        return [
            {"function": k, "seconds": round(v, 4), "share": round(v / busy, 4)} for k, v in ranked
        ]

    return {
        "sampled_seconds": round(session.duration, 3),
        "busy_seconds": round(busy, 3),
        "cpu_seconds": round(session.cpu_time or 0.0, 3),
        "top_self": rows(self_time),
        "top_inclusive": rows(total),
    }


def save(session: Any, out_dir: Path) -> Json:
    from pyinstrument import renderers

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "session": out_dir / "profile.pyisession",  # `pyinstrument --load FILE` reopens it
        "html": out_dir / "profile.html",
        "text": out_dir / "profile.txt",
        "flat": out_dir / "profile-flat.txt",
    }
    session.save(str(files["session"]))
    files["html"].write_text(renderers.HTMLRenderer().render(session))
    tree = renderers.ConsoleRenderer(unicode=True, show_all=False).render(session)
    files["text"].write_text(tree)
    flat = renderers.ConsoleRenderer(flat=True, flat_time="self", show_all=True).render(session)
    files["flat"].write_text(flat)
    return {"files": {k: str(v) for k, v in files.items()}, **top_costs(session)}
