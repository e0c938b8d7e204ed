"""The file import rows: ``m.import_events`` of a CSV file beside what a user would do instead.

* memory: importing the file against ``create_many`` of the same events, already in memory
  (so the file's reading and parsing is what the ratio prices);
* SQLite: importing the file into a SQLite store against a hand-written loader of the same
  file: `csv.reader` rows straight into ``sqlite3.executemany`` in one transaction, into the
  sqlite3 baseline's table (no validation, no identifier window, float values).

Each contender gets a fresh store per round; rounds alternate which goes first, and each row
is the median (one round for the issue's 1M-row file, three for smaller ones). The suite
holds generated events for its other workloads; the collector would walk them on every full
collection an import triggers, which no importer running on its own pays, so they are frozen
out of collection (`gc.freeze`) for these rows and the rest of the run, for every contender alike.
"""

from __future__ import annotations

import csv
import gc
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import data
from bench.baselines import SQLiteBaseline
from bench.measure import timed
from bench.report import IMPORT, Row, rate_row
from bench.workloads import ingest, new_store

LOADER = "csv+sqlite3"
"""The hand-written loader's backend name (a baseline in `bench.report.BASELINES`)."""


def write_csv(events: Sequence[data.Event], path: Path) -> None:
    """The events as a Stripe bulk-format CSV file."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["identifier", "timestamp", "event_name", "payload_stripe_customer_id", "payload_value"]
        )
        for event in events:
            payload = event["payload"]
            writer.writerow(
                [
                    event["identifier"],
                    event["timestamp"],
                    event["event_name"],
                    payload[data.CUSTOMER_KEY],
                    payload[data.VALUE_KEY],
                ]
            )


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def _import(url: str, path: Path, rows: int) -> float:
    metering, _ = new_store(url, "sum", None)
    report, seconds = timed(lambda: metering.import_events(path), profile=True)
    metering.close()
    if report.recorded != rows:
        raise RuntimeError(f"the import recorded {report.recorded} of {rows} rows: {report}")
    return seconds


def _create_many(events: Sequence[data.Event], batch: int) -> float:
    metering, _ = new_store("memory://", "sum", None)
    _, seconds = timed(lambda: ingest(metering, events, batch=batch))
    metering.close()
    return seconds


def _loader(database: Path, path: Path) -> float:
    baseline = SQLiteBaseline(_fresh(database))
    _, seconds = timed(lambda: baseline.load_csv(path))
    baseline.close()
    return seconds


def import_rows(
    events: Sequence[data.Event],
    scratch: Path,
    *,
    backends: Sequence[str],
    rounds: int,
    batch: int,
) -> list[Row]:
    """The import rows of each backend, beside their baselines, `rounds` medians each."""
    path = scratch / "events.csv"
    write_csv(events, path)
    variant = f"{len(events):,}-row CSV file"
    contenders: dict[str, Callable[[], float]] = {}
    if "memory" in backends:
        contenders["create_many"] = lambda: _create_many(events, batch)
        contenders["memory"] = lambda: _import("memory://", path, len(events))
    if "sqlite" in backends:
        database = scratch / "import.db"
        contenders[LOADER] = lambda: _loader(scratch / "loader.db", path)
        contenders["sqlite"] = lambda: _import(f"sqlite:///{_fresh(database)}", path, len(events))
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    gc.collect()
    gc.freeze()  # never unfrozen: that would thaw the suite's own frozen events too
    for round_ in range(max(rounds, 1)):
        order = list(contenders) if round_ % 2 == 0 else list(contenders)[::-1]
        for name in order:
            samples[name].append(contenders[name]())
    path.unlink()
    return [
        rate_row(IMPORT, variant, name, len(events), statistics.median(times))
        for name, times in samples.items()
    ]
