"""``usage_series`` rules: Stripe's summary range, plus week and month windows in a time zone.

Without a time zone, hour and day windows are exactly the summary listing's (same rules, same
errors: `validate_summary_params`). A ``timezone``, or a ``week`` or ``month`` window, places
the windows on that zone's wall clock by the rule of `meterlib.windows`; both ends of the range
must then start a window there.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

import attrs

from meterlib.timeutil import DAY, HOUR, MINUTE
from meterlib.validation.limits import MAX_NAME, MAX_WINDOWS, WINDOW_NAMES
from meterlib.validation.params import enum_value, fail, require_string
from meterlib.validation.summaries import (
    check_series_length,
    validate_customer,
    validate_summary_params,
    validate_summary_range,
)
from meterlib.windows import (
    SERIES_WINDOWS,
    SeriesWindow,
    first_instant,
    is_window_start,
    local_time,
    window_starts,
)

_LONGEST = {"hour": 3 * HOUR, "day": 3 * DAY, "week": 9 * DAY, "month": 33 * DAY}
"""More than any window of the unit lasts in any zone (a day a zone repeats is 48 hours), so
a range longer than `MAX_WINDOWS` of these is refused before its windows are placed."""
_UNIT = {"hour": "an hour", "day": "a day", "week": "a week (Monday)", "month": "a month"}


@attrs.frozen(kw_only=True)
class SeriesRun:
    """`count` consecutive windows of `step` seconds from `start`: one storage summary call."""

    start: int
    step: int
    count: int


@attrs.frozen(kw_only=True)
class SeriesParams:
    """A validated ``usage_series`` query: its customer and its windows, as runs of equal length.

    >>> params = validate_series_params(customer="c", start_time="2026-03-02T00:00:00-05:00",
    ...     end_time="2026-03-16T00:00:00-04:00", value_grouping_window="week",
    ...     timezone="America/New_York")
    >>> [(run.step // 3600, run.count) for run in params.runs]  # DST began on 8 March
    [(167, 1), (168, 1)]
    """

    customer: str
    runs: tuple[SeriesRun, ...]

    @property
    def starts(self) -> list[int]:
        """Every window's start, ascending (a `range` per run: a summary's fixed cost)."""
        starts: list[int] = []
        for run in self.runs:
            starts += range(run.start, run.start + run.count * run.step, run.step)
        return starts


def validate_timezone(value: object) -> ZoneInfo | None:
    """None, or a `ZoneInfo`: given as one or by its IANA name (``"Europe/Paris"``)."""
    if value is None or isinstance(value, ZoneInfo):
        return value
    name = require_string(value, "timezone", max_length=MAX_NAME)
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError, UnicodeError):
        fail(
            f"timezone must be an IANA time zone name such as Europe/Paris; got {name!r}",
            code="parameter_invalid_enum",
            param="timezone",
        )


def validate_series_params(
    *,
    customer: object,
    start_time: object,
    end_time: object,
    value_grouping_window: object,
    timezone: object = None,
) -> SeriesParams:
    """Check a series query and place its windows; in the summary listing's order of checks.

    `start_time` and `end_time` take what the summary listing takes, and also a `date`: the
    first instant of that day in the zone.

    Raises ``timestamp_not_aligned`` when an end of the range does not start a window in the
    zone, ``parameter_invalid_range`` beyond `MAX_WINDOWS` windows.
    """
    zone = validate_timezone(timezone)
    start_time, end_time = day_start(start_time, zone), day_start(end_time, zone)
    if zone is None and (value_grouping_window is None or _summary_window(value_grouping_window)):
        query = validate_summary_params(
            customer=customer,
            start_time=start_time,
            end_time=end_time,
            value_grouping_window=value_grouping_window,
        )
        count = check_series_length(query)
        return SeriesParams(
            customer=query.customer,
            runs=(SeriesRun(start=query.start_time, step=query.window, count=count),),
        )
    who = validate_customer(customer)
    start, end = _range(start_time, end_time)
    window: SeriesWindow | None = None
    if value_grouping_window is not None:
        name = enum_value(value_grouping_window, "value_grouping_window", SERIES_WINDOWS)
        window = SERIES_WINDOWS[SERIES_WINDOWS.index(name)]
    if window is None:  # one window: the zone changes nothing
        return SeriesParams(customer=who, runs=(SeriesRun(start=start, step=end - start, count=1),))
    place = zone if zone is not None else ZoneInfo("UTC")
    for param, moment in (("start_time", start), ("end_time", end)):
        try:
            aligned = is_window_start(moment, window, place)
        except (OverflowError, ValueError):  # a wall time beyond the year 9999
            aligned = False
        if not aligned:
            shown = local_time(moment, place).isoformat()
            fail(
                f"{param} must be the start of {_UNIT[window]} in {place}; got {moment} "
                f"({shown} there)",
                code="timestamp_not_aligned",
                param=param,
            )
    if (end - start) // _LONGEST[window] > MAX_WINDOWS:
        _too_many()
    return SeriesParams(customer=who, runs=_runs(start, end, window, place))


def day_start(value: object, zone: ZoneInfo | None) -> object:
    """A `date` as the first instant of that day in the zone (UTC without one); else `value`."""
    if isinstance(value, date) and not isinstance(value, datetime):
        midnight = datetime(value.year, value.month, value.day)
        return first_instant(midnight, zone if zone is not None else ZoneInfo("UTC"))
    return value


def _summary_window(value: object) -> bool:
    """Whether `value` names one of the summary listing's own windows (``hour``, ``day``)."""
    return isinstance(value, str) and str.__str__(value) in WINDOW_NAMES


def _too_many() -> NoReturn:
    fail(
        f"a series holds at most {MAX_WINDOWS} windows; this range has more: "
        "split it, or use a longer value_grouping_window",
        code="parameter_invalid_range",
        param="end_time",
    )


def _range(start_time: object, end_time: object) -> tuple[int, int]:
    """`validate_summary_range`'s range, minute-aligned."""
    start, end = validate_summary_range(start_time, end_time)
    for param, moment in (("start_time", start), ("end_time", end)):
        if moment % MINUTE:
            fail(
                f"{param} must be aligned to a minute boundary; got {moment}",
                code="timestamp_not_aligned",
                param=param,
            )
    return start, end


def _runs(start: int, end: int, window: SeriesWindow, zone: ZoneInfo) -> tuple[SeriesRun, ...]:
    """The windows from `start` to `end` (both window starts), equal lengths grouped in runs."""
    runs: list[SeriesRun] = []
    previous = start
    starts = window_starts(start, window, zone)
    next(starts)  # `start` itself
    for count, moment in enumerate(starts, start=1):
        step = moment - previous
        if runs and runs[-1].step == step:
            last = runs[-1]
            runs[-1] = SeriesRun(start=last.start, step=step, count=last.count + 1)
        else:
            runs.append(SeriesRun(start=previous, step=step, count=1))
        if count > MAX_WINDOWS:
            _too_many()
        if moment >= end:
            break
        previous = moment
    return tuple(runs)
