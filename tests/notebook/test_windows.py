"""Week and month windows and time zones in ``usage_series``: exact, DST changes included.

The hypothesis test checks window starts against an independent oracle (dateutil, brute
force: ``tests/notebook/oracle.py``) and every window's value against the `ReferenceModel`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from meterlib import InvalidRequestError, ManualClock, Meter, Metering, UsageSeries
from meterlib.testing import ReferenceModel
from meterlib.validation.limits import MAX_WINDOWS
from meterlib.windows import first_instant, window_floor
from tests.notebook.oracle import Unit, window_bounds

HOUR = 3_600
DAY = 86_400
NEW_YORK = "America/New_York"


def lengths(series: UsageSeries, end: int) -> list[float]:
    """Each window's length in hours: from its start to the next (the last to `end`)."""
    starts = [start for start, _ in series] + [end]
    return [(later - earlier) / HOUR for earlier, later in pairwise(starts)]


def local(wall: str, zone: str) -> int:
    """The first instant the zone's clock reads the ISO wall time (or date) `wall`."""
    return first_instant(datetime.fromisoformat(wall), ZoneInfo(zone))


def series_in(
    m: Metering, meter: Meter, start: int, end: int, *, window: str, zone: str | None
) -> UsageSeries:
    """``usage_series`` of customer ``cus_1``."""
    return m.usage_series(
        meter.id, "cus_1", start, end, value_grouping_window=window, timezone=zone
    )


@pytest.mark.parametrize(
    ("zone", "span", "window", "hours"),
    [
        pytest.param(
            NEW_YORK, ("2026-03-07", "2026-03-10"), "day", [24, 23, 24], id="ny-spring-day"
        ),
        pytest.param(NEW_YORK, ("2026-10-31", "2026-11-03"), "day", [24, 25, 24], id="ny-fall-day"),
        pytest.param(
            NEW_YORK,
            ("2026-03-08T00:00", "2026-03-08T04:00"),
            "hour",
            [1, 1, 1],
            id="ny-spring-hours",
        ),
        pytest.param(
            NEW_YORK,
            ("2026-11-01T00:00", "2026-11-01T03:00"),
            "hour",
            [1, 2, 1],
            id="ny-fall-hours",
        ),
        pytest.param(
            "America/Havana", ("2026-03-07", "2026-03-09"), "day", [24, 23], id="havana-no-midnight"
        ),
        pytest.param(
            "America/Havana", ("2026-10-31", "2026-11-02"), "day", [24, 25], id="havana-2-midnights"
        ),
        pytest.param(
            "Australia/Lord_Howe", ("2026-10-03", "2026-10-05"), "day", [24, 23.5], id="lord-howe"
        ),
        pytest.param(
            "Pacific/Apia", ("2011-12-29", "2012-01-01"), "day", [24, 24], id="apia-skips-a-day"
        ),
        pytest.param("Asia/Kolkata", ("2026-03-09", "2026-03-10"), "day", [24], id="kolkata"),
        pytest.param(NEW_YORK, ("2026-03-02", "2026-03-16"), "week", [167, 168], id="ny-weeks"),
        pytest.param(NEW_YORK, ("2026-03-01", "2026-05-01"), "month", [743, 720], id="ny-months"),
        pytest.param(None, ("2024-02-01", "2024-04-01"), "month", [696, 744], id="utc-leap-feb"),
        pytest.param(None, ("2026-03-02", "2026-03-09"), "week", [168], id="utc-week"),
    ],
)
def test_window_lengths_follow_the_zones_clock(
    m: Metering,
    meter: Meter,
    *,
    zone: str | None,
    span: tuple[str, str],
    window: str,
    hours: list[float],
) -> None:
    """Each window runs between the first instants the zone's clock reads consecutive starts."""
    start, end = (local(wall, zone or "UTC") for wall in span)
    assert lengths(series_in(m, meter, start, end, window=window, zone=zone), end) == hours


def test_a_repeated_midnight_starts_its_day_at_the_first(m: Metering, meter: Meter) -> None:
    """In Havana 00:00 comes twice on 1 November 2026; the day starts at the first (CDT)."""
    start = local("2026-11-01T00:00", "America/Havana")
    assert datetime.fromtimestamp(start, ZoneInfo("America/Havana")).utcoffset() == timedelta(
        hours=-4
    )
    (day,) = series_in(m, meter, start, start + 25 * HOUR, window="day", zone="America/Havana")
    assert day[0] == start


