"""From the raw records of one run (driver, fake OpenAI, fake Slack, bot) to its numbers.

Turns are matched across processes by prompt (every prompt is unique and easel's fallback
text is `"{line}: {prompt}"`) and by image call id (the final file is `easel-{id}.png`).
All times are `time.monotonic()` readings from the shared CLOCK_MONOTONIC.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import Json, percentile, summary

MB = 1024 * 1024
PREVIEW_LINE = re.compile(r"preview (\d+) of \d+")
TARGETS = {  # name: (metric, limit, unit), at N = 100 spread over the model time
    "overhead_ratio_p99": ("overhead_ratio.p99", 0.01, "ratio"),
    "preview_lag_p99": ("preview_lag_ms.p99", 150.0, "ms"),
    "final_lag_p99": ("final_lag_ms.p99", 500.0, "ms"),
    "ack_p99": ("ack_ms.p99", 100.0, "ms"),
    "loop_lag_p99": ("bot.loop_lag_ms.p99", 20.0, "ms"),
}
# N drawings at the same instant: the files within a second, in bounded memory.
BURST_TARGETS = {"final_lag_p99": ("final_lag_ms.p99", 1000.0, "ms")}
BURST_RSS_MB = 400


def _by_prompt(calls: list[Json]) -> dict[str, list[Json]]:
    out: dict[str, list[Json]] = {}
    for call in calls:
        if call["method"] in ("chat.postMessage", "chat.update") and "text" in call:
            line, _, prompt = call["text"].rpartition(": ")
            out.setdefault(prompt, []).append({**call, "line": line})
    return out


def _turn_numbers(turn: Json, oai: Json | None, calls: list[Json], files: dict[str, Json]) -> Json:
    """Every time of one turn, in seconds."""
    t: Json = {"kind": turn["kind"], "i": turn["i"], "status": turn["status"]}
    t["shown"] = turn.get("shown", False)
    if "sent" not in turn or oai is None:
        return t
    sent = t["sent"] = turn["sent"]
    t["ack"] = turn["acked"] - sent
    t["to_model"] = oai["arrived"] - sent
    calls = [c for c in calls if c["status"] == 200]  # a 429 or a fault showed nothing
    shown: dict[int, float] = {}
    for call in calls:
        match = PREVIEW_LINE.match(call["line"])
        if call["method"] == "chat.update" and call.get("image") and match:
            shown.setdefault(int(match.group(1)) - 1, call["at"])
    partials = [f for f in oai["frames"] if f["kind"] == "partial"]
    t["preview_lags"] = [shown[f["index"]] - f["left"] for f in partials if f["index"] in shown]
    t["previews_dropped"] = sum(1 for f in partials if f["index"] not in shown)
    t["fake_openai_late"] = [f["left"] - f["due"] for f in oai["frames"]]
    if shown:
        t["ttfp"] = min(shown.values()) - sent
    final = next((f for f in oai["frames"] if f["kind"] == "final"), None)
    file = files.get(f"easel-{oai['image_call_id']}.png")
    if final is None or file is None or file["completed_at"] is None:
        return t
    t["final_lag"] = file["completed_at"] - final["left"]
    t["e2e"] = file["completed_at"] - sent
    done = [c["at"] for c in calls if c["line"].startswith("Reply in this thread")]
    if done:
        t["final_shown_lag"] = done[0] - final["left"]
    return t


def _max_in_flight(turns: list[Json]) -> int:
    edges = []
    for t in turns:
        if "e2e" in t:
            edges += [(t["sent"], 1), (t["sent"] + t["e2e"], -1)]
    running = peak = 0
    for _, step in sorted(edges):
        running += step
        peak = max(peak, running)
    return peak


def _log_problems(path: Path) -> Json:
    text = path.read_text(errors="replace") if path.exists() else ""
    lines = text.splitlines()
    return {
        "errors": [ln for ln in lines if " ERROR " in ln or "Traceback" in ln][:20],
        "warnings": sum(1 for ln in lines if " WARNING " in ln),
    }


def _get(report: Json, dotted: str) -> Any:
    value: Any = report
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def targets(report: Json) -> Json:
    burst = report["scenario"]["mode"] == "burst"
    out: Json = {}
    for name, (metric, limit, unit) in (BURST_TARGETS if burst else TARGETS).items():
        value = _get(report, metric)
        out[name] = {"value": value, "limit": limit, "unit": unit}
        out[name]["holds"] = value is not None and value < limit
    rss = report["bot"]["peak_rss_mb"]
    budget = BURST_RSS_MB if burst else report["bot"]["rss_budget_mb"]
    out["peak_rss"] = {"value": rss, "limit": budget, "unit": "MB", "holds": rss < budget}
    return out


def combine(stats: list[Json], starts: list[Json]) -> Json:
    """The bots' window stats as one: CPU added up, the largest process's RSS, the worst
    replica's event-loop lag (one bot: its own stats)."""
    if len(stats) == 1:
        return {**stats[0], "window_start": starts[0]}
    worst = max(stats, key=lambda b: b["loop_lag_ms"]["p99"] or 0.0)
    heaviest = max(stats, key=lambda b: max(b["rss_peak_window_bytes"], b["ru_maxrss_bytes"]))
    return {
        **heaviest,
        "cpu_seconds": round(sum(b["cpu_seconds"] for b in stats), 4),
        "wall_seconds": max(b["wall_seconds"] for b in stats),
        "loop_lag_ms": worst["loop_lag_ms"],
        "loop_lag_spikes": sorted(x for b in stats for x in b["loop_lag_spikes"]),
        "window_start": min(starts, key=lambda w: w["at"]),
        "replicas": [
            {
                "cpu_seconds": b["cpu_seconds"],
                "peak_rss_mb": round(max(b["rss_peak_window_bytes"], b["ru_maxrss_bytes"]) / MB, 1),
            }
            for b in stats
        ],
    }


