"""Stores written by an older meterlib, for migration tests.

An old store is made the way the older code made it: `SQLiteStorage` with only the first
migrations, its meters written through storage calls alone (today's `Metering` also writes
tables an old schema lacks, such as the event log), its events as rows of the old columns.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import meterlib.storage.sqlite as sqlite_module
from meterlib import ManualClock, Meter, Metering
from meterlib.storage import NewEvent
from meterlib.storage.sqlite import SQLiteStorage

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
EVENT_TIME = int(START.timestamp())


def write_old_store(path: Path, version: int) -> list[Meter]:
    """A store at schema `version` holding five sum meters and one event.

    The meters have event names ``e0`` to ``e4``, in that order; ``e1`` is inactive. The event
    is worth 3 for ``cus_1`` on ``e0`` at `START`. Returns the meters.
    """
    with Metering(clock=ManualClock(START)) as m:  # the meters, built by today's rules
        made = [
            m.meters.create(
                display_name=f"M{i}", event_name=f"e{i}", default_aggregation={"formula": "sum"}
            )
            for i in range(5)
        ]
        made[1] = m.meters.deactivate(made[1].id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite_module, "MIGRATIONS", sqlite_module.MIGRATIONS[:version])
        storage = SQLiteStorage(f"sqlite:///{path}")
        try:
            for meter in made:
                assert storage.add_meter(meter)
        finally:
            storage.close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        insert_old_event(
            db,
            NewEvent(
                meter_id=made[0].id,
                event_name="e0",
                customer="cus_1",
                identifier="old_1",
                timestamp=EVENT_TIME,
                created=EVENT_TIME,
                value=Decimal(3),
                payload={"stripe_customer_id": "cus_1", "value": "3"},
            ),
        )
        assert db.execute("SELECT version FROM meterlib_schema").fetchall() == [(version,)]
    finally:
        db.close()
    return made


def insert_old_event(db: sqlite3.Connection, event: NewEvent) -> None:
    """Store `event` as schemas 1 to 4 did: every column, the value's text, the payload's JSON.

    The row is written by hand (today's storage writes schema 5's columns); the old schema's
    trigger claims the identifier in ``identifiers``.
    """
    if event.value is None:
        units, places = None, None
    else:
        exponent = event.value.as_tuple().exponent
        assert isinstance(exponent, int)
        scaled = event.value.scaleb(6)
        exact = scaled == scaled.to_integral_value() and abs(scaled) < 2**63
        units, places = (int(scaled) if exact else None), -exponent
    db.execute(
        "INSERT INTO events (meter_id, event_name, customer, identifier, timestamp, created, "
        "value, units, places, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.meter_id,
            event.event_name,
            event.customer,
            event.identifier,
            event.timestamp,
            event.created,
            None if event.value is None else str(event.value),
            units,
            places,
            json.dumps(event.payload),
        ),
    )
