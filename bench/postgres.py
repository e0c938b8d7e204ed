"""PostgreSQL rows, each beside a hand-written psycopg baseline of the same work in the same run.

The server is ``METERLIB_TEST_POSTGRES_URL`` when set, otherwise a throwaway one started with
`tests.postgres.cluster` (and stopped afterwards); without server binaries or psycopg the rows
say so (``n/a``) and the run goes on. Baselines (backend ``psycopg``) use a bare table
``(seq bigserial, identifier text UNIQUE, customer text, ts bigint, value numeric)`` with an
index on ``(customer, ts) INCLUDE (value)``: a per-row ``INSERT`` in autocommit (one commit
each), one ``COPY`` of every event, and one indexed ``GROUP BY`` per summary. Summaries are
timed after ``VACUUM (ANALYZE)`` of the bare table and every store (`_Bare.settle`).

Also here, because they need the same store-building: the SQLite database size against the
sqlite3 baseline table of the same events, and cold against warm summaries (the first query
for a customer after reopening the store, against the same query repeated) on SQLite and
PostgreSQL, each beside the bare query's cold and warm times.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import statistics
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bench import data
from bench.baselines import SQLiteBaseline, summary_sql
from bench.measure import interleaved_medians, timed
from bench.report import (
    BULK,
    COLD_SUMMARY,
    HOURLY_SERIES,
    PER_EVENT,
    STORE_SIZE,
    WARM_SUMMARY,
    Row,
    latency_row,
    missing_row,
    rate_row,
)
from bench.workloads import variant_name
from meterlib import Metering

HOURLY = HOURLY_SERIES
BACKEND = "postgres"
BASELINE = "psycopg"
PER_EVENT_LIMIT = 5_000
"""Events the per-event rows send (each one a commit), at most."""
COLD_CUSTOMERS = 7
"""Reopen-then-query rounds of the cold rows, each on a customer not queried before."""
FORMULAS = ("sum", "count", "last")

BARE_TABLE = """
CREATE TABLE {t} (
    seq        bigserial PRIMARY KEY,
    identifier text NOT NULL UNIQUE,
    customer   text NOT NULL,
    ts         bigint NOT NULL,
    value      numeric NOT NULL
);
CREATE INDEX ON {t} (customer, ts) INCLUDE (value);
"""
BARE_SUMMARY = {
    "sum": "SELECT (ts - %(start)s) / 3600 AS w, sum(value) FROM {t} WHERE customer = %(c)s "
    "AND ts >= %(start)s AND ts < %(end)s GROUP BY w",
    "count": "SELECT (ts - %(start)s) / 3600 AS w, count(*) FROM {t} WHERE customer = %(c)s "
    "AND ts >= %(start)s AND ts < %(end)s GROUP BY w",
    "last": "SELECT DISTINCT ON (w) (ts - %(start)s) / 3600 AS w, value FROM {t} "
    "WHERE customer = %(c)s AND ts >= %(start)s AND ts < %(end)s ORDER BY w, ts DESC, seq DESC",
}
"""The indexed GROUP BY a user writes for one customer's hourly series (``{t}`` the table)."""


@contextlib.contextmanager
def server() -> Iterator[str | None]:
    """A PostgreSQL URL for the run, or None with the reason logged; stopped afterwards."""
    from tests.postgres.cluster import URL_VARIABLE, Cluster, binaries  # noqa: PLC0415

    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        return
    bin_dir = binaries()
    if bin_dir is None:
        yield None
        return
    cluster = Cluster(bin_dir)
    try:
        cluster.init().start()
        yield cluster.url
    finally:
        cluster.destroy()


def unavailable() -> str | None:
    """Why the PostgreSQL rows cannot run here, or None."""
    try:
        import psycopg  # noqa: F401, PLC0415 -- the optional extra
        import psycopg_pool  # noqa: F401, PLC0415
    except ImportError:
        return "psycopg not installed: pip install 'meterlib[postgres]'"
    from tests.postgres.cluster import URL_VARIABLE, binaries  # noqa: PLC0415

    if not os.environ.get(URL_VARIABLE) and binaries() is None:
        return f"no PostgreSQL server binaries and no {URL_VARIABLE}: apt-get install postgresql"
    return None