def compute(s: Any, raw: Json, *, drive_seconds: float, bot_logs: list[Path]) -> Json:
    turns_in: list[Json] = raw["turns"]
    oai_by_prompt = {r["prompt"]: r for r in raw["openai"]["records"]}
    calls = raw["slack"]["calls"]
    by_prompt = _by_prompt(calls)
    files = {f["name"]: f for f in raw["slack"]["files"]}
    turns = [
        _turn_numbers(t, oai_by_prompt.get(t["prompt"]), by_prompt.get(t["prompt"], []), files)
        if "prompt" in t
        else t
        for t in turns_in
    ]
    report: Json = {
        "scenario": {
            **{k: v for k, v in vars(s).items() if k not in ("workdir", "cache")},
            "mode": s.mode,
            "db": s.db,
        },
        "drawings": s.n,
        "turns": _turn_counts(turns_in, turns),
        "drive_seconds": round(drive_seconds, 3),
        "max_in_flight": _max_in_flight(turns),
        **_latencies(s, turns),
        **_slack_costs(calls, raw["slack"]["fetches"], turns),
        "bot": _bot(raw["bot"], _max_in_flight(turns), turns),
        "machine": raw["bot"]["machine"],
        "fakes": _fakes(raw, turns),
        "problems": _problems(raw, turns_in, bot_logs),
        "clock": raw["openai"]["clock"],
    }
    for key in ("profile", "memory_at_peak"):
        if key in raw["bot"]:
            report[key] = raw["bot"][key]
    t0 = min((t["sent"] for t in turns if "sent" in t), default=0.0)
    report["per_turn"] = [_rounded(t, t0) for t in turns]
    report["timeline"] = {  # seconds since the bot's window opened
        "loop_lag_spikes_ms": raw["bot"]["loop_lag_spikes"],
        "rss_mb": raw["bot"]["rss_series_mb"],
        "first_request_at": round(t0 - raw["bot"]["window_start"]["at"], 3),
    }
    report["targets"] = targets(report)
    return report


def _turn_counts(turns_in: list[Json], turns: list[Json]) -> Json:
    return {
        "total": len(turns_in),
        "draw": sum(1 for t in turns if t["kind"] == "draw"),
        "reply": sum(1 for t in turns if t["kind"] == "reply"),
        "delivered": sum(1 for t in turns if t["status"] == "delivered" and "e2e" in t),
        "failed": sum(1 for t in turns if t["status"] == "failed"),
        "lost": sum(1 for t in turns if t["status"] == "lost"),
        "shown": sum(1 for t in turns if t.get("shown")),
    }


