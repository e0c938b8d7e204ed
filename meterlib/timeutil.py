"""UTC time: clocks, parsing of time inputs to Unix seconds, and window arithmetic."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NoReturn, Protocol, runtime_checkable

from dateutil.parser import isoparse

from meterlib.errors import InvalidRequestError, describe

MINUTE = 60
HOUR = 3_600
DAY = 86_400

WINDOW_SECONDS: dict[str, int] = {"hour": HOUR, "day": DAY}
"""Length of each named window (``event_time_window`` and ``value_grouping_window``)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EARLIEST = -62_135_596_800
"""Unix seconds of 0001-01-01T00:00:00Z, the earliest time meterlib accepts (`datetime.min`)."""
LATEST = 253_402_300_799
"""Unix seconds of 9999-12-31T23:59:59Z, the latest time meterlib accepts (`datetime.max`)."""
MAX_TIME_STRING = 64
"""The longest ISO-8601 string parsed; longer ones are refused before any parsing."""


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` returning a timezone-aware datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The real wall clock, in UTC."""

    def __init__(self) -> None:
        self._seconds = 0

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def unix_seconds(self) -> int:
        """``now()`` as whole Unix seconds, without building a datetime.

        The same int object throughout a second, so that what keeps one per event (the memory
        store's received times) keeps one per second: 8 bytes an event, not 40.
        """
        seconds = int(time.time())
        last = self._seconds
        if seconds == last:
            return last
        self._seconds = seconds
        return seconds


class ManualClock:
    """A clock that moves only when told to: the way to test time-dependent rules.

    It starts at, and `set` jumps to, any time input meterlib accepts (an aware datetime, an
    ISO-8601 string with an offset, int Unix seconds), and stays within years 1 to 9999.

    >>> clock = ManualClock(datetime(2026, 3, 10, tzinfo=UTC))
    >>> clock.advance(90)
    >>> clock.now().isoformat()
    '2026-03-10T00:01:30+00:00'
    >>> ManualClock("2026-03-10T12:00:00Z").unix_seconds()
    1773144000
    """

    def __init__(self, start: datetime | int | str | None = None) -> None:
        self._lock = threading.Lock()
        self._now = datetime.now(UTC) if start is None else to_datetime(start, "start")
        self._seconds = _floor_seconds(self._now)

    def now(self) -> datetime:
        """Return the clock's current time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | int | float) -> None:
        """Move the clock forward (or back, with a negative delta) by a timedelta or seconds.

        Anything else is ``parameter_invalid_type``; a NaN or infinite delta, or one that would
        leave years 1 to 9999, is ``parameter_invalid_timestamp``, and the clock stays put.
        """
        step = _duration(delta, "delta")
        with self._lock:
            try:
                moved = self._now + step
            except OverflowError:
                _invalid_time("delta", f"moves the clock outside years 1 to 9999: {step}")
            self._now = moved
            self._seconds = _floor_seconds(moved)

    def set(self, moment: datetime | int | str) -> None:
        """Jump to an absolute moment: an aware datetime, ISO-8601 string or Unix seconds."""
        aware = to_datetime(moment, "moment")
        with self._lock:
            self._now = aware
            self._seconds = _floor_seconds(aware)

    def unix_seconds(self) -> int:
        """``now()`` as whole Unix seconds (floored), without building a datetime."""
        return self._seconds


def _invalid_time(param: str, problem: str) -> NoReturn:
    raise InvalidRequestError(f"{param} {problem}", code="parameter_invalid_timestamp", param=param)


def _duration(delta: object, param: str) -> timedelta:
    """A clock move: a timedelta, or a finite int or float number of seconds."""
    if isinstance(delta, timedelta):
        return timedelta(delta.days, delta.seconds, delta.microseconds)  # a plain copy
    if isinstance(delta, bool) or not isinstance(delta, int | float):
        raise InvalidRequestError(
            f"{param} must be a timedelta or a number of seconds; got {describe(delta)}",
            code="parameter_invalid_type",
            param=param,
        )
    seconds = int.__int__(delta) if isinstance(delta, int) else float.__float__(delta)
    if not abs(seconds) <= LATEST - EARLIEST:  # NaN compares False too
        _invalid_time(param, f"moves the clock outside years 1 to 9999: {describe(delta)}")
    return timedelta(seconds=seconds)


def _require_aware(moment: datetime, param: str) -> datetime:
    """A datetime as a plain aware UTC datetime; a subclass or tzinfo may be the caller's code."""
    try:
        aware = None if moment.utcoffset() is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-14:00 lies past datetime.max in UTC
        _invalid_time(param, "is out of range (years 1 to 9999 in UTC)")
    except Exception:  # a caller's own tzinfo may raise anything: the input is invalid
        _invalid_time(param, "has a tzinfo that failed to give its UTC offset")
    if aware is None:
        _invalid_time(param, "must be timezone-aware; got a naive datetime")
    if type(aware) is datetime:
        return aware
    return datetime(*aware.timetuple()[:6], aware.microsecond, tzinfo=UTC)


def now_seconds(clock: Clock) -> int:
    """The clock's now as whole Unix seconds (floored); meterlib's own clocks answer directly."""
    if type(clock) is ManualClock or type(clock) is SystemClock:
        return clock.unix_seconds()
    return to_unix_seconds(clock.now(), "clock")


def seconds_reader(clock: Clock) -> Callable[[], int]:
    """`now_seconds` of `clock` as a function of no arguments, for hot paths: one call.

    >>> seconds_reader(ManualClock(1773144000))()
    1773144000
    """
    if type(clock) is ManualClock or type(clock) is SystemClock:
        return clock.unix_seconds
    return functools.partial(now_seconds, clock)


def to_unix_seconds(value: object, param: str) -> int:
    """Parse a time input (int Unix seconds, aware datetime, ISO-8601 string) to Unix seconds.

    Sub-second precision is floored, as Stripe's v1 timestamps are whole seconds. Times
    outside years 1 to 9999 (`EARLIEST`, `LATEST`) are ``parameter_invalid_timestamp``.

    >>> to_unix_seconds("2026-03-10T00:00:00Z", "timestamp")
    1773100800
    """
    if type(value) is int and EARLIEST <= value <= LATEST:
        return value
    if type(value) is datetime and value.tzinfo is UTC:
        return _floor_seconds(value)  # the clocks' own answers: aware already
    if isinstance(value, int) and not isinstance(value, bool):
        return _unix_seconds_in_range(int.__int__(value), param)
    return _floor_seconds(to_datetime(value, param))


def _unix_seconds_in_range(seconds: int, param: str) -> int:
    if not EARLIEST <= seconds <= LATEST:
        _invalid_time(param, f"must lie in years 1 to 9999; got {describe(seconds)}")
    return seconds


def to_datetime(value: object, param: str) -> datetime:
    """A time input (aware datetime, ISO-8601 string, int Unix seconds) as an aware UTC datetime.

    Unlike `to_unix_seconds` it keeps sub-second parts.

    >>> to_datetime(0, "start").isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    if isinstance(value, datetime):
        return _require_aware(value, param)
    if isinstance(value, int) and not isinstance(value, bool):
        return from_unix_seconds(_unix_seconds_in_range(int.__int__(value), param))
    if isinstance(value, str):
        text = str.__str__(value).strip()
        try:
            if len(text) > MAX_TIME_STRING:
                raise ValueError(text)
            parsed = isoparse(text)
        except (ValueError, OverflowError):
            _invalid_time(param, f"must be an ISO-8601 time; got {describe(value)}")
        return _require_aware(parsed, param)
    raise InvalidRequestError(
        f"{param} must be Unix seconds, an aware datetime or an ISO-8601 string; "
        f"got {describe(value)}",
        code="parameter_invalid_timestamp",
        param=param,
    )


def _floor_seconds(moment: datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * DAY + delta.seconds


def from_unix_seconds(seconds: int) -> datetime:
    """Unix seconds to an aware UTC datetime."""
    return _EPOCH + timedelta(seconds=seconds)


def to_rfc3339(moment: datetime) -> str:
    """An aware datetime as Stripe's v2 time string: RFC 3339 in UTC, milliseconds, ``Z``.

    Sub-millisecond parts are floored (truncated), as Stripe's v2 times carry milliseconds.
    A naive datetime is a programming error here (`ValueError`): inputs are checked and made
    aware on the way in (`to_datetime`).

    >>> to_rfc3339(datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
    '2024-06-01T12:00:00.000Z'
    >>> from datetime import timezone
    >>> to_rfc3339(datetime(2024, 6, 1, 14, 0, 0, 123999, tzinfo=timezone(timedelta(hours=2))))
    '2024-06-01T12:00:00.123Z'
    """
    if moment.utcoffset() is None:
        raise ValueError("to_rfc3339 needs a timezone-aware datetime")
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def window_start(timestamp: int, size: int) -> int:
    """Start of the UTC window of `size` seconds holding `timestamp` (floor, also below 0)."""
    return timestamp - timestamp % size
