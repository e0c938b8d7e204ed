"""Formulas (sum, count, last) and pre-aggregation windows, seen through summaries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meterlib import ManualClock, Meter, Metering

MINUTE = 60
HOUR = 3_600
DAY = 86_400
NOW = 1_773_144_000
"""The `clock` fixture's start, 2026-03-10 12:00 UTC."""
MIDNIGHT = NOW - 12 * HOUR


@pytest.fixture(autouse=True)
def _clock_at_noon(clock: ManualClock) -> None:
    """Every test here starts with the clock at `NOW`."""
    assert int(clock.now().timestamp()) == NOW


def make_meter(m: Metering, formula: str, window: str | None = None) -> Meter:
    """A meter for event `api_call` with this formula and pre-aggregation window."""
    return m.meters.create(
        display_name="API calls",
        event_name="api_call",
        default_aggregation={"formula": formula},
        event_time_window=window,
    )


def record(m: Metering, value: str, at: int, customer: str = "cus_1") -> str:
    """Record `value` at Unix time `at`; return the event's identifier."""
    return m.record("api_call", customer=customer, value=value, timestamp=at).identifier


def cancel(m: Metering, identifier: str) -> None:
    """Cancel an event of `api_call`."""
    m.meter_event_adjustments.create(
        event_name="api_call", type="cancel", cancel={"identifier": identifier}
    )


def value(m: Metering, meter: Meter, start: int, end: int, customer: str = "cus_1") -> Decimal:
    """The single summary of `[start, end)`."""
    (summary,) = m.meters.list_event_summaries(
        meter.id, customer=customer, start_time=start, end_time=end
    ).data
    return summary.aggregated_value


def test_sum(m: Metering) -> None:
    """The sum formula adds every event in the range."""
    meter = make_meter(m, "sum")
    for offset, amount in ((10, "1.5"), (20, "2.5"), (20, "-1")):
        record(m, amount, NOW - HOUR + offset)
    assert value(m, meter, NOW - HOUR, NOW) == Decimal("3.0")


def test_count_counts_every_raw_event(m: Metering) -> None:
    """The count formula counts every event of a raw meter, whatever its value or second."""
    meter = make_meter(m, "count")
    for amount in ("0", "-4", "9", "9"):
        record(m, amount, NOW - HOUR)
    assert value(m, meter, NOW - HOUR, NOW) == 4


def test_last_takes_greatest_timestamp(m: Metering) -> None:
    """The last formula takes the latest timestamp, even if that event arrived first."""
    meter = make_meter(m, "last")
    record(m, "5", NOW - 10 * MINUTE)
    record(m, "7", NOW - 50 * MINUTE)
    assert value(m, meter, NOW - HOUR, NOW) == 5


def test_last_tie_goes_to_latest_received(m: Metering) -> None:
    """With equal timestamps the last formula takes the event received last."""
    meter = make_meter(m, "last")
    for amount in ("3", "8", "2"):
        record(m, amount, NOW - 30 * MINUTE)
    assert value(m, meter, NOW - HOUR, NOW) == 2


def test_last_only_sees_the_range(m: Metering) -> None:
    """The last formula ignores events after the range end."""
    meter = make_meter(m, "last")
    record(m, "4", NOW - 2 * HOUR)
    record(m, "9", NOW - 30 * MINUTE)
    assert value(m, meter, NOW - 3 * HOUR, NOW - HOUR) == 4


@pytest.mark.parametrize(("formula", "expected"), [("sum", 7), ("count", 1), ("last", 7)])
@pytest.mark.parametrize("window", ["hour", "day"])
def test_pre_aggregation_keeps_latest_received(
    m: Metering, formula: str, window: str, expected: int
) -> None:
    """In one window only the most recently received event counts, whatever its timestamp."""
    meter = make_meter(m, formula, window)
    record(m, "5", NOW - 10 * MINUTE)
    record(m, "7", NOW - 50 * MINUTE)
    assert value(m, meter, MIDNIGHT, NOW) == expected


