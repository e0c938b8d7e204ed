"""SQLite specifics of the v2 records: shared between connections, migrated, indexed, wrapped."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib import ManualClock, Metering, StorageError
from meterlib.storage import LogRecord, SessionRecord
from meterlib.storage.sqlite import SCHEMA_VERSION, SQLiteStorage, _log_page_sql
from tests.sqlite.old_stores import START, write_old_store
from tests.sqlite.probes import counted_steps

DAY_START = int(datetime(2026, 3, 10, tzinfo=UTC).timestamp())
REPO = Path(__file__).resolve().parents[2]
SESSION = SessionRecord(id="mes_1", token="tok_1", created=100, expires_at=1_000)


def entry(number: int, kind: str = "a", *, created: int = 100) -> LogRecord:
    """Log entry `number`: id ``evt_<number>``."""
    return LogRecord(id=f"evt_{number}", type=kind, created=created, body=f'{{"n": {number}}}')


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A database file path in a fresh directory."""
    return tmp_path / "usage.db"


@pytest.fixture
def storage(path: Path) -> Iterator[SQLiteStorage]:
    """A storage on `path`, closed afterwards."""
    opened = SQLiteStorage(f"sqlite:///{path}")
    yield opened
    opened.close()


def _plan(db: sqlite3.Connection, sql: str, params: tuple[str | int, ...] = ()) -> str:
    return str(db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())


# --- one file, many connections and processes ------------------------------------------------


def test_a_second_storage_on_the_file_finds_the_first_ones_session(
    storage: SQLiteStorage, path: Path
) -> None:
    """A session one connection adds is found by another opened on the same file."""
    other = SQLiteStorage(f"sqlite:///{path}")
    try:
        assert other.find_session("tok_1") is None  # looked up before: nothing cached
        storage.add_session(SESSION)
        assert other.find_session("tok_1") == SESSION
        assert other.purge_sessions(expired_by=1_000) == 1
        assert storage.find_session("tok_1") is None
    finally:
        other.close()


def test_a_token_taken_on_another_connection_is_a_conflict(
    storage: SQLiteStorage, path: Path
) -> None:
    """The database refuses a token or id another connection stored: storage_conflict."""
    other = SQLiteStorage(f"sqlite:///{path}")
    try:
        storage.add_session(SESSION)
        with pytest.raises(StorageError) as raised:
            other.add_session(SessionRecord(id="mes_2", token="tok_1", created=5, expires_at=9))
        assert raised.value.code == "storage_conflict"
        other.add_log_events([entry(1)])
        with pytest.raises(StorageError) as raised:
            storage.add_log_events([entry(2), entry(1)])
        assert raised.value.code == "storage_conflict"
        assert other.get_log_event("evt_2") is None
    finally:
        other.close()


def test_log_entries_written_on_one_connection_list_on_another(
    storage: SQLiteStorage, path: Path
) -> None:
    """Another connection lists, gets and purges the entries this one appended, in order."""
    other = SQLiteStorage(f"sqlite:///{path}")
    try:
        assert other.list_log_events(limit=10) == ([], False)
        storage.add_log_events([entry(1, created=10), entry(2, "b", created=20)])
        other.add_log_events([entry(3, created=30)])
        for reader in (storage, other):
            page = reader.list_log_events(limit=10)
            assert page is not None
            assert [record.id for record in page[0]] == ["evt_3", "evt_2", "evt_1"]
            assert reader.get_log_event("evt_2") == entry(2, "b", created=20)
        assert other.purge_log_events(created_before=20) == 1
        assert storage.get_log_event("evt_1") is None
    finally:
        other.close()


