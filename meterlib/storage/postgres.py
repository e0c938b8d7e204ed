r"""PostgreSQL storage on psycopg 3 and psycopg_pool: one store for many processes and hosts.

Install the extra: ``pip install 'meterlib[postgres]'``. URLs: ``postgresql://user@host:5432/db``
(or ``postgres://``), any libpq parameter in the query (``sslmode=require``,
``connect_timeout=5``, …) plus meterlib's own options: ``schema`` (default ``meterlib``),
``pool_size`` (most connections this instance opens, default 10) and ``timeout`` (seconds to wait
for a free connection, default 30). Or pass a `psycopg_pool.ConnectionPool` whose connections
are in autocommit mode: ``PostgresStorage(pool, schema="billing")``.

Every rule is the database's, never a Python lock: a partial unique index on the identifiers
that still hold their claim (``ON CONFLICT DO NOTHING`` refuses a taken one, from any host), a
sequence for the order of receipt, one transaction per write. Summaries are one ``GROUP BY`` in
SQL over a covering partial index of live events, with exact ``numeric`` arithmetic. A batch is
one binary ``COPY`` in one transaction (through a staging table when identifiers are claimed):
all of it lands, or none. Meters are kept as read (their definitions never change), so a
create or a summary is one round trip; the insert itself checks that the meter is still active.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlunsplit

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from meterlib.aggregation import SMALL_COUNTS, ZERO, Aggregation, Count, Last, Sum
from meterlib.errors import ConfigurationError, StorageError, describe
from meterlib.model import Meter
from meterlib.storage import _sql, split_storage_url
from meterlib.storage._sql import MeterKeys, payload_implied
from meterlib.storage.base import (
    EventRecord,
    IdempotencyRecord,
    LogRecord,
    MeterInactive,
    NewEvent,
    Point,
    SessionRecord,
    Storage,
    StoredEvent,
    SummaryQuery,
)

if TYPE_CHECKING:
    from psycopg import Connection, Cursor

__all__ = ["MIGRATIONS", "PostgresStorage", "parse_postgres_url"]

DEFAULT_SCHEMA = "meterlib"
DEFAULT_POOL_SIZE = 10
DEFAULT_TIMEOUT = 30.0
MAX_POOL_SIZE = 1_000
MAX_TIMEOUT = 86_400.0
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_OPTIONS = frozenset({"schema", "pool_size", "timeout"})

MIGRATIONS: tuple[str, ...] = (
    # 1: meters, events (an identifier's latest event holds its claim), sessions, event log.
    """
    CREATE TABLE {s}.meters (
        seq        integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id         text NOT NULL UNIQUE,
        event_name text NOT NULL UNIQUE,
        status     text NOT NULL,
        body       text NOT NULL
    );
    CREATE INDEX meters_by_status ON {s}.meters (status, seq);
    CREATE SEQUENCE {s}.receipts AS bigint;
    CREATE TABLE {s}.events (
        seq        bigint PRIMARY KEY,
        timestamp  bigint NOT NULL,
        created    bigint NOT NULL,
        meter      integer NOT NULL,
        cancelled  boolean NOT NULL DEFAULT false,
        claimed    boolean NOT NULL DEFAULT true,
        value      numeric,
        customer   text NOT NULL,
        identifier text NOT NULL,
        value_text text,
        payload    text
    );
    CREATE UNIQUE INDEX events_claims ON {s}.events (identifier) WHERE claimed;
    CREATE INDEX events_live ON {s}.events (meter, customer, timestamp, seq) INCLUDE (value)
        WHERE NOT cancelled;
    CREATE TABLE {s}.sessions (
        token      text PRIMARY KEY,
        id         text NOT NULL UNIQUE,
        created    bigint NOT NULL,
        expires_at bigint NOT NULL
    );
    CREATE INDEX sessions_by_expiry ON {s}.sessions (expires_at);
    CREATE TABLE {s}.event_log (
        seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id      text NOT NULL UNIQUE,
        type    text NOT NULL,
        created bigint NOT NULL,
        body    text NOT NULL
    );
    CREATE INDEX event_log_by_type ON {s}.event_log (type, seq);
    CREATE INDEX event_log_by_created ON {s}.event_log (created);
    CREATE TABLE {s}.idempotency_keys (
        key         text PRIMARY KEY,
        fingerprint text NOT NULL,
        created     bigint NOT NULL,
        status      integer,
        response    text
    );
    CREATE INDEX idempotency_keys_by_created ON {s}.idempotency_keys (created);
    """,
    # 2: the live-events index covers value_text too, so `last` reads only the index.
    """
    CREATE INDEX events_live_2 ON {s}.events (meter, customer, timestamp, seq)
        INCLUDE (value, value_text) WHERE NOT cancelled;
    DROP INDEX {s}.events_live;
    ALTER INDEX {s}.events_live_2 RENAME TO events_live;
    """,
    # 3: no NULL value_text: an index entry without a NULL has no null bitmap, 8 bytes less
    # (events_live at 1M events: 57.5 MiB against the bare index's 39.6; 48.5 without NULLs).
    """
    UPDATE {s}.events SET value_text = '' WHERE value_text IS NULL;
    ALTER TABLE {s}.events ALTER COLUMN value_text SET DEFAULT '',
        ALTER COLUMN value_text SET NOT NULL;
    REINDEX INDEX {s}.events_live;
    """,
)
"""Forward migrations: entry N-1 brings a schema from version N-1 to N (``{s}``: the schema).

``events.value_text`` is the value's text only where ``numeric`` would not give it back as
written (a positive exponent, ``1E+2``; a negative zero), else ``''`` (reads take it as NULL
through `_VALUE_TEXT`); ``events.payload`` is NULL when the
payload is exactly what the meter's keys, the customer and the value imply."""

SCHEMA_VERSION = len(MIGRATIONS)

_CONNECTION_LOST = frozenset({"57P01", "57P02", "57P03", "08000", "08003", "08006", "08001"})
"""SQLSTATEs of a server that shut down, crashed, is starting, or a connection that broke."""