class _Bare:
    """The hand-written psycopg baseline: one connection (autocommit), one table per use."""

    def __init__(self, url: str) -> None:
        import psycopg  # noqa: PLC0415

        self.url = url
        self.db = psycopg.connect(url, autocommit=True)
        self.tables: list[str] = []

    def table(self) -> str:
        """A fresh bare table."""
        name = f"bare_{uuid.uuid4().hex[:12]}"
        self.db.execute(BARE_TABLE.replace("{t}", name))
        self.tables.append(name)
        return name

    def insert_each(self, table: str, events: Sequence[data.Event]) -> None:
        """One ``INSERT`` per event, each its own transaction."""
        sql = f"INSERT INTO {table} (identifier, customer, ts, value) VALUES (%s, %s, %s, %s)"
        execute = self.db.execute
        for event in events:
            payload = event["payload"]
            execute(
                sql,
                (
                    event["identifier"],
                    payload[data.CUSTOMER_KEY],
                    event["timestamp"],
                    payload[data.VALUE_KEY],
                ),
            )

    def copy(self, table: str, events: Sequence[data.Event]) -> None:
        """Every event in one ``COPY`` (one transaction); `settle` analyzes it later."""
        columns = "identifier, customer, ts, value"
        with self.db.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for event in events:
                payload = event["payload"]
                copy.write_row(
                    (
                        event["identifier"],
                        payload[data.CUSTOMER_KEY],
                        event["timestamp"],
                        payload[data.VALUE_KEY],
                    )
                )

    def settle(self, tables: Sequence[str]) -> None:
        """``VACUUM (ANALYZE)`` each table, the state autovacuum soon leaves a loaded table in.

        Measuring right after a load would race autovacuum, which visits the tables one by
        one: a query on a table it has visited reads the visibility map, not the heap, and
        ran up to 2.6x faster in this suite's own runs (the first rounds ahead, the later
        ones behind), whichever contender the race favoured.
        """
        for table in tables:
            self.db.execute(f"VACUUM (ANALYZE) {table}")

    def size(self, table: str) -> int:
        """Bytes on disk of `table`, its indexes and TOAST included."""
        row = self.db.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
        assert row is not None
        return int(row[0])

    def close(self) -> None:
        """Drop the tables and close."""
        for name in self.tables:
            self.db.execute(f"DROP TABLE IF EXISTS {name}")
        self.db.close()


