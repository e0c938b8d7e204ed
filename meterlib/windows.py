"""Calendar windows in a time zone: hours, days, ISO weeks and months on a local wall clock.

Stripe's summaries group by UTC hour and day (`meterlib.timeutil`). Its meter usage analytics
also groups by week and month, in a time zone; ``usage_series`` and ``usage_frame`` do the same
with these windows. One rule places every window, whatever its unit:

    A window starts at the first instant at which the zone's wall clock reads the window's
    start (a whole hour, a midnight, a Monday midnight, the 1st at midnight).

So a wall time that a daylight-saving change repeats (a fold) starts its window at its first
occurrence, and one that a change skips (a gap) starts it where the gap ends. Windows are
whole seconds; a window the zone skipped entirely (Samoa's 30 December 2011) has no length and
is left out. Zones come from `zoneinfo` (the system's tz database, or the ``tzdata`` package).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

SeriesWindow = Literal["hour", "day", "week", "month"]
SERIES_WINDOWS: tuple[SeriesWindow, ...] = ("hour", "day", "week", "month")
"""The windows ``usage_series`` groups by: Stripe's ``hour`` and ``day``, and analytics' two."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def local_time(moment: int, zone: ZoneInfo) -> datetime:
    """The zone's wall-clock time (naive) at Unix second `moment`.

    >>> local_time(1773100800, ZoneInfo("America/New_York")).isoformat()
    '2026-03-09T20:00:00'
    """
    return (_EPOCH + timedelta(seconds=moment)).astimezone(zone).replace(tzinfo=None)


def first_instant(wall: datetime, zone: ZoneInfo) -> int:
    """The first Unix second at which the zone's clock reads `wall` (naive) or later.

    A wall time shown twice gives its first occurrence; one skipped by a gap gives the gap's end.
    O(1), or O(log gap) inside a gap.

    >>> new_york = ZoneInfo("America/New_York")
    >>> first_instant(datetime(2026, 11, 1, 1, 0), new_york)  # 01:00 EDT, not 01:00 EST
    1793509200
    >>> first_instant(datetime(2026, 3, 8, 2, 30), new_york)  # skipped: the gap ends at 03:00 EDT
    1772953200
    """
    early = (wall.replace(tzinfo=zone, fold=0) - _EPOCH) // _SECOND
    if local_time(early, zone) == wall:
        return early  # fold=0 is the earlier of two occurrences
    # In a gap fold=0 reads the wall with the offset from before the change and fold=1 with the
    # one after; the change lies between, and the clock only moves forward across the gap.
    low = (wall.replace(tzinfo=zone, fold=1) - _EPOCH) // _SECOND
    high = early
    low, high = min(low, high), max(low, high)
    while low < high:
        middle = (low + high) // 2
        if local_time(middle, zone) >= wall:
            high = middle
        else:
            low = middle + 1
    return high


def window_floor(wall: datetime, window: SeriesWindow) -> datetime:
    """The wall-clock start of the `window` holding `wall`: its hour, midnight, Monday or 1st.

    >>> window_floor(datetime(2026, 3, 11, 15, 45), "week").isoformat()
    '2026-03-09T00:00:00'
    """
    if window == "hour":
        return wall.replace(minute=0, second=0, microsecond=0)
    midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "day":
        return midnight
    if window == "week":
        return midnight - timedelta(days=midnight.weekday())
    return midnight.replace(day=1)


def next_start(wall: datetime, window: SeriesWindow) -> datetime:
    """The wall-clock start of the window after the one starting at `wall`.

    Raises `OverflowError` past the year 9999.
    """
    if window == "hour":
        return wall + timedelta(hours=1)
    if window == "day":
        return wall + timedelta(days=1)
    if window == "week":
        return wall + timedelta(weeks=1)
    year, month = (wall.year + 1, 1) if wall.month == 12 else (wall.year, wall.month + 1)
    return wall.replace(year=year, month=month)


def is_window_start(moment: int, window: SeriesWindow, zone: ZoneInfo) -> bool:
    """Whether Unix second `moment` starts a `window` in the zone (by the module's rule)."""
    return first_instant(window_floor(local_time(moment, zone), window), zone) == moment


def window_starts(start: int, window: SeriesWindow, zone: ZoneInfo) -> Iterator[int]:
    """Every window start from `start` (itself one) onwards, ascending, each once.

    Endless up to the year 9999; the caller stops it. O(1) a window.

    >>> from itertools import islice
    >>> weeks = list(islice(window_starts(1772427600, "week", ZoneInfo("America/New_York")), 3))
    >>> [(later - earlier) // 3600 for earlier, later in zip(weeks, weeks[1:])]  # DST on 8 March
    [167, 168]
    """
    wall = window_floor(local_time(start, zone), window)
    previous = None
    while True:
        moment = first_instant(wall, zone)
        if moment != previous:
            yield moment
            previous = moment
        try:
            wall = next_start(wall, window)
        except (OverflowError, ValueError):
            return
