"""The pipeline's answer to storage refusing a write because a kept meter copy went stale."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from meterlib import InvalidRequestError, Metering, StorageError
from meterlib.storage import MeterInactive, NewEvent
from meterlib.storage.memory import MemoryStorage


class Refusing(MemoryStorage):
    """Memory storage whose next `refusals` writes raise `MeterInactive` (storing nothing)."""

    def __init__(self, refusals: int = 0, *, name_other_meter: bool = False) -> None:
        super().__init__()
        self.refusals = refusals
        self.name_other_meter = name_other_meter

    def _refuse(self, meter_ids: Sequence[str]) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise MeterInactive(["mtr_other"] if self.name_other_meter else meter_ids)

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Refuse, or store as memory storage does."""
        self._refuse([event.meter_id])
        return super().add_event(event, duplicate_after=duplicate_after)

    def add_events(self, events: Sequence[NewEvent], *, duplicate_after: int) -> list[int | None]:
        """Refuse the whole batch, or store it as memory storage does."""
        self._refuse(sorted({event.meter_id for event in events}))
        return super().add_events(events, duplicate_after=duplicate_after)


def _metering(storage: Refusing) -> Metering:
    m = Metering(storage=storage)
    m.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
    )
    return m


def _count(m: Metering) -> int:
    return len(m.storage.list_events(limit=100))


def test_a_refused_event_whose_meter_is_active_again_is_stored() -> None:
    """Refused once, the meter read fresh is active (reactivated since): the event lands once."""
    m = _metering(Refusing(1))
    m.record("calls", customer="cus_1")
    assert _count(m) == 1


def test_an_event_refused_on_every_try_is_archived_meter() -> None:
    """Refused again after the fresh read (the meter flapping): archived_meter, nothing stored."""
    m = _metering(Refusing(2))
    with pytest.raises(InvalidRequestError) as raised:
        m.record("calls", customer="cus_1")
    assert raised.value.code == "archived_meter"
    assert _count(m) == 0


def test_a_refused_batch_whose_meter_is_active_again_is_stored_whole() -> None:
    """create_many refused once, its meter active when read fresh: every event stored once."""
    m = _metering(Refusing(1))
    body = {"event_name": "calls", "payload": {"stripe_customer_id": "cus_1"}}
    results = m.meter_events.create_many([body, body])
    assert [result.ok for result in results] == [True, True]
    assert _count(m) == 2


def test_a_batch_refused_twice_for_a_meter_rejects_its_events() -> None:
    """Refused on two tries for one meter: its events become archived_meter, none stored."""
    m = _metering(Refusing(2))
    body = {"event_name": "calls", "payload": {"stripe_customer_id": "cus_1"}}
    results = m.meter_events.create_many([body, body])
    assert [result.error.code for result in results if result.error] == ["archived_meter"] * 2
    assert _count(m) == 0


def test_a_refusal_naming_no_meter_of_the_batch_is_a_storage_error() -> None:
    """A refusal about meters the batch does not hold is a storage fault: raised, not looped."""
    m = _metering(Refusing(1, name_other_meter=True))
    with pytest.raises(StorageError):
        m.meter_events.create_many(
            [{"event_name": "calls", "payload": {"stripe_customer_id": "cus_1"}}]
        )
    assert _count(m) == 0
