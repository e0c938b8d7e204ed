"""``meter_events.create_many``: per-event acceptance, reasons for rejections, nothing torn."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest

from meterlib import ManualClock, Meter, Metering

DAY = 86_400


@pytest.fixture
def meter(m: Metering) -> Meter:
    """A sum meter for event name ``calls``."""
    return m.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
    )


def _event(value: object, identifier: str | None = None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_name": "calls",
        "payload": {"stripe_customer_id": "cus_1", "value": value},
        **extra,
    }
    if identifier is not None:
        event["identifier"] = identifier
    return event


def _total(m: Metering, meter: Meter, clock: ManualClock) -> Decimal:
    now = int(clock.now().timestamp())
    return m.usage(meter.id, "cus_1", now - 40 * DAY, now + DAY)


def test_results_follow_input_order_with_reasons(
    m: Metering, meter: Meter, clock: ManualClock
) -> None:
    """Each item gets a result at its index: the event, or the error with code and param."""
    results = m.meter_events.create_many(
        [
            _event("1", "a"),
            _event("abc", "b"),
            _event("2", "a"),
            {"event_name": "calls"},
            cast(Any, "not a mapping"),
            _event("3", "c", color="red"),
            _event("4", "d"),
        ]
    )
    assert [result.index for result in results] == list(range(7))
    assert [result.ok for result in results] == [True, False, False, False, False, False, True]
    codes = [(r.error.code, r.error.param) if r.error else None for r in results]
    assert codes == [
        None,
        ("payload_invalid_value", "payload[value]"),
        ("duplicate_meter_event", "identifier"),
        ("parameter_missing", "payload"),
        ("parameter_invalid_type", "events[4]"),
        ("parameter_unknown", "events[5][color]"),
        None,
    ]
    assert results[0].event is not None and results[0].event.identifier == "a"
    assert _total(m, meter, clock) == Decimal(5)


def test_rejected_items_store_nothing(m: Metering, meter: Meter, clock: ManualClock) -> None:
    """A batch of only bad events leaves usage and identifiers untouched."""
    results = m.meter_events.create_many([_event("NaN", "x"), _event("1" * 16, "y")])
    assert not any(result.ok for result in results)
    assert _total(m, meter, clock) == 0
    m.record("calls", customer="cus_1", value=1, identifier="x")
    assert _total(m, meter, clock) == 1


def test_identifier_taken_before_the_batch_is_a_duplicate(m: Metering, meter: Meter) -> None:
    """An identifier received earlier (under 24 h) is rejected inside a batch too."""
    m.record("calls", customer="cus_1", value=1, identifier="seen")
    (result,) = m.meter_events.create_many([_event("1", "seen")])
    assert result.error is not None and result.error.code == "duplicate_meter_event"


def test_batch_events_can_be_cancelled(m: Metering, meter: Meter, clock: ManualClock) -> None:
    """Events stored by a batch are ordinary events: a cancel removes them from usage."""
    m.meter_events.create_many([_event("5", "a"), _event("7", "b")])
    m.meter_event_adjustments.create(event_name="calls", type="cancel", cancel={"identifier": "a"})
    assert _total(m, meter, clock) == Decimal(7)


def test_empty_batch_returns_no_results(m: Metering, meter: Meter) -> None:
    """An empty batch is a no-op."""
    results = m.meter_events.create_many([])
    assert results == [] and results.ok and not results.errors


def test_results_read_like_a_list_and_name_the_rejections(m: Metering, meter: Meter) -> None:
    """Results index, slice and compare like a list; ok and errors report the rejected items."""
    results = m.meter_events.create_many([_event("1", "a"), _event("x", "b"), _event("2", "c")])
    assert len(results) == 3
    assert not results.ok
    assert [(r.index, r.error and r.error.code) for r in results.errors] == [
        (1, "payload_invalid_value")
    ]
    assert results[-1] == results[2] == list(results)[2]
    assert results[2].event is not None and results[2].event.payload["value"] == "2"
    assert results[1:] == [results[1], results[2]]
    assert results == list(results)
    with pytest.raises(IndexError):
        results[3]
    assert repr(results) == "MeterEventResults(3 items, 1 rejected)"
    assert m.meter_events.create_many([_event("3", "d")]).ok
