"""PostgreSQL backend specifics: URLs, the schema and its migration, pools, coded driver errors."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from meterlib import ConfigurationError, ManualClock, Metering, StorageError
from meterlib.storage import storage_from_url
from meterlib.storage.postgres import SCHEMA_VERSION, PostgresStorage, parse_postgres_url
from tests.postgres.server import with_options

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 10, 12, tzinfo=UTC)
pytestmark = pytest.mark.postgres


def _metering(url: str) -> Metering:
    return Metering(storage=url, clock=ManualClock(START))


def _calls(m: Metering, formula: str = "sum") -> str:
    meter = m.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": formula}
    )
    return meter.id


@pytest.mark.parametrize(
    "option",
    ["schema=Upper", "schema=a-b", "pool_size=0", "pool_size=1.5", "timeout=-1", "timeout=nan"],
)
def test_bad_url_options_are_storage_url_invalid(option: str) -> None:
    """A bad schema name, pool size or timeout is refused before any connection is made."""
    with pytest.raises(ConfigurationError) as raised:
        parse_postgres_url(f"postgresql://nobody@127.0.0.1:1/db?{option}")
    assert raised.value.code == "storage_url_invalid"


def test_tables_live_in_the_named_schema_at_the_current_version(url: str, schema: str) -> None:
    """``?schema=`` holds every table, stamped with the schema version; public stays empty."""
    _metering(url).close()
    with psycopg.connect(url.split("?", maxsplit=1)[0]) as connection:
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            )
        }
        assert {"meters", "events", "sessions", "event_log", "meterlib_schema"} <= tables
        (version,) = connection.execute(
            f'SELECT version FROM "{schema}".meterlib_schema'
        ).fetchone()  # type: ignore[misc]
        assert version == SCHEMA_VERSION


def test_a_version_2_store_migrates_its_null_value_texts(url: str, schema: str) -> None:
    """Migration 3 turns NULL ``value_text`` into ``''``; events and summaries read the same."""
    with _metering(url) as m:
        meter = _calls(m, "last")
        for number, value in enumerate(["2.5", "1E+2", "-0", "7"]):
            m.meter_events.create(
                event_name="calls",
                payload={"stripe_customer_id": "cus_1", "value": value},
                identifier=f"e{number}",
                timestamp=int(START.timestamp()) - 60 + number,
            )
        before = (
            m.storage.list_events(limit=10),
            m.usage(meter, "cus_1", START.replace(hour=11), START),
        )
    tables = f'"{schema}"'
    with psycopg.connect(url.split("?", maxsplit=1)[0], autocommit=True) as connection:
        connection.execute(  # back to version 2: NULL where no text is needed
            f"ALTER TABLE {tables}.events ALTER COLUMN value_text DROP NOT NULL, "
            "ALTER COLUMN value_text DROP DEFAULT; "
            f"UPDATE {tables}.events SET value_text = NULL WHERE value_text = ''; "
            f"UPDATE {tables}.meterlib_schema SET version = 2"
        )
        assert connection.execute(
            f"SELECT count(*) FROM {tables}.events WHERE value_text IS NULL"
        ).fetchone() == (2,)
    with _metering(url) as m:
        assert (
            m.storage.list_events(limit=10),
            m.usage(meter, "cus_1", START.replace(hour=11), START),
        ) == before
    with psycopg.connect(url.split("?", maxsplit=1)[0]) as connection:
        texts = connection.execute(
            f"SELECT value_text FROM {tables}.events ORDER BY seq"
        ).fetchall()
        assert texts == [("",), ("1E+2",), ("-0",), ("",)]


def test_processes_creating_one_schema_at_once_all_succeed(url: str) -> None:
    """Six processes opening a new schema together: the advisory lock lets one migrate it."""
    code = f"from meterlib import Metering; Metering(storage={url!r}).close()"
    processes = [
        subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err


def test_a_schema_of_another_application_is_refused_untouched(server_url: str, schema: str) -> None:
    """Tables meterlib did not create: storage_foreign, and nothing is added."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        connection.execute(f'CREATE TABLE "{schema}".orders (id int)')
    with pytest.raises(StorageError) as raised:
        PostgresStorage(with_options(server_url, schema=schema))
    assert raised.value.code == "storage_foreign"
    with psycopg.connect(server_url) as connection:
        count = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)
        ).fetchone()
        assert count == (1,)


def test_a_schema_from_a_newer_meterlib_is_refused(url: str, schema: str) -> None:
    """A version above this meterlib's: storage_version."""
    _metering(url).close()
    with psycopg.connect(url.split("?", maxsplit=1)[0], autocommit=True) as connection:
        connection.execute(f'UPDATE "{schema}".meterlib_schema SET version = 999')
    with pytest.raises(StorageError) as raised:
        PostgresStorage(url)
    assert raised.value.code == "storage_version"


def test_an_unreachable_server_is_storage_unavailable_with_the_driver_error_as_cause() -> None:
    """Nobody listening: storage_unavailable at once, the psycopg error as __cause__."""
    with pytest.raises(StorageError) as raised:
        storage_from_url("postgresql://nobody@127.0.0.1:1/db?timeout=1")
    assert raised.value.code == "storage_unavailable"
    assert isinstance(raised.value.__cause__, psycopg.OperationalError)