def _schema_url(url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    return f"{url}{'&' if '?' in url else '?'}schema={schema}", schema


def _store(url: str, formula: str) -> tuple[Metering, str]:
    m = Metering(storage=url, clock=data.clock())
    meter = m.meters.create(
        display_name=formula,
        event_name=data.EVENT_NAME,
        default_aggregation={"formula": formula},
    )
    return m, meter.id


def _bulk(m: Metering, events: Sequence[data.Event], batch: int) -> None:
    for first in range(0, len(events), batch):
        m.meter_events.create_many(events[first : first + batch])


def _each(m: Metering, events: Sequence[data.Event]) -> None:
    create = m.meter_events.create
    for event in events:
        create(**event)


class PostgresRows:
    """Measures the PostgreSQL rows (and SQLite size, cold/warm) for a `bench.suite.Suite`."""

    def __init__(
        self,
        *,
        events: Sequence[data.Event],
        customers: Sequence[str],
        batch: int,
        repeats: int,
        scratch: Path,
        log: Callable[[str], None],
    ) -> None:
        self.events = events
        self.customers = customers
        self.batch = batch
        self.repeats = repeats
        self.scratch = scratch
        self.log = log
        self.rows: list[Row] = []

    # --- the section ---------------------------------------------------------------------

    def run(self) -> list[Row]:
        """Every row: SQLite size and cold/warm first, then PostgreSQL's (or why not)."""
        self.sqlite_size_and_cold()
        why = unavailable()
        if why is not None:
            for workload, variant in (
                (PER_EVENT, INGEST),
                (BULK, INGEST),
                (HOURLY, INGEST),
                (COLD_SUMMARY, INGEST),
            ):
                self.rows.append(missing_row(workload, variant, BACKEND, why))
            return self.rows
        with server() as url:
            if url is None:
                self.rows.append(missing_row(PER_EVENT, INGEST, BACKEND, "no server"))
                return self.rows
            self.log(f"PostgreSQL at {url}")
            bare = _Bare(url)
            try:
                self.postgres(url, bare)
            finally:
                bare.close()
        return self.rows

    def postgres(self, url: str, bare: _Bare) -> None:
        """Per-event, bulk, hourly summaries and cold/warm on PostgreSQL beside psycopg."""
        events = self.events
        few = events[: min(len(events), PER_EVENT_LIMIT)]
        store_url, _ = _schema_url(url)
        m, _ = _store(store_url, "sum")
        try:
            table = bare.table()
            # taking turns: the baseline loop, then meterlib's, on the same events
            base_seconds = _seconds(partial(bare.insert_each, table, few))
            seconds = _seconds(partial(_each, m, few), profile=True)
        finally:
            m.close()
        self.rows.append(rate_row(PER_EVENT, INGEST, BASELINE, len(few), base_seconds))
        self.rows.append(rate_row(PER_EVENT, INGEST, BACKEND, len(few), seconds))

        copied = bare.table()
        base_seconds = _seconds(partial(bare.copy, copied, events))
        self.rows.append(rate_row(BULK, INGEST, BASELINE, len(events), base_seconds))
        stores: dict[str, tuple[Metering, str, str]] = {}
        try:
            schemas = []
            for formula in FORMULAS:
                store_url, schema = _schema_url(url)
                schemas.append(schema)
                m, meter_id = _store(store_url, formula)
                stores[formula] = (m, meter_id, store_url)
                seconds = _seconds(partial(_bulk, m, events, self.batch), profile=True)
                if formula == "sum":
                    self.rows.append(rate_row(BULK, INGEST, BACKEND, len(events), seconds))
            bare.settle([copied, *(f"{schema}.events" for schema in schemas)])
            self._size_postgres(bare, copied, f"{schemas[0]}.events")
            self._summaries(stores, bare, copied)
            self._cold_postgres(stores["sum"], bare, copied)
        finally:
            for m, _, _ in stores.values():
                m.close()

    def _size_postgres(self, bare: _Bare, table: str, events: str) -> None:
        """The events table with its indexes (vacuumed) beside the bare table with its own."""
        sizes = [bare.size(name) for name in (table, events)]
        note = f"{sizes[1] / 2**20:.1f} MiB vs {sizes[0] / 2**20:.1f} MiB"
        for backend, size, text in ((BASELINE, sizes[0], ""), (BACKEND, sizes[1], note)):
            self.rows.append(
                Row(STORE_SIZE, PG_VARIANT, backend, "MiB", size / 2**20, cost=size, note=text)
            )

    # --- summaries -----------------------------------------------------------------------

    def _summaries(
        self, stores: dict[str, tuple[Metering, str, str]], bare: _Bare, table: str
    ) -> None:
        customer = self.customers[0]
        start, end = data.START, data.END
        for formula in FORMULAS:
            m, meter_id, _ = stores[formula]
            sql = BARE_SUMMARY[formula].replace("{t}", table)
            params = {"c": customer, "start": start, "end": end}

            def ours(m: Metering = m, meter_id: str = meter_id) -> list[Any]:
                series = m.usage_series(
                    meter_id, customer, start, end, value_grouping_window="hour"
                )
                return list(series.values)  # one value per window, as the bare query's list

            def theirs(sql: str = sql, params: dict[str, Any] = params) -> list[Any]:
                rows = bare.db.execute(sql, params).fetchall()
                values: list[Any] = [0] * ((end - start) // data.HOUR)
                for window, value in rows:
                    values[window] = value
                return values

            calls: dict[str, Callable[[], list[Any]]] = {BACKEND: ours, BASELINE: theirs}
            medians = interleaved_medians(calls, self.repeats, profiled={BACKEND})
            (got, seconds), (expected, base_seconds) = medians[BACKEND], medians[BASELINE]
            variant = variant_name(formula, None)
            note = "" if got == expected else "MISMATCH with the bare query"
            self.rows.append(latency_row(HOURLY, variant, BASELINE, base_seconds))
            self.rows.append(latency_row(HOURLY, variant, BACKEND, seconds, note))
            if formula == "sum":
                self.rows.append(latency_row(WARM_SUMMARY, PG_VARIANT, BASELINE, base_seconds))
                self.rows.append(latency_row(WARM_SUMMARY, PG_VARIANT, BACKEND, seconds))

    def _cold_postgres(self, store: tuple[Metering, str, str], bare: _Bare, table: str) -> None:
        """First query for a fresh customer on a fresh store object vs a fresh connection."""
        import psycopg  # noqa: PLC0415

        _, meter_id, url = store
        start, end = data.START, data.END
        sql = BARE_SUMMARY["sum"].replace("{t}", table)
        cold, bare_cold = [], []
        for customer in self.customers[1 : 1 + COLD_CUSTOMERS]:
            with Metering(storage=url, clock=data.clock()) as m:
                cold.append(
                    _seconds(
                        partial(
                            m.usage_series,
                            meter_id,
                            customer,
                            start,
                            end,
                            value_grouping_window="hour",
                        )
                    )
                )
            with psycopg.connect(bare.url, autocommit=True) as db:
                params = {"c": customer, "start": start, "end": end}
                bare_cold.append(_seconds(partial(_fetch, db, sql, params)))
        variant = PG_VARIANT
        self.rows.append(latency_row(COLD_SUMMARY, variant, BASELINE, statistics.median(bare_cold)))
        self.rows.append(latency_row(COLD_SUMMARY, variant, BACKEND, statistics.median(cold)))

    # --- SQLite: size, cold and warm -----------------------------------------------------

    def sqlite_size_and_cold(self) -> None:
        """SQLite store size vs the bare sqlite3 table; cold vs warm first queries."""
        events = self.events
        path = self.scratch / "size.db"
        bare_path = self.scratch / "size-bare.db"
        for stale in (path, bare_path):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{stale}{suffix}").unlink(missing_ok=True)
        m, meter_id = _store(f"sqlite:///{path}", "sum")
        _bulk(m, events, self.batch)
        m.close()
        baseline = SQLiteBaseline(bare_path)
        baseline.load(events)
        baseline.close()
        size, bare_size = _file_size(path), _file_size(bare_path)
        note = f"{size / 2**20:.1f} MiB vs {bare_size / 2**20:.1f} MiB"
        self.rows.append(
            Row(STORE_SIZE, INGEST, "sqlite3", "MiB", bare_size / 2**20, cost=bare_size)
        )
        self.rows.append(
            Row(STORE_SIZE, INGEST, "sqlite", "MiB", size / 2**20, cost=size, note=note)
        )
        self._cold_sqlite(path, bare_path, meter_id)

    def _cold_sqlite(self, path: Path, bare_path: Path, meter_id: str) -> None:
        start, end = data.START, data.END
        sql = summary_sql("sqlite", "sum", None, one_customer=True)
        cold, bare_cold, warm, bare_warm = [], [], [], []
        for customer in self.customers[1 : 1 + COLD_CUSTOMERS]:
            params = {"customer": customer, "start": start, "end": end, "step": data.HOUR}
            with Metering(storage=f"sqlite:///{path}", clock=data.clock()) as m:

                def ours(m: Metering = m, customer: str = customer) -> object:
                    return m.usage_series(
                        meter_id, customer, start, end, value_grouping_window="hour"
                    )

                cold.append(_seconds(ours))
                warm.append(min(_seconds(ours) for _ in range(5)))
            db = sqlite3.connect(bare_path)
            try:
                query = partial(_fetch, db, sql, params)
                bare_cold.append(_seconds(query))
                bare_warm.append(min(_seconds(query) for _ in range(5)))
            finally:
                db.close()
        variant = variant_name("sum", None)
        self.rows.append(
            latency_row(COLD_SUMMARY, variant, "sqlite3", statistics.median(bare_cold))
        )
        self.rows.append(latency_row(COLD_SUMMARY, variant, "sqlite", statistics.median(cold)))
        self.rows.append(
            latency_row(WARM_SUMMARY, variant, "sqlite3", statistics.median(bare_warm))
        )
        self.rows.append(latency_row(WARM_SUMMARY, variant, "sqlite", statistics.median(warm)))


INGEST = variant_name("sum", None)
PG_VARIANT = f"{INGEST}, PostgreSQL"
"""The cold and warm rows' variant on PostgreSQL, so they meet only the psycopg baseline."""


def _seconds(work: Callable[[], object], *, profile: bool = False) -> float:
    """Seconds `work` took (`bench.measure.timed`)."""
    return timed(work, profile=profile)[1]


def _fetch(db: Any, sql: str, params: dict[str, Any]) -> list[Any]:
    """Every row of one query."""
    rows: list[Any] = db.execute(sql, params).fetchall()
    return rows


def _file_size(path: Path) -> int:
    """The database file and its WAL, in bytes."""
    return sum(
        Path(f"{path}{suffix}").stat().st_size
        for suffix in ("", "-wal")
        if Path(f"{path}{suffix}").exists()
    )
