"""Two Meterings on one store (two hosts): a meter changed on one is obeyed by the other.

A backend may keep copies of meters to spare a round trip per event or summary, but another
host can deactivate, reactivate or create a meter at any moment: the next event must follow
the database, not the copy. These tests run wherever two storages opened on the same
directory share one store (SQLite files, PostgreSQL); elsewhere they skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib import InvalidRequestError, ManualClock, Meter, Metering
from meterlib.testing.conformance import StorageFactory

HOUR = 3_600


@pytest.fixture
def other(
    m: Metering, storage_factory: StorageFactory, clock: ManualClock, tmp_path: Path
) -> Iterator[Metering]:
    """A second Metering on the same store as `m`, as another host opens it."""
    with Metering(storage=storage_factory(tmp_path), clock=clock) as second:
        probe = m.meters.create(
            display_name="Probe", event_name="probe", default_aggregation={"formula": "count"}
        )
        if second.storage.get_meter(probe.id) is None:
            pytest.skip("two storages opened on one directory are two stores on this backend")
        yield second


@pytest.fixture
def calls(m: Metering) -> Meter:
    """A sum meter ``calls`` made on `m`, which then stores one event (so it knows the meter)."""
    meter = m.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )
    m.record("calls", customer="cus_1", value="1", identifier="first")
    return meter


def _total(m: Metering, meter: Meter, clock: ManualClock) -> Decimal:
    now = int(clock.now().timestamp())
    return m.usage(meter.id, "cus_1", now - HOUR, now + HOUR)


def test_a_meter_deactivated_elsewhere_refuses_the_next_event(
    m: Metering, other: Metering, calls: Meter, clock: ManualClock
) -> None:
    """Deactivated on another host: this host's next create is archived_meter, nothing stored."""
    other.meters.deactivate(calls.id)
    with pytest.raises(InvalidRequestError) as raised:
        m.meter_events.create(
            event_name="calls", payload={"stripe_customer_id": "cus_1", "value": "5"}
        )
    assert raised.value.code == "archived_meter"
    with pytest.raises(InvalidRequestError) as again:
        m.record("calls", customer="cus_1", value="5")
    assert again.value.code == "archived_meter"
    assert _total(m, calls, clock) == 1
    assert _total(other, calls, clock) == 1


def test_a_batch_after_a_deactivation_elsewhere_rejects_only_that_meters_events(
    m: Metering, other: Metering, calls: Meter, clock: ManualClock
) -> None:
    """create_many: the deactivated meter's events are archived_meter, the others stored."""
    gauge = m.meters.create(
        display_name="Gauge", event_name="gauge", default_aggregation={"formula": "sum"}
    )
    m.record("gauge", customer="cus_1", value="1")
    other.meters.deactivate(calls.id)
    results = m.meter_events.create_many(
        [
            {"event_name": name, "payload": {"stripe_customer_id": "cus_1", "value": "2"}}
            for name in ("calls", "gauge", "calls", "gauge")
        ]
    )
    codes = [None if result.ok else result.error.code for result in results]  # type: ignore[union-attr]
    assert codes == ["archived_meter", None, "archived_meter", None]
    assert _total(m, calls, clock) == 1
    assert _total(other, gauge, clock) == 5


def test_a_meter_reactivated_elsewhere_accepts_events_again(
    m: Metering, other: Metering, calls: Meter, clock: ManualClock
) -> None:
    """Deactivated, refused, then reactivated on another host: this host's creates land."""
    other.meters.deactivate(calls.id)
    with pytest.raises(InvalidRequestError):
        m.record("calls", customer="cus_1", value="5")
    other.meters.reactivate(calls.id)
    m.record("calls", customer="cus_1", value="5")
    [result] = m.meter_events.create_many(
        [{"event_name": "calls", "payload": {"stripe_customer_id": "cus_1", "value": "7"}}]
    )
    assert result.ok
    assert _total(other, calls, clock) == 13


def test_a_deactivation_and_reactivation_elsewhere_between_two_events_lose_nothing(
    m: Metering, other: Metering, calls: Meter, clock: ManualClock
) -> None:
    """Deactivated and reactivated while this host held the meter: its next event lands."""
    other.meters.deactivate(calls.id)
    other.meters.reactivate(calls.id)
    m.record("calls", customer="cus_1", value="5")
    assert _total(other, calls, clock) == 6


def test_a_meter_created_elsewhere_after_a_miss_is_found(m: Metering, other: Metering) -> None:
    """An event name no meter had (no_meter here) is found once another host creates its meter."""
    with pytest.raises(InvalidRequestError) as raised:
        m.record("later", customer="cus_1")
    assert raised.value.code == "no_meter"
    later = other.meters.create(
        display_name="Later", event_name="later", default_aggregation={"formula": "count"}
    )
    m.record("later", customer="cus_1")
    now = int(m.clock.now().timestamp())
    assert other.usage(later.id, "cus_1", now - HOUR, now + HOUR) == 1


def test_retrieve_shows_what_another_host_changed(
    m: Metering, other: Metering, calls: Meter, clock: ManualClock
) -> None:
    """Retrieving and listing are fresh after this host used the meter for events and summaries."""
    assert _total(m, calls, clock) == 1
    clock.advance(60)
    other.meters.update(calls.id, display_name="Renamed")
    other.meters.deactivate(calls.id)
    fresh = m.meters.retrieve(calls.id)
    assert (fresh.status, fresh.display_name) == ("inactive", "Renamed")
    assert [meter.status for meter in m.meters.list() if meter.id == calls.id] == ["inactive"]
    assert _total(m, calls, clock) == 1, "summaries of an inactive meter still answer"


def test_summaries_of_a_meter_created_elsewhere(m: Metering, other: Metering) -> None:
    """A meter another host created (and fed) is summarized here; an unknown id is missing."""
    late = other.meters.create(
        display_name="Late", event_name="late", default_aggregation={"formula": "count"}
    )
    other.record("late", customer="cus_1")
    now = int(other.clock.now().timestamp())
    assert m.usage(late.id, "cus_1", now - HOUR, now + HOUR) == 1
    with pytest.raises(InvalidRequestError) as raised:
        m.usage("mtr_test_missing", "cus_1", now - HOUR, now + HOUR)
    assert raised.value.code == "resource_missing"