def parse_postgres_url(url: str) -> tuple[str, str, int, float]:
    """The libpq connection URL, schema, pool size and timeout of a ``postgresql://`` URL.

    >>> parse_postgres_url("postgres://app@db:5432/main?schema=billing&sslmode=require")
    ('postgresql://app@db:5432/main?sslmode=require', 'billing', 10, 30.0)
    """
    parts = split_storage_url(url)
    if parts.scheme not in ("postgresql", "postgres"):
        _invalid(f"not a postgresql URL: {describe(url)}")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    options = {key: value for key, value in pairs if key in _OPTIONS}
    schema = options.get("schema", DEFAULT_SCHEMA)
    if not _SCHEMA_NAME.fullmatch(schema):
        _invalid(
            "schema must be a lower-case SQL name (letters, digits, underscores, at most 63); "
            f"got {schema!r}"
        )
    pool_size = _bounded(
        options.get("pool_size", str(DEFAULT_POOL_SIZE)), "pool_size", 1, MAX_POOL_SIZE
    )
    timeout = _bounded(options.get("timeout", str(DEFAULT_TIMEOUT)), "timeout", 0, MAX_TIMEOUT)
    query = urlencode(
        [(key, value) for key, value in pairs if key not in _OPTIONS], quote_via=quote
    )
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, query, ""))
    return conninfo, schema, int(pool_size), timeout


def _bounded(text: str, name: str, low: float, high: float) -> float:
    """A finite number from `low` to `high` (a whole one for ``pool_size``)."""
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high) or (
        name == "pool_size" and number != int(number)
    ):
        _invalid(f"{name} must be a number from {low:g} to {high:g}; got {text!r}")
    return number


def _invalid(message: str) -> Any:
    raise ConfigurationError(message, code="storage_url_invalid", param="storage")


_CODES: tuple[tuple[type[psycopg.Error], str], ...] = (
    (psycopg.errors.QueryCanceled, "storage_timeout"),  # statement_timeout, or cancelled
    (psycopg.errors.LockNotAvailable, "storage_locked"),  # lock_timeout
    (psycopg.errors.DeadlockDetected, "storage_locked"),
    (psycopg.errors.SerializationFailure, "storage_locked"),
    (psycopg.errors.DiskFull, "storage_full"),
    (psycopg.errors.OutOfMemory, "storage_full"),
    (psycopg.errors.InsufficientPrivilege, "storage_forbidden"),
    (psycopg.errors.ReadOnlySqlTransaction, "storage_read_only"),  # a standby, say
    (psycopg.OperationalError, "storage_unavailable"),  # refused, lost, shut down, restarting
    (psycopg.InterfaceError, "storage_unavailable"),  # a connection already closed
)
"""Stripe-style codes of driver errors, the first class that matches winning."""


def _classify(error: BaseException) -> StorageError | None:
    """The `StorageError` a psycopg (or pool) error means, with a Stripe-style code."""
    if isinstance(error, PoolTimeout):
        return StorageError(
            f"PostgreSQL: no connection within the timeout ({error})", code="storage_timeout"
        )
    if not isinstance(error, psycopg.Error):
        return None
    code = next((code for kind, code in _CODES if isinstance(error, kind)), None)
    if code is None:
        lost = (error.sqlstate or "") in _CONNECTION_LOST
        code = "storage_unavailable" if lost else "storage_failure"
    return StorageError(f"PostgreSQL: {str(error).strip()}", code=code)


_VALUE_TEXT = "NULLIF(value_text, '')"
"""``events.value_text`` as read: NULL where the value needs no text (stored as ``''``)."""


def _needs_text(value: Decimal) -> bool:
    """Whether ``numeric`` would give `value` back differently (``1E+2``, ``-0``)."""
    exponent = value.as_tuple().exponent
    return (isinstance(exponent, int) and exponent > 0) or (value.is_zero() and value.is_signed())


@functools.cache
def _summary_sql(formula: str, size: int | None, schema: str) -> str:
    """A row per non-empty summary window: its index, and its value.

    Raw meters group the live events of the range by window. Pre-aggregated ones first keep
    each pre-aggregation window's latest received live event (``DISTINCT ON`` its window, by
    ``seq`` descending), then group those survivors that lie in the range. ``last`` keeps each
    summary window's greatest ``(timestamp, seq)`` and its value, as text. Every column read is
    in the covering index ``events_live``: an index-only scan. ``numeric`` sums are exact.
    Rows in the text format, which psycopg's C loaders read (a count as an int, a sum as a
    ``Decimal``). One row of two arrays costs the client fewer instructions (1.45M against
    1.85M for 538 windows) but the server an ``array_agg`` over the windows: a 538-window
    count took 1.12x the bare ``GROUP BY``'s time that way, 1.07x as rows.
    """
    events = f"{schema}.events"
    live = (
        f"FROM {events} WHERE meter = %(meter)s AND customer = %(customer)s AND NOT cancelled "
        "AND timestamp >= %({low})s AND timestamp < %({high})s"
    )
    bucket = "(timestamp - %(start)s) / %(step)s AS bucket"
    if size is None:
        source = live.format(low="start", high="end")
    else:
        source = (
            f"FROM (SELECT DISTINCT ON ((timestamp - %(low)s) / {size}) timestamp, seq, value, "
            "value_text "
            f"{live.format(low='low', high='high')} ORDER BY (timestamp - %(low)s) / {size}, "
            "seq DESC) AS survivors WHERE timestamp >= %(start)s AND timestamp < %(end)s"
        )
    if formula == "count":
        return f"SELECT {bucket}, count(*) {source} GROUP BY bucket"
    if formula == "sum":
        return f"SELECT {bucket}, sum(value) {source} GROUP BY bucket"
    return (
        f"SELECT DISTINCT ON (bucket) {bucket}, COALESCE({_VALUE_TEXT}, value::text) "
        f"{source} ORDER BY bucket, timestamp DESC, seq DESC"
    )


_SQL_FORMULAS: dict[type, str] = {Sum: "sum", Count: "count", Last: "last"}
_IDLE = psycopg.pq.TransactionStatus.IDLE
SPARE_SECONDS = 60.0
"""Longest a connection is kept back from the pool between calls (`PostgresStorage._take`)."""

