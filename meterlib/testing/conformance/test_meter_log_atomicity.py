"""A meter write and the event log entry that reports it land together or not at all."""

from __future__ import annotations

from typing import Literal

import attrs
import pytest

from meterlib import Meter, Metering, StorageError
from meterlib.model.v2 import V1Event
from meterlib.services.event_log import LoggedEvent
from meterlib.storage import LogRecord, Storage
from meterlib.testing.conformance.fixtures import START

NOW = int(START.timestamp())


def entry(name: str) -> LogRecord:
    """A lifecycle log entry with id `name`, made now (so no retention purge takes it)."""
    return LogRecord(id=name, type="billing.meter.updated", created=NOW, body="{}")


def log_ids(storage: Storage) -> list[str]:
    """The ids of every log entry, newest first."""
    page = storage.list_log_events(limit=1_000)
    assert page is not None
    return [record.id for record in page[0]]


def meter(m: Metering, event_name: str = "calls") -> Meter:
    """A new meter on `m`'s store, created through the facade (so logged once)."""
    return m.meters.create(
        display_name="Calls", event_name=event_name, default_aggregation={"formula": "count"}
    )


def unstored(known: Meter, event_name: str) -> Meter:
    """A meter like `known` that the store does not hold: a fresh id and event name."""
    return attrs.evolve(known, id=f"{known.id}x", event_name=event_name)


# --- the storage contract --------------------------------------------------------------------


def test_add_meter_stores_the_meter_and_its_log(m: Metering) -> None:
    """add_meter with log records stores both: the meter is found and the entries listed."""
    new = unstored(meter(m), "other")
    assert m.storage.add_meter(new, log=[entry("evt_a"), entry("evt_b")])
    assert m.storage.get_meter(new.id) == new
    assert log_ids(m.storage)[:2] == ["evt_b", "evt_a"]


def test_a_taken_log_id_leaves_the_new_meter_unstored(m: Metering) -> None:
    """add_meter whose log id is stored already: storage_conflict, and no meter, no entry."""
    m.storage.add_log_events([entry("evt_taken")])
    new = unstored(meter(m), "other")
    before = log_ids(m.storage)
    with pytest.raises(StorageError) as raised:
        m.storage.add_meter(new, log=[entry("evt_fresh"), entry("evt_taken")])
    assert raised.value.code == "storage_conflict"
    assert m.storage.get_meter(new.id) is None
    assert m.storage.get_meter_by_event_name("other") is None
    page = m.storage.list_meters(status=None, limit=10)
    assert page is not None
    assert new.id not in [listed.id for listed in page[0]]
    assert log_ids(m.storage) == before
    assert m.storage.add_meter(new), "the event name stays free"


def test_a_log_id_twice_in_one_write_leaves_the_new_meter_unstored(m: Metering) -> None:
    """add_meter with the same log id twice: storage_conflict and nothing stored."""
    new = unstored(meter(m), "other")
    with pytest.raises(StorageError):
        m.storage.add_meter(new, log=[entry("evt_twice"), entry("evt_twice")])
    assert m.storage.get_meter(new.id) is None
    assert m.storage.get_log_event("evt_twice") is None


def test_a_taken_event_name_stores_no_log(m: Metering) -> None:
    """add_meter refused for a taken event name (False) stores none of its log records."""
    known = meter(m)
    clash = attrs.evolve(known, id=f"{known.id}x")
    assert not m.storage.add_meter(clash, log=[entry("evt_refused")])
    assert m.storage.get_log_event("evt_refused") is None


@pytest.mark.parametrize("status", ["active", "inactive"])
def test_a_taken_log_id_leaves_the_replaced_meter_as_it_was(
    m: Metering, status: Literal["active", "inactive"]
) -> None:
    """replace_meter whose log id is taken: storage_conflict, the stored meter unchanged."""
    known = meter(m)
    m.storage.add_log_events([entry("evt_taken")])
    changed = attrs.evolve(known, display_name="Renamed", status=status, updated=known.updated + 1)
    with pytest.raises(StorageError) as raised:
        m.storage.replace_meter(changed, log=[entry("evt_taken")])
    assert raised.value.code == "storage_conflict"
    assert m.storage.get_meter(known.id) == known
    assert m.storage.get_meter_by_event_name(known.event_name) == known
    inactive = m.storage.list_meters(status="inactive", limit=10)
    assert inactive is not None
    assert list(inactive[0]) == []
    m.storage.replace_meter(changed, log=[entry("evt_fresh")])
    assert m.storage.get_meter(known.id) == changed
    assert m.storage.get_log_event("evt_fresh") is not None


# --- through the facade ----------------------------------------------------------------------


def taken_ids(m: Metering, monkeypatch: pytest.MonkeyPatch) -> list[LoggedEvent]:
    """Make every new log id the id of the meter's first entry; collect what subscribers hear."""
    taken = log_ids(m.storage)[-1]
    monkeypatch.setattr(m.v2.core.events, "new_id", lambda: taken)
    heard: list[LoggedEvent] = []
    m.v2.core.events.subscribe(heard.append)
    return heard


@pytest.mark.parametrize("change", ["update", "deactivate"])
def test_a_failed_log_write_leaves_the_meter_unchanged(
    m: Metering, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A meter change whose log entry cannot be stored raises and changes nothing, silently."""
    known = meter(m)
    before = log_ids(m.storage)
    heard = taken_ids(m, monkeypatch)
    with pytest.raises(StorageError):
        if change == "update":
            m.meters.update(known.id, display_name="Renamed")
        else:
            m.meters.deactivate(known.id)
    assert m.meters.retrieve(known.id) == known
    assert log_ids(m.storage) == before
    assert heard == []


def test_a_failed_log_write_creates_no_meter(m: Metering, monkeypatch: pytest.MonkeyPatch) -> None:
    """A meter create whose log entry cannot be stored raises, and its event name stays free."""
    meter(m)
    heard = taken_ids(m, monkeypatch)
    with pytest.raises(StorageError):
        meter(m, "searches")
    assert [listed.event_name for listed in m.meters.list()] == ["calls"]
    assert heard == []
    monkeypatch.undo()
    assert meter(m, "searches").event_name == "searches"


def test_subscribers_hear_of_a_change_after_it_is_stored(m: Metering) -> None:
    """A subscriber called for a meter change finds the new meter and its entry stored."""
    known = meter(m)
    seen: list[tuple[str, bool]] = []

    def check(event: LoggedEvent) -> None:
        assert isinstance(event, V1Event)
        stored = m.meters.retrieve(known.id)
        seen.append((stored.status, m.storage.get_log_event(event.id) is not None))

    m.v2.core.events.subscribe(check)
    m.meters.deactivate(known.id)
    m.meters.reactivate(known.id)
    assert seen == [("inactive", True), ("active", True)]
