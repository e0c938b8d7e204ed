"""Durable embedded storage on the standard library's `sqlite3`.

URLs: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite://`` (in memory); query
options ``?synchronous=full`` (survives power loss; default ``normal`` survives a killed process)
and ``?timeout=30`` (seconds to wait for another writer's lock: a finite number from 0 to
86400, one day; default 30).

Every write is one transaction (a single statement, or ``BEGIN IMMEDIATE`` for several), so an
acknowledged write is on disk and a failed one leaves nothing behind. Identifier uniqueness is
the database's: an event is inserted only if its identifier is free (its latest event, found by
an index on the events' identifiers, is older than the window), checked by the inserting
statement itself; a batch checks all its identifiers with one query and then inserts plainly,
inside the transaction whose write lock keeps every other writer out until the commit. An event
row refers to its meter by the meter's row number and keeps the value's text and the payload
only where they cannot be rebuilt (`MIGRATIONS`). Summaries run in SQL over a covering partial
index of live events. The v2 records (sessions and
the event log) are plain tables read by their keys and indexes, never cached, so a session or
log entry one process writes is found by every other process on the file.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from meterlib.aggregation import EXACT, SMALL_COUNTS, ZERO, Aggregation, Count, Last, Sum
from meterlib.errors import ConfigurationError, StorageError, describe
from meterlib.model import (
    Meter,
)
from meterlib.storage import _sql, split_storage_url
from meterlib.storage._sql import MeterKeys, payload_implied
from meterlib.storage.base import (
    EventRecord,
    IdempotencyRecord,
    LogRecord,
    NewEvent,
    Point,
    SessionRecord,
    Storage,
    StoredEvent,
    SummaryQuery,
)

UNIT_PLACES = 6
"""Values with at most 6 decimals and under 2**63 / 10**6 are also kept as exact integer units,
so SQLite sums them; ``places`` (minus the exponent) lets the sum keep Python's exponent."""
_MAX_UNITS = 2**63 - 1
_SQL_FORMULAS: dict[type, str] = {Sum: "sum", Count: "count", Last: "last"}
MAX_TIMEOUT = 86_400.0
"""The longest ``?timeout=`` accepted, in seconds: a day."""

MIGRATIONS: tuple[str, ...] = (
    # 1: meters, events, identifiers.
    """
    CREATE TABLE meters (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        event_name TEXT NOT NULL UNIQUE,
        status     TEXT NOT NULL,
        body       TEXT NOT NULL
    );
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,
        meter_id   TEXT NOT NULL,
        event_name TEXT NOT NULL,
        customer   TEXT NOT NULL,
        identifier TEXT NOT NULL,
        timestamp  INTEGER NOT NULL,
        created    INTEGER NOT NULL,
        value      TEXT,
        units      INTEGER,
        places     INTEGER,
        payload    TEXT NOT NULL,
        cancelled  INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1))
    );
    CREATE INDEX events_live ON events (meter_id, customer, timestamp, seq, units, places)
        WHERE cancelled = 0;
    CREATE TABLE identifiers (
        identifier TEXT PRIMARY KEY,
        seq        INTEGER NOT NULL,
        created    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER events_claim_identifier AFTER INSERT ON events BEGIN
        INSERT OR REPLACE INTO identifiers (identifier, seq, created)
            VALUES (NEW.identifier, NEW.seq, NEW.created);
    END;
    """,
    # 2: the meters of one status in list order, so a filtered page reads only itself.
    """
    CREATE INDEX meters_by_status ON meters (status, seq);
    """,
    # 3: v2 meter event sessions, and the event log in order of receipt (seqs never reused).
    """
    CREATE TABLE sessions (
        token      TEXT PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        created    INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_expiry ON sessions (expires_at);
    CREATE TABLE event_log (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        id      TEXT NOT NULL UNIQUE,
        type    TEXT NOT NULL,
        created INTEGER NOT NULL,
        body    TEXT NOT NULL
    );
    CREATE INDEX event_log_by_type ON event_log (type, seq);
    CREATE INDEX event_log_by_created ON event_log (created);
    """,
    # 4: idempotency keys of the HTTP server (claims and the answers to replay).
    """
    CREATE TABLE idempotency_keys (
        key         TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        created     INTEGER NOT NULL,
        status      INTEGER,
        response    TEXT
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created);
    """,
    # 5: compact events: the meter by its row number, no event name, the value's text and the
    # payload only where they cannot be rebuilt, identifier claims from an index of the events.
    """
    CREATE TABLE events_v5 (
        seq        INTEGER PRIMARY KEY,
        meter      INTEGER NOT NULL,
        customer   TEXT NOT NULL,
        identifier TEXT NOT NULL,
        timestamp  INTEGER NOT NULL,
        created    INTEGER NOT NULL,
        units      INTEGER,
        places     INTEGER,
        value      TEXT,
        payload    TEXT,
        cancelled  INTEGER NOT NULL DEFAULT 0 CHECK (cancelled IN (0, 1))
    );
    INSERT INTO events_v5 (seq, meter, customer, identifier, timestamp, created, units, places,
                           value, payload, cancelled)
        SELECT e.seq, m.seq, e.customer, e.identifier, e.timestamp, e.created, e.units,
               e.places,
               CASE WHEN e.units IS NOT NULL AND e.places BETWEEN 0 AND 6
                         AND NOT (e.units = 0 AND e.value LIKE '-%') THEN NULL
                    ELSE e.value END,
               e.payload, e.cancelled
        FROM events AS e LEFT JOIN meters AS m ON m.id = e.meter_id ORDER BY e.seq;
    DROP TABLE identifiers;
    DROP TABLE events;
    ALTER TABLE events_v5 RENAME TO events;
    CREATE INDEX events_live ON events (meter, customer, timestamp, units, places)
        WHERE cancelled = 0;
    CREATE INDEX events_by_identifier ON events (identifier);
    """,
)
"""Forward migrations: entry N-1 brings a store from schema version N-1 to N.

Since 5, an event row keeps ``value`` (the value's text) only when ``units`` and ``places``
do not give it back as written (no units, more than `UNIT_PLACES` decimals, a positive
exponent such as ``1E+2``, a negative zero), and ``payload`` only when it is not exactly
``{customer key: customer, value key: str(value)}`` (or the customer alone, without a value)
under the meter's keys. An identifier is claimed by its latest event (largest ``seq``), found
through ``events_by_identifier``."""

SCHEMA_VERSION = len(MIGRATIONS)

