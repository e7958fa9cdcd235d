"""The benchmark in its short mode, so that it cannot rot. Nothing here asserts a time: the
figures belong in the README, taken on a known machine, not in pass/fail checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = unavailable_reason() is None  # the burst again on three easels, on PostgreSQL

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="the benchmark reads /proc"),
    # The short run (ramps, then a burst whose messages wait out the fake's Tier 3) takes about
    # a minute, more on a busy machine; the run itself is bounded below.
    pytest.mark.timeout(300),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "short.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--short", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "targets at N = 10 (ramp)" in done.stdout
    assert "targets at N = 10 (burst)" in done.stdout
    assert ("easels: 3, PostgreSQL" in done.stdout) is REPLICAS
    result: dict = json.loads(out.read_text())
    return result


def test_every_drawing_and_reply_is_delivered_on_both_preview_paths_and_in_a_burst(
    report: dict,
) -> None:
    assert report["healthy"] is True
    kinds = [
        (run["scenario"]["path"], run["scenario"]["mode"], run["scenario"]["replicas"])
        for run in report["runs"]
    ]
    expected = [("public", "ramp", 1), ("upload", "ramp", 1), ("upload", "burst", 1)]
    assert kinds == expected + ([("upload", "burst", 3)] if REPLICAS else [])
    for burst in [run["scenario"] for run in report["runs"][2:]]:
        assert (burst["ramp"], burst["size"], burst["tier3"]) == (0.0, "1024x1024", "15/50")
    for run in report["runs"]:
        assert run["drawings"] == 10
        assert run["turns"] == {
            "total": 20,
            "draw": 10,
            "reply": 10,
            "delivered": 20,
            "failed": 0,
            "lost": 0,
            "shown": 20,  # every message ends showing its final, through Tier 3
        }
        assert run["problems"]["http_not_200"] == 0
        assert run["problems"]["slack_violations"] == []
        assert run["problems"]["bot_log"]["errors"] == []


def test_each_turn_is_measured_from_request_to_delivered_file(report: dict) -> None:
    for run in report["runs"]:
        for name in ("ack_ms", "to_model_ms", "final_lag_ms", "e2e_s", "overhead_ratio"):
            stats = run[name]
            assert stats["n"] == 20, name
            assert stats["p50"] is not None and stats["p50"] <= stats["p99"] <= stats["max"]
        assert run["e2e_s"]["p50"] >= run["scenario"]["model_seconds"]  # never faster than it
        assert run["previews_shown"] + run["previews_dropped"] == 40  # 2 partials per turn
        assert run["bot"]["cpu_seconds"] > 0
        assert run["bot"]["peak_rss_mb"] > run["bot"]["rss_start_mb"] > 0
        assert run["bot"]["loop_lag_ms"]["n"] > 0
        ramp_targets = {"overhead_ratio_p99", "preview_lag_p99", "ack_p99", "loop_lag_p99"}
        burst = run["scenario"]["mode"] == "burst"
        expected = {"final_lag_p99", "peak_rss"} | (set() if burst else ramp_targets)
        assert set(run["targets"]) == expected


def test_replicas_share_the_burst_and_draw_nothing_twice(report: dict) -> None:
    if not REPLICAS:
        pytest.skip(f"the replicas' run {unavailable_reason()}")
    fleet = report["runs"][3]
    assert fleet["scenario"]["db"] == "postgres"
    assert fleet["replicas"]["drawn_twice"] == []
    by_replica = fleet["replicas"]["turns_by_replica"]
    assert len(by_replica) == 3 and sum(by_replica) == 20  # each replica drew some
    assert [r["cpu_seconds"] > 0 for r in fleet["bot"]["replicas"]] == [True] * 3


def test_slack_calls_match_each_preview_path(report: dict) -> None:
    public, upload, *bursts = report["runs"]
    for run in (public, upload, *bursts):
        calls = run["slack_calls_by_method"]
        assert calls["chat.postMessage"] == 20  # one placeholder per turn
        assert calls["files.completeUploadExternal"] == calls["files.getUploadURLExternal"]
    # EASEL_PUBLIC_URL: Slack fetched the previews from easel; only finals were uploaded.
    assert public["slack_calls_by_method"]["files.completeUploadExternal"] == 20
    assert public["preview_bytes_served_per_turn"] > 0
    assert public["slack_calls_by_method"].get("files.delete", 0) == 0
    # Default: every preview shown was uploaded into the thread, and later deleted.
    shown = upload["previews_shown"]
    assert upload["slack_calls_by_method"]["files.completeUploadExternal"] >= 20 + shown
    assert upload["slack_calls_by_method"]["files.delete"] >= shown
    assert upload["preview_bytes_served_per_turn"] == 0
    assert upload["bytes_uploaded_per_turn"] > public["bytes_uploaded_per_turn"]
