"""PostgreSQL connection reuse: the last connection kept back for the next call, round trips."""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from psycopg import pq
from psycopg_pool import ConnectionPool

import meterlib.storage.postgres as postgres_module
from meterlib import ManualClock, Metering
from meterlib.storage.postgres import PostgresStorage
from tests.postgres.server import with_options

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
NOW = int(START.timestamp())
HOUR = 3_600
pytestmark = pytest.mark.postgres


def _store(url: str, pool_size: int, **options: str) -> tuple[Metering, PostgresStorage, str]:
    """A `Metering` with a pool of `pool_size`, its storage and a ``sum`` meter with events."""
    m = Metering(
        storage=with_options(url, pool_size=str(pool_size), **options), clock=ManualClock(START)
    )
    meter_id = m.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    ).id
    for offset in range(3):
        m.record("calls", customer="cus_1", value="1.5", timestamp=NOW - offset * HOUR)
    storage = m.storage
    assert isinstance(storage, PostgresStorage)
    return m, storage, meter_id


def _round_trips(storage: PostgresStorage, work: object) -> int:
    """How many round trips (``Sync`` messages) `work()` sends on the kept connection."""
    connection, since = storage._take()
    storage._give_back(connection, since)
    assert storage._spare == (connection, since)
    with tempfile.TemporaryFile("w+") as trace:
        connection.pgconn.trace(trace.fileno())
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()  # type: ignore[operator]
        finally:
            connection.pgconn.untrace()
        trace.seek(0)
        return sum(line.startswith("F") and line.rstrip().endswith("Sync") for line in trace)


def test_a_lone_caller_meets_one_server_process(url: str) -> None:
    """Calls one after another get the same connection back, not the pool's idlest one."""
    m, storage, meter_id = _store(url, pool_size=3)
    with m:
        pids = set()
        for _ in range(5):
            assert m.usage(meter_id, "cus_1", 0, 2**37) == 4.5
            with storage._connection() as connection:
                pids.add(connection.info.backend_pid)
        assert len(pids) == 1


def test_a_caller_waiting_for_the_pool_gets_the_connection_back(url: str) -> None:
    """With every connection out, the one returned goes to the waiting call, never kept back."""
    m, storage, _ = _store(url, pool_size=1, timeout="5")
    with m:
        errors: list[BaseException] = []

        def find() -> None:
            try:
                storage.find_event("none")
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

        with storage._connection():
            waiting = threading.Thread(target=find)
            waiting.start()
            deadline = time.monotonic() + 10
            while storage._busy < 2 and time.monotonic() < deadline:
                pass  # until the other call is under way (waiting for the pool)
        waiting.join(timeout=20)
        assert not waiting.is_alive()
        assert errors == []


def test_a_pool_lent_by_the_application_gets_every_connection_back(url: str, schema: str) -> None:
    """No connection of a pool passed in is kept back: the application may need them all."""
    conninfo = url.split("?", maxsplit=1)[0]
    with ConnectionPool(conninfo, min_size=2, max_size=2, kwargs={"autocommit": True}) as pool:
        pool.wait()
        with Metering(storage=PostgresStorage(pool, schema=schema), clock=ManualClock(START)) as m:
            meter_id = m.meters.create(
                display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
            ).id
            m.record("calls", customer="cus_1", value="2")
            assert m.usage(meter_id, "cus_1", 0, 2**37) == 2
            assert pool.get_stats()["pool_available"] == 2


def test_a_connection_out_past_the_spare_time_goes_back_to_the_pool(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept connection returns to the pool after SPARE_SECONDS, for its lifetime checks."""
    m, storage, meter_id = _store(url, pool_size=2)
    with m:
        monkeypatch.setattr(postgres_module, "SPARE_SECONDS", 0.0)
        m.usage(meter_id, "cus_1", 0, 2**37)
        assert storage._spare is None
        assert storage._pool.get_stats()["pool_available"] == 2


def test_close_closes_the_kept_connection(url: str) -> None:
    """Closing the store hands the kept connection back to the pool, which closes it."""
    m, storage, meter_id = _store(url, pool_size=2)
    m.usage(meter_id, "cus_1", 0, 2**37)
    assert storage._spare is not None
    spare, _ = storage._spare
    m.close()
    assert spare.closed
    assert storage._spare is None


def test_a_summary_is_one_round_trip_even_on_a_new_connection(url: str) -> None:
    """No separate Parse round trip: cold, the meter and the summary take one each; warm, one."""
    _, _, meter_id = _store(url, pool_size=1)
    with Metering(storage=with_options(url, pool_size="1"), clock=ManualClock(START)) as m:
        storage = m.storage
        assert isinstance(storage, PostgresStorage)

        def series() -> None:
            m.usage_series(
                meter_id, "cus_1", NOW - 2 * HOUR, NOW + HOUR, value_grouping_window="hour"
            )

        assert _round_trips(storage, series) == 2  # the meter's definition, then the summary
        for _ in range(6):  # psycopg prepares the statement at its fifth run
            assert _round_trips(storage, series) <= 2
        assert _round_trips(storage, series) == 1


def test_summaries_on_the_kept_connection_reuse_its_cursor(url: str) -> None:
    """Warm summaries share one cursor of the kept connection; it goes when the connection goes."""
    m, storage, meter_id = _store(url, pool_size=2)
    with m:
        series = [
            m.usage_series(
                meter_id, "cus_1", NOW - 2 * HOUR, NOW + HOUR, value_grouping_window="hour"
            )
            for _ in range(2)
        ]
        assert series[0] == series[1]
        assert [value for _, value in series[1]] == [1.5, 1.5, 1.5]
        reader = storage._reader
        assert reader is not None
        assert storage._spare is not None
        assert reader.connection is storage._spare[0]
        assert m.usage(meter_id, "cus_1", 0, 2**37) == Decimal("4.5")
        assert storage._reader is reader
        kept, since = storage._take()
        other = storage._take()  # a second call under way: the kept one goes back to the pool
        storage._give_back(kept, since)
        assert storage._reader is None
        storage._give_back(*other)
        assert m.usage(meter_id, "cus_1", 0, 2**37) == Decimal("4.5")
        assert storage._reader is not reader
        assert storage._reader is not None
        assert storage._reader.connection is other[0]


def test_the_pool_warms_each_connection_it_opens(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pooled connection has run `_warm` before any call uses it, and stays idle."""
    warmed: list[object] = []
    warm = PostgresStorage._warm

    def spy(storage: PostgresStorage, connection: object) -> None:
        warmed.append(connection)
        warm(storage, connection)  # type: ignore[arg-type]

    monkeypatch.setattr(PostgresStorage, "_warm", spy)
    with Metering(storage=with_options(url, pool_size="3"), clock=ManualClock(START)) as m:
        storage = m.storage
        assert isinstance(storage, PostgresStorage)
        assert len({id(connection) for connection in warmed}) == 3
        connection, since = storage._take()
        try:
            assert any(connection is seen for seen in warmed)
            assert connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
        finally:
            storage._give_back(connection, since)