PAGE_SIZE = 1024
"""Small pages: a commit writes each page it touches to the WAL whole, and an event touches
three (its row, the live index, the identifier index); measured ~10% faster per-event commits."""
WAL_CHECKPOINT_PAGES = 100_000
"""Checkpoint the WAL every ~100 MB instead of SQLite's 1,000 pages: fewer checkpoint pauses.

A 10,000-event batch dirties ~10,000 index pages (identifiers are random keys), so a
checkpoint per ~10 MB copied nearly every batch's pages to the file; at ~100 MB a checkpoint
writes each page once for ~10 batches (measured ~20% faster bulk ingest at 500,000 events).
The WAL is removed when the last connection closes."""
CACHE_KIB = 65_536
"""Page cache per connection in KiB, filled as pages are read (SQLite's default is 2 MiB).

Identifiers are random keys, so a batch's claims land all over ``events_by_identifier``, and
each customer's events at their own place in the live index; once those outgrow the cache,
inserts reread evicted pages from the OS. 64 MiB holds both for ~450,000 events (they take
~14 MB per 100,000): measured ~30% faster bulk ingest at 100,000 events."""


def _units(value: Decimal | None) -> tuple[int | None, int | None]:
    """The value in exact millionths when that fits an SQLite integer, and its decimal places."""
    if value is None:
        return None, None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # values are finite
    scaled = value.scaleb(UNIT_PLACES, EXACT)
    if scaled != scaled.to_integral_value() or abs(scaled) > _MAX_UNITS:
        return None, -exponent
    return int(scaled), -exponent


_UNIT_SCALE = tuple(10 ** (UNIT_PLACES - places) for places in range(UNIT_PLACES + 1))
"""``_UNIT_SCALE[p]`` turns an integer of ``p`` decimal places into millionths."""
_scaleb = EXACT.scaleb
"""``EXACT.scaleb(coefficient, -places)``: the `Decimal` of an int and an exponent, exactly,
in one call (a third cheaper than ``Decimal(coefficient).scaleb(-places, EXACT)``)."""


def _value_columns(value: Decimal | None) -> tuple[str | None, int | None, int | None]:
    """The ``value``, ``units`` and ``places`` columns of a (finite) value.

    The common plain decimal such as ``"412.07"`` is read off its string, which is twice as
    fast as `_units`' decimal arithmetic (and gives the same columns, which a test pins);
    anything else (an exponent, more than `UNIT_PLACES` decimals, too large) goes to `_units`.
    """
    if value is None:
        return None, None, None
    text = str(value)
    whole, _, fraction = text.partition(".")
    places = len(fraction)
    if places <= UNIT_PLACES and "E" not in text:
        units = int(whole + fraction) * _UNIT_SCALE[places]
        if abs(units) <= _MAX_UNITS:
            return text, units, places
    return (text, *_units(value))


def _rebuilds(text: str | None, units: int | None, places: int | None) -> bool:
    """Whether `_stored_value` gives the value of `text` back from `units` and `places` alone.

    It does for a value with units and 0 to `UNIT_PLACES` decimals (which ``str`` writes
    plainly, never with an exponent), except a negative zero: units keep no sign.
    """
    if units is None or places is None or not 0 <= places <= UNIT_PLACES:
        return False
    return units != 0 or not (text or "").startswith("-")