def test_a_statement_past_its_timeout_is_storage_timeout(
    url: str, server_url: str, schema: str
) -> None:
    """A summary blocked past statement_timeout: storage_timeout, QueryCanceled as cause."""
    with _metering(with_options(url, options="-c%20statement_timeout%3D200")) as m:
        meter_id = _calls(m)
        with psycopg.connect(server_url) as locker:
            locker.execute(f'LOCK TABLE "{schema}".events')
            with pytest.raises(StorageError) as raised:
                m.usage(meter_id, "cus_1", 0, 3600)
        assert raised.value.code == "storage_timeout"
        assert isinstance(raised.value.__cause__, psycopg.errors.QueryCanceled)


def test_a_lock_held_past_lock_timeout_is_storage_locked(
    url: str, server_url: str, schema: str
) -> None:
    """A write blocked past lock_timeout: storage_locked."""
    with _metering(with_options(url, options="-c%20lock_timeout%3D200")) as m:
        _calls(m)
        with psycopg.connect(server_url) as locker:
            locker.execute(f'LOCK TABLE "{schema}".events')
            with pytest.raises(StorageError) as raised:
                m.record("calls", customer="cus_1", value="1")
        assert raised.value.code == "storage_locked"


def test_no_free_connection_within_the_timeout_is_storage_timeout(url: str) -> None:
    """Every pooled connection busy past ``?timeout=``: storage_timeout, not a hang."""
    storage = PostgresStorage(with_options(url, pool_size="1", timeout="0.2"))
    try:
        # the only connection, held by this test
        with storage._pool.connection(), pytest.raises(StorageError) as raised:
            storage.find_event("req_1")
        assert raised.value.code == "storage_timeout"
    finally:
        storage.close()


def test_a_pool_passed_in_is_used_and_left_open(url: str, schema: str) -> None:
    """An application's pool of autocommit connections serves meterlib, which never closes it."""
    conninfo = url.split("?", maxsplit=1)[0]
    with ConnectionPool(conninfo, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        with Metering(storage=PostgresStorage(pool, schema=schema), clock=ManualClock(START)) as m:
            meter_id = _calls(m)
            m.record("calls", customer="cus_1", value="2.5")
            assert m.usage(meter_id, "cus_1", 0, 2**37) == Decimal("2.5")
        with pool.connection() as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)


def test_a_pool_of_transactional_connections_is_refused(url: str, schema: str) -> None:
    """Connections not in autocommit would hold transactions open: ConfigurationError."""
    conninfo = url.split("?", maxsplit=1)[0]
    with (
        ConnectionPool(conninfo, min_size=1, max_size=1) as pool,
        pytest.raises(ConfigurationError) as raised,
    ):
        PostgresStorage(pool, schema=schema)
    assert raised.value.code == "storage_pool_invalid"


def test_two_instances_share_identifiers_and_meters(url: str) -> None:
    """The database, not one instance's memory, decides an identifier is taken."""
    with _metering(url) as first, _metering(url) as second:
        meter_id = _calls(first, "count")
        first.record("calls", customer="cus_1", identifier="once")
        with pytest.raises(Exception, match="already") as raised:
            second.record("calls", customer="cus_1", identifier="once")
        assert getattr(raised.value, "code", None) == "duplicate_meter_event"
        first.meters.deactivate(meter_id)
        with pytest.raises(Exception) as refused:
            second.record("calls", customer="cus_1")
        assert getattr(refused.value, "code", None) == "archived_meter"


def test_values_keep_their_written_form_through_numeric(url: str) -> None:
    """``1E+2`` and ``-0.0`` come back as written from ``last``; sums are exact numerics."""
    with _metering(url) as m:
        meter_id = m.meters.create(
            display_name="Last", event_name="last", default_aggregation={"formula": "last"}
        ).id
        for value, customer in (("1E+2", "a"), ("-0.0", "b")):
            m.record("last", customer=customer, value=value)
            assert str(m.usage(meter_id, customer, 0, 2**37)) == value
        sums = _calls(m)
        for _ in range(10):
            m.record("calls", customer="c", value="0.1")
        assert str(m.usage(sums, "c", 0, 2**37)) == "1.0"


def test_payloads_implied_by_the_meter_are_not_stored_twice(url: str, schema: str) -> None:
    """Customer and value under the meter's keys store no payload text; anything more does."""
    with _metering(url) as m:
        _calls(m)
        m.record("calls", customer="cus_1", value="2", identifier="plain")
        m.meter_events.create(
            event_name="calls",
            payload={"stripe_customer_id": "cus_1", "value": "2", "region": "eu"},
            identifier="extra",
        )
    with psycopg.connect(url.split("?", maxsplit=1)[0]) as connection:
        rows: dict[str, str | None] = dict(
            connection.execute(f'SELECT identifier, payload FROM "{schema}".events').fetchall()
        )
    assert rows["plain"] is None
    assert rows["extra"] == '{"stripe_customer_id": "cus_1", "value": "2", "region": "eu"}'


def test_concurrent_threads_of_one_instance_lose_nothing(url: str) -> None:
    """Threads sharing one instance (and its pool) lose no event."""
    with _metering(with_options(url, pool_size="4")) as m:
        meter_id = _calls(m, "count")

        def write(worker: int) -> None:
            for index in range(100):
                m.record("calls", customer="cus_1", identifier=f"t{worker}-{index}")

        threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert m.usage(meter_id, "cus_1", 0, 2**37) == 400


def test_meterlib_imports_without_psycopg() -> None:
    """``import meterlib`` and the memory and SQLite backends never import the driver."""
    code = (
        "import sys, meterlib; from meterlib import Metering; Metering('sqlite://').close(); "
        "assert 'psycopg' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
