"""`python -m bench`: measure what easel costs on top of the model. See "Benchmark" in README.md.

    python -m bench                      # ramps N = 1, 10, 100 (8 s model, both preview paths),
                                         # bursts N = 20, 100 (3 s model, 1024 px), the largest
                                         # burst again on 3 replicas (PostgreSQL); profile
    python -m bench --short              # CI: ramp, burst and replicas at N = 10, 1 s model
    python -m bench --n "" --burst-n 100 --replicas 0 --no-profile   # one burst run

Prints the tables and writes the JSON report (`--out`, default bench/out/report.json).
Exits 1 when a turn was not delivered or a run saw an error, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path

from bench import images, report
from bench.common import Json, clock_info
from bench.database import postgres_missing
from bench.driver import Scenario, run
from bench.procs import ChildFailed, quiet

OUT = Path(__file__).resolve().parent / "out"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--n", default="1,10,100", help="drawings per ramp run, comma-separated")
    p.add_argument("--model-seconds", type=float, default=8.0, help="scripted model time")
    p.add_argument("--partials-at", default="0.3,0.6", help="partial frames, fractions of it")
    p.add_argument("--paths", default="public,upload", help="preview paths: public, upload")
    p.add_argument(
        "--ramp",
        default="model",
        help="seconds over which a ramp run's N commands are spread ('model': the model time, "
        "so N drawings are in flight at once)",
    )
    _burst_options(p)
    p.add_argument("--preview-interval", type=float, default=1.2, help="EASEL_PREVIEW_INTERVAL")
    p.add_argument("--slack-latency", default="", help="e.g. chat.update=0.05,upload=0.2")
    p.add_argument("--processing-polls", type=int, default=1, help="files.info polls per file")
    p.add_argument(
        "--bot-env", action="append", default=[], help="KEY=VALUE for the bot's environment"
    )
    p.add_argument(
        "--no-profile", action="store_true", help="skip the profiled run (of the largest burst)"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for other processes to go quiet "
        "(on a shared machine)",
    )
    p.add_argument("--short", action="store_true", help="N = 10, 1 s model, no profile (CI)")
    p.add_argument("--out", default=None, help="JSON report path")
    p.add_argument("--cache", default=str(images.DEFAULT_CACHE), help="image cache directory")
    args = p.parse_args(argv)
    if args.short:
        args.n, args.burst_n, args.no_profile = "10", "10", True
        args.model_seconds = args.burst_model_seconds = 1.0
    args.out = Path(args.out or OUT / ("short.json" if args.short else "report.json"))
    return args


def _burst_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--burst-n", default="20,100", help="drawings per burst run (all at once); '' for none"
    )
    p.add_argument("--burst-model-seconds", type=float, default=3.0, help="model time of bursts")
    p.add_argument("--burst-size", default="1024x1024", help="EASEL_SIZE of the burst runs")
    p.add_argument("--burst-paths", default="upload", help="preview paths of the burst runs")
    p.add_argument(
        "--tier3",
        default="15/50",
        help="the fake Slack's chat.update limit per workspace, BURST/PER_MINUTE, or 'off'",
    )
    p.add_argument(
        "--replicas",
        type=int,
        default=3,
        help="run the largest burst again on this many easels sharing one PostgreSQL "
        "database (tests/postgres.py starts it); 0 or 1: not",
    )


def _numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The ramp runs, the burst runs, the largest burst on replicas, then the profiled run
    (the largest burst in one process, else the largest ramp)."""
    paths = [p for p in args.paths.split(",") if p]
    burst_paths = [p for p in args.burst_paths.split(",") if p]
    ramp = args.model_seconds if args.ramp == "model" else float(args.ramp)
    workdir = args.out.parent / (args.out.stem + "-runs")

    def make(
        path: str, n: int, *, burst: bool, profile: bool = False, replicas: int = 1
    ) -> Scenario:
        spread = 0.0 if burst or n == 1 else ramp
        scenario = Scenario(
            n=n,
            path=path,
            model_seconds=args.burst_model_seconds if burst else args.model_seconds,
            ramp=spread,
            preview_interval=args.preview_interval,
            workdir=workdir,
            cache=Path(args.cache),
            partials_at=args.partials_at,
            slack_latency=args.slack_latency,
            processing_polls=args.processing_polls,
            tier3=args.tier3,
            size=args.burst_size if burst else None,
            profile=profile,
            extra_env=dict(item.split("=", 1) for item in args.bot_env),
            replicas=replicas,
        )
        where = workdir / scenario.name / ("profile" if profile else "run")
        return dataclasses.replace(scenario, workdir=where)

    out = [make(path, n, burst=False) for path in paths for n in _numbers(args.n)]
    bursts = [make(path, n, burst=True) for path in burst_paths for n in _numbers(args.burst_n)]
    out += bursts
    if bursts and args.replicas > 1:
        largest = max(bursts, key=lambda s: s.n)
        out.append(make(largest.path, largest.n, burst=True, replicas=args.replicas))
    if not args.no_profile and out:
        largest = max(bursts or out, key=lambda s: s.n)
        out.append(make(largest.path, largest.n, burst=bool(bursts), profile=True))
    return out


