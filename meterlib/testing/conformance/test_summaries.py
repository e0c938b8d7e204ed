"""Event summaries: ranges, alignment, one summary per window, ids, pagination."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from meterlib import ListObject, ManualClock, Meter, MeterEventSummary, Metering
from meterlib.errors import InvalidRequestError

MINUTE = 60
HOUR = 3_600
DAY = 86_400
NOW = 1_773_144_000
"""The `clock` fixture's start, 2026-03-10 12:00 UTC."""
MIDNIGHT = NOW - 12 * HOUR


@pytest.fixture
def meter(m: Metering, clock: ManualClock) -> Meter:
    """A raw sum meter for `api_call`, with the clock at `NOW`."""
    assert int(clock.now().timestamp()) == NOW
    return m.meters.create(
        display_name="API calls", event_name="api_call", default_aggregation={"formula": "sum"}
    )


def record(m: Metering, value: str, at: int, customer: str = "cus_1") -> None:
    """Record `value` for `customer` at Unix time `at`."""
    m.record("api_call", customer=customer, value=value, timestamp=at)


def summaries(
    m: Metering, meter: Meter, start: object, end: object, **kwargs: Any
) -> ListObject[MeterEventSummary]:
    """cus_1's summaries of `[start, end)`."""
    return m.meters.list_event_summaries(
        meter.id, customer="cus_1", start_time=start, end_time=end, **kwargs
    )


def rejected(call: Any, code: str, param: str) -> None:
    """Assert `call` raises an InvalidRequestError with this code and param."""
    with pytest.raises(InvalidRequestError) as info:
        call()
    assert (info.value.code, info.value.param) == (code, param)


def test_summary_object(m: Metering, meter: Meter) -> None:
    """Without grouping there is one summary for the whole range, in Stripe's shape."""
    record(m, "10", NOW - HOUR)
    page = summaries(m, meter, NOW - HOUR, NOW)
    assert page.object == "list"
    assert page.has_more is False
    assert page.url == f"/v1/billing/meters/{meter.id}/event_summaries"
    (summary,) = page
    assert summary.id.startswith("mtrusg_")
    assert summary.to_dict() == {
        "id": summary.id,
        "object": "billing.meter_event_summary",
        "aggregated_value": 10,
        "start_time": NOW - HOUR,
        "end_time": NOW,
        "livemode": False,
        "meter": meter.id,
    }


def test_range_is_half_open(m: Metering, meter: Meter) -> None:
    """An event at start_time counts; one at end_time does not; one at end_time - 1 does."""
    record(m, "1", NOW - HOUR)
    record(m, "10", NOW - 1)
    record(m, "100", NOW)
    assert summaries(m, meter, NOW - HOUR, NOW).data[0].aggregated_value == 11


def test_customers_are_separate(m: Metering, meter: Meter) -> None:
    """A summary only holds its own customer's events."""
    record(m, "1", NOW - HOUR, customer="cus_1")
    record(m, "10", NOW - HOUR, customer="cus_2")
    assert summaries(m, meter, NOW - HOUR, NOW).data[0].aggregated_value == 1


def test_negative_totals_are_reported(m: Metering, meter: Meter) -> None:
    """A negative total stays negative (clamping is billing's job)."""
    record(m, "2", NOW - HOUR)
    record(m, "-5.5", NOW - HOUR)
    assert summaries(m, meter, NOW - HOUR, NOW).data[0].aggregated_value == Decimal("-3.5")


def test_hour_grouping_includes_empty_windows(m: Metering, meter: Meter) -> None:
    """Hourly grouping over a day gives 24 contiguous ascending summaries, empty ones at 0."""
    record(m, "3", MIDNIGHT + 2 * HOUR + 5)
    record(m, "4", MIDNIGHT + 2 * HOUR + 6)
    record(m, "5", MIDNIGHT + 11 * HOUR)
    data = summaries(m, meter, MIDNIGHT, MIDNIGHT + DAY, value_grouping_window="hour", limit=100)
    assert [s.start_time for s in data] == [MIDNIGHT + i * HOUR for i in range(24)]
    assert [s.end_time for s in data] == [MIDNIGHT + (i + 1) * HOUR for i in range(24)]
    expected = [0] * 24
    expected[2], expected[11] = 7, 5
    assert [s.aggregated_value for s in data] == expected


