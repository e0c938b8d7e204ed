"""Time: parsing time inputs to Unix seconds, clocks, and UTC window arithmetic."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib import Clock, ManualClock, SystemClock
from meterlib.errors import InvalidRequestError
from meterlib.timeutil import from_unix_seconds, now_seconds, to_unix_seconds, window_start

NOON = 1_773_144_000
"""2026-03-10 12:00:00 UTC."""


@pytest.mark.parametrize(
    "value",
    [
        NOON,
        datetime(2026, 3, 10, 12, tzinfo=UTC),
        datetime(2026, 3, 10, 7, tzinfo=timezone(timedelta(hours=-5))),
        "2026-03-10T12:00:00Z",
        "2026-03-10T12:00:00+00:00",
        "2026-03-10T13:30:00+01:30",
        "2026-03-10T12:00:00.999999Z",
        "  2026-03-10T12:00:00Z ",
        datetime(2026, 3, 10, 12, 0, 0, 999_999, tzinfo=UTC),
    ],
    ids=repr,
)
def test_time_inputs(value: object) -> None:
    """Ints, aware datetimes in any zone and ISO strings give the same floored second."""
    assert to_unix_seconds(value, "timestamp") == NOON


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0),
        (-5, -5),
        (datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC), -1),
        ("1969-12-31T23:59:59.5Z", -1),
        ("1970-01-01T00:00:00.5Z", 0),
    ],
    ids=repr,
)
def test_flooring_goes_down_also_before_1970(value: object, seconds: int) -> None:
    """Sub-second parts are floored, toward the past, on both sides of the epoch."""
    assert to_unix_seconds(value, "timestamp") == seconds


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 10, 12),
        "2026-03-10T12:00:00",
        "2026-03-10",
        "",
        "noon",
        "2026-13-45T00:00:00Z",
        "1773144000",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        None,
        True,
        1.5,
        [NOON],
    ],
    ids=repr,
)
def test_rejected_time_inputs(value: object) -> None:
    """Naive, garbled, out-of-range or wrongly typed times raise parameter_invalid_timestamp."""
    with pytest.raises(InvalidRequestError) as info:
        to_unix_seconds(value, "start_time")
    assert (info.value.code, info.value.param) == ("parameter_invalid_timestamp", "start_time")


@given(seconds=st.integers(min_value=-(10**10), max_value=10**10))
def test_unix_seconds_round_trip(seconds: int) -> None:
    """from_unix_seconds and to_unix_seconds are inverse, also via ISO strings."""
    moment = from_unix_seconds(seconds)
    assert moment.tzinfo is not None
    assert to_unix_seconds(moment, "t") == seconds
    assert to_unix_seconds(moment.isoformat(), "t") == seconds


@given(
    timestamp=st.integers(min_value=-(10**10), max_value=10**10),
    size=st.sampled_from([60, 3_600, 86_400]),
)
def test_window_start(timestamp: int, size: int) -> None:
    """window_start is the aligned start of the window holding the timestamp (floor)."""
    start = window_start(timestamp, size)
    assert start % size == 0
    assert start <= timestamp < start + size


def test_day_windows_start_at_utc_midnight() -> None:
    """A day window starts at 00:00 UTC."""
    assert from_unix_seconds(window_start(NOON, 86_400)) == datetime(2026, 3, 10, tzinfo=UTC)


def test_manual_clock_moves_only_when_told() -> None:
    """ManualClock stays put, advances by seconds or timedelta (also back), and jumps."""
    clock = ManualClock(datetime(2026, 3, 10, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2026, 3, 10, tzinfo=UTC)
    clock.advance(90)
    clock.advance(timedelta(hours=1))
    clock.advance(-30)
    assert clock.now() == datetime(2026, 3, 10, 1, 1, tzinfo=UTC)
    clock.set(datetime(2030, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)


def test_manual_clock_reports_utc() -> None:
    """A ManualClock started in another zone reports the same instant in UTC."""
    clock = ManualClock(datetime(2026, 3, 10, 13, tzinfo=timezone(timedelta(hours=1))))
    assert clock.now().utcoffset() == timedelta(0)
    assert now_seconds(clock) == NOON


def test_manual_clock_rejects_naive_times() -> None:
    """ManualClock will not start at or jump to a naive datetime."""
    with pytest.raises(InvalidRequestError):
        ManualClock(datetime(2026, 3, 10))
    clock = ManualClock(datetime(2026, 3, 10, tzinfo=UTC))
    with pytest.raises(InvalidRequestError):
        clock.set(datetime(2026, 3, 11))
    assert clock.now() == datetime(2026, 3, 10, tzinfo=UTC)


def test_manual_clock_defaults_to_now() -> None:
    """ManualClock() starts at the current time."""
    assert abs(now_seconds(ManualClock()) - time.time()) < 60


def test_now_seconds_floors() -> None:
    """now_seconds drops the fraction of the clock's current second."""
    clock = ManualClock(datetime(2026, 3, 10, 12, 0, 0, 999_999, tzinfo=UTC))
    assert now_seconds(clock) == NOON


def test_system_clock() -> None:
    """SystemClock gives the current time, timezone-aware in UTC."""
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert abs(now.timestamp() - time.time()) < 60


class NaiveClock:
    """A user clock that wrongly returns naive datetimes."""

    def now(self) -> datetime:
        """A naive moment."""
        return datetime(2026, 3, 10, 12)


def test_any_object_with_now_is_a_clock() -> None:
    """Clock is a protocol: the built-in clocks and any object with now() satisfy it."""
    assert isinstance(ManualClock(), Clock)
    assert isinstance(SystemClock(), Clock)
    assert isinstance(NaiveClock(), Clock)
    assert not isinstance(object(), Clock)


def test_naive_user_clock_is_rejected() -> None:
    """A clock returning naive datetimes raises instead of guessing a zone."""
    with pytest.raises(InvalidRequestError) as info:
        now_seconds(NaiveClock())
    assert info.value.param == "clock"


def test_clocks_unix_seconds_is_now_floored() -> None:
    """Both clocks' unix_seconds() is now() in whole seconds, floored, and follows every move."""
    clock = ManualClock(datetime(2026, 3, 10, 11, 59, 59, 999_999, tzinfo=UTC))
    assert clock.unix_seconds() == now_seconds(clock) == NOON - 1
    clock.advance(0.000_001)
    assert clock.unix_seconds() == NOON
    clock.set(datetime(2026, 3, 10, 13, tzinfo=timezone(timedelta(hours=1))))
    assert clock.unix_seconds() == NOON
    system = SystemClock()
    before = to_unix_seconds(system.now(), "now")
    seconds = system.unix_seconds()
    assert before <= seconds <= to_unix_seconds(system.now(), "now")
