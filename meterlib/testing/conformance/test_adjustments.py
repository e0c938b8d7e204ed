"""Meter event adjustments: cancel by identifier, within 24 hours, under its own name, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from meterlib import ManualClock, Meter, MeterEventAdjustment, Metering
from meterlib.errors import InvalidRequestError

DAY = 86_400
EVENT = "api_call"


def make_meter(m: Metering, formula: str = "sum", event_name: str = EVENT, **kw: Any) -> Meter:
    """A meter for `event_name` with the given formula."""
    return m.meters.create(
        display_name="API calls",
        event_name=event_name,
        default_aggregation={"formula": formula},
        **kw,
    )


def send(m: Metering, identifier: str, value: str = "1", **kwargs: Any) -> None:
    """Record one event for `EVENT` and customer cus_1."""
    m.meter_events.create(
        event_name=EVENT,
        payload={"stripe_customer_id": "cus_1", "value": value},
        identifier=identifier,
        **kwargs,
    )


def cancel(m: Metering, identifier: str, event_name: str = EVENT) -> MeterEventAdjustment:
    """Cancel the event with this identifier."""
    return m.meter_event_adjustments.create(
        event_name=event_name, type="cancel", cancel={"identifier": identifier}
    )


def summaries(m: Metering, meter: Meter, clock: ManualClock) -> list[Decimal]:
    """Hourly values for cus_1 over the two days around now."""
    start = int(clock.now().timestamp()) // DAY * DAY - DAY
    page = m.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time=start,
        end_time=start + 2 * DAY,
        value_grouping_window="hour",
        limit=100,
    )
    return [summary.aggregated_value for summary in page.auto_paging_iter()]


def test_cancel_returns_complete_adjustment(m: Metering) -> None:
    """A cancel is applied at once and reported as complete, in Stripe's shape."""
    make_meter(m)
    send(m, "req_1")
    assert cancel(m, "req_1").to_dict() == {
        "object": "billing.meter_event_adjustment",
        "event_name": EVENT,
        "type": "cancel",
        "cancel": {"identifier": "req_1"},
        "status": "complete",
        "livemode": False,
    }


@pytest.mark.parametrize("formula", ["sum", "count", "last"])
def test_cancelled_event_leaves_every_summary(
    m: Metering, clock: ManualClock, formula: str
) -> None:
    """After a cancel the event counts in no summary and no usage, for every formula."""
    meter = make_meter(m, formula)
    send(m, "req_keep", "2", timestamp=int(clock.now().timestamp()) - 3_600)
    send(m, "req_drop", "5")
    expected = summaries(m, meter, clock)
    cancel(m, "req_drop")
    after = summaries(m, meter, clock)
    assert after != expected
    assert sum(after) == (1 if formula == "count" else 2)
    now = int(clock.now().timestamp())
    assert m.usage(meter.id, "cus_1", now, now + 1) == 0


def test_cancel_within_24_hours(m: Metering, clock: ManualClock) -> None:
    """An event received 86,399 seconds ago can still be cancelled."""
    meter = make_meter(m)
    send(m, "req_1", "4")
    clock.advance(DAY - 1)
    cancel(m, "req_1")
    assert sum(summaries(m, meter, clock)) == 0


def test_cancel_after_24_hours_is_rejected(m: Metering, clock: ManualClock) -> None:
    """At exactly 86,400 seconds after receipt the event can no longer be cancelled."""
    meter = make_meter(m)
    send(m, "req_1", "4")
    clock.advance(DAY)
    before = summaries(m, meter, clock)
    with pytest.raises(InvalidRequestError) as info:
        cancel(m, "req_1")
    assert info.value.param == "cancel[identifier]"
    assert summaries(m, meter, clock) == before
    assert sum(before) == 4


def test_cancel_window_runs_from_receipt(m: Metering, clock: ManualClock) -> None:
    """A back-dated event is cancellable for 24 hours after it was received."""
    meter = make_meter(m)
    send(m, "req_1", "4", timestamp=int(clock.now().timestamp()) - 20 * DAY)
    clock.advance(DAY - 1)
    cancel(m, "req_1")
    now = int(clock.now().timestamp())
    assert m.usage(meter.id, "cus_1", now - 30 * DAY, now) == 0


