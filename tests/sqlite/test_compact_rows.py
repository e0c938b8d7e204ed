"""Schema 5's compact event rows: what a row keeps, what is rebuilt from it, and the migration."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import meterlib.storage.sqlite as sqlite_module
from meterlib import ManualClock, Meter, Metering, StorageError
from meterlib.aggregation import Aggregation, Last, Sum
from meterlib.storage import IdempotencyRecord, LogRecord, NewEvent, SessionRecord, SummaryQuery
from meterlib.storage.sqlite import SCHEMA_VERSION, SQLiteStorage
from tests.sqlite.old_stores import insert_old_event

NOW = 1_773_100_800
DAY = 86_400
HOUR = 3_600


def _meter(formula: str = "sum", *, number: int = 1, **settings: object) -> Meter:
    """A meter ``mtr_<number>`` of `formula` for event name ``e<number>``."""
    with Metering(clock=ManualClock(datetime.fromtimestamp(NOW, UTC))) as m:
        meter = m.meters.create(
            display_name=f"M{number}",
            event_name=f"e{number}",
            default_aggregation={"formula": formula},
            **settings,  # type: ignore[arg-type]
        )
    return attrs.evolve(meter, id=f"mtr_{number}")


def _event(
    value: Decimal | None,
    payload: dict[str, str] | None = None,
    *,
    identifier: str = "a",
    meter: int = 1,
    created: int = NOW,
    customer: str = "cus_1",
) -> NewEvent:
    """An event of meter ``mtr_<meter>`` at ``created - 60``, its payload implied by default."""
    if payload is None:
        payload = {"stripe_customer_id": customer}
        if value is not None:
            payload["value"] = str(value)
    return NewEvent(
        meter_id=f"mtr_{meter}",
        event_name=f"e{meter}",
        customer=customer,
        identifier=identifier,
        timestamp=created - 60,
        created=created,
        value=value,
        payload=payload,
    )


@pytest.fixture
def storage() -> Iterator[SQLiteStorage]:
    """An in-memory store holding a sum meter ``mtr_1`` and a last meter ``mtr_2``."""
    store = SQLiteStorage("sqlite://")
    assert store.add_meter(_meter("sum"))
    assert store.add_meter(_meter("last", number=2))
    yield store
    store.close()


def _row(storage: SQLiteStorage, seq: int) -> tuple[object, ...]:
    """``(meter, units, places, value, payload)`` of the event `seq`."""
    row: tuple[object, ...] = storage._db.execute(
        "SELECT meter, units, places, value, payload FROM events WHERE seq = ?", (seq,)
    ).fetchone()
    return row


# --- what a row keeps -------------------------------------------------------------------------


def test_a_plain_value_with_its_implied_payload_keeps_neither_text(storage: SQLiteStorage) -> None:
    """The common event stores its meter's row number and units, no value text, no payload."""
    seq = storage.add_event(_event(Decimal("412.07")), duplicate_after=0)
    assert seq is not None
    assert _row(storage, seq) == (1, 412_070_000, 2, None, None)


@pytest.mark.parametrize("text", ["-0", "-0.00", "1E+2", "1.2345678", "1.00000000", "1E+20"])
def test_a_value_its_units_cannot_give_back_keeps_its_text(
    storage: SQLiteStorage, text: str
) -> None:
    """A negative zero, an exponent, over 6 decimals or beyond the units' range: text kept."""
    seq = storage.add_event(_event(Decimal(text)), duplicate_after=0)
    assert seq is not None
    assert _row(storage, seq)[3] == text


@pytest.mark.parametrize(
    ("value", "payload", "implied"),
    [
        ("1.5", {"stripe_customer_id": "cus_1", "value": "1.5"}, True),
        (None, {"stripe_customer_id": "cus_1"}, True),
        ("1.5", {"value": "1.5", "stripe_customer_id": "cus_1"}, False),  # another key order
        ("1.5", {"stripe_customer_id": "cus_1", "value": "1.50"}, False),  # another spelling
        ("1.5", {"stripe_customer_id": "cus_1", "value": "1.5", "region": "eu"}, False),
        ("1.5", {"stripe_customer_id": "cus_2", "value": "1.5"}, False),  # not the customer
        ("1.5", {"stripe_customer_id": "cus_1"}, False),  # a value the payload lacks
        (None, {"stripe_customer_id": "cus_1", "value": "1.5"}, False),
        (None, {"account": "cus_1"}, False),  # another meter's key
    ],
)
def test_only_a_payload_the_meter_keys_imply_is_left_out(
    storage: SQLiteStorage, value: str | None, payload: dict[str, str], implied: bool
) -> None:
    """A payload is stored (as its JSON) unless it is exactly customer then value, as given."""
    amount = None if value is None else Decimal(value)
    seq = storage.add_events([_event(amount, payload)], duplicate_after=0)[0]
    assert seq is not None
    assert _row(storage, seq)[4] == (None if implied else json.dumps(payload))