def test_events_fall_in_the_local_window_of_their_timestamp() -> None:
    """An event at 23:30 New York time counts on that local day, not on the UTC day after."""
    start = local("2026-03-07T00:00", NEW_YORK)
    m = Metering(clock=ManualClock(start + 47 * HOUR))
    meter = m.meters.create(
        display_name="API calls", event_name="api", default_aggregation={"formula": "sum"}
    )
    late = local("2026-03-07T23:30", NEW_YORK)
    m.record("api", customer="cus_1", value=2, timestamp=late)
    m.record("api", customer="cus_1", value=5, timestamp=late + HOUR)  # 00:30 on 8 March
    series = series_in(m, meter, start, start + 47 * HOUR, window="day", zone=NEW_YORK)
    assert [value for _, value in series] == [Decimal(2), Decimal(5)]


def test_without_a_zone_hours_and_days_are_the_summary_listings(m: Metering, meter: Meter) -> None:
    """timezone="UTC" gives what no timezone gives: the listing's UTC hours and days."""
    m.record("api", customer="cus_1", value=3)
    start, end = 1_773_100_800, 1_773_187_200
    for window in ("hour", "day"):
        assert series_in(m, meter, start, end, window=window, zone="UTC") == series_in(
            m, meter, start, end, window=window, zone=None
        )


def test_dates_are_the_first_instant_of_their_day_in_the_zone(m: Metering, meter: Meter) -> None:
    """A date given as start or end means that day's local start (here 8 March, 23 hours)."""
    series = m.usage_series(
        meter.id,
        "cus_1",
        date(2026, 3, 8),
        date(2026, 3, 9),
        value_grouping_window="day",
        timezone=ZoneInfo(NEW_YORK),
    )
    assert series == [(local("2026-03-08T00:00", NEW_YORK), Decimal(0))]


@pytest.mark.parametrize(
    ("start", "end", "param"),
    [
        pytest.param("2026-03-08T00:00", "2026-03-08T12:00", "end_time", id="end-mid-day"),
        pytest.param("2026-03-08T05:00", "2026-03-09T00:00", "start_time", id="start-mid-day"),
    ],
)
def test_ends_must_start_a_local_window(
    m: Metering, meter: Meter, start: str, end: str, param: str
) -> None:
    """A range end that no window starts at is timestamp_not_aligned, naming the end."""
    with pytest.raises(InvalidRequestError) as raised:
        series_in(
            m, meter, local(start, NEW_YORK), local(end, NEW_YORK), window="day", zone=NEW_YORK
        )
    assert (raised.value.code, raised.value.param) == ("timestamp_not_aligned", param)
    assert NEW_YORK in raised.value.message


def test_the_second_one_oclock_of_a_fall_back_starts_no_hour(m: Metering, meter: Meter) -> None:
    """01:00 EST, an hour after 01:00 EDT, is inside the 01:00 wall-clock hour, not a start."""
    second = local("2026-11-01T01:00", NEW_YORK) + HOUR
    with pytest.raises(InvalidRequestError) as raised:
        series_in(m, meter, second, second + HOUR, window="hour", zone=NEW_YORK)
    assert (raised.value.code, raised.value.param) == ("timestamp_not_aligned", "start_time")


def test_weeks_and_months_without_a_zone_are_utc(m: Metering, meter: Meter) -> None:
    """A UTC week starts on a Monday midnight; a Sunday start is not aligned."""
    sunday = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
    with pytest.raises(InvalidRequestError) as raised:
        series_in(m, meter, sunday, sunday + 8 * DAY, window="week", zone=None)
    assert raised.value.code == "timestamp_not_aligned"
    assert "week (Monday) in UTC" in raised.value.message


@pytest.mark.parametrize(
    ("timezone", "code"),
    [
        pytest.param("Mars/Olympus_Mons", "parameter_invalid_enum", id="unknown"),
        pytest.param("../../etc/passwd", "parameter_invalid_enum", id="a-path"),
        pytest.param("", "parameter_invalid_string_empty", id="empty"),
        pytest.param(5, "parameter_invalid_type", id="not-text"),
    ],
)
def test_a_bad_timezone_is_refused(m: Metering, meter: Meter, timezone: object, code: str) -> None:
    """Timezone must name an IANA zone; anything else is refused with param timezone."""
    with pytest.raises(InvalidRequestError) as raised:
        m.usage_series(
            meter.id,
            "cus_1",
            0,
            DAY,
            value_grouping_window="day",
            timezone=timezone,  # type: ignore[arg-type]
        )
    assert (raised.value.code, raised.value.param) == (code, "timezone")


