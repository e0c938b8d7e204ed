"""``python -m bench``: meterlib against the floor, sqlite3 and DuckDB, in one run.

Prints a table (workload, backend, events/s or ms/query, cost ratio to each baseline of the
same run, the issue's targets) and writes the rows as JSON. ``--quick`` is a smoke run of a few
seconds; ``--full`` uses the issue's sizes (1M events, growth up to 5M).

    python -m bench                     # default sizes, writes bench/results/latest.json
    python -m bench --quick             # tiny sizes, no JSON unless --json
    python -m bench --only summaries --profile /tmp/summaries.pstats
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench import measure
from bench.report import evaluate, failures, ordered, table, targets, write_json
from bench.suite import BACKENDS, WORKLOADS, Config, Suite, load_duckdb

DEFAULT_JSON = measure.ROOT / "bench" / "results" / "latest.json"
SIZES = {
    # name: events, growth_events, repeats, sweep_repeats, durable_seconds, rss_events
    "quick": (3_000, 10_000, 3, 1, 0.2, 3_000),
    "default": (100_000, 150_000, 15, 3, 1.0, 1_000_000),
    "full": (1_000_000, 5_000_000, 21, 3, 5.0, 1_000_000),
}


def _choices(values: list[str] | None, allowed: tuple[str, ...], flag: str) -> tuple[str, ...]:
    if not values:
        return allowed
    chosen = {item.strip() for value in values for item in value.split(",") if item.strip()}
    unknown = chosen - set(allowed)
    if unknown:
        raise SystemExit(
            f"{flag}: unknown {', '.join(sorted(unknown))}; known: {', '.join(allowed)}"
        )
    return tuple(item for item in allowed if item in chosen)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    size.add_argument("--full", action="store_true", help="the issue's sizes (1M events)")
    parser.add_argument("--events", type=int, help="events to ingest and query")
    parser.add_argument("--customers", type=int, help="customers the events spread over")
    parser.add_argument("--growth-events", type=int, help="largest store of the growth check")
    parser.add_argument("--rss-events", type=int, help="events of the RSS measurement")
    parser.add_argument("--repeats", type=int, help="timed repeats per query (median)")
    parser.add_argument("--sweep-repeats", type=int, help="timed repeats per customer sweep")
    parser.add_argument("--durable-seconds", type=float, help="time box of per-commit loops")
    parser.add_argument("--durable-events", type=int, default=50_000, help="cap of those loops")
    parser.add_argument("--batch", type=int, default=10_000, help="events per create_many call")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--only", action="append", metavar="WORKLOAD", help=f"some of: {', '.join(WORKLOADS)}"
    )
    parser.add_argument(
        "--backends", action="append", metavar="NAME", help=f"some of: {', '.join(BACKENDS)}"
    )
    parser.add_argument(
        "--json", type=Path, help=f"write results here (default for full runs: {DEFAULT_JSON})"
    )
    parser.add_argument("--tmpdir", type=Path, help="where scratch databases go")
    parser.add_argument(
        "--profile", type=Path, help="cProfile meterlib's timed sections; write pstats here"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> Config:
    """Flags over the size preset."""
    preset = "quick" if args.quick else "full" if args.full else "default"
    events, growth, repeats, sweep_repeats, durable_seconds, rss_events = SIZES[preset]
    return Config(
        events=args.events or events,
        customers=args.customers or (50 if args.quick else 1_000),
        seed=args.seed,
        repeats=args.repeats or repeats,
        sweep_repeats=args.sweep_repeats or sweep_repeats,
        growth_events=args.growth_events or growth,
        rss_events=args.rss_events or rss_events,
        durable_seconds=args.durable_seconds or durable_seconds,
        durable_events=args.durable_events,
        batch=args.batch,
        backends=_choices(args.backends, BACKENDS, "--backends"),
        workloads=_choices(args.only, WORKLOADS, "--only"),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; write JSON; 1 with ``--check`` if a target fails."""
    args = parse(argv)
    config = config_from(args)
    duckdb = load_duckdb()
    machine = measure.machine(None if duckdb is None else duckdb.__version__)
    print(
        f"meterlib bench: {machine['cpu_model']}, {machine['nproc']} CPUs, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, DuckDB {machine['duckdb']}"
    )
    print(
        f"{config.events:,} events, {config.customers:,} customers, seed {config.seed}, "
        f"query medians of {config.repeats} (sweeps {config.sweep_repeats})",
        flush=True,
    )
    if args.profile:
        measure.profiler = cProfile.Profile()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="meterlib-bench-", dir=args.tmpdir) as scratch:
        suite = Suite(config, Path(scratch), duckdb)
        suite.run()
    elapsed = time.perf_counter() - began
    rows = ordered(suite.rows)
    evaluate(rows)
    print()
    print(table(rows))
    print()
    failed = failures(rows)
    print(f"Targets ({len(failed)} failed):")
    for line in targets(rows):
        print(f"  {line}")
    for line in suite.mismatches:
        print(f"MISMATCH: {line}")
    for line in suite.errors:
        print(f"ERROR: {line}")
    print(f"elapsed {elapsed:.1f} s")

    path = args.json
    if path is None and not (args.quick or args.only):
        path = DEFAULT_JSON
    if path is not None:
        write_json(
            path,
            machine=machine,
            config={
                **asdict(config),
                "preset": "quick" if args.quick else "full" if args.full else "default",
            },
            rows=rows,
            extra={
                "elapsed_s": round(elapsed, 1),
                "mismatches": suite.mismatches,
                "errors": suite.errors,
                "profiled": measure.profiler is not None,
            },
        )
        print(f"results written to {path}")
    if measure.profiler is not None and args.profile and not measure.profiler.getstats():
        print("nothing was profiled: the chosen workloads time no meterlib calls under --profile")
    elif measure.profiler is not None and args.profile:
        measure.profiler.dump_stats(args.profile)
        stats = pstats.Stats(measure.profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        print(f"profile written to {args.profile}")
    if suite.mismatches or suite.errors:
        return 2
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
