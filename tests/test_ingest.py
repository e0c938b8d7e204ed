"""The ingest pipeline judges every event against the meter and formula as they are now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from meterlib import InvalidRequestError, ManualClock, Meter, Metering
from meterlib.aggregation import register_aggregation, unregister_aggregation
from meterlib.storage.memory import MemoryStorage
from tests.formulas import Maximum

NOW = 1_750_000_000


def code_of(call: Callable[[], object]) -> str | None:
    """The code of the error `call` raises, or None when it succeeds."""
    try:
        call()
    except InvalidRequestError as error:
        return error.code
    return None


def test_a_changed_meter_is_judged_again() -> None:
    """After events were accepted, deactivating, reactivating and updating are each seen at once."""
    m = Metering(clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "count"}
    )
    record = lambda: m.record("api", customer="cus_1")  # noqa: E731
    assert code_of(record) is None
    m.meters.deactivate(meter.id)
    assert code_of(record) == "archived_meter"
    m.meters.reactivate(meter.id)
    assert code_of(record) is None
    m.meters.update(meter.id, display_name="Renamed")
    assert code_of(record) is None
    assert m.usage(meter.id, "cus_1", NOW - 60, NOW + 60) == 3


def test_an_unregistered_formula_is_judged_again() -> None:
    """A user formula unregistered after its meter accepted events: aggregation_missing at once."""
    register_aggregation(Maximum())
    try:
        m = Metering(clock=ManualClock(NOW))
        m.meters.create(
            display_name="Peak", event_name="peak", default_aggregation={"formula": "max"}
        )
        record = lambda: m.record("peak", customer="cus_1", value="5")  # noqa: E731
        assert code_of(record) is None
        unregister_aggregation("max")
        assert code_of(record) == "aggregation_missing"
        register_aggregation(Maximum())
        assert code_of(record) is None
    finally:
        unregister_aggregation("max")


@pytest.mark.parametrize("change", ["deactivate", "update"])
def test_a_meter_changed_by_another_instance_is_judged_again(tmp_path: Path, change: str) -> None:
    """On a shared SQLite file, a meter deactivated by another instance refuses events at once."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    clock = ManualClock(NOW)
    writer, other = Metering(storage=url, clock=clock), Metering(storage=url, clock=clock)
    try:
        meter = writer.meters.create(
            display_name="API", event_name="api", default_aggregation={"formula": "count"}
        )
        assert code_of(lambda: writer.record("api", customer="cus_1")) is None
        if change == "deactivate":
            other.meters.deactivate(meter.id)
            expected = "archived_meter"
        else:
            other.meters.update(meter.id, display_name="Renamed")
            expected = None
        assert code_of(lambda: writer.record("api", customer="cus_1")) == expected
    finally:
        writer.close()
        other.close()


def test_a_meter_changed_through_a_shared_memory_store_is_judged_again() -> None:
    """Two instances on one MemoryStorage: a meter one deactivates refuses the other's events."""
    storage = MemoryStorage()
    clock = ManualClock(NOW)
    writer, other = Metering(storage=storage, clock=clock), Metering(storage=storage, clock=clock)
    meter = writer.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "count"}
    )

    def create() -> object:
        return writer.meter_events.create(event_name="api", payload={"stripe_customer_id": "c"})

    assert code_of(create) is None
    other.meters.deactivate(meter.id)
    assert code_of(create) == "archived_meter"
    other.meters.reactivate(meter.id)
    assert code_of(create) is None
    assert writer.usage(meter.id, "c", NOW - 60, NOW + 60) == 2


class CountingLookups(MemoryStorage):
    """A memory store that counts the ingest's meter lookups."""

    lookups = 0

    def cached_meter_by_event_name(self, event_name: str) -> Meter | None:
        self.lookups += 1
        return super().cached_meter_by_event_name(event_name)


def test_a_meter_found_is_kept_until_a_meter_changes() -> None:
    """Per-event creates look a built-in formula's meter up once, and again after a meter change."""
    storage = CountingLookups()
    m = Metering(storage=storage, clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "count"}
    )
    for _ in range(3):
        m.meter_events.create(event_name="api", payload={"stripe_customer_id": "c"})
    assert storage.lookups == 1
    m.meters.update(meter.id, display_name="Renamed")
    m.meter_events.create(event_name="api", payload={"stripe_customer_id": "c"})
    assert storage.lookups == 2


def test_results_keep_the_payload_as_it_was_sent() -> None:
    """Results of create and create_many keep a copy: changing the sent dict changes neither."""
    m = Metering(clock=ManualClock(NOW))
    m.meters.create(display_name="API", event_name="api", default_aggregation={"formula": "sum"})
    sent = {"stripe_customer_id": "cus_1", "value": "1"}
    one = m.meter_events.create(event_name="api", payload=sent, identifier="a")
    many = m.meter_events.create_many([{"event_name": "api", "payload": sent, "identifier": "b"}])
    sent["value"] = "2"
    event = many[0].event
    assert event is not None
    assert one.payload["value"] == event.payload["value"] == "1"
