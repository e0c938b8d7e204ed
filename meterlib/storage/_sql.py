"""What the SQL backends share: query shapes where SQLite and PostgreSQL agree, and error wrapping.

Statements are written once, with SQLite's named parameters (``:name``) and a ``{t}`` before
each table name; `for_sqlite` and `for_postgres` turn them into each driver's text (tables
unqualified, or qualified by the store's schema; ``%(name)s`` parameters for psycopg). Where the
dialects disagree (types, claiming identifiers, pre-aggregation, bulk ingest) each backend keeps
its own SQL. `translated` is the one driver-error wrapper: each backend supplies the function
that says what a driver error means (`StorageError` code and message).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii
from typing import Any

from meterlib.errors import StorageError
from meterlib.model import (
    AggregationSettings,
    CustomerMapping,
    Meter,
    StatusTransitions,
    ValueSettings,
)
from meterlib.storage.base import EventRecord

# --- event rows -----------------------------------------------------------------------------


class MeterKeys:
    """What events need of a meter, which never changes: its row number and payload keys."""

    __slots__ = ("customer_key", "seq", "value_key")

    def __init__(self, seq: int, customer_key: str, value_key: str) -> None:
        self.seq = seq
        self.customer_key = customer_key
        self.value_key = value_key


def payload_implied(
    keys: MeterKeys, customer: str, value_text: str | None, payload: Mapping[str, object]
) -> bool:
    """Whether the meter's keys rebuild `payload` exactly, so that its JSON need not be stored.

    That is ``{customer key: customer, value key: value_text}`` in this order (`value_text`
    being ``str(value)``), or the customer alone for an event without a value. Readers rebuild
    it the same way.

    >>> keys = MeterKeys(1, "stripe_customer_id", "value")
    >>> payload_implied(keys, "cus_1", "5", {"stripe_customer_id": "cus_1", "value": "5"})
    True
    >>> payload_implied(keys, "cus_1", "5", {"stripe_customer_id": "cus_1", "value": "+5"})
    False
    """
    if len(payload) == 2:
        if value_text is None:
            return False
        (first, given_customer), (second, given_value) = payload.items()
        return (
            first == keys.customer_key
            and given_customer == customer
            and second == keys.value_key
            and given_value == value_text
        )
    return len(payload) == 1 and value_text is None and payload.get(keys.customer_key) == customer


FIND_EVENT_COLUMNS = (
    "SELECT e.seq, m.id, m.event_name, e.customer, e.timestamp, e.created, e.cancelled "
    "FROM {t}events AS e JOIN {t}meters AS m ON m.seq = e.meter"
)
"""`find_event`'s columns; each backend adds how it finds the identifier's claiming event."""


def event_record(identifier: str, row: tuple[Any, ...]) -> EventRecord:
    """The `EventRecord` of a `FIND_EVENT_COLUMNS` row."""
    seq, meter_id, event_name, customer, timestamp, created, cancelled = row
    return EventRecord(
        seq=seq,
        meter_id=meter_id,
        event_name=event_name,
        customer=customer,
        identifier=identifier,
        timestamp=timestamp,
        created=created,
        cancelled=bool(cancelled),
    )


# --- statements both dialects run as written -------------------------------------------------

INSERT_SESSION = (
    "INSERT INTO {t}sessions (token, id, created, expires_at) "
    "VALUES (:token, :id, :created, :expires_at)"
)
FIND_SESSION = "SELECT id, created, expires_at FROM {t}sessions WHERE token = :token"
PURGE_SESSIONS = "DELETE FROM {t}sessions WHERE expires_at <= :expired_by"
INSERT_LOG_EVENT = (
    "INSERT INTO {t}event_log (id, type, created, body) VALUES (:id, :type, :created, :body)"
)
LOG_CURSOR = "SELECT seq, type FROM {t}event_log WHERE id = :id"
GET_LOG_EVENT = "SELECT type, created, body FROM {t}event_log WHERE id = :id"
PURGE_LOG_EVENTS = "DELETE FROM {t}event_log WHERE created < :created_before"
METER_CURSOR = "SELECT seq, status FROM {t}meters WHERE id = :id"
METER_BY_ID = "SELECT body FROM {t}meters WHERE id = :id"
METER_BY_EVENT_NAME = "SELECT body FROM {t}meters WHERE event_name = :event_name"
INSERT_METER = (
    "INSERT INTO {t}meters (id, event_name, status, body) "
    "VALUES (:id, :event_name, :status, :body) ON CONFLICT (event_name) DO NOTHING"
)
REPLACE_METER = "UPDATE {t}meters SET status = :status, body = :body WHERE id = :id"


@functools.cache
def meter_page_sql(by_status: bool, from_cursor: bool, *, backward: bool) -> str:
    """The query of a page of meters: `limit` rows from the cursor's ``seq``, nearest first.

    Forward pages run newest first (``seq`` descending) below the cursor; backward ones oldest
    first above it (the caller reverses them). Fixed fragments only, one text per shape.

    >>> meter_page_sql(False, False, backward=False)
    'SELECT body FROM {t}meters ORDER BY seq DESC LIMIT :limit'
    """
    conditions = ["status = :status"] if by_status else []
    if from_cursor:
        conditions.append("seq > :seq" if backward else "seq < :seq")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    order = "ASC" if backward else "DESC"
    return f"SELECT body FROM {{t}}meters {where}ORDER BY seq {order} LIMIT :limit"


@functools.lru_cache(maxsize=256)
def log_page_sql(types: int, *, from_cursor: bool, backward: bool) -> str:
    """The query of a page of the event log: `limit` rows from the cursor's ``seq``, nearest first.

    `types` is how many parameters ``:type0``, ``:type1``… the ``type IN (...)`` filter takes
    (0: no filter); then ``:seq``, the cursor's, if any, and ``:limit``. Forward pages run
    newest first (``seq`` descending) below the cursor, backward ones oldest first above it
    (the caller reverses them). Fixed fragments only, one text per shape.

    >>> log_page_sql(2, from_cursor=True, backward=False)  # doctest: +NORMALIZE_WHITESPACE
    'SELECT id, type, created, body FROM {t}event_log WHERE type IN (:type0, :type1)
     AND seq < :seq ORDER BY seq DESC LIMIT :limit'
    """
    placeholders = ", ".join(f":type{index}" for index in range(types))
    conditions = [f"type IN ({placeholders})"] if types else []
    if from_cursor:
        conditions.append("seq > :seq" if backward else "seq < :seq")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    order = "ASC" if backward else "DESC"
    columns = "id, type, created, body"
    return f"SELECT {columns} FROM {{t}}event_log {where}ORDER BY seq {order} LIMIT :limit"


def log_page_params(
    kinds: tuple[str, ...], seq: int | None, limit: int
) -> dict[str, str | int | None]:
    """The parameters of `log_page_sql` for these types, cursor and page size.

    >>> log_page_params(("a",), None, 10)
    {'seq': None, 'limit': 11, 'type0': 'a'}
    """
    params: dict[str, str | int | None] = {"seq": seq, "limit": limit + 1}
    params.update({f"type{index}": kind for index, kind in enumerate(kinds)})
    return params


@functools.lru_cache(maxsize=1024)
def for_sqlite(statement: str) -> str:
    """A shared statement as SQLite runs it: tables unqualified.

    >>> for_sqlite(PURGE_SESSIONS)
    'DELETE FROM sessions WHERE expires_at <= :expired_by'
    """
    return statement.replace("{t}", "")


_NAMED = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


@functools.lru_cache(maxsize=1024)
def for_postgres(statement: str, schema: str) -> str:
    """A shared statement as psycopg runs it: tables in `schema` (quoted), ``%(name)s`` parameters.

    >>> for_postgres(PURGE_SESSIONS, '"meterlib"')
    'DELETE FROM "meterlib".sessions WHERE expires_at <= %(expired_by)s'
    """
    text = statement.replace("%", "%%").replace("{t}", f"{schema}.")
    return _NAMED.sub(r"%(\1)s", text)


# --- meters as JSON, payloads as JSON -------------------------------------------------------


def meter_to_json(meter: Meter) -> str:
    """The meter's ``to_dict()`` as JSON, keys sorted: how both SQL backends store it."""
    return json.dumps(meter.to_dict(), sort_keys=True)


