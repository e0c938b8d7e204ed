"""SQLite backend specifics: persistence, files that are not ours, locks, URLs, errors."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import meterlib.storage as storage_module
import meterlib.storage.sqlite as sqlite_module
from meterlib import ConfigurationError, ManualClock, Metering, StorageError
from meterlib.storage import NewEvent, known_schemes, storage_from_url
from meterlib.storage.sqlite import SCHEMA_VERSION, SQLiteStorage, parse_sqlite_url
from tests.sqlite.old_stores import write_old_store
from tests.sqlite.probes import counted_steps

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY_START = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open(path: Path, clock: ManualClock | None = None) -> Metering:
    return Metering(storage=f"sqlite:///{path}", clock=clock or ManualClock(START))


def test_reopened_file_has_every_meter_event_cancellation_and_status(tmp_path: Path) -> None:
    """Closing and reopening the file shows exactly the same meters, usage and statuses."""
    path = tmp_path / "usage.db"
    clock = ManualClock(START)
    with _open(path, clock) as m:
        calls = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
        )
        old = m.meters.create(
            display_name="Old", event_name="old", default_aggregation={"formula": "count"}
        )
        m.record("calls", customer="cus_1", value="2.5", identifier="a")
        m.record("calls", customer="cus_1", value="4", identifier="b")
        m.meter_event_adjustments.create(
            event_name="calls", type="cancel", cancel={"identifier": "b"}
        )
        m.meters.deactivate(old.id)
        before = [meter.to_dict() for meter in m.meters.list()]
    with _open(path, clock) as m:
        assert [meter.to_dict() for meter in m.meters.list()] == before
        assert m.usage(calls.id, "cus_1", DAY_START, DAY_START + 86_400) == Decimal("2.5")
        with pytest.raises(Exception, match="already cancelled"):
            m.meter_event_adjustments.create(
                event_name="calls", type="cancel", cancel={"identifier": "b"}
            )
        with pytest.raises(Exception, match="already exists"):
            m.record("calls", customer="cus_1", value="1", identifier="a")


def test_new_file_uses_wal_and_records_its_schema_version(tmp_path: Path) -> None:
    """A new store is in WAL mode and stamped with the current schema version."""
    path = tmp_path / "usage.db"
    _open(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version FROM meterlib_schema").fetchall() == [(SCHEMA_VERSION,)]
    finally:
        db.close()


def test_garbage_file_raises_storage_error_and_is_untouched(tmp_path: Path) -> None:
    """A file that is not SQLite gives a clear StorageError and keeps its bytes."""
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not a database, just some notes\n" * 200)
    digest = _digest(path)
    with pytest.raises(StorageError) as raised:
        _open(path)
    assert raised.value.code == "storage_corrupt"
    assert _digest(path) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_foreign_sqlite_database_is_refused_and_untouched(tmp_path: Path) -> None:
    """An SQLite file of another application is refused before anything is written to it."""
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total TEXT)")
    db.execute("INSERT INTO invoices (total) VALUES ('12.00')")
    db.commit()
    db.close()
    digest = _digest(path)
    with pytest.raises(StorageError) as raised:
        _open(path)
    assert raised.value.code == "storage_foreign"
    assert "invoices" in raised.value.message
    assert _digest(path) == digest


def test_store_from_a_newer_meterlib_is_refused(tmp_path: Path) -> None:
    """A schema version above what this meterlib knows raises instead of guessing."""
    path = tmp_path / "usage.db"
    _open(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meterlib_schema SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(StorageError) as raised:
        _open(path)
    assert raised.value.code == "storage_version"


def test_lock_held_past_timeout_raises_storage_error(tmp_path: Path) -> None:
    """A writer blocked past the busy timeout gets StorageError(storage_locked), not sqlite3."""
    path = tmp_path / "usage.db"
    m = Metering(storage=f"sqlite:///{path}?timeout=0.05", clock=ManualClock(START))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as raised:
            m.meters.create(
                display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
            )
        assert raised.value.code == "storage_locked"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    m.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    assert len(m.meters.list()) == 1
    m.close()


def test_closed_storage_raises_storage_error(tmp_path: Path) -> None:
    """Using a closed Metering raises StorageError(storage_closed)."""
    m = _open(tmp_path / "usage.db")
    m.close()
    with pytest.raises(StorageError) as raised:
        m.meters.list()
    assert raised.value.code == "storage_closed"


def test_missing_directory_raises_storage_error(tmp_path: Path) -> None:
    """A path in a directory that does not exist is a StorageError, not sqlite3's."""
    with pytest.raises(StorageError):
        _open(tmp_path / "missing" / "usage.db")


