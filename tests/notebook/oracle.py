"""An oracle for calendar windows in a time zone, independent of ``meterlib.windows``.

It uses python-dateutil's own tz database reader (not `zoneinfo`) and finds each window start
by brute force: the first whole minute at which the zone's wall clock reads the window's start
or later, scanning every minute of the 30 hours around it. Valid where every UTC offset and
every change of offset falls on a whole minute (all zones since 1972).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from dateutil import tz

Unit = Literal["hour", "day", "week", "month"]
_EPOCH = datetime(1970, 1, 1)


def wall_clock(moment: int, zone: str) -> datetime:
    """The zone's wall-clock time at Unix second `moment`, by dateutil."""
    info = tz.gettz(zone)
    assert info is not None, zone
    return datetime.fromtimestamp(moment, UTC).astimezone(info).replace(tzinfo=None)


def first_minute(wall: datetime, zone: str) -> int:
    """The first whole minute at which the zone's clock reads `wall` or later.

    Offsets lie within -12 h and +14 h, so that minute lies within 15 hours of `wall` read
    as UTC; every minute of that span is tried in order.
    """
    as_utc = int((wall - _EPOCH).total_seconds())
    for moment in range(as_utc - 15 * 3600, as_utc + 15 * 3600, 60):
        offset = wall_clock(moment, zone) - (_EPOCH + timedelta(seconds=moment))
        assert offset.total_seconds() % 60 == 0, "the oracle needs whole-minute offsets"
        if wall_clock(moment, zone) >= wall:
            return moment
    raise AssertionError(f"no instant reads {wall} in {zone}")


def wall_starts(first: datetime, unit: Unit, count: int) -> list[datetime]:
    """`count` + 1 consecutive wall-clock window starts from `first` (itself one)."""
    starts = [first]
    for _ in range(count):
        last = starts[-1]
        if unit == "hour":
            starts.append(last + timedelta(hours=1))
        elif unit == "day":
            starts.append(last + timedelta(days=1))
        elif unit == "week":
            starts.append(last + timedelta(days=7))
        else:
            year, month = divmod(last.year * 12 + last.month, 12)
            starts.append(last.replace(year=year, month=month + 1))
    return starts


def window_bounds(first: datetime, unit: Unit, count: int, zone: str) -> list[int]:
    """The instants starting `count` windows from wall time `first`, and ending the last.

    A window of no length (a day the zone skipped) is left out.
    """
    bounds: list[int] = []
    for wall in wall_starts(first, unit, count):
        moment = first_minute(wall, zone)
        if not bounds or bounds[-1] != moment:
            bounds.append(moment)
    return bounds