def meter_from_json(body: str) -> Meter:
    """The meter `meter_to_json` stored."""
    data: dict[str, Any] = json.loads(body)
    return Meter(
        id=data["id"],
        created=data["created"],
        updated=data["updated"],
        display_name=data["display_name"],
        event_name=data["event_name"],
        default_aggregation=AggregationSettings(**data["default_aggregation"]),
        customer_mapping=CustomerMapping(**data["customer_mapping"]),
        value_settings=ValueSettings(**data["value_settings"]),
        event_time_window=data["event_time_window"],
        status=data["status"],
        status_transitions=StatusTransitions(**data["status_transitions"]),
        livemode=data["livemode"],
    )


def payload_json(payload: dict[str, str]) -> str:
    """``json.dumps(payload)``, character for character, in a quarter of the time.

    A payload is a few string keys and values (the customer and the value, usually), so it is
    written directly with the C string encoder `json.dumps` itself uses; anything that is not a
    string makes that encoder raise TypeError and goes to `json.dumps`.

    >>> payload_json({"stripe_customer_id": "cus_1", "value": "2.5"})
    '{"stripe_customer_id": "cus_1", "value": "2.5"}'
    """
    encode = encode_basestring_ascii
    try:
        if len(payload) == 2:  # the common shape, without building a list
            (key1, value1), (key2, value2) = payload.items()
            return f"{{{encode(key1)}: {encode(value1)}, {encode(key2)}: {encode(value2)}}}"
        items = [f"{encode(key)}: {encode(value)}" for key, value in payload.items()]
    except TypeError:
        return json.dumps(payload)
    return "{" + ", ".join(items) + "}"


# --- driver errors ---------------------------------------------------------------------------

Classifier = Callable[[BaseException], "StorageError | None"]
"""What a driver error means: the `StorageError` to raise instead, or None if it is not one."""


@contextmanager
def translated(classify: Classifier) -> Iterator[None]:
    """Raise `classify`'s `StorageError` for every driver error, with the original as its cause.

    >>> with translated(lambda error: StorageError("lost", code="storage_unavailable")):
    ...     raise OSError("connection reset")
    Traceback (most recent call last):
    ...
    meterlib.errors.StorageError: lost (code=storage_unavailable)
    """
    try:
        yield
    except StorageError:
        raise
    except Exception as error:
        storage_error = classify(error)
        if storage_error is None:
            raise
        raise storage_error from error