def _stored_value(units: int | None, places: int | None, text: str | None) -> Decimal | None:
    """The value of a row's ``units``, ``places`` and ``value`` (text) columns, exactly.

    The text when it is stored; otherwise the units at `places` decimals; None without either.

    >>> _stored_value(412_070_000, 2, None), _stored_value(0, 0, "-0")
    (Decimal('412.07'), Decimal('-0'))
    """
    if text is not None:
        return Decimal(text)
    if units is None or places is None:
        return None
    return _scaleb(units // _UNIT_SCALE[places], -places)


def _value_text(source: str) -> str:
    """A query's ``value`` column for the rows of `source` (a table or subquery name).

    Read from the event's row only where `_rebuilds` may be false, so a query over
    ``events_live`` reads no row for the common value (``IIF`` evaluates lazily).
    """
    return (
        f"IIF({source}.units IS NULL OR {source}.units = 0 "
        f"OR {source}.places NOT BETWEEN 0 AND {UNIT_PLACES}, "
        f"(SELECT value FROM events AS row WHERE row.seq = {source}.seq), NULL)"
    )


_FIND_EVENT = _sql.for_sqlite(
    _sql.FIND_EVENT_COLUMNS + " WHERE e.identifier = ? ORDER BY e.seq DESC LIMIT 1"
)
"""The identifier's latest event (its claim), by ``events_by_identifier``."""

_payload_json = _sql.payload_json
"""``json.dumps(payload)``, fast: shared with PostgreSQL (`meterlib.storage._sql`)."""


def _statements(script: str) -> Iterator[str]:
    """The complete SQL statements of a script (trigger bodies keep their semicolons)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
    if pending.strip():
        yield pending


_meter_to_json = _sql.meter_to_json
_meter_from_json = _sql.meter_from_json


def parse_sqlite_url(url: str) -> tuple[str, dict[str, str]]:
    """Split a ``sqlite://`` URL into a database path (``:memory:``) and its options.

    >>> parse_sqlite_url("sqlite:////var/lib/usage.db?synchronous=full")
    ('/var/lib/usage.db', {'synchronous': 'full'})
    """
    parts = split_storage_url(url)
    if parts.scheme != "sqlite":
        raise ConfigurationError(
            f"not a sqlite URL: {describe(url)}", code="storage_url_invalid", param="storage"
        )
    path = (parts.netloc + parts.path)[1:] if parts.path.startswith("/") else parts.netloc
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(options) - {"synchronous", "timeout"}
    if unknown:
        raise ConfigurationError(
            f"unknown sqlite URL option(s): {', '.join(sorted(unknown))}",
            code="storage_url_invalid",
            param="storage",
        )
    return path or ":memory:", options


def _timeout_option(text: str) -> float:
    """The ``timeout`` option: finite seconds from 0 to `MAX_TIMEOUT` (nan, inf, -1 refused)."""
    try:
        timeout = float(text)
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and 0 <= timeout <= MAX_TIMEOUT):
        raise ConfigurationError(
            f"timeout must be a number of seconds from 0 to {MAX_TIMEOUT:g}; got {text!r}",
            code="storage_url_invalid",
            param="storage",
        )
    return timeout


class SQLiteStorage(Storage):
    """Storage in one SQLite file (WAL mode), safe for many threads and processes.

    >>> storage = SQLiteStorage("sqlite://")  # in memory; "sqlite:///usage.db" for a file
    >>> storage.close()
    """

    def __init__(self, url: str = "sqlite://") -> None:
        path, options = parse_sqlite_url(url)
        synchronous = options.get("synchronous", "normal").upper()
        if synchronous not in ("NORMAL", "FULL"):
            raise ConfigurationError(
                f"synchronous must be 'normal' or 'full'; got {synchronous.lower()!r}",
                code="storage_url_invalid",
                param="storage",
            )
        timeout = _timeout_option(options.get("timeout", "30"))
        self.path = path
        self._meters_by_event_name: dict[str, Meter | None] = {}
        self._meters_by_id: dict[str, Meter] = {}
        self._definitions: dict[str, Meter] = {}
        self._meter_keys: dict[str, MeterKeys] = {}
        self._cache_version: int | None = None
        self._lock = threading.RLock()
        self._closed = False
        try:
            directory_exists = path == ":memory:" or Path(path).parent.is_dir()
        except OSError as error:  # e.g. a name too long for the file system
            raise StorageError(
                f"the path {describe(path)} is unusable: {error.strerror}",
                code="storage_unavailable",
            ) from error
        if not directory_exists:
            raise StorageError(
                f"the directory of {path!r} does not exist", code="storage_unavailable"
            )
        with self._translate():
            self._db = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        # how many parameters one statement can bind: 999 before SQLite 3.32, 32,766 since
        self._max_parameters = self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        try:
            self._open(synchronous)
        except BaseException:
            self._db.close()
            raise

    # --- connection ------------------------------------------------------------------------

    def _storage_error(self, error: sqlite3.Error) -> StorageError:
        """The `StorageError` that says what a driver error means for the caller."""
        if isinstance(error, sqlite3.OperationalError):
            locked = "locked" in str(error) or "busy" in str(error)
            return StorageError(
                f"SQLite: {error}"
                + (" (another writer held the lock past the timeout)" if locked else ""),
                code="storage_locked" if locked else "storage_failure",
            )
        if type(error) is sqlite3.DatabaseError:  # not a subclass: the file itself is bad
            return StorageError(
                f"{self.path!r} is not a usable meterlib database: {error}",
                code="storage_corrupt",
            )
        return StorageError(f"SQLite: {error}", code="storage_failure")

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn every driver error into a `StorageError` naming what went wrong."""
        try:
            yield
        except sqlite3.Error as error:
            raise self._storage_error(error) from error

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; each statement is its own transaction."""
        with self._lock, self._translate():
            self._check_open()
            yield self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on error."""
        with self._lock, self._translate():
            self._check_open()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.commit()
            except BaseException:
                if self._db.in_transaction:  # a failed commit may have ended it already
                    self._db.rollback()
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One deferred transaction, so several queries read one snapshot of the file."""
        with self._lock, self._translate():
            self._check_open()
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                if self._db.in_transaction:
                    self._db.rollback()  # nothing was written: ending the read is all it does

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the storage is closed", code="storage_closed")

    def _open(self, synchronous: str) -> None:
        """Check the file is ours (or empty) before writing anything, then migrate forward."""
        with self._connection() as db:
            tables = {
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        if tables and "meterlib_schema" not in tables:
            raise StorageError(
                f"{self.path!r} is an SQLite database that meterlib did not create "
                f"(tables: {', '.join(sorted(tables))}); refusing to touch it",
                code="storage_foreign",
            )
        with self._connection() as db:
            if not tables:
                db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            if self.path != ":memory:":
                db.execute("PRAGMA journal_mode = WAL")
                db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            db.execute(f"PRAGMA synchronous = {synchronous}")
            db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meterlib_schema (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM meterlib_schema").fetchone()
            version = 0 if row is None else int(row[0])
            latest = len(MIGRATIONS)
            if version > latest:
                raise StorageError(
                    f"{self.path!r} has schema version {version}; this meterlib knows up to "
                    f"{latest}: upgrade meterlib",
                    code="storage_version",
                )
            for script in MIGRATIONS[version:]:
                for statement in _statements(script):
                    db.execute(statement)
            if row is None:
                db.execute("INSERT INTO meterlib_schema (version) VALUES (?)", (latest,))
            else:
                db.execute("UPDATE meterlib_schema SET version = ?", (latest,))

    def close(self) -> None:
        """Close the connection (checkpointing the WAL); later calls raise `StorageError`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                with self._translate():
                    self._db.close()

    # --- meters ----------------------------------------------------------------------------

    def add_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> bool:
        """Insert unless the event name is taken (a UNIQUE constraint decides), and its log.

        One transaction: a log id that is taken rolls the meter back too. O(log n).
        """
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO meters (id, event_name, status, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (event_name) DO NOTHING",
                (meter.id, meter.event_name, meter.status, _meter_to_json(meter)),
            )
            self._meters_by_event_name.pop(meter.event_name, None)
            if cursor.rowcount != 1:
                return False
            self._insert_log(db, log)
            return True

    def replace_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> None:
        """Overwrite the meter's row and append its log in one transaction. O(log n)."""
        with self._write() as db:
            self._meters_by_event_name.pop(meter.event_name, None)
            self._meters_by_id.pop(meter.id, None)
            db.execute(
                "UPDATE meters SET status = ?, body = ? WHERE id = ?",
                (meter.status, _meter_to_json(meter), meter.id),
            )
            self._insert_log(db, log)

    def _drop_stale_meters(self) -> None:
        """Forget cached meters if another connection committed since they were read.

        ``PRAGMA data_version`` changes only on other connections' commits; this connection's
        own meter writes drop their entries themselves. Call under the lock.
        """
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._cache_version:
            self._meters_by_event_name.clear()
            self._meters_by_id.clear()
            self._cache_version = version

    def get_meter(self, meter_id: str) -> Meter | None:
        """The meter with this id, cached until another connection commits. O(1).

        Every summary starts here, so the cache spares each one a query and a JSON parse.
        """
        with self._lock:  # a summary's fixed cost: no context-manager machinery
            self._check_open()
            try:
                self._drop_stale_meters()
                meter = self._meters_by_id.get(meter_id)
                if meter is None:
                    found = self._db.execute(
                        "SELECT body FROM meters WHERE id = ?", (meter_id,)
                    ).fetchone()
                    if found is None:
                        return None
                    meter = self._meters_by_id[meter_id] = _meter_from_json(found[0])
            except sqlite3.Error as error:
                raise self._storage_error(error) from error
            return meter

    def cached_meter(self, meter_id: str) -> Meter | None:
        """`get_meter`, from a copy kept since it was first read. O(1).

        Summaries read only a meter's definition, which never changes, so they skip
        `get_meter`'s check for other connections' commits: a warm summary is one statement.
        """
        meter = self._definitions.get(meter_id)
        if meter is None or self._closed:
            meter = self.get_meter(meter_id)
            if meter is not None:
                self._definitions[meter_id] = meter
        return meter

    def get_meter_by_event_name(self, event_name: str) -> Meter | None:
        """The meter owning this event name, cached until another connection commits. O(1)."""
        with self._lock:  # the ingest hot path: no context-manager machinery
            self._check_open()
            try:
                self._drop_stale_meters()
                if event_name not in self._meters_by_event_name:
                    found = self._db.execute(
                        "SELECT body FROM meters WHERE event_name = ?", (event_name,)
                    ).fetchone()
                    self._meters_by_event_name[event_name] = (
                        None if found is None else _meter_from_json(found[0])
                    )
            except sqlite3.Error as error:
                raise self._storage_error(error) from error
            return self._meters_by_event_name[event_name]

    def list_meters(
        self,
        *,
        status: str | None,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> tuple[Sequence[Meter], bool] | None:
        """One page of meters, newest first, or None for a cursor not in the list. O(log n + limit).

        The cursor's ``seq`` comes from the unique index on ``id``; the page is read from there
        in ``seq`` order, one row past it to learn ``has_more``, from the rowid b-tree or, with
        a status, ``meters_by_status``. Meters are never deleted, so a cursor's ``seq`` cannot
        change between the two queries.
        """
        backward = starting_after is None and ending_before is not None
        cursor = ending_before if backward else starting_after
        with self._connection() as db:
            seq = None
            if cursor is not None:
                found = db.execute("SELECT seq, status FROM meters WHERE id = ?", (cursor,))
                row = found.fetchone()
                if row is None or (status is not None and row[1] != status):
                    return None
                seq = row[0]
            rows = db.execute(
                _meter_page_sql(status is not None, seq is not None, backward=backward),
                {"status": status, "seq": seq, "limit": limit + 1},
            ).fetchall()
        page = [_meter_from_json(body) for (body,) in rows[:limit]]
        if backward:
            page.reverse()
        return page, len(rows) > limit

    # --- events ----------------------------------------------------------------------------

    _EVENT_COLUMNS = (
        "meter, customer, identifier, timestamp, created, units, places, value, payload"
    )

    _INSERT_EVENT = (
        f"INSERT INTO events ({_EVENT_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? "
        "WHERE NOT EXISTS (SELECT 1 FROM (SELECT created FROM events WHERE identifier = ? "
        "ORDER BY seq DESC LIMIT 1) WHERE created > ?)"
    )
    """Insert unless the identifier's latest event was received after the cutoff."""

    _INSERT_FREE_EVENT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    """Insert an event whose identifier is known to be free."""

    def _keys(self, meter_id: str) -> MeterKeys:
        """The meter's row number and payload keys, cached (they never change). Under the lock.

        Raises `StorageError` (``storage_failure``) for a meter the store does not hold: an
        event is only ever stored for a meter the core found.
        """
        keys = self._meter_keys.get(meter_id)
        if keys is None:
            row = self._db.execute("SELECT seq, body FROM meters WHERE id = ?", (meter_id,))
            found = row.fetchone()
            if found is None:
                raise StorageError(f"no meter {meter_id!r}", code="storage_failure")
            meter = _meter_from_json(found[1])
            keys = self._meter_keys[meter_id] = MeterKeys(
                found[0],
                meter.customer_mapping.event_payload_key,
                meter.value_settings.event_payload_key,
            )
        return keys

    @staticmethod
    def _event_columns(keys: MeterKeys, event: NewEvent) -> tuple[object, ...]:
        """The event's nine columns, as `_INSERT_FREE_EVENT` (and `_INSERT_EVENT`) take them.

        ``value`` is NULL when ``units`` and ``places`` rebuild the value as written
        (`_stored_value`), ``payload`` when the meter's keys, the customer and the value imply
        it (`MIGRATIONS`' note): the common event stores neither.
        """
        _, _, customer, identifier, timestamp, created, value, payload = event
        text, units, places = _value_columns(value)
        kept = None if _rebuilds(text, units, places) else text
        implied = payload_implied(keys, customer, text, payload)
        return (
            keys.seq,
            customer,
            identifier,
            timestamp,
            created,
            units,
            places,
            kept,
            None if implied else _payload_json(payload),
        )

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Insert the event with one conditional statement, its own transaction. O(log n).

        Nothing is written if the identifier's latest event (``events_by_identifier``) was
        received after `duplicate_after`. The check and the insert are one statement, which
        holds the write lock from its start, so two processes can never both accept one
        identifier.
        """
        with self._lock:  # the ingest hot path: no context-manager machinery
            self._check_open()
            try:
                row = self._event_columns(self._keys(event.meter_id), event)
                cursor = self._db.execute(
                    self._INSERT_EVENT, (*row, event.identifier, duplicate_after)
                )
            except sqlite3.Error as error:
                raise self._storage_error(error) from error
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def add_events(self, events: Sequence[NewEvent], *, duplicate_after: int) -> list[int | None]:
        """Insert a batch in one transaction: one check of its identifiers, then plain inserts.

        O(k log n). Identifiers taken before the batch, or earlier in it, are skipped (None).
        The check reads ``events_by_identifier`` inside the ``BEGIN IMMEDIATE`` transaction,
        which holds the database's write lock until the commit: no other connection or process
        can claim an identifier between the check and the inserts, so plain inserts are as safe
        as `_INSERT_EVENT`'s conditional ones, and skip its per-row probe.
        """
        event_columns, keys_of = self._event_columns, self._keys
        with self._write() as db:
            taken = self._taken_identifiers(db, events, duplicate_after)
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0] + 1
            results: list[int | None] = []
            rows = []
            meter_id, keys = None, None
            for event in events:
                identifier = event.identifier
                if identifier in taken:
                    results.append(None)
                    continue
                taken.add(identifier)
                results.append(seq)
                seq += 1
                if event.meter_id != meter_id:
                    meter_id = event.meter_id
                    keys = keys_of(meter_id)
                rows.append(event_columns(keys, event))  # type: ignore[arg-type]
            db.executemany(self._INSERT_FREE_EVENT, rows)
            # SQLite numbers each row one past the largest seq (which nobody else can change under
            # our lock) unless that is 2**63 - 1; the results must be the seqs it really gave
            if rows and db.execute("SELECT MAX(seq) FROM events").fetchone()[0] != seq - 1:
                raise StorageError("events were not numbered in order", code="storage_failure")
            return results

    def _taken_identifiers(
        self, db: sqlite3.Connection, events: Sequence[NewEvent], duplicate_after: int
    ) -> set[str]:
        """Which of the events' identifiers were claimed after `duplicate_after`.

        An identifier's claim is its latest event's (largest ``seq``). As few queries as
        SQLite's parameter limit allows (one per batch of up to 32,766 since SQLite 3.32):
        each ``IN`` list is probed in key order of ``events_by_identifier``, so one big list
        beats many small; only identifiers already stored read their rows. The latest is
        picked here: an ``ORDER BY seq`` would make SQLite scan the whole table instead.
        """
        latest: dict[str, tuple[int, int]] = {}
        wanted = list({event.identifier for event in events})
        chunk_size = self._max_parameters
        for first in range(0, len(wanted), chunk_size):
            chunk = wanted[first : first + chunk_size]
            for identifier, seq, created in db.execute(
                "SELECT identifier, seq, created FROM events WHERE identifier IN "
                f"({', '.join('?' * len(chunk))})",
                chunk,
            ):
                if seq > latest.get(identifier, (-1, 0))[0]:
                    latest[identifier] = seq, created
        return {
            identifier for identifier, (_, created) in latest.items() if created > duplicate_after
        }

    def find_event(self, identifier: str) -> EventRecord | None:
        """The latest event received with this identifier, by ``events_by_identifier``. O(log n)."""
        with self._connection() as db:
            row = db.execute(_FIND_EVENT, (identifier,)).fetchone()
        return None if row is None else _sql.event_record(identifier, row)

    def cancel_event(self, seq: int) -> bool:
        """Flag the event cancelled unless it already is. O(log n)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE events SET cancelled = 1 WHERE seq = ? AND cancelled = 0", (seq,)
            )
            return cursor.rowcount == 1

    def scan_points(self, meter_id: str, customer: str, start: int, end: int) -> Iterable[Point]:
        """Live points in ``[start, end)`` ordered by ``(timestamp, seq)``. O(log n + k log k).

        From ``events_live`` alone, but for the rare value kept as text (`_value_text`).
        """
        with self._connection() as db:
            keys = self._meter_keys_or_none(meter_id)
            if keys is None:
                return []
            rows = db.execute(
                f"SELECT timestamp, seq, units, places, {_value_text('events')} FROM events "
                "WHERE meter = ? AND customer = ? AND cancelled = 0 AND timestamp >= ? "
                "AND timestamp < ? ORDER BY timestamp, seq",
                (keys.seq, customer, start, end),
            ).fetchall()
        return [
            (ts, seq, _stored_value(units, places, text)) for ts, seq, units, places, text in rows
        ]

    def _meter_keys_or_none(self, meter_id: str) -> MeterKeys | None:
        """`_keys`, or None for a meter the store does not hold. Under the lock."""
        try:
            return self._keys(meter_id)
        except StorageError:
            return None

    def list_events(
        self,
        *,
        limit: int,
        after: int | None = None,
        meter_id: str | None = None,
        customer: str | None = None,
        start: int | None = None,
        end: int | None = None,
        include_cancelled: bool = False,
    ) -> Sequence[StoredEvent]:
        """Events after seq `after`, in seq order: one query walking the rowid b-tree.

        O(log n + events scanned); the filters are checked row by row (`_events_page_sql`),
        each event's meter id and event name read from its meter's row.
        """
        filters: dict[str, object] = {
            "meter": meter_id,
            "customer": customer,
            "start": start,
            "end": end,
        }
        given = tuple(name for name, value in filters.items() if value is not None)
        sql = _events_page_sql(given, include_cancelled=include_cancelled)
        params = {name: filters[name] for name in given}
        params["after"] = -1 if after is None else after
        params["limit"] = limit
        with self._connection() as db:
            if meter_id is not None:
                keys = self._meter_keys_or_none(meter_id)
                if keys is None:
                    return []
                params["meter"] = keys.seq
            rows = db.execute(sql, params).fetchall()
        return [
            StoredEvent(
                seq,
                meter,
                event_name,
                who,
                identifier,
                timestamp,
                created,
                _stored_value(units, places, text),
                gone == 1,
            )
            for (
                seq,
                meter,
                event_name,
                who,
                identifier,
                timestamp,
                created,
                units,
                places,
                text,
                gone,
            ) in rows
        ]

    # --- v2 meter event sessions -----------------------------------------------------------

    def add_session(self, session: SessionRecord) -> None:
        """Insert the session: one statement, its own transaction. O(log n).

        The primary key on ``token`` and the unique ``id`` refuse a taken one
        (``storage_conflict``), whichever process stored it.
        """
        with self._connection() as db, _conflicts("a session with this token or id"):
            db.execute(
                "INSERT INTO sessions (token, id, created, expires_at) VALUES (?, ?, ?, ?)",
                (session.token, session.id, session.created, session.expires_at),
            )

    def find_session(self, token: str) -> SessionRecord | None:
        """The session with this token, expired or not, by primary key. O(log n)."""
        with self._connection() as db:
            row = db.execute(
                "SELECT id, created, expires_at FROM sessions WHERE token = ?", (token,)
            ).fetchone()
        if row is None:
            return None
        session_id, created, expires_at = row
        return SessionRecord(id=session_id, token=token, created=created, expires_at=expires_at)

    def purge_sessions(self, *, expired_by: int) -> int:
        """Delete the sessions with ``expires_at <= expired_by`` (one statement). O(k log n)."""
        with self._connection() as db:
            cursor = db.execute("DELETE FROM sessions WHERE expires_at <= ?", (expired_by,))
        return cursor.rowcount

    # --- v2 event log ------------------------------------------------------------------------

    def add_log_events(self, records: Sequence[LogRecord]) -> None:
        """Insert the records in one transaction, in order. O(k log n).

        ``AUTOINCREMENT`` numbers them after every seq the table ever held (purged ones
        included), so receipt order is insertion order; the unique ``id`` refuses a taken one
        (``storage_conflict``), and the rollback then leaves none of the batch.
        """
        if not records:
            with self._lock:
                self._check_open()
            return
        with self._write() as db:
            self._insert_log(db, records)

    @staticmethod
    def _insert_log(db: sqlite3.Connection, records: Sequence[LogRecord]) -> None:
        """Insert log records inside the caller's write transaction; a taken id raises."""
        if not records:
            return
        with _conflicts("an event log entry with this id"):
            db.executemany(
                "INSERT INTO event_log (id, type, created, body) VALUES (?, ?, ?, ?)",
                [(record.id, record.type, record.created, record.body) for record in records],
            )

    def list_log_events(
        self,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        types: frozenset[str] | None = None,
    ) -> tuple[Sequence[LogRecord], bool] | None:
        """One page of the log, newest first, or None for a cursor not in the list.

        In one read transaction (one snapshot): the cursor's ``seq`` and type from the unique
        index on ``id``, then one query (`_log_page_sql`) of `limit` + 1 rows from there, one
        past the page to learn ``has_more``. Unfiltered, it walks the rowid b-tree:
        O(log n + limit). Filtered, ``type IN (...)`` seeks each type's run in
        ``event_log_by_type`` (type, seq), and SQLite's top-N sort stops reading a run at the
        first row that cannot make the page: O(t log n + t limit) for t types, which a test pins
        by counting SQLite's VM steps at 1,000 and 20,000 entries.
        """
        backward = starting_after is None and ending_before is not None
        cursor = ending_before if backward else starting_after
        kinds = () if types is None else tuple(sorted(types))
        with self._read() as db:
            seq = None
            if cursor is not None:
                row = db.execute("SELECT seq, type FROM event_log WHERE id = ?", (cursor,))
                found = row.fetchone()
                if found is None or (types is not None and found[1] not in types):
                    return None
                seq = found[0]
            if types is not None and not kinds:
                return [], False
            sql = _log_page_sql(len(kinds), from_cursor=seq is not None, backward=backward)
            bounds = () if seq is None else (seq,)
            rows = db.execute(sql, (*kinds, *bounds, limit + 1)).fetchall()
        page = [
            LogRecord(id=event_id, type=kind, created=created, body=body)
            for event_id, kind, created, body in rows[:limit]
        ]
        if backward:
            page.reverse()
        return page, len(rows) > limit

    def get_log_event(self, event_id: str) -> LogRecord | None:
        """The entry with this id, from the unique index on ``id``. O(log n)."""
        with self._connection() as db:
            row = db.execute(
                "SELECT type, created, body FROM event_log WHERE id = ?", (event_id,)
            ).fetchone()
        if row is None:
            return None
        kind, created, body = row
        return LogRecord(id=event_id, type=kind, created=created, body=body)

    def purge_log_events(self, *, created_before: int) -> int:
        """Delete the entries with ``created < created_before`` (one statement). O(k log n).

        ``event_log_by_created`` finds them; SQLite frees their pages for reuse.
        """
        with self._connection() as db:
            cursor = db.execute("DELETE FROM event_log WHERE created < ?", (created_before,))
        return cursor.rowcount

    # --- idempotency keys ---------------------------------------------------------------------

    def claim_idempotency_key(
        self, claim: IdempotencyRecord, *, answered_after: int, pending_after: int
    ) -> IdempotencyRecord | None:
        """Claim a new key in one statement, a stored one in one write transaction. O(log n).

        A fresh key (the usual case) is one ``INSERT ... ON CONFLICT DO NOTHING``. A key
        already stored is read and replaced under ``BEGIN IMMEDIATE``, which holds the write
        lock from the read on, so two processes claiming one key are served one after the
        other: the second finds the first's claim.
        """
        with self._connection() as db:
            inserted = db.execute(
                "INSERT INTO idempotency_keys (key, fingerprint, created) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING",
                (claim.key, claim.fingerprint, claim.created),
            ).rowcount
        if inserted == 1:
            return None
        with self._write() as db:
            row = db.execute(
                "SELECT fingerprint, created, status, response FROM idempotency_keys WHERE key = ?",
                (claim.key,),
            ).fetchone()
            if row is not None:
                fingerprint, created, status, response = row
                if created > (pending_after if status is None else answered_after):
                    return IdempotencyRecord(
                        key=claim.key,
                        fingerprint=fingerprint,
                        created=created,
                        status=status,
                        response=response,
                    )
            db.execute(
                "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, created) "
                "VALUES (?, ?, ?)",
                (claim.key, claim.fingerprint, claim.created),
            )
        return None

    def answer_idempotency_key(self, answer: IdempotencyRecord) -> bool:
        """Update the pending row of this key and ``created`` (one statement). O(log n)."""
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE idempotency_keys SET status = ?, response = ? "
                "WHERE key = ? AND created = ? AND status IS NULL",
                (answer.status, answer.response, answer.key, answer.created),
            )
        return cursor.rowcount == 1

    def release_idempotency_key(self, claim: IdempotencyRecord) -> bool:
        """Delete the pending row of this key and ``created`` (one statement). O(log n)."""
        with self._connection() as db:
            cursor = db.execute(
                "DELETE FROM idempotency_keys WHERE key = ? AND created = ? AND status IS NULL",
                (claim.key, claim.created),
            )
        return cursor.rowcount == 1

    def purge_idempotency_keys(self, *, created_before: int) -> int:
        """Delete the rows with ``created < created_before`` by their index. O(k log n)."""
        with self._connection() as db:
            cursor = db.execute("DELETE FROM idempotency_keys WHERE created < ?", (created_before,))
        return cursor.rowcount

    # --- summaries -------------------------------------------------------------------------

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """The built-in formulas run in SQL; others (and sums SQL cannot do exactly) in Python.

        O(log n + events in the range), inside SQLite.
        """
        if query.count == 0:
            return []
        formula = _SQL_FORMULAS.get(type(aggregation))
        values = None if formula is None else self._sql_summary(query, formula)
        if values is None:
            return super().summarize(query, aggregation)
        return values

    def _sql_summary(self, query: SummaryQuery, formula: str) -> list[Decimal] | None:
        """Every window's value from one query, or None when only Python can do it exactly.

        A ``count`` or ``sum`` of several windows reads its events' columns in one row and
        folds them here (`_fold_counts`, `_fold_sums`); past `FOLD_LIMIT` events, or for a
        sum of values with different numbers of decimals (each window's exponent is its own
        values' most), it runs the ``GROUP BY`` query instead (`_summary_sql`).
        """
        start, step, count, end = query.start, query.step, query.count, query.end
        low, high = query.scan_range
        size = query.pre_aggregation_window
        # a summary window that is exactly one pre-aggregation window: its survivor is its value
        single = size == step and low == start
        shape = "single" if single else "whole" if count == 1 else "grouped"
        fold = shape == "grouped" and formula != "last"
        key = _LAST_KEY_LIMIT // (end - start)
        params = {
            "meter": 0,  # the meter's row number, below
            "customer": query.customer,
            "low": low,
            "high": high,
            "start": start,
            "end": end,
            "step": step,
            "key": key,
            "limit": FOLD_LIMIT,
        }
        with self._lock:  # per-call overhead matters here: no context-manager machinery
            self._check_open()
            try:
                params["meter"] = self._keys(query.meter.id).seq
                if formula == "last" and not single:
                    (latest_seq,) = self._db.execute(_LATEST_SEQ).fetchone()
                    if latest_seq >= key:  # the (timestamp, seq) keys could overflow
                        return None
                if fold:
                    (row,) = self._db.execute(_summary_sql(formula, size, "fold"), params)
                    folded, values = _fold(formula, count, row)
                    if folded:
                        return values
                rows = self._db.execute(_summary_sql(formula, size, shape), params).fetchall()
            except sqlite3.OperationalError as error:
                if "integer overflow" in str(error):  # SUM(units) beyond 2**63: Python sums
                    return None
                raise self._storage_error(error) from error
            except sqlite3.Error as error:
                raise self._storage_error(error) from error
        values = [ZERO] * count
        if formula == "sum":
            return _fill_sums(values, rows)
        if formula == "count":
            return _fill_counts(values, rows, single=single)
        for bucket, units, places, text in rows:  # every event of a last meter has a value
            values[bucket] = _stored_value(units, places, text)  # type: ignore[assignment]
        return values


