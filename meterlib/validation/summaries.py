"""Summary rules: the range, its alignment and grouping, the customer, and series bounds."""

from __future__ import annotations

import attrs

from meterlib.timeutil import DAY, HOUR, MINUTE, WINDOW_SECONDS, to_unix_seconds
from meterlib.validation.limits import MAX_ID, MAX_WINDOWS, WINDOW_NAMES
from meterlib.validation.params import enum_value, fail, require_string


@attrs.frozen(kw_only=True)
class SummaryParams:
    """A validated summary query: ``[start_time, end_time)`` split into `window`-second steps."""

    customer: str
    start_time: int
    end_time: int
    window: int
    """Length of one summary in seconds; the whole range when no grouping window is given."""


def validate_summary_params(
    *, customer: object, start_time: object, end_time: object, value_grouping_window: object
) -> SummaryParams:
    """Check the range: both ends given, aligned, ordered; hour/day grouping aligned to it."""
    who = validate_customer(customer)
    start, end = validate_summary_range(start_time, end_time)
    step = MINUTE
    grouping = None
    if value_grouping_window is not None:
        grouping = enum_value(value_grouping_window, "value_grouping_window", WINDOW_NAMES)
        step = WINDOW_SECONDS[grouping]
    for param, moment in (("start_time", start), ("end_time", end)):
        if moment % step:
            unit = {MINUTE: "a minute", HOUR: "an hour", DAY: "a day (UTC midnight)"}[step]
            fail(
                f"{param} must be aligned to {unit} boundary; got {moment}",
                code="timestamp_not_aligned",
                param=param,
            )
    return SummaryParams(
        customer=who,
        start_time=start,
        end_time=end,
        window=step if grouping is not None else end - start,
    )


def validate_summary_range(start_time: object, end_time: object) -> tuple[int, int]:
    """A summary range's ``start_time`` and ``end_time``: both given, from 1970 on, ordered."""
    bounds = []
    for param, raw in (("start_time", start_time), ("end_time", end_time)):
        if raw is None:
            fail(f"missing required param: {param}", code="parameter_missing", param=param)
        moment = to_unix_seconds(raw, param)
        if moment < 0:
            fail(
                f"{param} must not be before 1970", code="parameter_invalid_timestamp", param=param
            )
        bounds.append(moment)
    start, end = bounds
    if end <= start:
        fail("end_time must be after start_time", code="parameter_invalid_range", param="end_time")
    return start, end


def validate_usage_range(start: object, end: object) -> tuple[int, int]:
    """``usage``'s ``[start, end)``: any two times, to the second, with ``end`` after ``start``."""
    begin = to_unix_seconds(start, "start")
    finish = to_unix_seconds(end, "end")
    if finish <= begin:
        fail("end must be after start", code="parameter_invalid_range", param="end")
    return begin, finish


def validate_customer(value: object, param: str = "customer") -> str:
    """The customer a summary or usage query is about: a string of at most `MAX_ID` characters.

    Longer than any stored customer can be (`MAX_PAYLOAD_STRING`) is allowed, as Stripe allows
    it: such a customer simply has no usage.
    """
    return require_string(value, param, max_length=MAX_ID)


def window_count(query: SummaryParams) -> int:
    """How many summaries the query has."""
    return (query.end_time - query.start_time) // query.window


def check_series_length(query: SummaryParams) -> int:
    """The number of windows of a ``usage_series`` call: at most `MAX_WINDOWS`."""
    count = window_count(query)
    if count > MAX_WINDOWS:
        fail(
            f"a series holds at most {MAX_WINDOWS} windows; this range has {count}: "
            "split it, or use a longer value_grouping_window",
            code="parameter_invalid_range",
            param="end_time",
        )
    return count