def test_a_meter_with_its_own_payload_keys_implies_payloads_under_them() -> None:
    """Under a meter's own keys the payload is implied; under the default keys it is not."""
    meter = _meter(
        customer_mapping={"type": "by_id", "event_payload_key": "account"},
        value_settings={"event_payload_key": "qty"},
    )
    with closing(SQLiteStorage("sqlite://")) as storage:
        assert storage.add_meter(meter)
        own = storage.add_event(
            _event(Decimal(2), {"account": "cus_1", "qty": "2"}), duplicate_after=0
        )
        default = _event(Decimal(2), identifier="b")
        other = storage.add_event(default, duplicate_after=0)
        assert own is not None and other is not None
        assert _row(storage, own)[4] is None
        assert _row(storage, other)[4] == json.dumps(default.payload)


_VALUES = (
    st.decimals(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | st.sampled_from(["-0", "-0.00", "0", "0.000000", "1E+2", "-5E+3", "1.2345678", "-0.5"]).map(
        Decimal
    )
)


@given(_VALUES)
def test_every_value_reads_back_exactly_as_given(value: Decimal) -> None:
    """Points, listed events and the last formula give back each value's exact form."""
    with closing(SQLiteStorage("sqlite://")) as storage:
        meter = _meter("last")
        assert storage.add_meter(meter)
        assert storage.add_event(_event(value), duplicate_after=0) == 1
        (point,) = storage.scan_points("mtr_1", "cus_1", NOW - HOUR, NOW)
        (listed,) = storage.list_events(limit=10)
        query = SummaryQuery(meter=meter, customer="cus_1", start=NOW - HOUR, step=HOUR, count=1)
        (last,) = storage.summarize(query, Last())
        two = attrs.evolve(query, start=NOW - 2 * HOUR, count=2)  # the packed-key query
        assert [str(found) for found in (point[2], listed.value, last)] == [str(value)] * 3
        assert str(storage.summarize(two, Last())[1]) == str(value)


def test_an_identifier_is_claimed_by_its_latest_event_only(storage: SQLiteStorage) -> None:
    """A reused identifier's claim is its latest event's, even one received earlier in time."""
    assert storage.add_event(_event(Decimal(1), created=NOW), duplicate_after=0) == 1
    # stored again as if the first were old, with an earlier receipt time (a clock set back)
    assert storage.add_event(_event(Decimal(2), created=NOW - 2 * DAY), duplicate_after=NOW) == 2
    cutoff = NOW - DAY  # the first event is inside the window, the latest one is not
    assert storage.add_event(_event(Decimal(3), created=NOW), duplicate_after=cutoff) == 3
    assert storage.add_events([_event(Decimal(4), created=NOW)], duplicate_after=NOW) == [4]
    assert storage.add_events([_event(Decimal(5))], duplicate_after=cutoff) == [None]
    record = storage.find_event("a")
    assert record is not None and record.seq == 4


def test_summaries_of_a_meter_skip_another_meters_events(storage: SQLiteStorage) -> None:
    """Events are told apart by their meter's row number: each meter sums only its own."""
    storage.add_events(
        [_event(Decimal(1)), _event(Decimal(5), identifier="b", meter=2)], duplicate_after=0
    )
    meter = storage.get_meter("mtr_1")
    assert meter is not None
    query = SummaryQuery(meter=meter, customer="cus_1", start=NOW - HOUR, step=HOUR, count=1)
    assert storage.summarize(query, Sum()) == [Decimal(1)]
    assert [event.meter_id for event in storage.list_events(limit=10, meter_id="mtr_2")] == [
        "mtr_2"
    ]


def test_an_event_of_a_meter_the_store_lacks_is_a_storage_error() -> None:
    """No meter row, no row number: the event is refused as storage_failure, nothing stored."""
    with closing(SQLiteStorage("sqlite://")) as storage:
        for store in (
            lambda: storage.add_event(_event(Decimal(1)), duplicate_after=0),
            lambda: storage.add_events([_event(Decimal(1))], duplicate_after=0),
        ):
            with pytest.raises(StorageError) as raised:
                store()
            assert raised.value.code == "storage_failure"
        assert storage.list_events(limit=10) == []


# --- the migration from schema 4 ----------------------------------------------------------------

_OLD_EVENTS = [
    _event(Decimal("412.07"), identifier="plain"),
    _event(Decimal("-0"), identifier="negative-zero"),
    _event(Decimal("1E+2"), identifier="exponent"),
    _event(Decimal("1.2345678"), identifier="many-places"),
    _event(
        Decimal("2"), {"stripe_customer_id": "cus_1", "value": "2", "region": "eu"}, identifier="x"
    ),
    _event(Decimal("7"), identifier="cancelled"),
    _event(Decimal("9.5"), identifier="last", meter=2, customer="cus_2"),
    _event(Decimal("1"), identifier="reused", created=NOW - 3 * DAY),
    _event(Decimal("3"), identifier="reused", created=NOW),
]
_SESSION = SessionRecord(id="mes_1", token="tok_1", created=NOW, expires_at=NOW + 900)
_LOG = LogRecord(id="evt_1", type="billing.meter.created", created=NOW, body='{"id": "evt_1"}')
_KEY = IdempotencyRecord(key="k1", fingerprint="f", created=NOW)


def _write_version_4(path: Path, meters: list[Meter]) -> None:
    """A store as schema 4 wrote it: its meters, records and old event rows (one cancelled)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:4])
        with closing(SQLiteStorage(f"sqlite:///{path}")) as old:
            for meter in meters:
                assert old.add_meter(meter)
            old.add_session(_SESSION)
            old.add_log_events([_LOG])
            assert old.claim_idempotency_key(_KEY, answered_after=0, pending_after=0) is None
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for event in _OLD_EVENTS:
            insert_old_event(db, event)
        db.execute("UPDATE events SET cancelled = 1 WHERE identifier = 'cancelled'")
        assert db.execute("SELECT version FROM meterlib_schema").fetchone() == (4,)
        assert db.execute("SELECT COUNT(*) FROM identifiers").fetchone() == (8,)
    finally:
        db.close()


def _state(storage: SQLiteStorage, meters: list[Meter]) -> list[object]:
    """Every listed event, each identifier's event, the summaries, the records."""
    state: list[object] = list(storage.list_events(limit=100, include_cancelled=True))
    state += [storage.find_event(event.identifier) for event in _OLD_EVENTS]
    aggregations: tuple[Aggregation[Any], ...] = (Sum(), Last())
    for meter, aggregation in zip(meters, aggregations, strict=True):
        for customer in ("cus_1", "cus_2"):
            query = SummaryQuery(
                meter=meter, customer=customer, start=NOW - 4 * DAY, step=HOUR, count=96
            )
            state.append([str(value) for value in storage.summarize(query, aggregation)])
    state += [[str(event.value) for event in storage.list_events(limit=100)]]
    state += [storage.find_session("tok_1"), storage.get_log_event("evt_1")]
    state.append(storage.claim_idempotency_key(_KEY, answered_after=0, pending_after=0))
    return state


def test_a_version_4_store_migrates_to_compact_rows_keeping_everything(tmp_path: Path) -> None:
    """Schema 4's events, claims, cancellation, records read back as a new store's would."""
    meters = [_meter("sum"), _meter("last", number=2)]
    path = tmp_path / "old.db"
    _write_version_4(path, meters)
    with closing(SQLiteStorage("sqlite://")) as fresh:
        for meter in meters:
            assert fresh.add_meter(meter)
        for event in _OLD_EVENTS:
            assert fresh.add_event(event, duplicate_after=event.created - DAY) is not None
        found = fresh.find_event("cancelled")
        assert found is not None and fresh.cancel_event(found.seq)
        fresh.add_session(_SESSION)
        fresh.add_log_events([_LOG])
        assert fresh.claim_idempotency_key(_KEY, answered_after=0, pending_after=0) is None
        expected = _state(fresh, meters)
    with closing(SQLiteStorage(f"sqlite:///{path}")) as migrated:
        assert _state(migrated, meters) == expected
        # the claims moved to events_by_identifier: a recent identifier is still taken
        assert migrated.add_event(_event(Decimal(1), identifier="plain"), duplicate_after=0) is None
        assert migrated.add_events([_event(Decimal(1), identifier="new")], duplicate_after=0) == [
            10
        ]
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT version FROM meterlib_schema").fetchone() == (SCHEMA_VERSION,)
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        assert {"events_live", "events_by_identifier"} <= names
        assert not names & {"identifiers", "events_claim_identifier", "events_v5"}
        texts = dict(db.execute("SELECT identifier, value FROM events"))
        assert texts["plain"] is None and texts["negative-zero"] == "-0"  # rebuilt text dropped
    finally:
        db.close()


def test_a_version_4_event_without_its_meter_fails_the_migration_and_keeps_the_file(
    tmp_path: Path,
) -> None:
    """An old row whose meter is gone cannot get a row number: open fails, nothing is changed."""
    path = tmp_path / "old.db"
    _write_version_4(path, [_meter("sum"), _meter("last", number=2)])
    db = sqlite3.connect(path, isolation_level=None)
    try:
        insert_old_event(db, _event(Decimal(1), identifier="orphan", meter=9))
    finally:
        db.close()
    with pytest.raises(StorageError) as raised:
        SQLiteStorage(f"sqlite:///{path}")
    assert raised.value.code == "storage_failure"
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT version FROM meterlib_schema").fetchone() == (4,)
        assert db.execute("SELECT COUNT(*) FROM events").fetchone() == (10,)
    finally:
        db.close()