def test_day_grouping(m: Metering, meter: Meter) -> None:
    """Daily grouping gives one summary per UTC day."""
    record(m, "3", MIDNIGHT - 1)
    record(m, "4", MIDNIGHT)
    data = summaries(m, meter, MIDNIGHT - 2 * DAY, MIDNIGHT + DAY, value_grouping_window="day")
    assert [s.start_time for s in data] == [MIDNIGHT - 2 * DAY, MIDNIGHT - DAY, MIDNIGHT]
    assert [s.aggregated_value for s in data] == [0, 3, 4]


def test_minute_aligned_range_without_grouping(m: Metering, meter: Meter) -> None:
    """Without grouping any minute-aligned range works, e.g. 7 minutes."""
    record(m, "2", NOW - 7 * MINUTE)
    (summary,) = summaries(m, meter, NOW - 7 * MINUTE, NOW)
    assert summary.end_time - summary.start_time == 7 * MINUTE
    assert summary.aggregated_value == 2


@pytest.mark.parametrize(
    ("bounds", "grouping", "param"),
    [
        ((NOW - HOUR + 1, NOW), None, "start_time"),
        ((NOW - HOUR, NOW - 30), None, "end_time"),
        ((NOW - HOUR + MINUTE, NOW), "hour", "start_time"),
        ((NOW - HOUR, NOW + MINUTE), "hour", "end_time"),
        ((MIDNIGHT + HOUR, MIDNIGHT + DAY), "day", "start_time"),
        ((MIDNIGHT, NOW), "day", "end_time"),
    ],
)
def test_misaligned_range(
    m: Metering, meter: Meter, bounds: tuple[int, int], grouping: str | None, param: str
) -> None:
    """Ends must sit on minutes, on hours with hour grouping, on UTC midnight with day grouping."""
    rejected(
        lambda: summaries(m, meter, *bounds, value_grouping_window=grouping),
        "timestamp_not_aligned",
        param,
    )


@pytest.mark.parametrize("end", [NOW, NOW - HOUR])
def test_end_must_follow_start(m: Metering, meter: Meter, end: int) -> None:
    """end_time equal to or before start_time is rejected."""
    rejected(lambda: summaries(m, meter, NOW, end), "parameter_invalid_range", "end_time")


@pytest.mark.parametrize(
    ("arguments", "code", "param"),
    [
        ({"customer": None}, "parameter_missing", "customer"),
        ({"customer": ""}, "parameter_invalid_string_empty", "customer"),
        ({"start_time": None}, "parameter_missing", "start_time"),
        ({"end_time": None}, "parameter_missing", "end_time"),
        ({"start_time": "noon"}, "parameter_invalid_timestamp", "start_time"),
        ({"value_grouping_window": "week"}, "parameter_invalid_enum", "value_grouping_window"),
        ({"limit": 0}, "parameter_invalid_integer", "limit"),
        ({"limit": 101}, "parameter_invalid_integer", "limit"),
        ({"starting_after": "mtrusg_nope"}, "resource_missing", "starting_after"),
        ({"ending_before": "mtrusg_nope"}, "resource_missing", "ending_before"),
    ],
    ids=repr,
)
def test_bad_summary_params(
    m: Metering, meter: Meter, arguments: dict[str, Any], code: str, param: str
) -> None:
    """Missing or malformed summary parameters raise with their code and param."""
    call: dict[str, Any] = {"customer": "cus_1", "start_time": MIDNIGHT, "end_time": NOW}
    call |= arguments
    rejected(lambda: m.meters.list_event_summaries(meter.id, **call), code, param)


def test_unknown_meter(m: Metering) -> None:
    """Summaries of an unknown meter are resource_missing."""
    rejected(
        lambda: m.meters.list_event_summaries(
            "mtr_nope", customer="cus_1", start_time=MIDNIGHT, end_time=NOW
        ),
        "resource_missing",
        "id",
    )


def test_time_inputs_accept_iso_and_datetime(m: Metering, meter: Meter, clock: ManualClock) -> None:
    """start_time and end_time also take ISO strings and aware datetimes."""
    record(m, "2", NOW - HOUR)
    (summary,) = summaries(m, meter, "2026-03-10T11:00:00Z", clock.now())
    assert (summary.start_time, summary.end_time, summary.aggregated_value) == (
        NOW - HOUR,
        NOW,
        Decimal(2),
    )