@pytest.mark.parametrize(
    ("url", "path", "options"),
    [
        ("sqlite://", ":memory:", {}),
        ("sqlite:///relative.db", "relative.db", {}),
        ("sqlite:////abs/path.db", "/abs/path.db", {}),
        (
            "sqlite:///usage.db?synchronous=full&timeout=2",
            "usage.db",
            {"synchronous": "full", "timeout": "2"},
        ),
    ],
)
def test_url_forms(url: str, path: str, options: dict[str, str]) -> None:
    """The sqlite URLs map to relative, absolute and in-memory databases with options."""
    assert parse_sqlite_url(url) == (path, options)


@pytest.mark.parametrize("url", ["sqlite:///x.db?journal=off", "sqlite:///x.db?synchronous=off"])
def test_bad_url_options_raise_configuration_error(url: str) -> None:
    """Unknown or unsupported options are rejected by name."""
    with pytest.raises(ConfigurationError):
        SQLiteStorage(url)


def test_unknown_scheme_lists_the_known_ones() -> None:
    """An unknown storage scheme raises ConfigurationError naming every known scheme."""
    with pytest.raises(ConfigurationError) as raised:
        Metering(storage="redis://localhost")
    assert "memory" in raised.value.message and "sqlite" in raised.value.message
    assert {"memory", "sqlite"} <= set(known_schemes())


def test_third_party_scheme_from_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend registered in the meterlib.storage entry-point group is found by its scheme."""
    entry = EntryPoint(
        name="custom", value="meterlib.storage.memory:MemoryStorage", group="meterlib.storage"
    )
    monkeypatch.setattr(storage_module, "entry_points", lambda group: [entry])
    assert "custom" in known_schemes()
    assert type(storage_from_url("custom://anything")).__name__ == "MemoryStorage"


def test_full_synchronous_option_is_applied(tmp_path: Path) -> None:
    """synchronous=full sets SQLite's FULL mode (2) on the connection."""
    storage = SQLiteStorage(f"sqlite:///{tmp_path / 'usage.db'}?synchronous=full")
    try:
        assert storage._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        storage.close()


def test_open_migrates_an_older_store_forward_keeping_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store at version N opens under a meterlib with N+1 migrations: migrated, data kept."""
    path = tmp_path / "usage.db"
    with _open(path) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
        )
        m.record("calls", customer="cus_1", value="3")
    newer = (*sqlite_module.MIGRATIONS, "CREATE INDEX events_by_created ON events (created)")
    monkeypatch.setattr(sqlite_module, "MIGRATIONS", newer)
    with _open(path) as m:
        assert m.usage(meter.id, "cus_1", DAY_START, DAY_START + 86_400) == Decimal(3)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT version FROM meterlib_schema").fetchall() == [(len(newer),)]
        assert db.execute(
            "SELECT name FROM sqlite_master WHERE name = 'events_by_created'"
        ).fetchall() == [("events_by_created",)]
    finally:
        db.close()


def test_failure_inside_a_write_rolls_back_and_the_store_stays_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error midway through a batch's transaction stores none of it; later writes work."""
    path = tmp_path / "usage.db"
    with _open(path) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
        )
        real_columns = SQLiteStorage._event_columns
        rows: list[NewEvent] = []

        def failing_columns(keys: Any, event: NewEvent) -> tuple[object, ...]:
            rows.append(event)
            if len(rows) == 2:
                raise sqlite3.OperationalError("disk I/O error")
            return real_columns(keys, event)

        monkeypatch.setattr(SQLiteStorage, "_event_columns", staticmethod(failing_columns))
        batch = [
            {"event_name": "calls", "payload": {"stripe_customer_id": "cus_1", "value": "1"}},
            {"event_name": "calls", "payload": {"stripe_customer_id": "cus_1", "value": "2"}},
        ]
        with pytest.raises(StorageError) as raised:
            m.meter_events.create_many(batch)
        assert raised.value.code == "storage_failure"
        monkeypatch.setattr(SQLiteStorage, "_event_columns", staticmethod(real_columns))
        assert m.usage(meter.id, "cus_1", DAY_START, DAY_START + 86_400) == 0
        m.record("calls", customer="cus_1", value="5")
        assert m.usage(meter.id, "cus_1", DAY_START, DAY_START + 86_400) == 5


