"""The tables `python -m bench` prints: latencies, then costs, then the targets."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

from bench.common import Json


def machine() -> Json:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
        with open("/proc/meminfo") as f:
            mem_kb = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024**2, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _pair(stat: Json, scale: float = 1.0, digits: int = 1) -> str:
    p50, p99 = stat.get("p50"), stat.get("p99")
    if p50 is None or p99 is None:
        return "-"
    return f"{p50 * scale:.{digits}f} / {p99 * scale:.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _easels(sc: Json) -> str:
    replicas = sc.get("replicas", 1)
    return "1, SQLite" if replicas == 1 else f"{replicas}, PostgreSQL"


def _tag(run: Json) -> list[str]:
    sc = run["scenario"]
    path = sc["path"] + (" (profiled)" if sc["profile"] else "")
    return [path, sc["mode"], str(sc["n"]), _easels(sc)]


def _latency_row(r: Json) -> list[str]:
    sc, t = r["scenario"], r["turns"]
    return [
        *_tag(r),
        _fmt(float(sc["model_seconds"])),
        _fmt(float(sc["ramp"])),
        f"{t['delivered']}/{t['total']}",
        str(t["shown"]),
        _pair(r["ack_ms"]),
        _pair(r["preview_lag_ms"]),
        _pair(r["final_lag_ms"]),
        _pair(r["final_shown_lag_ms"], 1 / 1000),
        _pair(r["overhead_ratio"], 100, 2),
        _fmt(r["ttfp_over_ttf"]["p50"], 3),
        str(r["max_in_flight"]),
    ]


def _cost_row(r: Json) -> list[str]:
    bot = r["bot"]
    return [
        *_tag(r),
        _fmt(r["slack_calls_per_turn"]),
        str(r.get("slack_429s_by_method", {}).get("chat.update", 0)),
        _fmt(r["bytes_uploaded_per_turn"] / 1e6, 2),
        _fmt(r["preview_bytes_served_per_turn"] / 1e6, 2),
        _fmt(bot["cpu_seconds_per_turn"] * 1000),
        _fmt(bot["cpu_utilisation"], 2),
        _fmt(bot["peak_rss_mb"]),
        str(bot["rss_budget_mb"]),
        _pair(bot["loop_lag_ms"]),
        f"{r['previews_shown']}/{r['previews_shown'] + r['previews_dropped']}",
        _percent(r["machine"].get("until_delivered", {}).get("others_fraction")),
    ]


def render(runs: list[Json]) -> str:
    lat_header = ["path", "mode", "N", "easels", "model s", "ramp s", "files", "shown", "ack ms"]
    lat_header += ["preview lag ms", "final lag ms", "final shown s", "overhead %"]
    lat_header += ["TTFP/TTF", "in flight"]
    cost_header = [
        "path",
        "mode",
        "N",
        "easels",
        "calls/turn",
        "429s",
        "MB up/turn",
        "MB served/turn",
    ]
    cost_header += ["CPU ms/turn", "CPU util", "peak RSS MB", "RSS budget"]
    cost_header += ["loop lag ms p50/p99", "previews shown", "others"]
    notes = (
        "latencies are p50 / p99; overhead = (end-to-end - model time) / model time; files: "
        "turns whose final file is in the thread; shown: whose message shows it; final shown: "
        "final leaves OpenAI -> message edited to show it; 429s: chat.update answered 429; "
        "others: the machine's CPU used by other processes until the last file was delivered"
    )
    return "\n\n".join(
        [
            _table(lat_header, [_latency_row(r) for r in runs]),
            _table(cost_header, [_cost_row(r) for r in runs]),
            notes,
        ]
    )


def render_targets(run: Json) -> str:
    rows = []
    for name, t in run["targets"].items():
        verdict = "holds" if t["holds"] else "MISSED"
        rows.append([name, _fmt(t["value"], 4), f"< {t['limit']:g} {t['unit']}", verdict])
    sc = run["scenario"]
    title = f"targets at N = {sc['n']} ({sc['mode']}), {sc['path']} previews, ramp {sc['ramp']:g} s"
    title += f", easels: {_easels(sc)}"
    return title + "\n" + _table(["target", "value", "limit", ""], rows)


def render_profile(profile: Json, top: int = 8) -> str:
    busy = profile.get("busy_seconds", profile["sampled_seconds"])
    lines = [f"profile: {profile['files']['html']}"]
    lines.append(f"top functions by self time (share of {busy:.1f} s the loop was busy):")
    for row in profile["top_self"][:top]:
        lines.append(f"  {row['share'] * 100:5.1f}%  {row['seconds']:7.3f}s  {row['function']}")
    return "\n".join(lines)