_EVENT_COLUMNS = (
    "timestamp", "created", "meter", "value", "customer", "identifier", "value_text", "payload",
)  # fmt: skip
"""The columns of an event row as `PostgresStorage._event_row` gives them, in order."""
_COLUMNS = ", ".join(_EVENT_COLUMNS)
_COPY_TYPES = ("int8", "int8", "int8", "int4", "numeric", "text", "text", "text", "text")
"""Binary ``COPY`` types of ``seq`` and then the `_EVENT_COLUMNS`."""


_R = TypeVar("_R")


def _read(method: Callable[..., _R]) -> Callable[..., _R]:
    """A read-only storage call, tried once more if its connection turned out broken.

    After a server restart every pooled connection is broken; `_connection` replaces them
    as soon as one fails, so the second try of a read runs on a working one. Writes are never
    tried again here: whether a lost write landed is the caller's to find out (retrying a
    create with its identifier is safe, see ``docs/storage.md``).
    """

    @functools.wraps(method)
    def read(self: PostgresStorage, *args: Any, **kwargs: Any) -> _R:
        lost = self._lost_connections
        try:
            return method(self, *args, **kwargs)
        except StorageError:
            if self._lost_connections == lost or self._closed:
                raise
        return method(self, *args, **kwargs)

    return read