def test_cancel_only_under_own_event_name(m: Metering, clock: ManualClock) -> None:
    """Cancelling under another meter's event name fails and changes nothing."""
    meter = make_meter(m)
    make_meter(m, event_name="other")
    send(m, "req_1", "4")
    with pytest.raises(InvalidRequestError) as info:
        cancel(m, "req_1", event_name="other")
    assert info.value.param == "event_name"
    assert sum(summaries(m, meter, clock)) == 4
    cancel(m, "req_1")


def test_cancel_only_once(m: Metering, clock: ManualClock) -> None:
    """A second cancel of the same event fails and changes nothing."""
    meter = make_meter(m)
    send(m, "req_1", "4")
    send(m, "req_2", "3")
    cancel(m, "req_1")
    with pytest.raises(InvalidRequestError) as info:
        cancel(m, "req_1")
    assert info.value.param == "cancel[identifier]"
    assert sum(summaries(m, meter, clock)) == 3


def test_cancel_unknown_identifier(m: Metering, clock: ManualClock) -> None:
    """Cancelling an identifier never received is resource_missing and changes nothing."""
    meter = make_meter(m)
    send(m, "req_1", "4")
    with pytest.raises(InvalidRequestError) as info:
        cancel(m, "req_unknown")
    assert (info.value.code, info.value.param) == ("resource_missing", "cancel[identifier]")
    assert sum(summaries(m, meter, clock)) == 4


def test_cancel_targets_most_recent_reuse(m: Metering, clock: ManualClock) -> None:
    """After an identifier is reused (24 h later), a cancel hits the newer event only."""
    meter = make_meter(m)
    send(m, "req_1", "4")
    clock.advance(DAY)
    send(m, "req_1", "10")
    cancel(m, "req_1")
    now = int(clock.now().timestamp())
    assert m.usage(meter.id, "cus_1", now - 2 * DAY, now + 1) == 4


def test_rejected_event_cannot_be_cancelled(m: Metering) -> None:
    """An event that was never accepted has nothing to cancel."""
    make_meter(m)
    with pytest.raises(InvalidRequestError):
        send(m, "req_1", "oops")
    with pytest.raises(InvalidRequestError) as info:
        cancel(m, "req_1")
    assert info.value.code == "resource_missing"


@pytest.mark.parametrize(
    ("arguments", "code", "param"),
    [
        ({"event_name": None}, "parameter_missing", "event_name"),
        ({"event_name": "e" * 101}, "parameter_invalid_string_length", "event_name"),
        ({"type": None}, "parameter_missing", "type"),
        ({"type": "void"}, "parameter_invalid_enum", "type"),
        ({"cancel": None}, "parameter_missing", "cancel"),
        ({"cancel": "req_1"}, "parameter_invalid_type", "cancel"),
        ({"cancel": {}}, "parameter_missing", "cancel[identifier]"),
        ({"cancel": {"identifier": ""}}, "parameter_invalid_string_empty", "cancel[identifier]"),
        ({"cancel": {"identifier": 1}}, "parameter_invalid_type", "cancel[identifier]"),
        ({"cancel": {"identifier": "req_1", "x": 1}}, "parameter_unknown", "cancel[x]"),
    ],
    ids=repr,
)
def test_bad_adjustment_params(
    m: Metering, clock: ManualClock, arguments: dict[str, Any], code: str, param: str
) -> None:
    """Malformed adjustment parameters raise and leave the event in place."""
    meter = make_meter(m)
    send(m, "req_1", "4")
    call = {"event_name": EVENT, "type": "cancel", "cancel": {"identifier": "req_1"}} | arguments
    with pytest.raises(InvalidRequestError) as info:
        m.meter_event_adjustments.create(**call)
    assert (info.value.code, info.value.param) == (code, param)
    assert sum(summaries(m, meter, clock)) == 4