def test_ids_are_deterministic_and_distinct(m: Metering, meter: Meter) -> None:
    """The same query returns the same mtrusg_ ids; windows and customers get distinct ids."""
    first = summaries(m, meter, MIDNIGHT, NOW, value_grouping_window="hour", limit=100)
    again = summaries(m, meter, MIDNIGHT, NOW, value_grouping_window="hour", limit=100)
    other = m.meters.list_event_summaries(
        meter.id,
        customer="cus_2",
        start_time=MIDNIGHT,
        end_time=NOW,
        value_grouping_window="hour",
        limit=100,
    )
    ids = [s.id for s in first]
    assert ids == [s.id for s in again]
    assert all(i.startswith("mtrusg_") for i in ids)
    assert len(set(ids) | {s.id for s in other}) == 2 * len(ids)


def test_pages_forward(m: Metering, meter: Meter) -> None:
    """A limit pages through the windows with starting_after and has_more."""
    day = summaries(m, meter, MIDNIGHT, MIDNIGHT + DAY, value_grouping_window="hour", limit=100)
    first = summaries(m, meter, MIDNIGHT, MIDNIGHT + DAY, value_grouping_window="hour")
    assert (len(first), first.has_more) == (10, True)
    second = summaries(
        m,
        meter,
        MIDNIGHT,
        MIDNIGHT + DAY,
        value_grouping_window="hour",
        starting_after=first.data[-1].id,
    )
    third = summaries(
        m,
        meter,
        MIDNIGHT,
        MIDNIGHT + DAY,
        value_grouping_window="hour",
        starting_after=second.data[-1].id,
    )
    assert (len(second), second.has_more, len(third), third.has_more) == (10, True, 4, False)
    assert first.data + second.data + third.data == day.data


def test_pages_backward(m: Metering, meter: Meter) -> None:
    """ending_before returns the windows just before the cursor."""
    day = summaries(m, meter, MIDNIGHT, MIDNIGHT + DAY, value_grouping_window="hour", limit=100)
    page = summaries(
        m,
        meter,
        MIDNIGHT,
        MIDNIGHT + DAY,
        value_grouping_window="hour",
        limit=5,
        ending_before=day.data[20].id,
    )
    assert page.data == day.data[15:20]
    assert page.has_more is True


@pytest.mark.parametrize("grouping", [None, "hour", "day"])
def test_the_page_past_either_end_is_empty(m: Metering, meter: Meter, grouping: str | None) -> None:
    """starting_after the last window, or ending_before the first: no windows, no more pages."""
    record(m, "2", MIDNIGHT + HOUR)
    window = {"value_grouping_window": grouping} if grouping else {}
    every = summaries(m, meter, MIDNIGHT, MIDNIGHT + DAY, limit=100, **window)
    after = summaries(
        m, meter, MIDNIGHT, MIDNIGHT + DAY, starting_after=every.data[-1].id, **window
    )
    before = summaries(m, meter, MIDNIGHT, MIDNIGHT + DAY, ending_before=every.data[0].id, **window)
    assert (after.data, after.has_more, before.data, before.has_more) == ((), False, (), False)
    assert list(after.auto_paging_iter()) == list(before.auto_paging_iter()) == []


def test_auto_paging_iter_walks_every_window(m: Metering, meter: Meter) -> None:
    """auto_paging_iter yields every window once, in ascending start_time."""
    yesterday = MIDNIGHT - DAY
    record(m, "1", MIDNIGHT - HOUR)
    page = summaries(m, meter, yesterday, MIDNIGHT, value_grouping_window="hour", limit=7)
    every = list(page.auto_paging_iter())
    assert [s.start_time for s in every] == [yesterday + i * HOUR for i in range(24)]
    assert every[-1].aggregated_value == 1


def test_cursor_from_another_query_is_rejected(m: Metering, meter: Meter) -> None:
    """A summary id is only a cursor within the query that produced it."""
    other = summaries(m, meter, MIDNIGHT - DAY, MIDNIGHT, value_grouping_window="hour")
    rejected(
        lambda: summaries(
            m,
            meter,
            MIDNIGHT,
            MIDNIGHT + DAY,
            value_grouping_window="hour",
            starting_after=other.data[0].id,
        ),
        "resource_missing",
        "starting_after",
    )


def test_future_range_is_zero(m: Metering, meter: Meter) -> None:
    """A range beyond the clock's now is fine and empty."""
    record(m, "2", NOW + 5 * MINUTE)
    data = summaries(m, meter, MIDNIGHT + DAY, MIDNIGHT + 3 * DAY, value_grouping_window="day")
    assert [s.aggregated_value for s in data] == [0, 0]


