"""UTC time: clocks, parsing of time inputs to Unix seconds, and window arithmetic."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from dateutil.parser import isoparse

from meterlib.errors import InvalidRequestError

MINUTE = 60
HOUR = 3_600
DAY = 86_400

WINDOW_SECONDS: dict[str, int] = {"hour": HOUR, "day": DAY}
"""Length of each named window (``event_time_window`` and ``value_grouping_window``)."""


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now()`` returning a timezone-aware datetime."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def unix_seconds(self) -> int:
        """``now()`` as whole Unix seconds, without building a datetime."""
        return int(time.time())


class ManualClock:
    """A clock that moves only when told to: the way to test time-dependent rules.

    >>> clock = ManualClock(datetime(2026, 3, 10, tzinfo=UTC))
    >>> clock.advance(90)
    >>> clock.now().isoformat()
    '2026-03-10T00:01:30+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = _require_aware(start if start is not None else datetime.now(UTC), "start")
        self._seconds = _floor_seconds(self._now)

    def now(self) -> datetime:
        """Return the clock's current time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | int | float) -> None:
        """Move the clock forward (or back, with a negative delta) by a timedelta or seconds."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            self._seconds = _floor_seconds(self._now)

    def set(self, moment: datetime) -> None:
        """Jump to an absolute, timezone-aware moment."""
        aware = _require_aware(moment, "moment")
        with self._lock:
            self._now = aware
            self._seconds = _floor_seconds(aware)

    def unix_seconds(self) -> int:
        """``now()`` as whole Unix seconds (floored), without building a datetime."""
        return self._seconds


def _require_aware(moment: datetime, param: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRequestError(
            f"{param} must be timezone-aware; got a naive datetime",
            code="parameter_invalid_timestamp",
            param=param,
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-14:00 lies past datetime.max in UTC
        raise InvalidRequestError(
            f"{param} is out of range: {moment.isoformat()}",
            code="parameter_invalid_timestamp",
            param=param,
        ) from None


def now_seconds(clock: Clock) -> int:
    """The clock's now as whole Unix seconds (floored); meterlib's own clocks answer directly."""
    if type(clock) is ManualClock or type(clock) is SystemClock:
        return clock.unix_seconds()
    return to_unix_seconds(clock.now(), "clock")


def to_unix_seconds(value: object, param: str) -> int:
    """Parse a time input (int Unix seconds, aware datetime, ISO-8601 string) to Unix seconds.

    Sub-second precision is floored, as Stripe's v1 timestamps are whole seconds.

    >>> to_unix_seconds("2026-03-10T00:00:00Z", "timestamp")
    1773100800
    """
    if type(value) is int:
        return value
    if type(value) is datetime and value.tzinfo is UTC:
        return _floor_seconds(value)  # the clocks' own answers: aware already
    if isinstance(value, bool):
        pass  # a bool is an int to Python, never a time to us
    elif isinstance(value, int):
        return value
    elif isinstance(value, datetime):
        aware = _require_aware(value, param)
        return _floor_seconds(aware)
    elif isinstance(value, str):
        try:
            parsed = isoparse(value.strip())
        except (ValueError, OverflowError):
            raise InvalidRequestError(
                f"{param} must be an ISO-8601 time; got {value!r}",
                code="parameter_invalid_timestamp",
                param=param,
            ) from None
        return _floor_seconds(_require_aware(parsed, param))
    raise InvalidRequestError(
        f"{param} must be Unix seconds, an aware datetime or an ISO-8601 string; "
        f"got {type(value).__name__}",
        code="parameter_invalid_timestamp",
        param=param,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _floor_seconds(moment: datetime) -> int:
    delta = moment - _EPOCH
    return delta.days * DAY + delta.seconds


def from_unix_seconds(seconds: int) -> datetime:
    """Unix seconds to an aware UTC datetime."""
    return _EPOCH + timedelta(seconds=seconds)


def window_start(timestamp: int, size: int) -> int:
    """Start of the UTC window of `size` seconds holding `timestamp` (floor, also below 0)."""
    return timestamp - timestamp % size
