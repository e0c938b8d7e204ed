"""The workloads, each beside its baselines, run in one process on the same generated events."""

from __future__ import annotations

import gc
import importlib
import json
import math
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

from bench import data, http_load
from bench.baselines import DuckDBBaseline, Floor, SQLiteBaseline
from bench.files import import_rows
from bench.lower_bound import InlinedStore
from bench.lower_bound import each as inlined_each
from bench.measure import ROOT, best_seconds, interleaved_medians, timed
from bench.postgres import PostgresRows
from bench.report import (
    BUILD,
    BULK,
    COLD_OPEN,
    DURABLE_FULL,
    DURABLE_NORMAL,
    GROWTH,
    HTTP_STREAM,
    HTTP_V1,
    IMPORT,
    PER_EVENT,
    RSS,
    STREAM,
    Row,
    latency_row,
    missing_row,
    rate_row,
)
from bench.workloads import (
    QUERIES,
    VARIANTS,
    Query,
    has_create_many,
    ingest,
    ingest_each,
    new_store,
    summary_call,
    variant_name,
)
from meterlib import Metering
from meterlib.errors import ERROR_REPORT_TRIGGERED, NO_METER_FOUND
from meterlib.storage import known_schemes

WORKLOADS = (
    "per-event",
    "bulk",
    "file-import",
    "stream",
    "http",
    "durable",
    "summaries",
    "cold-open",
    "rss",
    "growth",
    "postgres",
)
"""The sections of a run, in the order they run; ``--only`` picks some."""
BACKENDS = ("memory", "sqlite")
INGEST_VARIANT = variant_name("sum", None)
IMPORT_ROWS = 1_000_000
"""Rows of the file-import rows' CSV in a default or full run (the issue's size)."""
STREAM_EVENTS = 200_000
"""Events the stream comparison sends (or all of them, if fewer)."""
RSS_MIN_EVENTS = 100_000
"""Below this many events the RSS projection is too rough to hold against the target."""
PROBE_EVENTS = 240
"""Events of the growth probe's queried day: 10 an hour, value 1.00 each."""
GROWTH_REPEATS = 100
"""Timings per store size in the growth check, of which the fastest counts."""
HTTP_EVENTS = 20_000
"""v1 events (one a request) and stream events (100 a call) the HTTP rows send, at most."""
HTTP_CLIENTS = 8
HTTP_CUSTOMERS = 10
GROWTH_PAUSE = 0.01
"""Seconds before each of the growth check's timings: 100 of them then span a second."""


_Store = tuple[Metering, str, str]
"""A summary store: its `Metering`, the meter's id, its URL."""


