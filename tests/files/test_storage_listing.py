"""Storage.list_events, which exports read: every backend pages by receipt, filters alike."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib import ManualClock, Metering, StorageError
from meterlib.storage import Storage
from meterlib.storage.memory import MemoryStorage
from tests.files.conftest import BACKENDS, NOW, store_url


@pytest.fixture(params=BACKENDS)
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Metering]:
    """Two meters, two customers, five events, the third cancelled."""
    with Metering(store_url(request.param, tmp_path), clock=ManualClock(NOW)) as metering:
        metering.meters.create(
            display_name="a", event_name="a", default_aggregation={"formula": "sum"}
        )
        metering.meters.create(
            display_name="b", event_name="b", default_aggregation={"formula": "count"}
        )
        for name, customer, age, value in [
            ("a", "c1", 50, "1"),
            ("b", "c1", 40, None),
            ("a", "c2", 30, "2.5"),
            ("a", "c1", 20, "3"),
            ("b", "c2", 10, None),
        ]:
            metering.record(
                name, customer=customer, value=value, timestamp=NOW - age, identifier=f"{name}{age}"
            )
        metering.meter_event_adjustments.create(
            event_name="a", type="cancel", cancel={"identifier": "a30"}
        )
        yield metering


def identifiers(metering: Metering, **filters: object) -> list[str]:
    """The identifiers list_events gives, in order."""
    return [event.identifier for event in metering.storage.list_events(limit=100, **filters)]  # type: ignore[arg-type]


def test_events_come_in_order_of_receipt_without_cancelled_ones(filled: Metering) -> None:
    """Receipt order; a cancelled event only with include_cancelled, marked."""
    assert identifiers(filled) == ["a50", "b40", "a20", "b10"]
    events = filled.storage.list_events(limit=100, include_cancelled=True)
    assert [(event.identifier, event.cancelled) for event in events][2] == ("a30", True)


def test_each_field_is_the_stored_one(filled: Metering) -> None:
    """Seq, meter, event name, customer, identifier, timestamp, receipt time and value."""
    first, second, *_ = filled.storage.list_events(limit=100)
    meter_a = filled.storage.get_meter_by_event_name("a")
    assert meter_a is not None
    assert (first.meter_id, first.event_name, first.customer, first.timestamp) == (
        meter_a.id,
        "a",
        "c1",
        NOW - 50,
    )
    assert (first.created, first.value, second.value) == (NOW, Decimal("1"), None)
    assert first.seq < second.seq


def test_paging_by_seq_walks_every_event_once(filled: Metering) -> None:
    """Pages of one, each after the last seq, give the whole listing."""
    seen, after = [], None
    while page := filled.storage.list_events(limit=1, after=after):
        seen.append(page[0].identifier)
        after = page[0].seq
    assert seen == identifiers(filled)


def test_filters_narrow_by_meter_customer_and_time(filled: Metering) -> None:
    """meter_id, customer and start <= timestamp < end, together or alone."""
    meter_b = filled.storage.get_meter_by_event_name("b")
    assert meter_b is not None
    assert identifiers(filled, meter_id=meter_b.id) == ["b40", "b10"]
    assert identifiers(filled, customer="c1") == ["a50", "b40", "a20"]
    assert identifiers(filled, start=NOW - 40, end=NOW - 10) == ["b40", "a20"]
    assert identifiers(filled, meter_id=meter_b.id, customer="c2", start=NOW - 10) == ["b10"]


def test_a_backend_without_list_events_says_so() -> None:
    """A third-party backend written before exports raises storage_unsupported, not a crash."""

    class Partial(MemoryStorage):
        list_events = Storage.list_events

    with pytest.raises(StorageError) as raised:
        Partial().list_events(limit=1)
    assert raised.value.code == "storage_unsupported"


def test_a_failed_memory_batch_keeps_the_identifier_column_aligned() -> None:
    """A failed memory batch undoes its identifiers too: later events list right."""
    with Metering(clock=ManualClock(NOW)) as metering:
        metering.meters.create(
            display_name="a", event_name="a", default_aggregation={"formula": "sum"}
        )
        storage = metering.storage
        assert isinstance(storage, MemoryStorage)
        good = metering.record("a", customer="c", value=1, identifier="one")
        broken = storage.list_events(limit=1)[0]
        from meterlib.storage.base import NewEvent  # noqa: PLC0415

        events = [
            NewEvent(broken.meter_id, "a", "c", "two", NOW, NOW, Decimal(1), {}),
            NewEvent(broken.meter_id, "a", "c", "three", 1.5, NOW, Decimal(1), {}),  # type: ignore[arg-type]
        ]
        with pytest.raises(TypeError):
            storage.add_events(events, duplicate_after=0)
        metering.record("a", customer="c", value=1, identifier="four")
        assert [event.identifier for event in storage.list_events(limit=10)] == [
            good.identifier,
            "four",
        ]