class PostgresStorage(Storage):
    """Storage in a PostgreSQL schema, shared by every process and host that opens it.

    Thread-safe: each call takes a connection from the pool for its own statements.

    Args:
        url: a ``postgresql://`` URL (see the module's documentation), or a
            `psycopg_pool.ConnectionPool` handing out autocommit connections, which meterlib
            uses but never closes.
        schema: the schema of meterlib's tables when a pool is given (the URL's ``schema``
            option otherwise).

    Raises:
        StorageError: ``storage_unavailable`` (the server cannot be reached),
            ``storage_foreign`` (the schema holds tables meterlib did not create),
            ``storage_version`` (a newer meterlib migrated it).

    """

    def __init__(
        self, url: str | ConnectionPool[Any] = "postgresql://", *, schema: str | None = None
    ) -> None:
        self._closed = False
        self._lost_connections = 0
        self._meter_keys: dict[str, MeterKeys] = {}
        self._meters: dict[str, Meter] = {}
        """Meters by id as last read: their definitions (`cached_meter`); status may be stale."""
        self._active: dict[str, Meter] = {}
        """Meters by event name, each last seen active (`cached_meter_by_event_name`)."""
        self._keys_lock = threading.Lock()
        self._spare: tuple[Connection[Any], float] | None = None
        """The connection the last call used, kept back for the next one (`_take`), and when
        it left the pool."""
        self._spare_lock = threading.Lock()
        self._reader: Cursor[Any] | None = None
        """A cursor on the connection kept back, reused by its summaries (`_reader_on`)."""
        self._busy = 0
        """Calls of this store holding a connection now."""
        if isinstance(url, ConnectionPool):
            name = schema or DEFAULT_SCHEMA
            if not _SCHEMA_NAME.fullmatch(name):
                _invalid(f"schema must be a lower-case SQL name; got {name!r}")
            self.schema = name
            self._pool: ConnectionPool[Any] = url
            self._owns_pool = False
            self._timeout = url.timeout
            with self._translate(), url.connection() as connection:
                if not connection.autocommit:
                    raise ConfigurationError(
                        "pass a pool of autocommit connections: "
                        "ConnectionPool(conninfo, kwargs={'autocommit': True})",
                        code="storage_pool_invalid",
                        param="storage",
                    )
                self._migrate(connection)
        else:
            conninfo, self.schema, pool_size, self._timeout = parse_postgres_url(url)
            with self._translate():
                # one plain connection first: an unreachable server fails here at once, not
                # after the pool's timeout, and the schema is ready before the pool opens
                with psycopg.connect(
                    conninfo, autocommit=True, connect_timeout=max(1, math.ceil(self._timeout))
                ) as connection:
                    self._migrate(connection)
                # every connection opened now: none is opened later by a pool thread, which
                # would draw from the global `random` (the pool jitters connection lifetimes)
                # while the caller's code runs; Hypothesis tests refuse that
                self._pool = ConnectionPool(
                    conninfo,
                    min_size=pool_size,
                    max_size=pool_size,
                    kwargs={"autocommit": True},
                    timeout=self._timeout,
                    open=False,
                    name=f"meterlib-{self.schema}",
                    configure=self._warm,
                )
                self._pool.open(wait=True, timeout=max(self._timeout, 1.0))
            self._owns_pool = True
        self._s = f'"{self.schema}"'
        # the meter's status is read in the insert's own statement: an event whose meter was
        # deactivated (by any host) is refused, whatever copy of the meter the caller held
        self._insert_event = self._sql(
            "WITH meter AS (SELECT seq FROM {t}meters WHERE seq = %(meter)s::integer "
            "AND status = 'active'), landed AS (INSERT INTO {t}events (seq, timestamp, created, "
            "meter, value, customer, identifier, value_text, payload) SELECT "
            "nextval('{t}receipts'), %(timestamp)s::bigint, %(created)s::bigint, meter.seq, "
            "%(value)s::numeric, %(customer)s::text, %(identifier)s::text, "
            "%(value_text)s::text, %(payload)s::text FROM meter ON CONFLICT (identifier) "
            "WHERE claimed DO NOTHING RETURNING seq) "
            "SELECT (SELECT seq FROM landed), EXISTS (SELECT FROM meter)"
        )
        self._meter_by_id = self._sql("SELECT seq, body FROM {t}meters WHERE id = %s")
        self._meter_by_name = self._sql("SELECT seq, body FROM {t}meters WHERE event_name = %s")
        self._release = self._sql(
            "UPDATE {t}events SET claimed = false "
            "WHERE identifier = ANY(%s) AND claimed AND created <= %s RETURNING identifier"
        )

    def _warm(self, connection: Connection[Any]) -> None:
        """Have a new pooled connection's server process read what the first calls will need.

        A server process reads a table's definition, its indexes' and an aggregate's on its
        first statement using them: measured ~1 ms of a first summary's ~3 ms on a fresh
        connection. The pool calls this in its own threads as it opens (or replaces) a
        connection, so that cost moves out of the calls into opening: a meter lookup and each
        built-in formula's summary, all of a meter that cannot exist.
        """
        schema = f'"{self.schema}"'
        connection.execute(
            f"SELECT seq, body FROM {schema}.meters WHERE id = ''", prepare=False
        ).fetchall()
        nothing = {"meter": 0, "customer": "", "start": 0, "end": 0, "step": 1}
        for formula in _SQL_FORMULAS.values():
            connection.execute(_summary_sql(formula, None, schema), nothing).fetchall()

    def _sql(self, statement: str) -> str:
        """A statement with ``{t}`` before each table name, in this store's schema."""
        return statement.replace("{t}", f'"{self.schema}".')

    def _shared(self, statement: str) -> str:
        """A statement of `meterlib.storage._sql` as psycopg runs it on this schema."""
        return _sql.for_postgres(statement, f'"{self.schema}"')

    # --- connections -----------------------------------------------------------------------

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Every psycopg and pool error as a `StorageError` (the original its ``__cause__``)."""
        with _sql.translated(_classify):
            yield

    def _connection(self) -> _Lease:
        """A pooled connection (autocommit: each statement its own transaction), as `_Lease`.

        ``getconn``/``putconn`` rather than the pool's ``connection()``, whose ``with
        connection`` ends in a ``commit()`` that autocommit makes a no-op but still costs
        ~20 µs, a third of a small query's round trip; ``putconn`` rolls back a transaction
        left open and replaces a broken connection all the same. The last connection used is
        kept back for the next call (`_take`, `_give_back`).
        """
        if self._closed:
            raise StorageError("the storage is closed", code="storage_closed")
        return _Lease(self)

    def _take(self) -> tuple[Connection[Any], float]:
        """The connection kept back by the last call, else one from the pool; when it left it.

        The pool hands its connections out first-in first-out, so a caller alone would meet
        a different server process, the one idle longest, on every call: measured ~40 µs more
        per summary than on one connection. Keeping the last one back gives a lone caller the
        same warm server process each time, as a hand-written loop on one connection has.
        """
        with self._spare_lock:
            self._busy += 1
            spare, self._spare = self._spare, None
        if spare is not None:
            return spare
        try:
            connection: Connection[Any] = self._pool.getconn()
        except BaseException:
            with self._spare_lock:
                self._busy -= 1
            raise
        return connection, time.monotonic()

    def _give_back(self, connection: Connection[Any], since: float) -> None:
        """Keep `connection` (out of the pool since `since`) for the next call, or return it.

        Kept only when no other call of this store is under way (one may be waiting for a
        connection of the pool), the connection is idle and well, the pool is this store's
        own (never one lent by the application) and it left the pool less than
        `SPARE_SECONDS` ago (so the pool's lifetime and health checks still reach it).
        """
        broken = connection.broken
        with self._spare_lock:
            self._busy -= 1
            if (
                not self._busy
                and self._spare is None
                and not broken
                and self._owns_pool
                and not self._closed
                and connection.pgconn.transaction_status == _IDLE
                and time.monotonic() - since < SPARE_SECONDS
            ):
                self._spare = connection, since
                return
            if self._reader is not None and self._reader.connection is connection:
                self._reader = None
        self._pool.putconn(connection)
        if broken:  # the server restarted, or the network dropped
            self._lost_connections += 1
            self._pool.check()  # the idle ones are broken too: replace them now

    def _reader_on(self, connection: Connection[Any]) -> Cursor[Any]:
        """A cursor on `connection`, the same one while the connection is kept back.

        `Connection.execute` builds a new cursor every call, about a tenth of the client's
        work in a warm summary (measured: 45k of 450k instructions). Only the holder of the
        connection ever uses its cursor, so the identity check is all the locking it needs.
        """
        reader = self._reader
        if reader is None or reader.connection is not connection or reader.closed:
            reader = self._reader = connection.cursor()
        return reader

    @contextmanager
    def _transaction(self) -> Iterator[Connection[Any]]:
        """A pooled connection inside one transaction, committed on success."""
        with self._connection() as connection, connection.transaction():
            yield connection

    def _migrate(self, connection: Connection[Any]) -> None:
        """Create or migrate the schema, under an advisory lock held until the commit."""
        quoted = f'"{self.schema}"'
        version_table = f"{quoted}.meterlib_schema"
        with connection.transaction():
            connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"meterlib:{self.schema}",)
            )
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.schema,)
                )
            ]
            if tables and "meterlib_schema" not in tables:
                raise StorageError(
                    f"schema {self.schema!r} holds tables meterlib did not create "
                    f"({', '.join(sorted(tables))}); refusing to touch it",
                    code="storage_foreign",
                )
            version = 0
            if tables:
                row = connection.execute(f"SELECT version FROM {version_table}").fetchone()
                version = 0 if row is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"schema {self.schema!r} has version {version}; this meterlib knows up to "
                    f"{SCHEMA_VERSION}: upgrade meterlib",
                    code="storage_version",
                )
            if version == SCHEMA_VERSION:
                return
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {version_table} (version integer NOT NULL)"
            )
            for script in MIGRATIONS[version:]:
                connection.execute(script.replace("{s}", quoted))
            connection.execute(f"DELETE FROM {version_table}")
            connection.execute(
                f"INSERT INTO {version_table} (version) VALUES (%s)", (SCHEMA_VERSION,)
            )

    def close(self) -> None:
        """Close the pool meterlib opened (a pool passed in stays open); later calls raise."""
        if self._closed:
            return
        self._closed = True
        with self._spare_lock:
            spare, self._spare, self._reader = self._spare, None, None
        if spare is not None:
            with self._translate():
                self._pool.putconn(spare[0])
        if self._owns_pool:
            with self._translate():
                self._pool.close()

    # --- meters ----------------------------------------------------------------------------

    def add_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> bool:
        """Insert unless the event name is taken (``ON CONFLICT DO NOTHING``), and its log.

        With `log`, one transaction: a taken log id rolls the meter back too. O(log n).
        """
        params = {
            "id": meter.id,
            "event_name": meter.event_name,
            "status": meter.status,
            "body": _sql.meter_to_json(meter),
        }
        if not log:
            with self._connection() as connection:
                return connection.execute(self._shared(_sql.INSERT_METER), params).rowcount == 1
        with self._transaction() as connection:
            if connection.execute(self._shared(_sql.INSERT_METER), params).rowcount != 1:
                return False
            self._insert_log(connection, log)
            return True

    def replace_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> None:
        """Overwrite the meter's row and append its log in one transaction. O(log n)."""
        with self._transaction() as connection:
            connection.execute(
                self._shared(_sql.REPLACE_METER),
                {"id": meter.id, "status": meter.status, "body": _sql.meter_to_json(meter)},
            )
            self._insert_log(connection, log)
        self._keep(meter)

    def get_meter(self, meter_id: str) -> Meter | None:
        """The meter with this id, read from the database each time. O(log n)."""
        return self._read_meter(self._meter_by_id, meter_id)

    def get_meter_by_event_name(self, event_name: str) -> Meter | None:
        """The meter owning this event name, read from the database each time. O(log n)."""
        return self._read_meter(self._meter_by_name, event_name)

    def cached_meter(self, meter_id: str) -> Meter | None:
        """The meter as last read here (its definition never changes), else read. O(1).

        Its status may be stale: summaries use it, `get_meter` answers users.
        """
        meter = self._meters.get(meter_id)
        if meter is None or self._closed:
            return self.get_meter(meter_id)
        return meter

    def cached_meter_by_event_name(self, event_name: str) -> Meter | None:
        """The meter as last seen active here, else read (a miss is never kept). O(1).

        Another host may have deactivated it since: `add_event` and `add_events` check the
        status in the database as they write, and raise `MeterInactive` (forgetting the copy).
        """
        meter = self._active.get(event_name)
        if meter is None or self._closed:
            return self.get_meter_by_event_name(event_name)
        return meter

    @_read
    def _read_meter(self, sql: str, key: str) -> Meter | None:
        """The meter one of the lookup statements finds, kept for the cached lookups."""
        with self._connection() as connection:
            row = connection.execute(sql, (key,)).fetchone()  # prepared after 5 uses
        if row is None:
            return None
        meter = _sql.meter_from_json(row[1])
        self._keep(meter, row[0])
        return meter

    def _keep(self, meter: Meter, seq: int | None = None) -> None:
        """Remember a meter just read or written: its definition, and by name while active."""
        with self._keys_lock:
            if seq is not None and meter.id not in self._meter_keys:
                self._meter_keys[meter.id] = MeterKeys(
                    seq,
                    meter.customer_mapping.event_payload_key,
                    meter.value_settings.event_payload_key,
                )
            self._meters[meter.id] = meter
            if meter.status == "active":
                self._active[meter.event_name] = meter
            else:
                self._active.pop(meter.event_name, None)

    def _forget_active(self, meter_ids: Iterable[str]) -> None:
        """Drop the kept active copies of these meters: the database says they are inactive."""
        with self._keys_lock:
            for meter_id in meter_ids:
                meter = self._meters.get(meter_id)
                if meter is not None:
                    self._active.pop(meter.event_name, None)

    @_read
    def list_meters(
        self,
        *,
        status: str | None,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> tuple[Sequence[Meter], bool] | None:
        """One page of meters, newest first, or None for a cursor not in the list.

        The cursor's ``seq`` from the unique index on ``id``, then `limit` + 1 rows from there
        (by the primary key, or ``meters_by_status``). O(log n + limit).
        """
        backward = starting_after is None and ending_before is not None
        cursor = ending_before if backward else starting_after
        with self._connection() as connection:
            seq = None
            if cursor is not None:
                row = connection.execute(self._shared(_sql.METER_CURSOR), {"id": cursor}).fetchone()
                if row is None or (status is not None and row[1] != status):
                    return None
                seq = row[0]
            rows = connection.execute(
                self._shared(
                    _sql.meter_page_sql(status is not None, seq is not None, backward=backward)
                ),
                {"status": status, "seq": seq, "limit": limit + 1},
            ).fetchall()
        page = [_sql.meter_from_json(body) for (body,) in rows[:limit]]
        if backward:
            page.reverse()
        return page, len(rows) > limit

    def _keys(self, connection: Connection[Any], meter_id: str) -> MeterKeys | None:
        """The meter's row number and payload keys, cached: they never change."""
        keys = self._meter_keys.get(meter_id)
        if keys is None:
            row = connection.execute(self._meter_by_id, (meter_id,)).fetchone()
            if row is None:
                return None
            self._keep(_sql.meter_from_json(row[1]), row[0])
            keys = self._meter_keys[meter_id]
        return keys

    # --- events ----------------------------------------------------------------------------

    @staticmethod
    def _event_row(keys: MeterKeys, event: NewEvent) -> tuple[object, ...]:
        """``(timestamp, created, meter, value, customer, identifier, value_text, payload)``."""
        value, payload, customer = event.value, event.payload, event.customer
        text = None if value is None else str(value)
        value_text = "" if value is None or not _needs_text(value) else text
        implied = payload_implied(keys, customer, text, payload)
        return (
            event.timestamp,
            event.created,
            keys.seq,
            value,
            customer,
            event.identifier,
            value_text,
            None if implied else _sql.payload_json(payload),
        )

    def _event_params(self, keys: MeterKeys, event: NewEvent) -> dict[str, object]:
        """`_event_row` as the named parameters of the guarded insert."""
        return dict(zip(_EVENT_COLUMNS, self._event_row(keys, event), strict=True))

    def _insert_guarded(self, connection: Connection[Any], params: dict[str, object]) -> int | None:
        """Run the guarded insert: the new seq, None for a live claim; `MeterInactive` else."""
        row = connection.execute(self._insert_event, params, prepare=True).fetchone()
        assert row is not None  # the statement's last SELECT always gives one row
        seq, active = row
        if not active:
            raise MeterInactive([str(params["meter_id"])])
        return None if seq is None else int(seq)

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Insert unless the identifier's claim is live: one statement, one round trip.

        O(log n). ``ON CONFLICT DO NOTHING`` on the partial unique index ``events_claims``
        refuses an identifier that another event still claims, whichever connection or host
        wrote it. Only when that claim is older than `duplicate_after` does a second
        transaction release it and insert: the release and the new claim commit together.
        The same statement reads the meter's status: a meter deactivated since the caller
        read it (on any host) stores nothing and raises `MeterInactive`.
        """
        with self._connection() as connection:
            keys = self._keys(connection, event.meter_id)
            if keys is None:
                raise StorageError(f"no meter {event.meter_id!r}", code="storage_failure")
            params = self._event_params(keys, event)
            params["meter_id"] = event.meter_id
            try:
                found = self._insert_guarded(connection, params)
                if found is not None:
                    return found
                with connection.transaction():
                    released = connection.execute(
                        self._release, ([event.identifier], duplicate_after), prepare=True
                    ).fetchone()
                    if released is None:
                        return None
                    return self._insert_guarded(connection, params)
            except MeterInactive:
                self._forget_active([event.meter_id])
                raise

    def add_events(self, events: Sequence[NewEvent], *, duplicate_after: int) -> list[int | None]:
        """A batch in one transaction and one ``COPY``: all of it lands, or none. O(k log n).

        One statement first draws a receipt number for every event, in batch order, and reads
        the status of the batch's meters: one no longer active (deactivated on any host)
        stores nothing and raises `MeterInactive`. A batch of distinct identifiers is then
        copied straight into ``events`` under a savepoint; if an identifier is still
        claimed (the unique index ``events_claims`` refuses the ``COPY``) it is rolled back and
        the careful path runs: ``COPY`` into a temporary staging table, ``INSERT … SELECT …
        ORDER BY seq ON CONFLICT DO NOTHING RETURNING`` (first in the batch first), then the
        rows that met a claim older than `duplicate_after` are released and inserted by a
        second statement, with the numbers they were given.
        """
        if not events:
            with self._connection():
                return []
        with self._transaction() as connection:
            keys_of: dict[str, MeterKeys] = {}
            for meter_id in {event.meter_id for event in events}:
                keys = self._keys(connection, meter_id)
                if keys is None:
                    raise StorageError(f"no meter {meter_id!r}", code="storage_failure")
                keys_of[meter_id] = keys
            drawn = connection.execute(
                self._sql(
                    "SELECT array(SELECT nextval('{t}receipts') FROM generate_series(1, %s)), "
                    "array(SELECT id FROM {t}meters WHERE seq = ANY(%s) AND status <> 'active')"
                ),
                (len(events), [keys.seq for keys in keys_of.values()]),
                prepare=True,
            ).fetchone()
            assert drawn is not None  # a SELECT without FROM gives one row
            seqs, inactive = drawn
            if inactive:
                self._forget_active(inactive)
                raise MeterInactive(inactive)
            seqs.sort()
            event_row = self._event_row
            copy_events = self._sql(
                f"COPY {{t}}events (seq, {_COLUMNS}) FROM STDIN (FORMAT BINARY)"
            )
            rows = []
            if len({event.identifier for event in events}) == len(events):
                try:
                    with connection.transaction(), connection.cursor().copy(copy_events) as copy:
                        copy.set_types(_COPY_TYPES)
                        for seq, event in zip(seqs, events, strict=True):
                            row = (seq, *event_row(keys_of[event.meter_id], event))
                            rows.append(row)
                            copy.write_row(row)
                    return [int(seq) for seq in seqs]
                except psycopg.errors.UniqueViolation:
                    pass  # an identifier is claimed: the careful path, from the same rows
            if len(rows) < len(events):
                rows = [
                    (seq, *event_row(keys_of[event.meter_id], event))
                    for seq, event in zip(seqs, events, strict=True)
                ]
            landed = self._insert_staged(connection, rows, events, duplicate_after)
        results: list[int | None] = []
        for event in events:
            seq = landed.pop(event.identifier, None)
            results.append(None if seq is None else int(seq))
        return results

    def _insert_staged(
        self,
        connection: Connection[Any],
        rows: Sequence[tuple[object, ...]],
        events: Sequence[NewEvent],
        duplicate_after: int,
    ) -> dict[str, int]:
        """Insert the numbered rows through the staging table; the seq of each identifier stored."""
        staging = "meterlib_staging"
        connection.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (seq bigint NOT NULL, "
            "timestamp bigint, created bigint, meter integer, value numeric, customer text, "
            "identifier text, value_text text, payload text) ON COMMIT DELETE ROWS"
        )
        with connection.cursor().copy(
            f"COPY {staging} (seq, {_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(_COPY_TYPES)
            for row in rows:
                copy.write_row(row)
        insert = self._sql(
            f"INSERT INTO {{t}}events (seq, {_COLUMNS}) SELECT seq, {_COLUMNS} FROM {staging} "
            "{where} ORDER BY seq ON CONFLICT (identifier) WHERE claimed DO NOTHING "
            "RETURNING identifier, seq"
        )
        landed: dict[str, int] = dict(connection.execute(insert.replace("{where}", "")).fetchall())
        missing = list({event.identifier for event in events} - landed.keys())
        if missing:
            released = [
                identifier
                for (identifier,) in connection.execute(self._release, (missing, duplicate_after))
            ]
            if released:
                again = insert.replace("{where}", "WHERE identifier = ANY(%s)")
                landed.update(connection.execute(again, (released,)).fetchall())
        return landed

    @_read
    def find_event(self, identifier: str) -> EventRecord | None:
        """The event holding the identifier's claim (its latest), by ``events_claims``. O(log n)."""
        with self._connection() as connection:
            row = connection.execute(
                self._sql(_sql.FIND_EVENT_COLUMNS + " WHERE e.identifier = %s AND e.claimed"),
                (identifier,),
            ).fetchone()
        return None if row is None else _sql.event_record(identifier, row)

    def cancel_event(self, seq: int) -> bool:
        """Flag the event cancelled unless it already is: one statement. O(log n)."""
        with self._connection() as connection:
            cursor = connection.execute(
                self._sql("UPDATE {t}events SET cancelled = true WHERE seq = %s AND NOT cancelled"),
                (seq,),
            )
            return cursor.rowcount == 1

    @_read
    def scan_points(self, meter_id: str, customer: str, start: int, end: int) -> Iterable[Point]:
        """Live points in ``[start, end)`` ordered by ``(timestamp, seq)``. O(log n + k)."""
        with self._connection() as connection:
            keys = self._keys(connection, meter_id)
            if keys is None:
                return []
            rows = connection.execute(
                self._sql(
                    f"SELECT timestamp, seq, value, {_VALUE_TEXT} FROM {{t}}events "
                    "WHERE meter = %s AND customer = %s AND NOT cancelled AND timestamp >= %s "
                    "AND timestamp < %s "
                    "ORDER BY timestamp, seq"
                ),
                (keys.seq, customer, start, end),
            ).fetchall()
        return [
            (timestamp, seq, value if text is None else Decimal(text))
            for timestamp, seq, value, text in rows
        ]

    @_read
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
        """Events after seq `after`, in seq order, walking the primary key. O(log n + scanned).

        The filters are checked row by row, as the interface says.
        """
        conditions = ["e.seq > %(after)s"]
        params: dict[str, object] = {"after": -1 if after is None else after, "limit": limit}
        with self._connection() as connection:
            if meter_id is not None:
                keys = self._keys(connection, meter_id)
                if keys is None:
                    return []
                conditions.append("e.meter = %(meter)s")
                params["meter"] = keys.seq
            for name, value, condition in (
                ("customer", customer, "e.customer = %(customer)s"),
                ("start", start, "e.timestamp >= %(start)s"),
                ("end", end, "e.timestamp < %(end)s"),
            ):
                if value is not None:
                    conditions.append(condition)
                    params[name] = value
            if not include_cancelled:
                conditions.append("NOT e.cancelled")
            rows = connection.execute(
                self._sql(
                    "SELECT e.seq, m.id, m.event_name, e.customer, e.identifier, e.timestamp, "
                    f"e.created, e.value, {_VALUE_TEXT}, e.cancelled FROM {{t}}events AS e "
                    f"JOIN {{t}}meters AS m ON m.seq = e.meter WHERE {' AND '.join(conditions)} "
                    "ORDER BY e.seq LIMIT %(limit)s"
                ),
                params,
            ).fetchall()
        events = []
        for seq, meter, event_name, who, identifier, timestamp, created, *value, cancelled in rows:
            number = value[0] if value[1] is None else Decimal(value[1])
            events.append(
                StoredEvent(
                    seq, meter, event_name, who, identifier, timestamp, created, number, cancelled
                )
            )
        return events

    # --- summaries -------------------------------------------------------------------------

    @_read
    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """The built-in formulas in one SQL query; others fold `scan_points` in Python.

        O(log n + events in the range), inside PostgreSQL.
        """
        if query.count == 0:
            return []
        formula = _SQL_FORMULAS.get(type(aggregation))
        if formula is None:
            return super().summarize(query, aggregation)
        low, high = query.scan_range
        sql = _summary_sql(formula, query.pre_aggregation_window, self._s)
        values = [ZERO] * query.count
        with self._connection() as connection:
            keys = self._keys(connection, query.meter.id)
            if keys is None:
                return values
            params = {
                "meter": keys.seq,
                "customer": query.customer,
                "low": low,
                "high": high,
                "start": query.start,
                "end": query.end,
                "step": query.step,
            }
            rows = self._reader_on(connection).execute(sql, params).fetchall()
        if formula == "count":
            counts, shared = SMALL_COUNTS, len(SMALL_COUNTS)
            for bucket, counted in rows:
                values[bucket] = counts[counted] if counted < shared else Decimal(counted)
        elif formula == "sum":
            for bucket, value in rows:
                values[bucket] = value
        else:
            for bucket, text in rows:
                values[bucket] = Decimal(text)
        return values

    # --- v2 meter event sessions -----------------------------------------------------------

    def add_session(self, session: SessionRecord) -> None:
        """Insert the session; a taken token or id is ``storage_conflict``. O(log n)."""
        with self._connection() as connection, _conflicts("a session with this token or id"):
            connection.execute(
                self._shared(_sql.INSERT_SESSION),
                {
                    "token": session.token,
                    "id": session.id,
                    "created": session.created,
                    "expires_at": session.expires_at,
                },
            )

    @_read
    def find_session(self, token: str) -> SessionRecord | None:
        """The session with this token, expired or not, by primary key. O(log n)."""
        with self._connection() as connection:
            row = connection.execute(self._shared(_sql.FIND_SESSION), {"token": token}).fetchone()
        if row is None:
            return None
        session_id, created, expires_at = row
        return SessionRecord(id=session_id, token=token, created=created, expires_at=expires_at)

    def purge_sessions(self, *, expired_by: int) -> int:
        """Delete the sessions with ``expires_at <= expired_by`` (one statement). O(k log n)."""
        with self._connection() as connection:
            cursor = connection.execute(
                self._shared(_sql.PURGE_SESSIONS), {"expired_by": expired_by}
            )
            return cursor.rowcount

    # --- v2 event log ----------------------------------------------------------------------

    def add_log_events(self, records: Sequence[LogRecord]) -> None:
        """Insert the records in one transaction, in order; a taken id stores none. O(k log n).

        An identity column numbers them, never reusing a number, so receipt order is insertion
        order on every host.
        """
        if not records:
            with self._connection():
                return
        with self._transaction() as connection:
            self._insert_log(connection, records)

    def _insert_log(self, connection: Connection[Any], records: Sequence[LogRecord]) -> None:
        """Insert log records inside the caller's transaction; a taken id raises."""
        if not records:
            return
        with _conflicts("an event log entry with this id"):
            connection.cursor().executemany(
                self._shared(_sql.INSERT_LOG_EVENT),
                [
                    {
                        "id": record.id,
                        "type": record.type,
                        "created": record.created,
                        "body": record.body,
                    }
                    for record in records
                ],
            )

    @_read
    def list_log_events(
        self,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        types: frozenset[str] | None = None,
    ) -> tuple[Sequence[LogRecord], bool] | None:
        """One page of the log, newest first, or None for a cursor not in the list.

        In one repeatable-read transaction: the cursor's ``seq`` from the unique index on
        ``id``, then `limit` + 1 rows from there, by the primary key or ``event_log_by_type``.
        O(log n + limit), or O(t (log n + limit)) with t types.
        """
        backward = starting_after is None and ending_before is not None
        cursor = ending_before if backward else starting_after
        kinds = () if types is None else tuple(sorted(types))
        with self._connection() as connection:
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                seq = None
                if cursor is not None:
                    found = connection.execute(
                        self._shared(_sql.LOG_CURSOR), {"id": cursor}
                    ).fetchone()
                    if found is None or (types is not None and found[1] not in types):
                        return None
                    seq = found[0]
                if types is not None and not kinds:
                    return [], False
                sql = _sql.log_page_sql(len(kinds), from_cursor=seq is not None, backward=backward)
                rows = connection.execute(
                    self._shared(sql), _sql.log_page_params(kinds, seq, limit)
                ).fetchall()
            finally:
                connection.execute("ROLLBACK")
        page = [
            LogRecord(id=event_id, type=kind, created=created, body=body)
            for event_id, kind, created, body in rows[:limit]
        ]
        if backward:
            page.reverse()
        return page, len(rows) > limit

    @_read
    def get_log_event(self, event_id: str) -> LogRecord | None:
        """The entry with this id, from the unique index on ``id``. O(log n)."""
        with self._connection() as connection:
            row = connection.execute(self._shared(_sql.GET_LOG_EVENT), {"id": event_id}).fetchone()
        if row is None:
            return None
        kind, created, body = row
        return LogRecord(id=event_id, type=kind, created=created, body=body)

    def purge_log_events(self, *, created_before: int) -> int:
        """Delete the entries with ``created < created_before`` (one statement). O(k log n)."""
        with self._connection() as connection:
            cursor = connection.execute(
                self._shared(_sql.PURGE_LOG_EVENTS), {"created_before": created_before}
            )
            return cursor.rowcount

    # --- idempotency keys ------------------------------------------------------------------

    def claim_idempotency_key(
        self, claim: IdempotencyRecord, *, answered_after: int, pending_after: int
    ) -> IdempotencyRecord | None:
        """Claim the key with one upsert unless its record holds; else read that record.

        O(log n). ``ON CONFLICT DO UPDATE … WHERE`` replaces a stale record and leaves one that
        holds, under the row's lock, so of two hosts claiming one key only one succeeds. When
        the record that held is gone by the time it is read (purged), the claim is tried again.
        """
        upsert = self._sql(
            "INSERT INTO {t}idempotency_keys AS k (key, fingerprint, created) "
            "VALUES (%(key)s, %(fingerprint)s, %(created)s) ON CONFLICT (key) DO UPDATE SET "
            "fingerprint = EXCLUDED.fingerprint, created = EXCLUDED.created, status = NULL, "
            "response = NULL WHERE k.created <= CASE WHEN k.status IS NULL "
            "THEN %(pending_after)s ELSE %(answered_after)s END RETURNING true"
        )
        read = self._sql(
            "SELECT fingerprint, created, status, response FROM {t}idempotency_keys "
            "WHERE key = %(key)s"
        )
        params = {
            "key": claim.key,
            "fingerprint": claim.fingerprint,
            "created": claim.created,
            "pending_after": pending_after,
            "answered_after": answered_after,
        }
        with self._connection() as connection:
            while True:
                if connection.execute(upsert, params).fetchone() is not None:
                    return None
                row = connection.execute(read, params).fetchone()
                if row is not None:
                    fingerprint, created, status, response = row
                    return IdempotencyRecord(
                        key=claim.key,
                        fingerprint=fingerprint,
                        created=created,
                        status=status,
                        response=response,
                    )

    def answer_idempotency_key(self, answer: IdempotencyRecord) -> bool:
        """Update the pending row of this key and ``created`` (one statement). O(log n)."""
        with self._connection() as connection:
            cursor = connection.execute(
                self._sql(
                    "UPDATE {t}idempotency_keys SET status = %s, response = %s "
                    "WHERE key = %s AND created = %s AND status IS NULL"
                ),
                (answer.status, answer.response, answer.key, answer.created),
            )
            return cursor.rowcount == 1

    def release_idempotency_key(self, claim: IdempotencyRecord) -> bool:
        """Delete the pending row of this key and ``created`` (one statement). O(log n)."""
        with self._connection() as connection:
            cursor = connection.execute(
                self._sql(
                    "DELETE FROM {t}idempotency_keys "
                    "WHERE key = %s AND created = %s AND status IS NULL"
                ),
                (claim.key, claim.created),
            )
            return cursor.rowcount == 1

    def purge_idempotency_keys(self, *, created_before: int) -> int:
        """Delete the rows with ``created < created_before`` by their index. O(k log n)."""
        with self._connection() as connection:
            cursor = connection.execute(
                self._sql("DELETE FROM {t}idempotency_keys WHERE created < %s"),
                (created_before,),
            )
            return cursor.rowcount


class _Lease:
    """One storage call's hold on a connection: ``with store._connection() as connection``.

    A class rather than a ``@contextmanager`` generator, since every call of the store enters
    one: it runs a fifth of the bytecode. A driver error raised inside, or while the
    connection is taken or given back, leaves as the `StorageError` it means (`_classify`),
    the original as its cause.
    """

    __slots__ = ("_connection", "_since", "_store")

    def __init__(self, store: PostgresStorage) -> None:
        self._store = store

    def __enter__(self) -> Connection[Any]:
        try:
            self._connection, self._since = self._store._take()
        except Exception as error:
            _raise_translated(error)
            raise
        return self._connection

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: object
    ) -> None:
        try:
            self._store._give_back(self._connection, self._since)
        except Exception as failure:
            _raise_translated(failure)
            raise
        if isinstance(error, Exception):
            _raise_translated(error)


def _raise_translated(error: Exception) -> None:
    """Raise the `StorageError` a driver `error` means, from it; return for any other error."""
    if not isinstance(error, StorageError):
        storage_error = _classify(error)
        if storage_error is not None:
            raise storage_error from error


@contextmanager
def _conflicts(what: str) -> Iterator[None]:
    """Turn a unique violation into ``storage_conflict``; other errors pass through."""
    try:
        yield
    except psycopg.errors.UniqueViolation as error:
        raise StorageError(f"{what} is stored already", code="storage_conflict") from error