@dataclass(frozen=True, slots=True)
class Config:
    """Sizes and choices of one run (the command-line flags)."""

    events: int
    customers: int
    seed: int
    repeats: int
    sweep_repeats: int
    growth_events: int
    rss_events: int
    durable_seconds: float
    durable_events: int
    batch: int
    backends: tuple[str, ...]
    workloads: tuple[str, ...]

    @property
    def growth_sizes(self) -> tuple[int, int, int]:
        """Store sizes of the growth check: 1/50, 1/5 and all of `growth_events`."""
        return (self.growth_events // 50, self.growth_events // 5, self.growth_events)


def load_duckdb() -> Any:
    """The ``duckdb`` module, or None when it is not installed (bench-only dependency)."""
    try:
        return importlib.import_module("duckdb")
    except ImportError:
        return None


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    print(message, file=sys.stderr, flush=True)


def _same(got: Sequence[Any], expected: Sequence[Any]) -> bool:
    return len(got) == len(expected) and all(
        math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)
        for a, b in zip(got, expected, strict=True)
    )


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Suite:
    """One benchmark run: generated events, baselines built once, rows collected in order."""

    def __init__(self, config: Config, scratch: Path, duckdb: Any) -> None:
        self.config = config
        self.scratch = scratch
        self.duckdb = duckdb
        self.rows: list[Row] = []
        self.mismatches: list[str] = []
        self.errors: list[str] = []
        self.began = time.perf_counter()
        self.customers = data.customer_names(config.customers)
        self.log(f"generating {config.events:,} events over {config.customers:,} customers")
        self.events = list(data.generate(data.Spec(config.events, config.customers, config.seed)))
        # the events live to the end: out of the collection each timed call starts with (at 1M
        # events 0.23 s each, untimed but 4,000 of them in the stream rows alone; frozen, 2 µs)
        gc.freeze()
        self.sqlite_ok = "sqlite" in known_schemes()
        self._baselines: dict[str, SQLiteBaseline | DuckDBBaseline] | None = None
        self._durable_url: str | None = None

    def log(self, message: str) -> None:
        """Progress with the elapsed time."""
        log(f"[{time.perf_counter() - self.began:6.1f}s] {message}")

    # --- plumbing -----------------------------------------------------------------------------

    def run(self) -> None:
        """Run the chosen sections in order; an error is recorded and the run goes on."""
        for name in WORKLOADS:
            if name in self.config.workloads:
                self.log(f"{name} ...")
                self._guard(name, getattr(self, name.replace("-", "_")))
        for baseline in (self._baselines or {}).values():
            baseline.close()

    def _guard(self, what: str, work: Callable[[], object]) -> bool:
        try:
            work()
        except Exception as error:
            traceback.print_exc()
            self.errors.append(f"{what}: {error!r}")
            self.rows.append(missing_row(what, "", "", f"error: {error!r}"[:120]))
            return False
        return True

    def _backends(self, workload: str, variant: str) -> Iterator[str]:
        """The chosen backends this meterlib has; an n/a row for a chosen one it lacks."""
        for backend in self.config.backends:
            if backend == "sqlite" and not self.sqlite_ok:
                self.rows.append(missing_row(workload, variant, backend, "no sqlite backend"))
            else:
                yield backend

    def _url(self, backend: str, name: str) -> str:
        if backend == "memory":
            return "memory://"
        path = self.scratch / f"{name}.db"
        _remove_database(path)
        return f"sqlite:///{path}"

    def _drop(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            _remove_database(Path(url.removeprefix("sqlite:///").partition("?")[0]))

    def baselines(self) -> dict[str, SQLiteBaseline | DuckDBBaseline]:
        """The sqlite3 and DuckDB baseline tables holding the events; loads are timed once."""
        if self._baselines is None:
            self._baselines = {}
            events = self.events
            sqlite3_table = SQLiteBaseline(self.scratch / "baseline-sqlite3.db")
            _, seconds = timed(lambda: sqlite3_table.load(events))
            self.rows.append(rate_row(BULK, INGEST_VARIANT, "sqlite3", len(events), seconds))
            self._baselines["sqlite3"] = sqlite3_table
            if self.duckdb is None:
                self.rows.append(missing_row(BULK, INGEST_VARIANT, "duckdb", "not installed"))
            else:
                duck = DuckDBBaseline(self.duckdb, self.scratch / "baseline-duckdb.duckdb")
                _, seconds = timed(lambda: duck.load(events))
                self.rows.append(rate_row(BULK, INGEST_VARIANT, "duckdb", len(events), seconds))
                self._baselines["duckdb"] = duck
        return self._baselines

    # --- workloads ----------------------------------------------------------------------------

    def _against_floor(
        self,
        workload: str,
        backend: str,
        feed: Callable[[Sequence[data.Event]], object],
        inlined: Callable[[Sequence[data.Event]], object],
    ) -> None:
        """Time `feed`, the floor and the `inlined` sketch over the events, in turn: a row each.

        Taking turns batch by batch exposes all three to the same machine load, so their ratios
        hold when the load changes during the run. The sketch (`bench.lower_bound`) is every
        rule of the same call written out in one function: the pure-Python lower bound.
        """
        floor_store = Floor()
        totals = {"floor": 0.0, "inlined": 0.0, backend: 0.0}
        batch = self.config.batch
        for first in range(0, len(self.events), batch):
            chunk = self.events[first : first + batch]
            totals["floor"] += timed(partial(floor_store.feed, chunk))[1]
            totals["inlined"] += timed(partial(inlined, chunk))[1]
            totals[backend] += timed(partial(feed, chunk), profile=True)[1]
        for name, seconds in totals.items():
            self.rows.append(rate_row(workload, INGEST_VARIANT, name, len(self.events), seconds))

    def per_event(self) -> None:
        """(1) ``meter_events.create`` per event with full validation, against the floor."""
        metering, _ = new_store("memory://", "sum", None)
        sketch = InlinedStore(data.END)
        self._against_floor(
            PER_EVENT,
            "memory",
            partial(ingest_each, metering),
            partial(inlined_each, sketch.create),
        )
        metering.close()

    def bulk(self) -> None:
        """(2) The same events through ``create_many``, against floor, sqlite3 and DuckDB.

        The floor row is the one timed in turn with the memory store.
        """
        self.baselines()
        for backend in self._backends(BULK, INGEST_VARIANT):
            url = self._url(backend, "bulk")
            metering, _ = new_store(url, "sum", None)
            store = partial(ingest, metering, batch=self.config.batch)
            if not has_create_many(metering):
                self.rows.append(missing_row(BULK, INGEST_VARIANT, backend, "create_many missing"))
            elif backend == "memory":
                self._against_floor(BULK, backend, store, InlinedStore(data.END).create_many)
            else:
                _, seconds = timed(partial(store, self.events), profile=True)
                self.rows.append(rate_row(BULK, INGEST_VARIANT, backend, len(self.events), seconds))
            metering.close()
            self._drop(url)

    def file_import(self) -> None:
        """A CSV file of the events through ``m.import_events``, beside its baselines.

        See `bench.files`: memory against ``create_many``, SQLite against a hand-written
        ``csv`` + ``executemany`` loader, each the median of alternating rounds.
        """
        config = self.config
        events: Sequence[data.Event] = self.events
        if config.repeats >= 5 and len(events) < IMPORT_ROWS:  # not --quick: the size
            self.log(f"file-import: generating {IMPORT_ROWS:,} events")
            events = list(data.generate(data.Spec(IMPORT_ROWS, config.customers, config.seed)))
        self.rows += import_rows(
            events,
            self.scratch,
            backends=list(self._backends(IMPORT, "")),
            rounds=1 if len(events) >= IMPORT_ROWS or config.repeats < 5 else 3,
            batch=config.batch,
        )

    def stream(self) -> None:
        """v2 stream calls of 100 events against ``create_many`` of the same 100, in turn.

        Each backend gets two fresh stores; the batches go to one through the stream and to
        the other through ``create_many``, alternately, so both see the same load.
        """
        size = 100
        events = self.events[:STREAM_EVENTS]
        for backend in self._backends(STREAM, INGEST_VARIANT):
            variant = f"{INGEST_VARIANT} on {backend}"
            urls = [self._url(backend, f"stream-{kind}") for kind in ("stream", "many")]
            streamed, _ = new_store(urls[0], "sum", None)
            batched, _ = new_store(urls[1], "sum", None)
            stream_call = streamed.v2.billing.meter_event_stream.create
            token = streamed.v2.billing.meter_event_session.create().authentication_token
            totals = {backend: 0.0, "create_many": 0.0}
            for first in range(0, len(events), size):
                chunk = events[first : first + size]
                calls: list[tuple[str, Callable[[], object]]] = [
                    (backend, partial(stream_call, events=chunk, authentication_token=token)),
                    ("create_many", partial(batched.meter_events.create_many, chunk)),
                ]
                for name, call in calls if first // size % 2 else calls[::-1]:
                    totals[name] += timed(call)[1]  # each goes first every other batch
            if streamed.v2.core.events.list(types=[ERROR_REPORT_TRIGGERED, NO_METER_FOUND]).data:
                raise RuntimeError("the stream rejected benchmark events")
            for name, seconds in totals.items():
                self.rows.append(rate_row(STREAM, variant, name, len(events), seconds))
            for metering, url in ((streamed, urls[0]), (batched, urls[1])):
                metering.close()
                self._drop(url)

    def http(self) -> None:
        """v1 events and stream calls over loopback HTTP, beside the same events in process.

        The server runs in a child process (``bench.http_load``); 8 client threads send up to
        20,000 v1 events one a request and as many in 100-event stream calls, with an
        ``Idempotency-Key`` each, as the SDK does. The totals read back must be exact.
        """
        events = min(len(self.events), HTTP_EVENTS) // 100 * 100
        calls = events // 100
        for backend in self._backends(HTTP_V1, "20,000 events"):
            variant = f"{events:,} events, {HTTP_CLIENTS} clients"
            url = self._url(backend, "http")
            with http_load.served(url) as address:
                meter_id, token = http_load.setup(address)
                v1 = http_load.v1_load(
                    address, clients=HTTP_CLIENTS, events=events, customers=HTTP_CUSTOMERS
                )
                stream = http_load.stream_load(
                    address, token, clients=HTTP_CLIENTS, calls=calls, customers=HTTP_CUSTOMERS
                )
                found = http_load.totals(address, meter_id, HTTP_CUSTOMERS)
            self._drop(url)
            wanted = http_load.expected(events, HTTP_CUSTOMERS, Decimal(1))
            streamed = http_load.expected(events, HTTP_CUSTOMERS, Decimal(2))
            if v1.failures or stream.failures:
                self.errors.append(f"http {backend}: {(v1.failures + stream.failures)[:3]}")
            if found != {who: wanted[who] + streamed[who] for who in wanted}:
                self.mismatches.append(f"http {backend}: totals {found} are not the events sent")
            local_url = self._url(backend, "http-local")
            local_v1, local_stream = http_load.in_process(
                local_url, events=events, calls=calls, customers=HTTP_CUSTOMERS
            )
            self._drop(local_url)
            for workload, over_http, local in (
                (HTTP_V1, v1, local_v1),
                (HTTP_STREAM, stream, local_stream),
            ):
                row = rate_row(workload, variant, backend, over_http.events, over_http.seconds)
                row.note = f"{over_http.requests_per_second:,.0f} requests/s"
                self.rows.append(row)
                self.rows.append(
                    rate_row(
                        workload, variant, f"{backend} in process", local.events, local.seconds
                    )
                )

    def durable(self) -> None:
        """Per-event create, each committed before it returns, against a bare sqlite3 loop."""
        config = self.config
        events = self.events[: config.durable_events]
        for workload, synchronous in ((DURABLE_NORMAL, "NORMAL"), (DURABLE_FULL, "FULL")):
            path = self.scratch / f"bare-{synchronous}.db"
            bare = SQLiteBaseline(path, synchronous=synchronous)
            done, seconds = timed(
                partial(bare.insert_each, events, seconds=config.durable_seconds, limit=len(events))
            )
            bare.close()
            _remove_database(path)
            self.rows.append(rate_row(workload, INGEST_VARIANT, "sqlite3", done, seconds))
            if "sqlite" not in config.backends:
                continue
            if not self.sqlite_ok:
                self.rows.append(
                    missing_row(workload, INGEST_VARIANT, "sqlite", "no sqlite backend")
                )
                continue
            url = self._url("sqlite", f"durable-{synchronous}")
            if synchronous == "FULL":
                url += "?synchronous=full"
            metering, _ = new_store(url, "sum", None)
            done, seconds = timed(
                partial(ingest_each, metering, events, seconds=config.durable_seconds),
                profile=True,
            )
            metering.close()
            self._drop(url)
            self.rows.append(rate_row(workload, INGEST_VARIANT, "sqlite", done, seconds))

    def summaries(self) -> None:
        """(3) Every summary query, every formula, raw and pre-aggregated, every backend.

        For each meter variant the stores are built, then each query runs on every baseline and
        backend in turn, round after round (`interleaved_medians`), so ratios compare times
        taken under the same load.
        """
        for formula, window in VARIANTS:
            variant = variant_name(formula, window)
            stores: dict[str, _Store] = {}
            for backend in self._backends("summaries", variant):
                self.log(f"summaries: {variant}, building the {backend} store")
                self._guard(
                    f"summaries {variant} {backend} store",
                    partial(self._summary_store, stores, backend, formula, window),
                )
            self.log(f"summaries: {variant} queries")
            self._guard(
                f"summaries {variant}",
                partial(self._time_summaries, variant, formula, window, stores),
            )
            for backend, (metering, _, url) in stores.items():
                metering.close()
                if backend == "sqlite" and (formula, window) == ("sum", None):
                    self._durable_url = url  # kept for the cold-open workload
                else:
                    self._drop(url)

    def _repeats(self, query: Query) -> tuple[int, int]:
        """Timed repeats and warm-up calls: a sweep is a thousand calls, warm enough."""
        if query.all_customers:
            return self.config.sweep_repeats, 0
        return self.config.repeats, 1

    def _summary_store(
        self,
        stores: dict[str, _Store],
        backend: str,
        formula: str,
        window: str | None,
    ) -> None:
        """Build `backend`'s store of the events for one meter variant (a timed build row)."""
        url = self._url(backend, f"summaries-{formula}-{window or 'raw'}")
        metering, meter_id = new_store(url, formula, window)
        stores[backend] = (metering, meter_id, url)
        _, seconds = timed(lambda: ingest(metering, self.events, batch=self.config.batch))
        self.rows.append(
            rate_row(BUILD, variant_name(formula, window), backend, len(self.events), seconds)
        )

    def _time_summaries(
        self,
        variant: str,
        formula: str,
        window: str | None,
        stores: dict[str, _Store],
    ) -> None:
        """Every query on every baseline and store in turn; answers checked against sqlite3."""
        for query in QUERIES:
            calls: dict[str, Callable[[], list[Any]]] = {
                name: self._baseline_call(baseline, formula, window, query)
                for name, baseline in self.baselines().items()
            }
            for backend, (metering, meter_id, _) in stores.items():
                calls[backend] = summary_call(metering, meter_id, query, self.customers)
            repeats, warmup = self._repeats(query)
            timings = interleaved_medians(calls, repeats, warmup=warmup, profiled=set(stores))
            reference, _ = timings["sqlite3"]
            for name, (answer, seconds) in timings.items():
                row = latency_row(query.workload, variant, name, seconds)
                if not _same(answer, reference):
                    row.note = "MISMATCH with sqlite3"
                    self.mismatches.append(f"{query.workload} [{variant}] {name} != sqlite3")
                self.rows.append(row)

    def _baseline_call(
        self,
        baseline: SQLiteBaseline | DuckDBBaseline,
        formula: str,
        window: str | None,
        query: Query,
    ) -> Callable[[], list[Any]]:
        customer = None if query.all_customers else self.customers[0]

        def call() -> list[Any]:
            answer = baseline.summarize(
                formula,
                window,
                customer=customer,
                start=query.start,
                end=query.end,
                step=query.step,
            )
            if customer is not None:
                return answer
            by_window = {(row[0], row[1]): row[2] for row in answer}
            return [
                by_window.get((who, index), 0.0)
                for who in self.customers
                for index in range(query.windows)
            ]

        return call

    def cold_open(self) -> None:
        """(4) Open a durable store holding the events in a fresh process; first query."""
        variant = f"{len(self.events):,} events"
        if not self.sqlite_ok:
            self.rows.append(missing_row(COLD_OPEN, variant, "sqlite", "no sqlite backend"))
            return
        url = self._durable_url
        if url is None:
            url = self._url("sqlite", "cold-open")
            metering, _ = new_store(url, "sum", None)
            ingest(metering, self.events, batch=self.config.batch)
            metering.close()
        count = 3 if self.config.repeats >= 5 else 1  # each run is a new interpreter
        runs = [self._child("open", url, self.customers[0]) for _ in range(count)]
        opened = statistics.median(run["open_s"] for run in runs)
        answered = statistics.median(run["open_s"] + run["first_query_s"] for run in runs)
        self.rows.append(latency_row(COLD_OPEN, f"open, {variant}", "sqlite", opened))
        self.rows.append(latency_row(COLD_OPEN, "open + first hourly page", "sqlite", answered))
        self._drop(url)

    def rss(self) -> None:
        """Resident memory of an in-memory store holding `rss_events` events (a fresh process).

        The default run measures the issue's 1M events; smaller runs project linearly.
        """
        config = self.config
        events = config.rss_events
        result = self._child(
            "rss",
            "--events",
            str(events),
            "--customers",
            str(config.customers),
            "--seed",
            str(config.seed),
            "--batch",
            str(config.batch),
        )
        grown = result["rss_after"] - result["rss_before"]
        per_event = grown / max(events, 1)
        note = f"{per_event:.0f} B/event"
        self.rows.append(Row(RSS, f"{events:,} events", "memory", "MB", grown / 1e6, note=note))
        if events == 1_000_000:
            at_million, how = grown / 1e6, "measured"
        else:
            at_million, how = per_event * 1_000_000 / 1e6, "linear projection"
        reliable = events >= RSS_MIN_EVENTS  # fewer: fixed overheads dominate
        unit = "MB at 1M events" if reliable else "MB at 1M events (rough)"
        self.rows.append(Row(RSS, "at 1M events", "memory", unit, at_million, note=how))

    def growth(self) -> None:
        """The same one-day query on stores of growing size: cost must not follow size."""
        for backend in self._backends(GROWTH, ""):
            self.log(f"growth on {backend}")
            self._guard(f"growth {backend}", partial(self._growth, backend))

    def _growth(self, backend: str) -> None:
        config = self.config
        probe = self.customers[0]
        day = data.START + 15 * data.DAY
        url = self._url(backend, "growth")
        metering, meter_id = new_store(url, "sum", None)
        ingest(
            metering,
            [
                {
                    "event_name": data.EVENT_NAME,
                    "payload": {data.CUSTOMER_KEY: probe, data.VALUE_KEY: "1.00"},
                    "identifier": f"probe-{index}",
                    "timestamp": day + index * (data.DAY // PROBE_EVENTS),
                }
                for index in range(PROBE_EVENTS)
            ],
            batch=config.batch,
        )

        def query() -> list[Decimal]:
            page = metering.meters.list_event_summaries(
                meter_id,
                customer=probe,
                start_time=day,
                end_time=day + data.DAY,
                value_grouping_window="hour",
                limit=100,
            )
            return [summary.aggregated_value for summary in page]

        stored = 0
        timings = []
        for stage, size in enumerate(config.growth_sizes):
            filler = data.generate(
                data.Spec(size - stored, config.customers, config.seed + stage + 1)
            )
            while chunk := list(islice(filler, config.batch)):
                for event in chunk:  # the probe's queried day keeps only its own probe events
                    if (
                        event["payload"][data.CUSTOMER_KEY] == probe
                        and 0 <= event["timestamp"] - day < data.DAY
                    ):
                        event["timestamp"] -= data.DAY
                ingest(metering, chunk, batch=config.batch)
            stored = size
            answer, seconds = best_seconds(query, GROWTH_REPEATS, pause=GROWTH_PAUSE)
            row = latency_row(GROWTH, f"hourly 1 day @ {size:,} events", backend, seconds)
            if answer != [Decimal(PROBE_EVENTS // 24)] * 24:
                row.note = "MISMATCH"
                self.mismatches.append(f"{GROWTH} {backend} at {size}")
            self.rows.append(row)
            timings.append(seconds)
        metering.close()
        self._drop(url)
        ratio = config.growth_sizes[-1] // max(config.growth_sizes[0], 1)
        self.rows.append(
            Row(
                GROWTH,
                f"time ratio for {ratio}x the events",
                backend,
                "x",
                timings[-1] / timings[0],
            )
        )

    def postgres(self) -> None:
        """PostgreSQL beside bare psycopg; SQLite's size and cold/warm rows (`bench.postgres`)."""
        rows = PostgresRows(
            events=self.events,
            customers=self.customers,
            batch=self.config.batch,
            repeats=self.config.repeats,
            scratch=self.scratch,
            log=self.log,
        )
        self.rows.extend(rows.run())

    def _child(self, *arguments: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "bench.child", *arguments],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"bench.child {arguments[0]} failed: {done.stderr.strip()[-500:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result
