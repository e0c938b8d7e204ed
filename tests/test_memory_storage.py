"""The memory store's own limits, beyond what the conformance suite covers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

import meterlib.storage.memory as memory_module
from meterlib import ManualClock, Metering, StorageError

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_full_store_refuses_events_and_stays_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the seqs a stream key can hold: StorageError storage_full, nothing half-stored."""
    monkeypatch.setattr(memory_module, "_MAX_EVENTS", 2)
    m = Metering(clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    for identifier in ("a", "b"):
        m.record("api", customer="cus_1", value=1, identifier=identifier)
    with pytest.raises(StorageError) as info:
        m.record("api", customer="cus_1", value=1, identifier="c")
    assert info.value.code == "storage_full"
    assert m.usage(meter.id, "cus_1", NOW.replace(hour=0), NOW.replace(hour=13)) == Decimal(2)
    assert m.storage.find_event("c") is None