def test_an_unknown_window_lists_the_four(m: Metering, meter: Meter) -> None:
    """value_grouping_window="year" is parameter_invalid_enum; the message lists all four."""
    with pytest.raises(InvalidRequestError) as raised:
        m.usage_series(meter.id, "cus_1", 0, DAY, value_grouping_window="year", timezone="UTC")
    assert raised.value.code == "parameter_invalid_enum"
    assert "hour, day, week, month" in raised.value.message


def test_a_zones_windows_are_bounded_as_utc_ones(m: Metering, meter: Meter) -> None:
    """More than MAX_WINDOWS days in a zone is parameter_invalid_range, as UTC hours are."""
    zone = ZoneInfo("Asia/Kolkata")
    start = first_instant(datetime(1971, 1, 1), zone)
    end = first_instant(datetime(1971, 1, 1) + timedelta(days=MAX_WINDOWS + 1), zone)
    with pytest.raises(InvalidRequestError) as raised:
        series_in(m, meter, start, end, window="day", zone="Asia/Kolkata")
    assert (raised.value.code, raised.value.param) == ("parameter_invalid_range", "end_time")


# --- against the oracle and the reference model ------------------------------------------------

ZONES = [
    NEW_YORK,
    "Europe/London",
    "Europe/Paris",
    "America/Havana",
    "America/Santiago",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Africa/Casablanca",
    "UTC",
]
DST_DATES = [
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 4, 5),
    date(2026, 9, 6),
    date(2026, 10, 4),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2011, 12, 30),
    date(1990, 4, 1),
]
"""Days on which some of `ZONES` change their clocks, to draw near."""


@st.composite
def calendar_ranges(draw: st.DrawFn) -> tuple[str, Unit, datetime, int]:
    """A zone, a unit, a wall-clock window start (often near a clock change) and 1-3 windows."""
    zone = draw(st.sampled_from(ZONES) | st.timezone_keys(allow_prefix=False))
    unit: Unit = draw(st.sampled_from(["hour", "day", "week", "month"]))
    near = draw(
        st.sampled_from(DST_DATES).map(lambda day: datetime(day.year, day.month, day.day))
        | st.datetimes(min_value=datetime(1975, 1, 1), max_value=datetime(2037, 1, 1))
    )
    hours_before = draw(st.integers(0, 50 if unit in ("hour", "day") else 24 * 35))
    wall = window_floor(near - timedelta(hours=hours_before), unit)
    return zone, unit, wall, draw(st.integers(1, 3 if unit != "hour" else 5))


@pytest.mark.parametrize("store", ["memory://", "sqlite://"])
@settings(max_examples=40, deadline=None)
@given(
    calendar_ranges(),
    st.sampled_from(["sum", "count", "last"]),
    st.sampled_from([None, "hour", "day"]),
    st.lists(
        st.tuples(st.floats(-0.2, 1.2), st.sampled_from(["cus_1", "cus_2"]), st.integers(-3, 9)),
        max_size=8,
    ),
)
@example((NEW_YORK, "day", datetime(2026, 11, 1), 1), "last", "hour", [(0.05, "cus_1", 4)])
@example(("Pacific/Apia", "day", datetime(2011, 12, 29), 3), "sum", "day", [(0.5, "cus_1", 1)])
def test_series_match_the_oracle_and_the_reference_model(
    store: str,
    case: tuple[str, Unit, datetime, int],
    formula: str,
    pre_aggregation: str | None,
    events: list[tuple[float, str, int]],
) -> None:
    """Window starts are the oracle's, and each window's value the reference model's, per store."""
    zone, unit, wall, count = case
    bounds = window_bounds(wall, unit, count, zone)
    assume(len(bounds) > 1)  # not only windows the zone skipped (Havana's 00:00 hour)
    start, end = bounds[0], bounds[-1]
    clock = ManualClock(end)
    m, model = Metering(store, clock=clock), ReferenceModel(clock)
    meter = m.meters.create(
        display_name="calls",
        event_name="calls",
        default_aggregation={"formula": formula},
        event_time_window=pre_aggregation,
    )
    model.add_meter(meter)
    for index, (place, customer, value) in enumerate(events):
        moment = start + int(place * (end - start))
        clock.set(max(moment, 0))
        item = {
            "event_name": "calls",
            "payload": {"stripe_customer_id": customer, "value": str(value)},
            "identifier": f"e{index}",
            "timestamp": max(moment, 0),
        }
        m.meter_events.create(**item)  # type: ignore[arg-type]
        model.create_event(**item)
    series = m.usage_series(
        meter.id, "cus_1", start, end, value_grouping_window=unit, timezone=zone
    )
    assert [moment for moment, _ in series] == bounds[:-1]
    expected = [model.usage(meter.id, "cus_1", a, b) for a, b in pairwise(bounds)]
    assert [value for _, value in series] == expected