def healthy(run: Json) -> bool:
    problems = run["problems"]
    turns = run["turns"]
    return (
        turns["shown"] == turns["delivered"] == turns["total"] == 2 * run["drawings"]
        and not problems["http_not_200"]
        and not problems["openai_stream_errors"]
        and not problems["slack_violations"]
        and not problems["bot_log"]["errors"]
        and not problems["driver_errors"]
        and not (run.get("replicas") or {}).get("drawn_twice")
    )


async def measure(args: argparse.Namespace) -> list[Json]:
    runs: list[Json] = []
    for scenario in scenarios(args):
        if args.quiet_wait > 0:
            busy = await quiet(within=args.quiet_wait)
            print(f"bench: the machine was {busy:.0%} busy before this run", flush=True)
        print(f"bench: {scenario.name} ({scenario.n} drawings + replies) ...", flush=True)
        runs.append(await run(scenario))
    return runs


def print_tables(runs: list[Json]) -> None:
    """Every run's table, then the targets of the largest run of each kind."""
    print()
    print(report.render(runs))
    measured = [r for r in runs if not r["scenario"]["profile"]]
    kinds = dict.fromkeys((r["scenario"]["mode"], r["scenario"]["replicas"]) for r in measured)
    for mode, replicas in kinds:
        runs_of = [
            r
            for r in measured
            if (r["scenario"]["mode"], r["scenario"]["replicas"]) == (mode, replicas)
        ]
        print()
        print(report.render_targets(max(runs_of, key=lambda r: r["scenario"]["n"])))
    profiled = [r for r in runs if r["scenario"]["profile"]]
    if profiled and "profile" in profiled[0]:
        print()
        print(report.render_profile(profiled[0]["profile"]))


async def main_async(args: argparse.Namespace) -> int:
    clock = clock_info()
    if not clock["shared_across_processes"]:
        print(f"bench: time.monotonic() is not one system-wide clock here: {clock}")
        return 2
    if args.replicas > 1 and (missing := postgres_missing()) is not None:
        print(f"bench: no run on replicas ({missing})")
        args.replicas = 0
    runs = await measure(args)
    result: Json = {
        "machine": report.machine(),
        "clock": clock,
        "command": ["python", "-m", "bench", *sys.argv[1:]],
        "settings": {k: str(v) for k, v in vars(args).items()},
        "runs": [r for r in runs if not r["scenario"]["profile"]],
        "healthy": all(healthy(r) for r in runs),
    }
    profiled = [r for r in runs if r["scenario"]["profile"]]
    if profiled:
        result["profiled_run"] = profiled[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print_tables(runs)
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