def _latencies(s: Any, turns: list[Json]) -> Json:
    def values(key: str) -> list[float]:
        return [t[key] for t in turns if key in t]

    lags = [lag for t in turns for lag in t.get("preview_lags", [])]
    ratios = [t["ttfp"] / t["e2e"] for t in turns if "ttfp" in t and "e2e" in t]
    model = s.model_seconds
    return {
        "ack_ms": summary(values("ack"), 1000),
        "to_model_ms": summary(values("to_model"), 1000),
        "preview_lag_ms": summary(lags, 1000),
        "previews_shown": len(lags),
        "previews_dropped": sum(t.get("previews_dropped", 0) for t in turns),
        "final_lag_ms": summary(values("final_lag"), 1000),
        "final_shown_lag_ms": summary(values("final_shown_lag"), 1000),
        "e2e_s": summary(values("e2e")),
        "overhead_ratio": summary([(e - model) / model for e in values("e2e")]),
        "ttfp_s": summary(values("ttfp")),
        "ttfp_over_ttf": {"p50": _round(percentile(ratios, 50)), "ideal": _first_partial(s)},
    }


def _slack_costs(calls: list[Json], fetches: list[Json], turns: list[Json]) -> Json:
    n_turns = max(1, sum(1 for t in turns if t["kind"] != "driver"))
    methods = Counter(c["method"] for c in calls)
    uploaded = sum(c.get("length", 0) for c in calls if c["method"] == "upload")
    throttled = Counter(c["method"] for c in calls if c["status"] == 429)
    return {
        "slack_calls_per_turn": round(len(calls) / n_turns, 2),
        "slack_calls_by_method": dict(sorted(methods.items())),
        "slack_429s_by_method": dict(sorted(throttled.items())),
        "bytes_uploaded_per_turn": round(uploaded / n_turns),
        "preview_bytes_served_per_turn": round(sum(f["bytes"] for f in fetches) / n_turns),
    }


def _bot(bot: Json, in_flight: int, turns: list[Json]) -> Json:
    n_turns = max(1, sum(1 for t in turns if t["kind"] != "driver"))
    peak_rss = max(bot["rss_peak_window_bytes"], bot["ru_maxrss_bytes"]) / MB
    out: Json = {
        "cpu_seconds_per_turn": round(bot["cpu_seconds"] / n_turns, 4),
        "cpu_seconds": bot["cpu_seconds"],
        "cpu_utilisation": round(bot["cpu_seconds"] / max(bot["wall_seconds"], 1e-9), 3),
        "peak_rss_mb": round(peak_rss, 1),  # of the largest process
        "rss_start_mb": round(bot["rss_start_bytes"] / MB, 1),
        "rss_budget_mb": 150 + 8 * in_flight,
        "loop_lag_ms": bot["loop_lag_ms"],
    }
    if "replicas" in bot:
        out["replicas"] = bot["replicas"]
    return out


def _fakes(raw: Json, turns: list[Json]) -> Json:
    return {
        "openai_frames_late_ms": summary(
            [x for t in turns for x in t.get("fake_openai_late", [])], 1000
        ),
        "openai_loop_lag_ms": raw["openai"]["loop_lag_ms"],
        "slack_loop_lag_ms": raw["slack"]["loop_lag_ms"],
    }


def _problems(raw: Json, turns_in: list[Json], bot_logs: list[Path]) -> Json:
    logs = [_log_problems(path) for path in bot_logs]
    return {
        "http_not_200": sum(1 for t in turns_in if t.get("http_status", 200) != 200),
        "openai_stream_errors": sum(1 for r in raw["openai"]["records"] if r["error"]),
        "slack_violations": raw["slack"]["violations"][:20],
        "bot_log": {
            "errors": [line for log in logs for line in log["errors"]][:20],
            "warnings": sum(log["warnings"] for log in logs),
        },
        "driver_errors": [t["error"] for t in turns_in if "error" in t][:20],
    }


def _rounded(turn: Json, t0: float) -> Json:
    """A turn's numbers for the report, in ms; `sent` counts from the first request."""
    out: Json = {}
    for key, value in turn.items():
        if key == "fake_openai_late":
            continue
        if key == "sent":
            value -= t0
        if isinstance(value, float):
            value = round(value * 1000, 1)
        elif isinstance(value, list):
            value = [round(v * 1000, 1) for v in value]
        out[key] = value
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _first_partial(s: Any) -> float:
    return float(s.partials_at.split(",")[0])