@functools.cache
def _meter_page_sql(by_status: bool, from_cursor: bool, *, backward: bool) -> str:
    """The query of a page of meters: `limit` rows from the cursor's ``seq``, nearest first.

    Forward pages run newest first (``seq`` descending) below the cursor; backward ones oldest
    first above it (the caller reverses them). Fixed fragments only, one text per shape.
    """
    conditions = ["status = :status"] if by_status else []
    if from_cursor:
        conditions.append("seq > :seq" if backward else "seq < :seq")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    order = "ASC" if backward else "DESC"
    return f"SELECT body FROM meters {where}ORDER BY seq {order} LIMIT :limit"


@functools.lru_cache(maxsize=256)
def _log_page_sql(types: int, *, from_cursor: bool, backward: bool) -> str:
    """The query of a page of the event log: `limit` rows from the cursor's ``seq``, nearest first.

    `types` is how many ``?`` the ``type IN (...)`` filter takes (0: no filter); then the
    cursor's ``seq`` if any, then the limit. Forward pages run newest first (``seq`` descending)
    below the cursor, backward ones oldest first above it (the caller reverses them). Fixed
    fragments only, one text per shape.
    """
    conditions = [f"type IN ({', '.join('?' * types)})"] if types else []
    if from_cursor:
        conditions.append("seq > ?" if backward else "seq < ?")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    order = "ASC" if backward else "DESC"
    return f"SELECT id, type, created, body FROM event_log {where}ORDER BY seq {order} LIMIT ?"


