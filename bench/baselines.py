"""What a user would use instead of meterlib, measured in the same run.

* the floor: a plain Python loop that parses the value to `Decimal`, checks the identifier in a
  dict and appends to a list: no storage engine can ingest for less;
* a hand-written `sqlite3` table, unique identifiers, an index on ``(customer, ts)``, summaries by
  ``GROUP BY``; plus a bare insert-and-commit loop for the durable per-event comparison;
* DuckDB doing the same, loaded in bulk from a CSV file (its per-row insert is far too slow).

Values are stored as floating point (``REAL`` / ``DOUBLE``), as a hand-written table would; that
is cheaper than meterlib's exact decimals, so it flatters the baselines. Pre-aggregated windows
keep the latest received event per (customer, hour), as Stripe does.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.data import Event, row

HOUR = 3_600
SCHEMA = """
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    customer   TEXT NOT NULL,
    ts         INTEGER NOT NULL,
    value      REAL NOT NULL
);
CREATE INDEX events_customer_ts ON events (customer, ts);
"""
INSERT = "INSERT INTO events (seq, identifier, customer, ts, value) VALUES (?, ?, ?, ?, ?)"
LAST_KEY = 10_000_000
"""``ts * LAST_KEY + seq`` orders events by (timestamp, receipt) for ``last``."""


class Floor:
    """The cheapest possible ingest: parse, dedupe in a dict, append.

    Fed in chunks, so that its time can alternate with meterlib's on the same machine load.
    """

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.kept: list[tuple[int, Decimal]] = []

    def feed(self, events: Sequence[Event]) -> int:
        """Take `events`; how many were kept (not duplicates)."""
        seen, kept = self.seen, self.kept
        before = len(kept)
        for event in events:
            identifier = event["identifier"]
            if identifier in seen:
                continue
            seen[identifier] = len(kept)
            kept.append((event["timestamp"], Decimal(event["payload"]["value"])))
        return len(kept) - before


def summary_sql(engine: str, formula: str, window: str | None, *, one_customer: bool) -> str:
    """The hand-written summary query: one row per (customer,) window that has events.

    Columns: (``customer``,) window index ``w``, the aggregated value, then helper columns.
    Parameters ``:start``, ``:end``, ``:step`` (and ``:customer``).
    """
    duck = engine == "duckdb"
    div = "//" if duck else "/"
    where = ("customer = :customer AND " if one_customer else "") + "ts >= :start AND ts < :end"
    if window is None:
        source = f"SELECT customer, ts AS t, seq AS s, value AS v FROM events WHERE {where}"
    elif duck:
        source = (
            "SELECT customer, arg_max(ts, seq) AS t, max(seq) AS s, arg_max(value, seq) AS v "
            f"FROM events WHERE {where} GROUP BY customer, ts // {HOUR}"
        )
    else:  # SQLite: a bare column next to MAX() comes from the row holding the maximum
        source = (
            "SELECT customer, ts AS t, MAX(seq) AS s, value AS v "
            f"FROM events WHERE {where} GROUP BY customer, ts / {HOUR}"
        )
    aggregate = {
        "sum": "sum(v)",
        "count": "count(*)",
        "last": f"arg_max(v, t * {LAST_KEY} + s)" if duck else f"v, max(t * {LAST_KEY} + s)",
    }[formula]
    keys = "w" if one_customer else "customer, w"
    sql = (
        f"SELECT {'' if one_customer else 'customer, '}(t - :start) {div} :step AS w, {aggregate} "
        f"FROM ({source}) GROUP BY {keys}"
    )
    return re.sub(r":(\w+)", r"$\1", sql) if duck else sql


def dense(rows: Sequence[Sequence[Any]], count: int) -> list[float]:
    """One customer's ``(w, value, ...)`` rows as `count` values, 0 for empty windows."""
    values = [0.0] * count
    for window, value, *_ in rows:
        values[window] = value
    return values


class _SQLBaseline:
    """What both SQL baselines share: one summary query per call, and closing."""

    dialect: str
    db: Any

    def summarize(
        self,
        formula: str,
        window: str | None,
        *,
        customer: str | None,
        start: int,
        end: int,
        step: int,
    ) -> list[Any]:
        """Run the summary query; dense values for one customer, the raw rows for all."""
        sql = summary_sql(self.dialect, formula, window, one_customer=customer is not None)
        params: dict[str, object] = {"start": start, "end": end, "step": step}
        if customer is None:
            rows: list[Any] = self.db.execute(sql, params).fetchall()
            return rows
        params["customer"] = customer
        return dense(self.db.execute(sql, params).fetchall(), (end - start) // step)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()


class SQLiteBaseline(_SQLBaseline):
    """A hand-written SQLite events table in WAL mode with ``synchronous=NORMAL``."""

    dialect = "sqlite"

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute(f"PRAGMA synchronous = {synchronous}")
        self.db.executescript(SCHEMA)

    def load(self, events: Sequence[Event]) -> None:
        """Bulk insert in one transaction (``executemany``)."""
        self.db.execute("BEGIN")
        self.db.executemany(INSERT, (row(index, event) for index, event in enumerate(events)))
        self.db.execute("COMMIT")

    def load_csv(self, path: Path) -> int:
        """The hand-written file loader: `csv.reader` rows into `executemany`, one transaction.

        Reads a Stripe bulk-format CSV (identifier, timestamp, event_name, customer, value);
        how many rows it stored.
        """
        with path.open(newline="") as source:
            rows = csv.reader(source)
            next(rows)  # the header
            self.db.execute("BEGIN")
            cursor = self.db.executemany(
                INSERT,
                (
                    (seq, identifier, customer, int(timestamp), value)
                    for seq, (identifier, timestamp, _, customer, value) in enumerate(rows)
                ),
            )
            self.db.execute("COMMIT")
        return int(cursor.rowcount)

    def insert_each(self, events: Sequence[Event], *, seconds: float, limit: int) -> int:
        """Insert and commit one event at a time, for at most `seconds`; how many were done."""
        deadline = time.perf_counter() + seconds
        done = 0
        for index, event in enumerate(events[:limit]):
            self.db.execute(INSERT, row(index, event))  # autocommit: one transaction each
            done += 1
            if done % 64 == 0 and time.perf_counter() > deadline:
                break
        return done


class DuckDBBaseline(_SQLBaseline):
    """The same table in DuckDB, loaded from a CSV file with ``COPY``."""

    dialect = "duckdb"

    def __init__(self, duckdb: Any, path: Path) -> None:
        self.db = duckdb.connect(str(path))
        self.db.execute(
            "CREATE TABLE events (seq BIGINT PRIMARY KEY, identifier VARCHAR NOT NULL UNIQUE, "
            "customer VARCHAR NOT NULL, ts BIGINT NOT NULL, value DOUBLE NOT NULL)"
        )
        self.csv = path.with_suffix(".csv")

    def load(self, events: Sequence[Event]) -> None:
        """Write the events as CSV and ``COPY`` them in (both count as load time)."""
        with self.csv.open("w", newline="") as out:
            csv.writer(out).writerows(row(index, event) for index, event in enumerate(events))
        self.db.execute(f"COPY events FROM '{self.csv}' (FORMAT csv, HEADER false)")
        self.csv.unlink()