@pytest.mark.parametrize("timeout", ["0", "0.05", "30", "86400", "1e3"])
def test_timeout_option_takes_finite_seconds_up_to_a_day(tmp_path: Path, timeout: str) -> None:
    """?timeout= accepts any finite number of seconds from 0 to 86400."""
    SQLiteStorage(f"sqlite:///{tmp_path / 'usage.db'}?timeout={timeout}").close()


@pytest.mark.parametrize(
    "timeout", ["nan", "inf", "-inf", "infinity", "-1", "-0.5", "86400.5", "1e300", "soon"]
)
def test_timeout_option_refuses_what_is_not_finite_seconds_up_to_a_day(timeout: str) -> None:
    """?timeout= of nan, an infinity, a negative number, over a day or not a number is refused."""
    with pytest.raises(ConfigurationError) as raised:
        SQLiteStorage(f"sqlite://?timeout={timeout}")
    assert (raised.value.code, raised.value.param) == ("storage_url_invalid", "storage")
    assert "86400" in raised.value.message


def test_a_version_1_store_gains_the_meter_status_index(tmp_path: Path) -> None:
    """A store made by schema 1 migrates to 2: meters_by_status exists, and lists page as before."""
    path = tmp_path / "usage.db"
    made = write_old_store(path, 1)
    with _open(path) as m:
        page = m.meters.list(status="active", limit=2, starting_after=made[4].id)
        assert [meter.id for meter in page] == [made[3].id, made[2].id]
        assert page.has_more
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT version FROM meterlib_schema").fetchall() == [(SCHEMA_VERSION,)]
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT body FROM meters WHERE status = 'active' AND seq < 3 "
            "ORDER BY seq DESC LIMIT 3"
        ).fetchall()
        assert "meters_by_status" in str(plan)
    finally:
        db.close()


def _steps_per_page(m: Metering, status: str | None, meters: int) -> float:
    """SQLite VM steps (counted by a progress handler) a page of 100, walking all `meters`.

    Steps, not seconds: the count is the same however loaded the machine is.
    """
    with counted_steps(m.storage._db, every=10) as steps:  # type: ignore[attr-defined]
        walked = sum(1 for _ in m.meters.list(status=status, limit=100).auto_paging_iter())
    assert walked == meters
    return steps.count / -(-meters // 100)


def test_walking_every_meter_costs_the_same_per_page_however_many_there_are(
    tmp_path: Path,
) -> None:
    """Paging through 8,000 meters costs what 2,000 do, per page, filtered or not (was O(n))."""
    with _open(tmp_path / "usage.db") as m:

        def make(first: int, stop: int) -> None:
            for i in range(first, stop):
                meter = m.meters.create(
                    display_name=f"M{i}", event_name=f"e{i}", default_aggregation={"formula": "sum"}
                )
                if i % 3 == 0:  # a third inactive: 1,333 of 2,000 active, 5,333 of 8,000
                    m.meters.deactivate(meter.id)

        make(0, 2_000)
        small = [_steps_per_page(m, None, 2_000), _steps_per_page(m, "active", 1_333)]
        make(2_000, 8_000)
        large = [_steps_per_page(m, None, 8_000), _steps_per_page(m, "active", 5_333)]
    # when every page read every meter, a page cost 4x as much at 4x the meters (8.6 s to walk
    # 10,000); now each reads its own 100 rows
    assert large[0] < 2 * small[0]
    assert large[1] < 2 * small[1]