_EVENT_FILTERS = {
    "meter": "e.meter = :meter",
    "customer": "e.customer = :customer",
    "start": "e.timestamp >= :start",
    "end": "e.timestamp < :end",
}


@functools.lru_cache(maxsize=64)
def _events_page_sql(filters: tuple[str, ...], *, include_cancelled: bool) -> str:
    """The query of a `SQLiteStorage.list_events` page: `limit` events after seq ``:after``.

    `filters` names the given filters (`_EVENT_FILTERS` keys); fixed fragments only.
    """
    conditions = ["e.seq > :after", *(_EVENT_FILTERS[name] for name in filters)]
    if not include_cancelled:
        conditions.append("e.cancelled = 0")
    return (
        "SELECT e.seq, m.id, m.event_name, e.customer, e.identifier, e.timestamp, e.created, "
        "e.units, e.places, e.value, e.cancelled FROM events AS e CROSS JOIN meters AS m "
        f"ON m.seq = e.meter WHERE {' AND '.join(conditions)} ORDER BY e.seq LIMIT :limit"
    )


@contextmanager
def _conflicts(what: str) -> Iterator[None]:
    """Turn a unique or primary key violation into ``storage_conflict``; others pass through."""
    try:
        yield
    except sqlite3.IntegrityError as error:
        if error.sqlite_errorcode not in _UNIQUE_VIOLATIONS:
            raise
        raise StorageError(f"{what} is stored already", code="storage_conflict") from error


