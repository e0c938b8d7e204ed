"""``python -m tests.mutants``: run every seeded mutant, print the catch rate and shrunk lengths.

Each mutant runs twice under the settings docs/testing.md recommends: once generating only,
to count the state machine runs it takes to catch it, and once shrinking, to measure the
failing example (at most `MAX_STEPS` steps). ``--sample`` runs the ones ``make test`` runs;
``--seeds N`` also runs each backend mutant under N random seeds and counts those that catch
it. Exits non-zero if any mutant survives or shrinks to more than `MAX_STEPS` steps.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time

from tests.mutants.backend import Runs
from tests.mutants.harness import MAX_STEPS, try_mutant
from tests.mutants.mutants import ALL_MUTANTS

Measured = tuple[bool, int | None, int | None, float, str]
"""``(caught, runs until caught, shrunk steps, seconds, failure)``: picklable, for the pool."""


def measure(index: int) -> Measured:
    """`ALL_MUTANTS[index]` run without shrinking (counting runs), then with shrinking."""
    mutant = ALL_MUTANTS[index]
    Runs.count = 0
    counted = mutant.kind == "backend"  # the state machine's runs; the doc's tests are not counted
    found = try_mutant(mutant, shrink=False, count=(lambda: Runs.count) if counted else None)
    shrunk = try_mutant(mutant, shrink=True)
    return (
        found.caught and shrunk.caught,
        found.examples,
        shrunk.steps,
        found.seconds + shrunk.seconds,
        found.failure if not found.caught else shrunk.failure,
    )


def by_seed(job: tuple[int, int]) -> bool:
    """Whether `ALL_MUTANTS[index]` is caught under this random seed (generation only)."""
    index, seed = job
    return try_mutant(ALL_MUTANTS[index], shrink=False, seed=seed).caught


def main(argv: list[str] | None = None) -> int:
    """Run the mutants; print one line each and the totals; 0 if all are caught and short."""
    parser = argparse.ArgumentParser(prog="python -m tests.mutants", description=__doc__)
    parser.add_argument("--sample", action="store_true", help="only the mutants make test runs")
    parser.add_argument("--seeds", type=int, default=0, help="random seeds per backend mutant")
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("names", nargs="*", help="only these mutants")
    args = parser.parse_args(argv)
    chosen = [
        index
        for index, mutant in enumerate(ALL_MUTANTS)
        if (not args.sample or mutant.sample) and (not args.names or mutant.name in args.names)
    ]
    mutants = [ALL_MUTANTS[index] for index in chosen]
    began = time.perf_counter()
    print(f"{'mutant':38} {'kind':8} {'caught':6} {'runs':>4} {'steps':>5} {'seconds':>7}")
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        results = pool.imap(measure, chosen)
        failed = 0
        lengths: list[int] = []
        for mutant, (caught, examples, shrunk, seconds, failure) in zip(
            mutants, results, strict=True
        ):
            short = shrunk is not None and shrunk <= MAX_STEPS
            failed += not (caught and short)
            lengths += [] if shrunk is None else [shrunk]
            runs = "-" if examples is None else str(examples)
            steps = "-" if shrunk is None else str(shrunk)
            print(
                f"{mutant.name:38} {mutant.kind:8} {'yes' if caught else 'NO':6} {runs:>4} "
                f"{steps:>5} {seconds:7.1f}" + ("" if caught else f"  {failure}"),
                flush=True,
            )
        caught_count = len(mutants) - failed
        print(
            f"\ncatch rate: {caught_count} of {len(mutants)} mutants "
            f"({100 * caught_count / max(len(mutants), 1):.0f}%) caught and shrunk to at most "
            f"{MAX_STEPS} steps; shrunk lengths {sorted(lengths)}; "
            f"{time.perf_counter() - began:.0f} s"
        )
        if args.seeds:
            backend = [index for index in chosen if ALL_MUTANTS[index].kind == "backend"]
            jobs = [(index, seed) for index in backend for seed in range(args.seeds)]
            hits = pool.map(by_seed, jobs)
            print(
                f"under {args.seeds} random seeds each: {sum(hits)} of {len(jobs)} "
                f"(mutant, seed) runs caught the backend mutants"
            )
            for position, index in enumerate(backend):
                got = hits[position * args.seeds : (position + 1) * args.seeds]
                if not all(got):
                    print(
                        f"  {ALL_MUTANTS[index].name}: missed under {len(got) - sum(got)} "
                        f"of {args.seeds} seeds"
                    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
