"""`python -m bench`: measure what easel costs on top of the model. See "Benchmark" in README.md.

    python -m bench                      # N = 1, 10, 100; both preview paths; 8 s model; profile
    python -m bench --short              # CI: N = 10, 1 s model, no profile, a few seconds
    python -m bench --n 100 --paths public --ramp 0 --no-profile   # one burst run

Prints the tables and writes the JSON report (`--out`, default bench/out/report.json).
Exits 1 when a turn was not delivered or a run saw an error, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bench import images, report
from bench.common import Json, clock_info
from bench.driver import Scenario, run
from bench.procs import ChildFailed

OUT = Path(__file__).resolve().parent / "out"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--n", default="1,10,100", help="drawings per run, comma-separated")
    p.add_argument("--model-seconds", type=float, default=8.0, help="scripted model time")
    p.add_argument("--partials-at", default="0.3,0.6", help="partial frames, fractions of it")
    p.add_argument("--paths", default="public,upload", help="preview paths: public, upload")
    p.add_argument(
        "--ramp",
        default="model",
        help="seconds over which the N commands are spread ('model': the model time, so N "
        "drawings are in flight at once; 0: all at the same instant)",
    )
    p.add_argument("--burst", action="store_true", help="also run the largest N with ramp 0")
    p.add_argument("--preview-interval", type=float, default=1.2, help="EASEL_PREVIEW_INTERVAL")
    p.add_argument("--slack-latency", default="", help="e.g. chat.update=0.05,upload=0.2")
    p.add_argument("--processing-polls", type=int, default=1, help="files.info polls per file")
    p.add_argument(
        "--bot-env", action="append", default=[], help="KEY=VALUE for the bot's environment"
    )
    p.add_argument("--no-profile", action="store_true", help="skip the profiled run")
    p.add_argument("--short", action="store_true", help="N = 10, 1 s model, no profile (CI)")
    p.add_argument("--out", default=None, help="JSON report path")
    p.add_argument("--cache", default=str(images.DEFAULT_CACHE), help="image cache directory")
    args = p.parse_args(argv)
    if args.short:
        args.n, args.model_seconds, args.no_profile = "10", 1.0, True
    args.out = Path(args.out or OUT / ("short.json" if args.short else "report.json"))
    return args


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    ns = [int(x) for x in args.n.split(",") if x]
    paths = [p for p in args.paths.split(",") if p]
    ramp = args.model_seconds if args.ramp == "model" else float(args.ramp)
    workdir = args.out.parent / (args.out.stem + "-runs")

    def make(path: str, n: int, ramp: float, profile: bool = False) -> Scenario:
        return Scenario(
            n=n,
            path=path,
            model_seconds=args.model_seconds,
            ramp=ramp if n > 1 else 0.0,
            preview_interval=args.preview_interval,
            workdir=workdir / f"{path}-n{n}-ramp{ramp:g}" / ("profile" if profile else "run"),
            cache=Path(args.cache),
            partials_at=args.partials_at,
            slack_latency=args.slack_latency,
            processing_polls=args.processing_polls,
            profile=profile,
            extra_env=dict(item.split("=", 1) for item in args.bot_env),
        )

    out = [make(path, n, ramp) for path in paths for n in ns]
    if args.burst and max(ns) > 1:
        out.append(make(paths[0], max(ns), 0.0))
    if not args.no_profile:
        out.append(make(paths[0], max(ns), ramp, profile=True))
    return out


def healthy(run: Json) -> bool:
    problems = run["problems"]
    return (
        run["turns"]["delivered"] == run["turns"]["total"] == 2 * run["drawings"]
        and not problems["http_not_200"]
        and not problems["openai_stream_errors"]
        and not problems["slack_violations"]
        and not problems["bot_log"]["errors"]
        and not problems["driver_errors"]
    )


async def main_async(args: argparse.Namespace) -> int:
    clock = clock_info()
    if not clock["shared_across_processes"]:
        print(f"bench: time.monotonic() is not one system-wide clock here: {clock}")
        return 2
    runs: list[Json] = []
    for scenario in scenarios(args):
        print(f"bench: {scenario.name} ({scenario.n} drawings + replies) ...", flush=True)
        runs.append(await run(scenario))
    measured = [r for r in runs if not r["scenario"]["profile"]]
    result: Json = {
        "machine": report.machine(),
        "clock": clock,
        "command": ["python", "-m", "bench", *sys.argv[1:]],
        "settings": {k: str(v) for k, v in vars(args).items()},
        "runs": measured,
        "healthy": all(healthy(r) for r in runs),
    }
    profiled = [r for r in runs if r["scenario"]["profile"]]
    if profiled:
        result["profiled_run"] = profiled[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print()
    print(report.render(runs))
    fast = [r for r in measured if r["scenario"]["path"] == measured[0]["scenario"]["path"]]
    print()
    print(report.render_targets(max(fast, key=lambda r: r["scenario"]["n"])))
    if profiled and "profile" in profiled[0]:
        print()
        print(report.render_profile(profiled[0]["profile"]))
    m = result["machine"]
    print(f"\nmachine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}")
    print(f"report: {args.out}  healthy: {result['healthy']}")
    return 0 if result["healthy"] else 1


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        return asyncio.run(main_async(args))
    except ChildFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