_UNIQUE_VIOLATIONS = frozenset(
    {sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY}
)

_ONE = Decimal(1)

_NO_UNITS = 1_000_000_000
"""The ``places`` a sum query reports for a window holding a value without units."""


def _fill_counts(
    values: list[Decimal], rows: list[tuple[int, ...]], *, single: bool
) -> list[Decimal]:
    """Put each ``(bucket, count)`` row's count in `values`; ``(bucket,)`` rows count 1."""
    if single:
        for (bucket,) in rows:
            values[bucket] = _ONE
        return values
    counts, shared = SMALL_COUNTS, len(SMALL_COUNTS)
    for bucket, counted in rows:
        if counted:  # a whole-range count of no events: the window stays zero
            values[bucket] = counts[counted] if counted < shared else Decimal(counted)
    return values


def _fill_sums(
    values: list[Decimal], rows: list[tuple[int, int | None, int | None]]
) -> list[Decimal] | None:
    """Put each ``(bucket, SUM(units), places)`` row's exact sum in `values`.

    ``places`` is the most decimals of the window's values (at least 0, as for Python's sum
    from ``Decimal(0)``), so the sum is a whole number of ``10**-places`` and its `Decimal`
    has Python's exponent (`_window_sum`). None if a value had no units (`_NO_UNITS`): only
    Python can sum that window exactly. A row without ``places`` is a whole range without
    events: its window stays zero.
    """
    for bucket, units, places in rows:
        if places is None:
            continue
        if places == _NO_UNITS:
            return None
        values[bucket] = _window_sum(units, places)  # type: ignore[arg-type]  # units with places
    return values