def test_far_past_range_is_zero(m: Metering, meter: Meter) -> None:
    """A range older than the 35-day event window is fine and empty."""
    data = summaries(m, meter, MIDNIGHT - 400 * DAY, MIDNIGHT - 300 * DAY)
    assert [s.aggregated_value for s in data] == [0]


def test_range_covering_all_time(m: Metering, meter: Meter) -> None:
    """A range from 1970 to far in the future sums everything."""
    record(m, "2", NOW - 30 * DAY)
    record(m, "3", NOW + 5 * MINUTE)
    assert summaries(m, meter, 0, NOW + 1000 * DAY).data[0].aggregated_value == 5


def test_inactive_meter_still_answers(m: Metering, meter: Meter) -> None:
    """A deactivated meter keeps its data and answers summary queries."""
    record(m, "2", NOW - HOUR)
    m.meters.deactivate(meter.id)
    assert summaries(m, meter, NOW - HOUR, NOW).data[0].aggregated_value == 2


def test_summaries_read_their_writes(m: Metering, meter: Meter) -> None:
    """An event shows up in the very next summary query."""
    assert summaries(m, meter, NOW - HOUR, NOW).data[0].aggregated_value == 0
    record(m, "2", NOW - HOUR)
    assert summaries(m, meter, NOW - HOUR, NOW).data[0].aggregated_value == 2


def test_usage_series_is_every_window_of_the_listing(m: Metering, meter: Meter) -> None:
    """usage_series gives each window's (start, value), as the summaries' pages do, in one call."""
    for value, at in (("10", MIDNIGHT + 5), ("2.5", MIDNIGHT + 3 * HOUR), ("1", NOW - 1)):
        record(m, value, at)
    listing = summaries(m, meter, MIDNIGHT, NOW, value_grouping_window="hour", limit=5)
    series = m.usage_series(meter.id, "cus_1", MIDNIGHT, NOW, value_grouping_window="hour")
    assert series == [(s.start_time, s.aggregated_value) for s in listing.auto_paging_iter()]
    assert len(series) == 12
    assert (series[0], series[3], series[11]) == (
        (MIDNIGHT, Decimal(10)),
        (MIDNIGHT + 3 * HOUR, Decimal("2.5")),
        (NOW - HOUR, Decimal(1)),
    )
    assert m.usage_series(meter.id, "cus_1", MIDNIGHT, NOW) == [(MIDNIGHT, Decimal("13.5"))]


def test_a_usage_series_is_a_snapshot(m: Metering, meter: Meter) -> None:
    """A series keeps the values it was read with: later events show only in later series."""
    for at in (MIDNIGHT + 5, NOW - 1):  # one-window and multi-window runs alike
        record(m, "3", at)
    hourly = m.usage_series(meter.id, "cus_1", MIDNIGHT, NOW, value_grouping_window="hour")
    whole = m.usage_series(meter.id, "cus_1", MIDNIGHT, NOW)
    record(m, "4", MIDNIGHT + 5)
    record(m, "4", NOW - 1)
    assert (hourly.values[0], hourly.values[-1], whole.values) == (
        Decimal(3),
        Decimal(3),
        (Decimal(6),),
    )
    again = m.usage_series(meter.id, "cus_1", MIDNIGHT, NOW, value_grouping_window="hour")
    assert (again.values[0], again.values[-1]) == (Decimal(7), Decimal(7))


def test_usage_series_rejects_what_summaries_reject(m: Metering, meter: Meter) -> None:
    """usage_series names the same params and codes as list_event_summaries."""
    series = m.usage_series
    rejected(lambda: series(meter.id, "cus_1", NOW, NOW + 30), "timestamp_not_aligned", "end_time")
    rejected(lambda: series(meter.id, "cus_1", NOW, NOW), "parameter_invalid_range", "end_time")
    rejected(
        lambda: series(meter.id, "cus_1", NOW - DAY, NOW, value_grouping_window="fortnight"),
        "parameter_invalid_enum",
        "value_grouping_window",
    )
    rejected(lambda: series("mtr_missing", "cus_1", NOW - HOUR, NOW), "resource_missing", "id")
    rejected(
        lambda: series(meter.id, "", NOW - HOUR, NOW), "parameter_invalid_string_empty", "customer"
    )