def test_pre_aggregation_is_per_window(m: Metering) -> None:
    """Events in different hours of an hour meter each survive."""
    meter = make_meter(m, "sum", "hour")
    record(m, "5", NOW - HOUR - 1)
    record(m, "7", NOW - HOUR)
    assert value(m, meter, MIDNIGHT, NOW) == 12


def test_day_windows_split_at_utc_midnight(m: Metering) -> None:
    """Events one second apart across UTC midnight are in different day windows."""
    meter = make_meter(m, "sum", "day")
    record(m, "5", MIDNIGHT - 1)
    record(m, "7", MIDNIGHT)
    assert value(m, meter, MIDNIGHT - DAY, NOW) == 12


def test_pre_aggregation_is_per_customer(m: Metering) -> None:
    """Each customer keeps their own survivor in a window."""
    meter = make_meter(m, "sum", "hour")
    record(m, "5", NOW - 10 * MINUTE, customer="cus_1")
    record(m, "7", NOW - 20 * MINUTE, customer="cus_2")
    assert value(m, meter, NOW - HOUR, NOW, "cus_1") == 5
    assert value(m, meter, NOW - HOUR, NOW, "cus_2") == 7


def test_cancelling_the_survivor_brings_back_the_previous(m: Metering) -> None:
    """Cancel the window's survivor and the event received before it counts again."""
    meter = make_meter(m, "sum", "hour")
    record(m, "3", NOW - 40 * MINUTE)
    second = record(m, "5", NOW - 20 * MINUTE)
    third = record(m, "7", NOW - 30 * MINUTE)
    cancel(m, third)
    assert value(m, meter, NOW - HOUR, NOW) == 5
    cancel(m, second)
    assert value(m, meter, NOW - HOUR, NOW) == 3


def test_cancelling_a_shadowed_event_changes_nothing(m: Metering) -> None:
    """Cancelling an event that did not survive leaves the survivor in place."""
    meter = make_meter(m, "sum", "hour")
    first = record(m, "3", NOW - 40 * MINUTE)
    record(m, "5", NOW - 20 * MINUTE)
    cancel(m, first)
    assert value(m, meter, NOW - HOUR, NOW) == 5


@pytest.mark.parametrize(("survivor_at", "shadowed_at"), [(-10, -50), (-50, -10)])
def test_pre_aggregation_happens_before_the_range_cuts_a_window(
    m: Metering, survivor_at: int, shadowed_at: int
) -> None:
    """A range over half a window counts the window's survivor only if it lies inside."""
    meter = make_meter(m, "sum", "hour")
    record(m, "5", NOW + shadowed_at * MINUTE)
    record(m, "7", NOW + survivor_at * MINUTE)
    halves = [(NOW - HOUR, NOW - 30 * MINUTE), (NOW - 30 * MINUTE, NOW)]
    expected = [7 if start <= NOW + survivor_at * MINUTE < end else 0 for start, end in halves]
    assert [value(m, meter, start, end) for start, end in halves] == expected
    assert [m.usage(meter.id, "cus_1", start, end) for start, end in halves] == expected


def test_day_survivor_lands_in_its_hour(m: Metering) -> None:
    """Hourly summaries of a day meter show the day's survivor in its own hour only."""
    meter = make_meter(m, "sum", "day")
    record(m, "5", MIDNIGHT + 3 * HOUR)
    record(m, "7", MIDNIGHT + 9 * HOUR)
    page = m.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time=MIDNIGHT,
        end_time=MIDNIGHT + DAY,
        value_grouping_window="hour",
        limit=100,
    )
    values = [summary.aggregated_value for summary in page]
    assert values[9] == 7
    assert sum(values) == 7


@pytest.mark.parametrize("formula", ["sum", "count", "last"])
@pytest.mark.parametrize("window", [None, "hour", "day"])
def test_empty_range_is_zero(m: Metering, formula: str, window: str | None) -> None:
    """A range without events aggregates to 0 for every formula and window mode."""
    meter = make_meter(m, formula, window)
    record(m, "5", NOW - 2 * HOUR)
    result = value(m, meter, NOW - HOUR, NOW)
    assert result == 0
    assert isinstance(result, Decimal)