def _window_sum(units: int, places: int) -> Decimal:
    """The sum of a window of `units` millionths whose values have at most `places` decimals.

    Each value is a whole number of ``10**-places``, so the sum is one too: its coefficient
    is exact (the usual case, 0 to `UNIT_PLACES` places, a division without remainder; more
    places only pad zeros) and its exponent is Python's ``Decimal`` sum's.
    """
    if places <= UNIT_PLACES:
        return _scaleb(units // _UNIT_SCALE[places], -places)
    return _scaleb(units * 10 ** (places - UNIT_PLACES), -places)


FOLD_LIMIT = 32_768
"""Most events a ``count`` or ``sum`` summary of several windows folds in Python.

SQLite's ``GROUP BY`` of a window index sorts its rows (a temporary b-tree costing more than
the index scan itself), because no index orders them by window, and each window's row then
costs a row fetch. So those queries read every live event's window index (and units) as one
row of ``group_concat`` lists, and Python folds them: `collections.Counter` for counts,
integer sums per window for sums, both exact. The lists stay small (under ~1 MB at this
limit); a range holding more events runs the ``GROUP BY`` query instead."""


def _int_lists(*lists: str | None) -> list[list[int]]:
    """Comma-separated integers (``group_concat`` of integers, or None for none) as lists.

    One `json.loads` parses them all, at about half the cost of ``int()`` per item.
    """
    return json.loads(f"[[{'],['.join(text or '' for text in lists)}]]")  # type: ignore[no-any-return]


def _fold(formula: str, count: int, row: tuple[Any, ...]) -> tuple[bool, list[Decimal] | None]:
    """Whether a ``"fold"`` query's `row` answers the summary, and its values if it does.

    The ``GROUP BY`` query answers instead for a range of `FOLD_LIMIT` events or more, and
    for a sum of values with different places (each window's exponent is then its own
    values' most).
    """
    found, buckets, *columns = row
    if found >= FOLD_LIMIT:
        return False, None
    if formula == "count":
        return True, _fold_counts(count, buckets)
    units, fewest, most = columns
    if fewest != most:
        return False, None
    return True, _fold_sums(count, found, buckets, units, most)


def _fold_counts(count: int, buckets: str | None) -> list[Decimal]:
    """`count` windows' counts from the comma-separated window index of every event."""
    values = [ZERO] * count
    if buckets is not None:
        counts, shared = SMALL_COUNTS, len(SMALL_COUNTS)
        for bucket, counted in Counter(_int_lists(buckets)[0]).items():
            values[bucket] = counts[counted] if counted < shared else Decimal(counted)
    return values


def _fold_sums(
    count: int, found: int, buckets: str | None, units: str | None, places: int | None
) -> list[Decimal] | None:
    """`count` windows' exact sums from the window indexes and units of `found` events.

    Every value of the range has the same `places` (the caller checks), so every window's
    exponent is ``-max(0, places)``, as in `_fill_sums`. ``group_concat`` skips NULLs, so a
    value without units leaves `units` shorter than `buckets`: then only Python can sum the
    range exactly (None).
    """
    values = [ZERO] * count
    if buckets is None or places is None:
        return values if not found else None
    indexes, amounts = _int_lists(buckets, units)
    if len(amounts) != found:
        return None
    totals: dict[int, int] = {}
    total_of = totals.get
    for bucket, amount in zip(indexes, amounts, strict=True):
        totals[bucket] = total_of(bucket, 0) + amount
    exponent = max(0, places)
    if exponent > UNIT_PLACES:
        for bucket, total in totals.items():
            values[bucket] = _window_sum(total, exponent)
        return values
    divisor, shift = _UNIT_SCALE[exponent], -exponent  # `_window_sum`, once for every window
    for bucket, total in totals.items():
        values[bucket] = _scaleb(total // divisor, shift)
    return values


_LAST_KEY_LIMIT = 2**63 - 1
"""``last`` orders a window's events by one integer, ``(timestamp - start) * key + seq`` with
``key = (2**63 - 1) // (end - start)``: it stays an SQLite integer (no overflow) and follows
``(timestamp, seq)`` order while every seq is below ``key`` (~3.5e12 for a 30-day range),
which is checked before each such query."""

_LATEST_SEQ = "SELECT COALESCE(MAX(seq), 0) FROM events"
"""The largest seq in the store (the rowid b-tree's last entry: O(log n))."""

_LIVE = (
    "FROM events WHERE meter = :meter AND customer = :customer AND cancelled = 0 "
    "AND timestamp >= :{low} AND timestamp < :{high}"
)
"""A customer's live events in a range, from the partial index ``events_live`` (whose
``cancelled = 0`` a query must repeat as written for the planner to use it)."""


@functools.cache
def _summary_sql(formula: str, size: int | None, shape: str) -> str:
    """The summary query of `formula` on raw events (`size` None) or pre-aggregated ones.

    `shape` ``"grouped"`` (several windows): one row per non-empty summary window, starting
    with its index ``bucket``, then ``count``: the count; ``sum``: ``SUM(units)`` and
    ``places`` (see `_fill_sums`); ``last``: the value's units, places and text
    (`_stored_value`). ``"whole"`` (one window): the same columns from one aggregate without
    ``GROUP BY`` (no sort), a single row whose count is 0, or whose places are NULL, or
    none (``last``) when the range holds no event. ``"single"``: a summary window that is
    exactly one pre-aggregation window, whose survivors are grouped by summary window
    directly, sparing a second ``GROUP BY``; ``count`` then has no count column (always 1).
    ``"fold"`` (``count`` and ``sum`` of several windows): one row, how many events were read
    (at most ``:limit``), the ``group_concat`` list of their window indexes and, for ``sum``,
    of their units, with their fewest and most places; folded in Python (`FOLD_LIMIT`).
    Built once per shape, so the driver's statement cache sees the same text every time.

    Every aggregate costs per event, so each query keeps to the fewest. Pre-aggregation keeps
    each window's latest received event: SQLite's bare columns next to a single ``MAX(seq)``
    come from that row. Every formula reads only the covering index: ``last`` finds each
    window's latest event in it (`_LAST_KEY_LIMIT`) and rebuilds its value from its units and
    places (`_stored_value`), reading the row only for a value kept as text (`_value_text`).
    """
    bucket = "(timestamp - :start) / :step AS bucket"
    places = f"IIF(units IS NULL, {_NO_UNITS}, places)"
    live = _LIVE.format(low="start", high="end")
    value = _value_text("s")
    if shape == "single":
        survivors = f"SELECT {bucket}, MAX(seq) AS seq, units, places {live} GROUP BY bucket"
        return {
            "count": f"SELECT DISTINCT {bucket} {live}",
            "sum": f"SELECT bucket, units, MAX(0, {places}) FROM ({survivors})",
            "last": f"SELECT bucket, units, places, {value} FROM ({survivors}) AS s",
        }[formula]
    source = live
    if size is not None:
        source = (
            "FROM (SELECT MAX(seq) AS seq, timestamp, units, places "
            f"{_LIVE.format(low='low', high='high')} GROUP BY (timestamp - :low) / {size}) "
            "WHERE timestamp >= :start AND timestamp < :end"
        )
    if shape == "fold":
        columns = {"count": "", "sum": ", units, places"}[formula]
        lists = {"count": "", "sum": ", group_concat(units), MIN(places), MAX(places)"}[formula]
        return (
            f"SELECT COUNT(*), group_concat(bucket){lists} "
            f"FROM (SELECT {bucket}{columns} {source} LIMIT :limit)"
        )
    if shape == "whole":
        return {
            "count": f"SELECT 0, COUNT(*) {source}",
            "sum": f"SELECT 0, SUM(units), MAX(0, MAX({places})) {source}",
            "last": f"SELECT 0, units, places, {value} FROM (SELECT seq, units, places, "
            f"MAX((timestamp - :start) * :key + seq) {source}) AS s WHERE s.seq IS NOT NULL",
        }[formula]
    return {
        "count": f"SELECT {bucket}, COUNT(*) {source} GROUP BY bucket",
        "sum": f"SELECT {bucket}, SUM(units), MAX(0, MAX({places})) {source} GROUP BY bucket",
        "last": f"SELECT bucket, units, places, {value} FROM (SELECT {bucket}, seq, units, "
        f"places, MAX((timestamp - :start) * :key + seq) {source} GROUP BY bucket) AS s",
    }[formula]