@pytest.mark.slow
def test_a_session_added_by_another_process_is_found(storage: SQLiteStorage, path: Path) -> None:
    """A session another process stores (and exits) is found here: the token works anywhere."""
    script = (
        "import sys\n"
        "from meterlib.storage import SessionRecord\n"
        "from meterlib.storage.sqlite import SQLiteStorage\n"
        "storage = SQLiteStorage(f'sqlite:///{sys.argv[1]}')\n"
        "storage.add_session(SessionRecord(id='mes_9', token='tok_9', created=1, expires_at=2))\n"
        "storage.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], cwd=REPO, check=True, timeout=60)
    assert storage.find_session("tok_9") == SessionRecord(
        id="mes_9", token="tok_9", created=1, expires_at=2
    )


# --- schema --------------------------------------------------------------------------------


def test_a_version_2_store_gains_sessions_and_the_event_log(path: Path) -> None:
    """A store made by schema 2 migrates to 3: its data kept, the new tables and indexes there."""
    made = write_old_store(path, 2)
    db = sqlite3.connect(path)
    try:
        assert not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").fetchall()
    finally:
        db.close()
    with Metering(storage=f"sqlite:///{path}", clock=ManualClock(START)) as m:
        assert m.usage(made[0].id, "cus_1", DAY_START, DAY_START + 86_400) == Decimal(3)
        assert list(m.meters.list(status="inactive")) == [made[1]]
        m.storage.add_session(SESSION)
        m.storage.add_log_events([entry(1)])
        assert m.storage.find_session("tok_1") == SESSION
        assert m.storage.get_log_event("evt_1") == entry(1)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT version FROM meterlib_schema").fetchall() == [(SCHEMA_VERSION,)]
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        assert {
            "sessions",
            "sessions_by_expiry",
            "event_log",
            "event_log_by_type",
            "event_log_by_created",
        } <= names
    finally:
        db.close()


def test_every_query_searches_an_index(storage: SQLiteStorage) -> None:
    """Pages (one type, several or none; both ways), gets, finds and purges search an index."""
    db = storage._db
    for backward in (False, True):
        for types in (1, 3):
            sql = _log_page_sql(types, from_cursor=True, backward=backward)
            plan = _plan(db, sql, ("a",) * types + (5, 3))
            assert "event_log_by_type (type=? AND seq" in plan
            # several types: a top-N sort, bounded by test_a_page_runs_the_same_sqlite_steps_...
            assert ("TEMP B-TREE" in plan) == (types > 1)
        whole = _plan(db, _log_page_sql(0, from_cursor=True, backward=backward), (5, 3))
        assert "INTEGER PRIMARY KEY" in whole and "TEMP B-TREE" not in whole
    assert "TEMP B-TREE" not in _plan(db, _log_page_sql(0, from_cursor=False, backward=False), (3,))
    assert "event_log_by_created" in _plan(db, "DELETE FROM event_log WHERE created < 5")
    assert "sessions_by_expiry" in _plan(db, "DELETE FROM sessions WHERE expires_at <= 5")
    assert "PRIMARY KEY (token=?)" in _plan(db, "SELECT id FROM sessions WHERE token = 'x'")
    assert "(id=?)" in _plan(db, "SELECT type FROM event_log WHERE id = 'x'")


def _page_steps(
    storage: SQLiteStorage,
    *,
    starting_after: str | None = None,
    ending_before: str | None = None,
    types: frozenset[str] | None = None,
) -> int:
    """How many SQLite VM instructions one 10-entry `list_log_events` call runs."""
    with counted_steps(storage._db) as steps:
        page = storage.list_log_events(
            limit=10, starting_after=starting_after, ending_before=ending_before, types=types
        )
    assert page is not None and len(page[0]) == 10
    return steps.count


def test_a_page_runs_the_same_sqlite_steps_whatever_the_size_of_the_log(
    storage: SQLiteStorage,
) -> None:
    """A page from the middle, filtered by one type, two or none, costs no more at 20x the log."""

    def measure(stop: int) -> list[int]:
        middle = stop // 2 // 4 * 4
        a, b = f"evt_{middle}", f"evt_{middle + 1}"  # entries of type "a" and "b"
        return [
            _page_steps(storage, starting_after=b),
            _page_steps(storage, starting_after=a, types=frozenset("a")),
            _page_steps(storage, starting_after=b, types=frozenset("bc")),
            _page_steps(storage, ending_before=a, types=frozenset("a")),
            _page_steps(storage, ending_before=b, types=frozenset("bc")),
        ]

    storage.add_log_events([entry(n, "abcd"[n % 4]) for n in range(1_000)])
    small = measure(1_000)
    storage.add_log_events([entry(n, "abcd"[n % 4]) for n in range(1_000, 20_000)])
    large = measure(20_000)
    # were a filtered page to sort every entry of its types, it would take ~20x the steps
    assert all(big <= step * 1.1 + 20 for big, step in zip(large, small, strict=True)), (
        small,
        large,
    )


# --- driver errors -------------------------------------------------------------------------


def test_a_batch_failing_on_its_second_row_stores_none_of_it(storage: SQLiteStorage) -> None:
    """A driver error part way through a batch (a NULL body): storage_failure, nothing stored."""
    bad = LogRecord(id="evt_2", type="a", created=1, body=None)  # type: ignore[arg-type]
    with pytest.raises(StorageError) as raised:
        storage.add_log_events([entry(1), bad, entry(3)])
    assert raised.value.code == "storage_failure"
    assert storage.list_log_events(limit=10) == ([], False)
    storage.add_log_events([entry(1)])
    assert storage.get_log_event("evt_1") == entry(1)


def test_a_locked_file_makes_every_record_write_storage_locked(path: Path) -> None:
    """Blocked past the busy timeout, each record write raises storage_locked and stores nothing."""
    storage = SQLiteStorage(f"sqlite:///{path}?timeout=0.05")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        writes: list[Callable[[], object]] = [
            lambda: storage.add_session(SESSION),
            lambda: storage.purge_sessions(expired_by=5),
            lambda: storage.add_log_events([entry(1)]),
            lambda: storage.purge_log_events(created_before=5),
        ]
        for write in writes:
            with pytest.raises(StorageError) as raised:
                write()
            assert raised.value.code == "storage_locked"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert storage.find_session("tok_1") is None
    assert storage.list_log_events(limit=10) == ([], False)
    storage.close()


def test_every_record_method_of_a_closed_storage_raises_storage_closed(
    storage: SQLiteStorage,
) -> None:
    """After close, each session and log method raises StorageError(storage_closed)."""
    storage.close()
    calls: list[Callable[[], object]] = [
        lambda: storage.add_session(SESSION),
        lambda: storage.find_session("tok_1"),
        lambda: storage.purge_sessions(expired_by=5),
        lambda: storage.add_log_events([]),
        lambda: storage.add_log_events([entry(1)]),
        lambda: storage.list_log_events(limit=10),
        lambda: storage.get_log_event("evt_1"),
        lambda: storage.purge_log_events(created_before=5),
    ]
    for call in calls:
        with pytest.raises(StorageError) as raised:
            call()
        assert raised.value.code == "storage_closed"
