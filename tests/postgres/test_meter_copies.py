"""PostgreSQL keeps meter copies to spare round trips; the database still decides every write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meterlib import ManualClock, Metering, StorageError
from meterlib.storage import MeterInactive, NewEvent
from meterlib.storage.postgres import PostgresStorage

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
NOW = int(START.timestamp())
DAY = 86_400
pytestmark = pytest.mark.postgres


def _event(meter_id: str, identifier: str, created: int = NOW) -> NewEvent:
    return NewEvent(meter_id, "calls", "cus_1", identifier, created, created, None, {})


@pytest.fixture
def hosts(url: str) -> tuple[PostgresStorage, Metering, str]:
    """A storage holding a copy of meter ``calls``, another host that made it, and its id."""
    here = PostgresStorage(url)
    elsewhere = Metering(storage=url, clock=ManualClock(START))
    meter = elsewhere.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
    )
    copy = here.cached_meter_by_event_name("calls")
    assert copy is not None and copy.status == "active"
    return here, elsewhere, meter.id


def test_add_event_with_a_stale_copy_raises_meter_inactive_and_stores_nothing(
    hosts: tuple[PostgresStorage, Metering, str],
) -> None:
    """Deactivated elsewhere: add_event refuses in its own statement and forgets the copy."""
    here, elsewhere, meter_id = hosts
    elsewhere.meters.deactivate(meter_id)
    assert here.cached_meter_by_event_name("calls").status == "active"  # type: ignore[union-attr]
    with pytest.raises(MeterInactive) as raised:
        here.add_event(_event(meter_id, "a"), duplicate_after=NOW - DAY)
    assert raised.value.meter_ids == {meter_id}
    assert here.find_event("a") is None
    assert here.cached_meter_by_event_name("calls").status == "inactive"  # type: ignore[union-attr]
    here.close()
    elsewhere.close()


def test_add_events_with_a_stale_copy_stores_none_of_the_batch(
    hosts: tuple[PostgresStorage, Metering, str],
) -> None:
    """Deactivated elsewhere: add_events raises MeterInactive naming it; no event stored."""
    here, elsewhere, meter_id = hosts
    elsewhere.meters.deactivate(meter_id)
    with pytest.raises(MeterInactive) as raised:
        here.add_events([_event(meter_id, "a"), _event(meter_id, "b")], duplicate_after=0)
    assert raised.value.meter_ids == {meter_id}
    assert here.list_events(limit=10) == []
    here.close()
    elsewhere.close()


def test_a_batch_meeting_claims_takes_the_careful_path_with_exact_results(
    hosts: tuple[PostgresStorage, Metering, str],
) -> None:
    """A claimed identifier makes the COPY fall back: duplicate, released and new, in order."""
    here, elsewhere, meter_id = hosts
    old = here.add_event(_event(meter_id, "old", NOW - 2 * DAY), duplicate_after=0)
    recent = here.add_event(_event(meter_id, "recent"), duplicate_after=0)
    batch = [_event(meter_id, name) for name in ("new", "recent", "old", "new2")]
    seqs = here.add_events(batch, duplicate_after=NOW - DAY)
    assert seqs[1] is None
    landed = [seq for seq in seqs if seq is not None]
    assert len(landed) == 3 and landed == sorted(landed) and landed[0] > (recent or 0) > (old or 0)
    assert [event.identifier for event in here.list_events(limit=10)] == [
        "old", "recent", "new", "old", "new2",
    ]  # fmt: skip
    here.close()
    elsewhere.close()


def test_kept_copies_refuse_after_close(hosts: tuple[PostgresStorage, Metering, str]) -> None:
    """A closed store answers the cached lookups with storage_closed too, not from its copies."""
    here, elsewhere, meter_id = hosts
    here.close()
    with pytest.raises(StorageError) as by_id:
        here.cached_meter(meter_id)
    with pytest.raises(StorageError) as by_name:
        here.cached_meter_by_event_name("calls")
    assert by_id.value.code == by_name.value.code == "storage_closed"
    elsewhere.close()
