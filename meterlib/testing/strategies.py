"""Hypothesis strategies for meterlib's inputs, in Hypothesis' own style.

Each strategy is a function named with a plural noun; its arguments are keyword-only and checked
(a bad one raises ``hypothesis.errors.InvalidArgument``); it returns a ``SearchStrategy``.

* `meter_configs` draws keyword arguments for ``m.meters.create``;
* `payload_values` draws valid decimal strings for a payload's value;
* `meter_events` draws keyword arguments for ``m.meter_events.create`` that a meter accepts;
* `invalid_meter_events` draws events with one defect each, and the error they must raise;
* `usage_scripts` draws sequences of creates, retries, cancels and clock moves (see `play`);
* `event_timestamps` draws valid timestamps on and one second either side of every edge that
  matters (`time_edges`, `edge_moments`), `clock_moves` forward moves landing on those edges;
* `billing_periods`, `tier_tables` and `tier_quantities` draw the inputs of billing code: periods
  with their edges, tier tables and quantities at and around each tier's edge;
* `picks` and `counted_lists` are ``sampled_from`` and ``lists`` for state machine rules, drawn
  so that Hypothesis can still delete the steps before them when it shrinks a failing run.

Importing this module registers strategies for `Meter` and its settings classes, so
``st.from_type(Meter)`` (and ``st.builds`` of anything taking a `Meter`) works.

Drawn text never contains surrogates or NUL characters, which no storage can keep.
"""

from __future__ import annotations

import calendar
import string
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, TypeVar

import attrs

try:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument
except ImportError as error:  # pragma: no cover - exercised in a subprocess without hypothesis
    raise ImportError(
        "meterlib.testing.strategies needs Hypothesis: pip install 'meterlib[testing]'"
    ) from error

from meterlib.aggregation import BUILTIN_FORMULAS, formula_names, get_aggregation
from meterlib.model import (
    AggregationSettings,
    CustomerMapping,
    Meter,
    StatusTransitions,
    ValueSettings,
)
from meterlib.testing.billing import INTERVALS, BillingPeriod, Tier, reference_period
from meterlib.testing.scripts import AdvanceClock, CancelEvent, CreateEvent, RetryEvent, UsageStep
from meterlib.timeutil import DAY, HOUR, MINUTE, from_unix_seconds, window_start
from meterlib.validation import FUTURE_LIMIT, LOG_RETENTION, PAST_LIMIT, validate_meter_params

__all__ = [
    "EDGE_SIZES",
    "INVALID_EVENT_CODES",
    "InvalidMeterEvent",
    "billing_periods",
    "clock_moves",
    "counted_lists",
    "edge_moments",
    "event_time_ranges",
    "event_timestamps",
    "invalid_meter_events",
    "meter_configs",
    "meter_events",
    "payload_values",
    "picks",
    "tier_quantities",
    "tier_tables",
    "time_edges",
    "usage_scripts",
]

EDGE_SIZES = (MINUTE, HOUR, DAY)
"""The windows whose boundaries `time_edges` aims at: summary ranges are minute-aligned,
grouping and pre-aggregation windows are UTC hours and days."""
WINDOWS: tuple[str | None, ...] = (None, "hour", "day")
"""Every ``event_time_window``: raw (None), hourly and daily pre-aggregation."""
DEFAULT_CUSTOMER_KEY = CustomerMapping().event_payload_key
DEFAULT_VALUE_KEY = ValueSettings().event_payload_key
INVALID_EVENT_CODES = (
    "duplicate_meter_event",
    "meter_event_value_too_many_digits",
    "no_meter",
    "parameter_invalid_string_blank",
    "parameter_invalid_string_empty",
    "parameter_invalid_string_length",
    "parameter_invalid_timestamp",
    "parameter_invalid_type",
    "parameter_missing",
    "payload_invalid_value",
    "payload_no_customer_defined",
    "payload_no_value_defined",
    "timestamp_in_future",
    "timestamp_too_far_in_past",
)
"""Every code `invalid_meter_events` draws (``payload_no_value_defined`` only where a value is
required). ``archived_meter`` is not among them: it is a state of the meter, not of the event."""

_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
_NAME_ALPHABET = string.ascii_lowercase + string.digits + "_.-"
_NO_METER_MARK = "~"
"""Never in a drawn event name, so a name carrying it belongs to no meter."""
_IDENTIFIER_ALPHABET = string.ascii_letters + string.digits + "-_"


def _alphabet(characters: str) -> st.SearchStrategy[str]:
    """Exactly these characters, as ``st.characters``, so that text of it is one draw.

    Text of a plain string alphabet is drawn character by character, with forced decisions at
    its size limits, which hamper shrinking state machines (see `counted_lists`).
    """
    return st.characters(categories=[], include_characters=characters)


def _texts(max_size: int) -> st.SearchStrategy[str]:
    """Non-blank text of at most `max_size` characters."""
    return st.text(_CHARACTERS, min_size=1, max_size=max_size).filter(lambda text: text.strip())


def _event_names(max_size: int = 100) -> st.SearchStrategy[str]:
    return st.text(_alphabet(_NAME_ALPHABET), min_size=1, max_size=max_size)


_PAYLOAD_KEYS = _texts(100)
_CUSTOMER_IDS = st.text(
    _alphabet(string.ascii_letters + string.digits), min_size=1, max_size=14
).map(lambda tail: f"cus_{tail}")
_IDENTIFIERS = st.text(_alphabet(_IDENTIFIER_ALPHABET), min_size=1, max_size=100)
_MAYBE_IDENTIFIERS = st.none() | _IDENTIFIERS


_INDEX = st.integers(0, 2**16 - 1)
T = TypeVar("T")


def picks(items: Sequence[T]) -> st.SearchStrategy[T]:
    """One of `items`, like ``st.sampled_from``, by an index whose range never changes.

    ``sampled_from`` draws an index below ``len(items)``. In a state machine the lists rules
    pick from (earlier events, say) grow as a run goes on, so when the shrinker deletes an
    earlier step, a later pick's index no longer fits its shorter list and Hypothesis drops
    that deletion as misaligned: failing examples stay long. This index always fits (it is
    taken modulo the length) and shrinks towards the first item.

    In a rule::

        earlier = data.draw(picks(self.sent[::-1]), label="earlier event, latest first")
    """
    chosen = tuple(items)
    if not chosen:
        raise InvalidArgument("picks needs at least one item")
    return _picked(chosen)


@st.composite
def _picked(draw: st.DrawFn, chosen: tuple[T, ...]) -> T:
    return chosen[draw(_INDEX) % len(chosen)]


def counted_lists(
    elements: st.SearchStrategy[T], *, min_size: int = 0, max_size: int = 4
) -> st.SearchStrategy[list[T]]:
    """Lists of `elements` whose length is drawn first, as one integer, then each element.

    ``st.lists`` decides after each element whether to go on, and at its size limits those
    decisions are forced; Hypothesis' shrinker struggles to delete the steps of a state
    machine that come before forced decisions, so failing runs keep steps that play no part.
    A list drawn this way makes no forced decision; it shrinks by dropping its last elements.

    In a rule::

        batch = data.draw(counted_lists(meter_events(meter), min_size=1, max_size=4))
    """
    _check_strategy("elements", elements)
    low, high = _check_int("min_size", min_size), _check_int("max_size", max_size)
    if not 0 <= low <= high:
        raise InvalidArgument(f"need 0 <= min_size <= max_size, got {low} and {high}")
    return _counted_lists(elements, low, high)


@st.composite
def _counted_lists(draw: st.DrawFn, elements: st.SearchStrategy[T], low: int, high: int) -> list[T]:
    return [draw(elements) for _ in range(draw(st.integers(low, high)))]


def _check_choices(name: str, given: object, allowed: Sequence[Any]) -> tuple[Any, ...]:
    if isinstance(given, str) or not isinstance(given, Sequence) or not given:
        raise InvalidArgument(f"{name} must be a non-empty sequence, got {given!r}")
    for item in given:
        if item not in allowed:
            raise InvalidArgument(f"{name} contains {item!r}; allowed: {list(allowed)!r}")
    return tuple(given)


def _check_strategy(name: str, given: object) -> None:
    if given is not None and not isinstance(given, st.SearchStrategy):
        raise InvalidArgument(f"{name} must be a SearchStrategy or None, got {given!r}")


def _check_int(name: str, given: object) -> int:
    if isinstance(given, bool) or not isinstance(given, int):
        raise InvalidArgument(f"{name} must be an int (Unix seconds), got {given!r}")
    return given


def _requires_value(meter: Meter) -> bool:
    aggregation = get_aggregation(meter.default_aggregation.formula)
    return aggregation is None or aggregation.requires_value


# --- meters ---------------------------------------------------------------------------------


def meter_configs(
    *,
    formulas: Sequence[str] = BUILTIN_FORMULAS,
    windows: Sequence[str | None] = WINDOWS,
    event_names: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid keyword arguments for ``m.meters.create``.

    Args:
        formulas: the formulas to draw from; each must be registered.
        windows: the ``event_time_window`` values to draw from (None, ``"hour"``, ``"day"``).
        event_names: a strategy for event names; by default short lowercase names. Two drawn
            configs may share an event name, which a second ``meters.create`` rejects.

    Optional settings are sometimes left out (Stripe's defaults apply) and sometimes given with
    custom payload keys; the customer and value keys always differ.

    In a test::

        @given(meter_configs(formulas=["sum"], windows=[None]))
        def test_create(config):
            m.meters.create(**config)

    """
    chosen_formulas = _check_choices("formulas", formulas, formula_names())
    chosen_windows = _check_choices("windows", windows, WINDOWS)
    _check_strategy("event_names", event_names)
    return _meter_configs(
        chosen_formulas, chosen_windows, event_names if event_names is not None else _event_names()
    )


@st.composite
def _meter_configs(
    draw: st.DrawFn,
    formulas: tuple[str, ...],
    windows: tuple[str | None, ...],
    event_names: st.SearchStrategy[str],
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "display_name": draw(_texts(250)),
        "event_name": draw(event_names),
        "default_aggregation": {"formula": draw(st.sampled_from(formulas))},
    }
    customer_key = draw(st.none() | _PAYLOAD_KEYS.filter(lambda key: key != DEFAULT_VALUE_KEY))
    if customer_key is not None:
        config["customer_mapping"] = {"type": "by_id", "event_payload_key": customer_key}
    taken = customer_key or DEFAULT_CUSTOMER_KEY
    value_key = draw(st.none() | _PAYLOAD_KEYS.filter(lambda key: key != taken))
    if value_key is not None:
        config["value_settings"] = {"event_payload_key": value_key}
    window = draw(st.sampled_from(windows))
    if window is not None or draw(st.booleans()):
        config["event_time_window"] = window
    return config


@st.composite
def _meters(draw: st.DrawFn) -> Meter:
    """A `Meter` as ``meters.create`` returns it, though stored nowhere."""
    config = draw(meter_configs())
    params = validate_meter_params(
        display_name=config["display_name"],
        event_name=config["event_name"],
        default_aggregation=config["default_aggregation"],
        customer_mapping=config.get("customer_mapping"),
        value_settings=config.get("value_settings"),
        event_time_window=config.get("event_time_window"),
    )
    created = draw(st.integers(0, 2**31 - 1))
    return Meter(
        id=f"mtr_test_{draw(st.text('0123456789abcdef', min_size=24, max_size=24))}",
        created=created,
        updated=created,
        status="active",
        status_transitions=StatusTransitions(),
        livemode=False,
        **attrs.asdict(params, recurse=False),
    )


# --- values and events ----------------------------------------------------------------------


def payload_values(
    *, allow_negative: bool = False, max_significant_digits: int = 15
) -> st.SearchStrategy[str]:
    """Decimal strings every meter accepts as a value.

    At most `max_significant_digits` (1 to 15, Stripe's limit) significant digits, all within
    10**±40 (meterlib's range); written plainly (``"0.0250"``, ``"+007"``, ``"15."``) or in
    scientific notation (``"25E-3"``), with optional leading and trailing zeros.

    In a test::

        @given(payload_values(allow_negative=True))
        def test_values(value):
            m.record("api", customer="cus_1", value=value)
    """
    if not isinstance(allow_negative, bool):
        raise InvalidArgument(f"allow_negative must be a bool, got {allow_negative!r}")
    digits = _check_int("max_significant_digits", max_significant_digits)
    if not 1 <= digits <= 15:
        raise InvalidArgument(f"max_significant_digits must be 1 to 15, got {digits}")
    return _shared_payload_values(allow_negative, digits)


@cache
def _shared_payload_values(allow_negative: bool, max_digits: int) -> st.SearchStrategy[str]:
    """One strategy object per setting: Hypothesis validates a strategy once, on first use."""
    return _payload_values(allow_negative, max_digits)


_EXPONENTS = st.integers(-40, 40)


@st.composite
def _payload_values(draw: st.DrawFn, allow_negative: bool, max_digits: int) -> str:
    significand = draw(st.integers(0, 10**max_digits - 1))
    # the highest digit, exponent + len - 1, must stay at most 40; the lowest at least -40
    # (drawn from a fixed range and then capped, so the draw fits when the shrinker changes
    # the significand)
    exponent = min(draw(_EXPONENTS), 40 - (len(str(significand)) - 1))
    sign = "-" if allow_negative and draw(st.booleans()) else draw(st.sampled_from(["", "+"]))
    if draw(st.booleans()):
        return f"{sign}{significand}{draw(st.sampled_from('eE'))}{exponent}"
    text = format(Decimal(f"{significand}E{exponent}"), "f")
    text = "0" * draw(st.integers(0, 2)) + text
    # trailing zeros add no significant digit, but a zero's exponent must stay within 10**-40
    zeros = draw(st.integers(0, 3)) if significand or exponent > -38 else 0
    if zeros:
        text += ("" if "." in text else ".") + "0" * zeros
    return sign + text


_INDIA = timezone(timedelta(hours=5, minutes=30))


def _as_int(seconds: int, micros: int) -> object:
    return seconds


def _as_utc(seconds: int, micros: int) -> object:
    return from_unix_seconds(seconds)


def _as_offset(seconds: int, micros: int) -> object:
    return from_unix_seconds(seconds).astimezone(_INDIA)


def _with_micros(seconds: int, micros: int) -> object:
    return from_unix_seconds(seconds) + timedelta(microseconds=micros)


def _as_zulu(seconds: int, micros: int) -> object:
    return from_unix_seconds(seconds).isoformat().replace("+00:00", "Z")


def _as_offset_text(seconds: int, micros: int) -> object:
    return from_unix_seconds(seconds).astimezone(_INDIA).isoformat()


_TIME_STYLES = st.tuples(
    st.sampled_from(
        [_as_int, _as_utc, _as_offset, _with_micros, _as_zulu, _as_offset_text],
    ),
    st.integers(0, 999_999),
)
"""A way of writing a moment: an int, an aware datetime (in UTC or +05:30, or with a sub-second
part, which is floored) or an ISO-8601 string (``Z`` or an offset)."""


def meter_events(
    meter: Meter,
    *,
    customers: st.SearchStrategy[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    values: st.SearchStrategy[str] | None = None,
    identifiers: st.SearchStrategy[str | None] | None = None,
    timestamps: st.SearchStrategy[int | None] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid keyword arguments for ``m.meter_events.create`` for this (active) meter.

    Args:
        meter: the meter; its event name and payload keys are used.
        customers: customer ids to draw; by default ``cus_`` and up to 14 letters or digits.
        start: give `start` and `end` to draw a ``timestamp`` in ``[start, end]`` (Unix
            seconds), written as an int, an aware datetime or an ISO-8601 string; give neither
            (nor `timestamps`) to leave the timestamp out (the clock's now). The range must lie
            within the 35 days before and the 5 minutes after the moment of the create.
        end: the last timestamp to draw (inclusive).
        values: the value strings to draw; by default `payload_values` with negatives. The value
            is always present where the formula requires one, and sometimes for ``count``.
        identifiers: identifiers to draw, None meaning "let meterlib generate one"; by default
            None or up to 100 letters, digits, ``-`` and ``_``. Two draws may share an
            identifier: pass unique ones when you create several events.
        timestamps: instead of `start` and `end`, a strategy of Unix seconds (None: leave the
            timestamp out), say `event_timestamps`; each is written in one of the accepted ways.

    In a test::

        @given(meter_events(meter, customers=st.sampled_from(["cus_1", "cus_2"])))
        def test_events(event):
            m.meter_events.create(**event)

    """
    if not isinstance(meter, Meter):
        raise InvalidArgument(f"meter must be a meterlib Meter, got {meter!r}")
    for name, strategy in (
        ("customers", customers),
        ("values", values),
        ("identifiers", identifiers),
        ("timestamps", timestamps),
    ):
        _check_strategy(name, strategy)
    if (start is None) != (end is None):
        raise InvalidArgument("pass both start and end, or neither")
    if start is not None and timestamps is not None:
        raise InvalidArgument("pass start and end, or timestamps, not both")
    if (
        start is not None
        and end is not None
        and _check_int("start", start) > _check_int("end", end)
    ):
        raise InvalidArgument(f"start={start} must not be after end={end}")
    if start is not None and end is not None:
        timestamps = st.integers(start, end)
    return _meter_events(
        meter=meter,
        customers=customers if customers is not None else _CUSTOMER_IDS,
        timestamps=timestamps,
        values=values if values is not None else _shared_payload_values(True, 15),
        identifiers=identifiers if identifiers is not None else _MAYBE_IDENTIFIERS,
    )


@lru_cache(maxsize=256)
def _extra_payloads(customer_key: str, value_key: str) -> st.SearchStrategy[dict[str, str]]:
    """Up to two more payload entries, under keys the meter does not read."""
    entries = st.tuples(_other_keys(customer_key, value_key), st.text(_CHARACTERS, max_size=20))
    return counted_lists(entries, max_size=2).map(dict)


@st.composite
def _meter_events(
    draw: st.DrawFn,
    *,
    meter: Meter,
    customers: st.SearchStrategy[str],
    timestamps: st.SearchStrategy[int | None] | None,
    values: st.SearchStrategy[str],
    identifiers: st.SearchStrategy[str | None],
) -> dict[str, Any]:
    customer_key = meter.customer_mapping.event_payload_key
    value_key = meter.value_settings.event_payload_key
    payload: dict[str, Any] = {customer_key: draw(customers)}
    if _requires_value(meter) or draw(st.booleans()):
        payload[value_key] = draw(values)
    payload.update(draw(_extra_payloads(customer_key, value_key)))
    kwargs: dict[str, Any] = {"event_name": meter.event_name, "payload": payload}
    identifier = draw(identifiers)
    if identifier is not None:
        kwargs["identifier"] = identifier
    timestamp = None if timestamps is None else draw(timestamps)
    if timestamp is not None:
        kwargs["timestamp"] = _written(draw, timestamp)
    return kwargs


def event_time_ranges(now: int) -> st.SearchStrategy[tuple[int, int] | None]:
    """``(start, end)`` ranges of valid timestamps at `now`, for `meter_events`, or None (now).

    They favour the edges of the 35-day window and recent times, where events share
    pre-aggregation windows and timestamps.
    """
    oldest, newest = now - PAST_LIMIT, now + FUTURE_LIMIT
    return st.sampled_from(
        [None, (now - FUTURE_LIMIT, newest), (oldest, oldest + HOUR), (oldest, newest)]
    )


def _check_moments(name: str, given: object) -> tuple[int, ...]:
    if isinstance(given, str) or not isinstance(given, Sequence):
        raise InvalidArgument(f"{name} must be a sequence of Unix seconds, got {given!r}")
    return tuple(_check_int(name, moment) for moment in given)


def time_edges(*moments: int, sizes: Sequence[int] = EDGE_SIZES) -> list[int]:
    """The moments where time rules break, around each of `moments` (Unix seconds), sorted.

    Each moment itself and one second either side, and the start and the end of the minute,
    hour and UTC day holding it (`sizes`), each one second either side too: where a range end,
    a grouping window or a pre-aggregation window that is off by one shows. O(len(moments)).

    >>> time_edges(90, sizes=[60])
    [59, 60, 61, 89, 90, 91, 119, 120, 121]
    """
    edges: set[int] = set()
    for moment in moments:
        edges.update((moment - 1, moment, moment + 1))
        for size in sizes:
            first = window_start(moment, size)
            for boundary in (first, first + size):
                edges.update((boundary - 1, boundary, boundary + 1))
    return sorted(edges)


_OFFSETS = st.sampled_from([0, -1, 1])
_SIZES = st.sampled_from(EDGE_SIZES)
_SIDES = st.sampled_from(["start", "end"])


def edge_moments(moment: int) -> st.SearchStrategy[int]:
    """One of the `time_edges` of `moment` (Unix seconds), drawn by what it is, not from a list.

    The moment itself or one second either side; or the start or end of its minute, hour or
    UTC day, or one second either side of that. Shrinks towards `moment`. A failing example
    keeps its meaning while the shrinker changes `moment` ("one second before its hour"),
    which an index into a list of edges would not.

    In a rule::

        late = data.draw(edge_moments(earlier.timestamp))
    """
    return _edges_of(_check_int("moment", moment))


@st.composite
def _edges_of(draw: st.DrawFn, moment: int) -> int:
    if draw(st.booleans()):
        size = draw(_SIZES)
        moment = window_start(moment, size) + (size if draw(_SIDES) == "end" else 0)
    return moment + draw(_OFFSETS)


def event_timestamps(now: int, *, anchors: Sequence[int] = ()) -> st.SearchStrategy[int]:
    """Timestamps an event created at `now` may carry, mostly on or next to an edge.

    A third of the draws are around `now` or one of `anchors` (earlier events' timestamps and
    receipt times, your billing periods' ends): the moment itself, or the start or end of its
    minute, hour or UTC day, each exactly or one second either side (`time_edges`); a third are
    the ends of the accepted range (exactly 35 days before and 300 seconds after `now`) or one
    second inside them; a third anywhere in that range. A moment outside it is moved onto its
    nearest end. Pass them to `meter_events`.

    In a test::

        @given(meter_events(meter, timestamps=event_timestamps(now_seconds(clock))))
        def test_events(event):
            m.meter_events.create(**event)

    """
    return _event_timestamps(_check_int("now", now), _check_moments("anchors", anchors))


@st.composite
def _event_timestamps(draw: st.DrawFn, now: int, anchors: tuple[int, ...]) -> int:
    oldest, newest = now - PAST_LIMIT, now + FUTURE_LIMIT
    kind = draw(_TIMESTAMP_KINDS)
    if kind == "any":  # an offset from now: its range does not move with the clock
        return now + draw(_ACCEPTED_OFFSETS)
    if kind == "ends":
        return draw(st.sampled_from([newest, newest - 1, oldest + 1, oldest]))
    base = draw(picks((now, *anchors)))
    return min(max(draw(_edges_of(base)), oldest), newest)


_TIMESTAMP_KINDS = st.sampled_from(["near", "ends", "any"])
_ACCEPTED_OFFSETS = st.integers(-PAST_LIMIT, FUTURE_LIMIT)


@attrs.frozen(kw_only=True)
class InvalidMeterEvent:
    """An event with one defect: ``create(**kwargs)`` must raise `code` with `param`.

    Create the events in `before` first (they are valid): the defect may be a clash with them.
    """

    kwargs: dict[str, Any]
    code: str
    param: str
    before: tuple[dict[str, Any], ...] = ()


def invalid_meter_events(meter: Meter, *, now: int) -> st.SearchStrategy[InvalidMeterEvent]:
    """Events for `meter` with one defect each, and the error code and param they must raise.

    Draws every code in `INVALID_EVENT_CODES`: an unknown event name, bad strings, a missing or
    malformed payload, a missing customer or value, a value that is not a finite decimal, has
    over 15 significant digits or lies outside 10**±40, a timestamp too old, too far ahead or
    unreadable, a bad identifier, and a duplicate of an event in `before`.

    Args:
        meter: an active meter; names drawn for ``no_meter`` never clash with `meter_configs`.
        now: the clock's now (Unix seconds) at the moment of the create.

    In a test::

        case = data.draw(invalid_meter_events(meter, now=now_seconds(clock)))
        with pytest.raises(InvalidRequestError) as raised:
            m.meter_events.create(**case.kwargs)
        assert raised.value.code == case.code

    """
    if not isinstance(meter, Meter):
        raise InvalidArgument(f"meter must be a meterlib Meter, got {meter!r}")
    return _invalid_meter_events(meter, _check_int("now", now))


_BAD_VALUES: tuple[object, ...] = (
    "",
    " 1",
    "1 ",
    "abc",
    "NaN",
    "sNaN",
    "Infinity",
    "-inf",
    "1_000",
    "1,5",
    "0x10",
    "1e",
    ".",
    "--1",
    "\u0663",  # ARABIC-INDIC DIGIT THREE: a digit to Unicode, not to Stripe
    "\uff11",  # FULLWIDTH DIGIT ONE
    "1e41",
    "-1E+41",
    "1e-41",
    "0." + "0" * 40 + "1",
    True,
    float("nan"),
    float("inf"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    [1],
)
_TOO_MANY_DIGITS: tuple[object, ...] = (
    "1234567890123456",
    "-0.1234567890123456",
    "1234567890.123456000",
    "1.234567890123456E+20",
    Decimal("1234567890123456"),
    1234567890123456,
    0.1 + 0.2,  # 0.30000000000000004: a float whose shortest repr has 17 digits
)
_BAD_TIMESTAMPS: tuple[object, ...] = ("yesterday", "2026-13-01T00:00:00Z", "", 1.5, True, [0])
_BAD_STRINGS: tuple[tuple[object, str], ...] = (
    ("", "parameter_invalid_string_empty"),
    ("   ", "parameter_invalid_string_blank"),
    ("n" * 101, "parameter_invalid_string_length"),
    (42, "parameter_invalid_type"),
)
_ABSENT = "(absent)"


def _changed(base: dict[str, Any], code: str, param: str, **changes: Any) -> InvalidMeterEvent:
    return InvalidMeterEvent(kwargs={**base, **changes}, code=code, param=param)


def _with_entry(base: dict[str, Any], key: str, raw: object) -> dict[str, Any]:
    """The base payload with `key` set to `raw`, or removed if `raw` is `_ABSENT`."""
    payload = {name: value for name, value in base["payload"].items() if name != key}
    if raw != _ABSENT:
        payload[key] = raw
    return payload


def _unknown_name(
    draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]
) -> InvalidMeterEvent:
    name = draw(_event_names(max_size=99)) + _NO_METER_MARK
    return _changed(base, "no_meter", "event_name", event_name=name)


def _bad_name(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    name, code = draw(st.sampled_from(_BAD_STRINGS))
    return _changed(base, code, "event_name", event_name=name)


def _no_payload(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    return _changed(base, "parameter_missing", "payload", payload=None)


def _bad_payload(
    draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]
) -> InvalidMeterEvent:
    payload = base["payload"]
    bad = draw(st.sampled_from([list(payload.items()), "value=1", 7, {**payload, 1: "one"}]))
    return _changed(base, "parameter_invalid_type", "payload", payload=bad)


def _bad_entry(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    customer_key = meter.customer_mapping.event_payload_key
    value_key = meter.value_settings.event_payload_key
    key = draw(st.just(customer_key) | _other_keys(customer_key, value_key))
    payload = _with_entry(base, key, draw(st.sampled_from([1.5, True, ["x"], {"a": "b"}])))
    return _changed(base, "parameter_invalid_type", f"payload[{key}]", payload=payload)


def _no_customer(
    draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]
) -> InvalidMeterEvent:
    key = meter.customer_mapping.event_payload_key
    payload = _with_entry(base, key, draw(st.sampled_from([_ABSENT, None, "", "   "])))
    return _changed(base, "payload_no_customer_defined", f"payload[{key}]", payload=payload)


def _no_value(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    key = meter.value_settings.event_payload_key
    payload = _with_entry(base, key, draw(st.sampled_from([_ABSENT, None])))
    return _changed(base, "payload_no_value_defined", f"payload[{key}]", payload=payload)


def _bad_value(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    key = meter.value_settings.event_payload_key
    payload = _with_entry(base, key, draw(st.sampled_from(_BAD_VALUES)))
    return _changed(base, "payload_invalid_value", f"payload[{key}]", payload=payload)


def _long_value(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    key = meter.value_settings.event_payload_key
    payload = _with_entry(base, key, draw(st.sampled_from(_TOO_MANY_DIGITS)))
    return _changed(base, "meter_event_value_too_many_digits", f"payload[{key}]", payload=payload)


def _too_old(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    moment = now - PAST_LIMIT - draw(_BEYOND)
    return _changed(
        base, "timestamp_too_far_in_past", "timestamp", timestamp=_written(draw, moment)
    )


def _too_new(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    moment = now + FUTURE_LIMIT + draw(_BEYOND)
    return _changed(base, "timestamp_in_future", "timestamp", timestamp=_written(draw, moment))


def _bad_time(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    naive = from_unix_seconds(now).replace(tzinfo=None)
    bad = draw(st.sampled_from([naive, naive.isoformat(), *_BAD_TIMESTAMPS]))
    return _changed(base, "parameter_invalid_timestamp", "timestamp", timestamp=bad)


def _bad_identifier(
    draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]
) -> InvalidMeterEvent:
    identifier, code = draw(st.sampled_from(_BAD_STRINGS))
    return _changed(base, code, "identifier", identifier=identifier)


def _duplicate(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    identifier = draw(_IDENTIFIERS)
    again = {**draw(_events_of(meter)), "identifier": identifier}
    again["timestamp"] = _written(draw, now)
    return InvalidMeterEvent(
        kwargs=again,
        code="duplicate_meter_event",
        param="identifier",
        before=({**base, "identifier": identifier},),
    )


_Defect = Callable[[st.DrawFn, Meter, int, dict[str, Any]], InvalidMeterEvent]
_DEFECTS: tuple[_Defect, ...] = (
    _unknown_name,
    _bad_name,
    _no_payload,
    _bad_payload,
    _bad_entry,
    _no_customer,
    _no_value,
    _bad_value,
    _long_value,
    _too_old,
    _too_new,
    _bad_time,
    _bad_identifier,
    _duplicate,
)
"""One function per kind of defect: each turns a valid event into an `InvalidMeterEvent`."""
_DEFECTS_WITH_VALUE = st.sampled_from(_DEFECTS)
_DEFECTS_WITHOUT_VALUE = st.sampled_from([defect for defect in _DEFECTS if defect is not _no_value])
_BEYOND = st.integers(1, 400 * DAY)
"""How far beyond a window's edge a defective timestamp lies."""


def _written(draw: st.DrawFn, seconds: int) -> object:
    """The moment `seconds` written in one of the accepted ways (`_TIME_STYLES`)."""
    style, micros = draw(_TIME_STYLES)
    return style(seconds, micros)


@lru_cache(maxsize=256)
def _events_of(meter: Meter) -> st.SearchStrategy[dict[str, Any]]:
    """`meter_events` of `meter` without identifier or timestamp, one strategy per meter."""
    return meter_events(meter, identifiers=st.none())


@lru_cache(maxsize=256)
def _other_keys(customer_key: str, value_key: str) -> st.SearchStrategy[str]:
    """Payload keys the meter does not read."""
    return _PAYLOAD_KEYS.filter(lambda key: key not in (customer_key, value_key))


@st.composite
def _invalid_meter_events(draw: st.DrawFn, meter: Meter, now: int) -> InvalidMeterEvent:
    base = draw(_events_of(meter))
    base["timestamp"] = _written(draw, now)
    defects = _DEFECTS_WITH_VALUE if _requires_value(meter) else _DEFECTS_WITHOUT_VALUE
    return draw(defects)(draw, meter, now, base)


# --- scripts --------------------------------------------------------------------------------


_FIXED_MOVES = (MINUTE, FUTURE_LIMIT, HOUR, DAY, PAST_LIMIT)
_RELATIVE_MOVES = st.builds(int.__add__, st.sampled_from(_FIXED_MOVES), _OFFSETS) | st.integers(
    1, 2 * DAY
)
_TARGETS = st.sampled_from(["next boundary", "receipt", "timestamp"])
_AFTER_RECEIPT = st.sampled_from([DAY, LOG_RETENTION])
_AFTER_TIMESTAMP = st.sampled_from([-FUTURE_LIMIT, 0, PAST_LIMIT])


def clock_moves(
    *, now: int | None = None, receipts: Sequence[int] = (), timestamps: Sequence[int] = ()
) -> st.SearchStrategy[int]:
    """Forward clock moves in seconds, often exactly on or one second off a time boundary.

    Without arguments the moves are those lengths: a minute, the 5-minute future allowance, an
    hour, the 24-hour identifier and cancel windows and the 35-day event window, each one second
    either side, or any length up to two days. Given the clock's `now`, half the moves land the
    clock exactly on, or one second either side of, a moment that matters: the next minute,
    hour or UTC day; 24 hours after one of `receipts` (its identifier frees up, its cancel
    window closes) or 30 days after it (the event log forgets its reports); for one of
    `timestamps`, the moment it is 300 seconds ahead, the moment itself, or the moment it is 35
    days old. A target that has passed gives a move of those lengths instead.

    In a rule::

        seconds = data.draw(clock_moves(now=now, receipts=[event.created for event in sent]))
    """
    given_receipts = _check_moments("receipts", receipts)
    given_timestamps = _check_moments("timestamps", timestamps)
    if now is None:
        if given_receipts or given_timestamps:
            raise InvalidArgument("pass now with receipts or timestamps")
        return _RELATIVE_MOVES
    return _targeted_moves(_check_int("now", now), given_receipts, given_timestamps)


@st.composite
def _targeted_moves(
    draw: st.DrawFn, now: int, receipts: tuple[int, ...], timestamps: tuple[int, ...]
) -> int:
    relative = draw(_RELATIVE_MOVES)
    if draw(st.booleans()):
        return relative
    # the same draws whatever is chosen, so a failing example's draws keep their places
    kind, index, size = draw(_TARGETS), draw(_INDEX), draw(_SIZES)
    after_receipt, after_timestamp = draw(_AFTER_RECEIPT), draw(_AFTER_TIMESTAMP)
    if kind == "receipt" and receipts:
        target = receipts[index % len(receipts)] + after_receipt
    elif kind == "timestamp" and timestamps:
        target = timestamps[index % len(timestamps)] + after_timestamp
    else:
        target = window_start(now, size) + size
    target += draw(_OFFSETS)
    return target - now if target > now else relative


def usage_scripts(
    meters: Sequence[Meter],
    *,
    start: int,
    customers: st.SearchStrategy[str] | None = None,
    values: st.SearchStrategy[str] | None = None,
    min_steps: int = 0,
    max_steps: int = 20,
    anchors: Sequence[int] = (),
) -> st.SearchStrategy[list[UsageStep]]:
    """Scripts of event creates, retries, cancels and clock moves over (active) `meters`.

    Each `CreateEvent` is valid when its turn comes, provided the clock stood at `start` when
    the script began: its timestamp respects the clock as moved by the script so far, and its
    identifier (``script-<step>``) is unique within the script. A `RetryEvent` resends an
    earlier create unchanged; a `CancelEvent` cancels an earlier create, whether or not it is
    still cancellable. Run scripts with `meterlib.testing.play`.

    Timestamps aim at edges (`event_timestamps`): of the clock, of earlier events of the script
    and of `anchors`, moments of your own (say `BillingPeriod.edges`), half of them exactly on
    one of `anchors` when one is accepted; clock moves land on the 24-hour and 35-day edges of
    earlier events and on `anchors` (`clock_moves`).

    In a test::

        @given(usage_scripts([meter], start=now_seconds(clock)))
        def test_billing(script):
            play(script, clock=clock, metering=m, model=model)
    """
    if isinstance(meters, Meter) or not isinstance(meters, Sequence) or not meters:
        raise InvalidArgument(f"meters must be a non-empty sequence of Meter, got {meters!r}")
    for meter in meters:
        if not isinstance(meter, Meter):
            raise InvalidArgument(f"meters must hold Meter objects, got {meter!r}")
    _check_strategy("customers", customers)
    _check_strategy("values", values)
    low, high = _check_int("min_steps", min_steps), _check_int("max_steps", max_steps)
    if not 0 <= low <= high:
        raise InvalidArgument(f"need 0 <= min_steps <= max_steps, got {low} and {high}")
    return _usage_scripts(
        meters=tuple(meters),
        start=_check_int("start", start),
        customers=customers,
        values=values,
        min_steps=low,
        max_steps=high,
        anchors=_check_moments("anchors", anchors),
    )


_RECENT = 4
"""How many of the latest events' times scripts and the state machine aim at."""
_KINDS = st.sampled_from(["create", "create", "move", "retry", "cancel"])


@st.composite
def _usage_scripts(
    draw: st.DrawFn,
    *,
    meters: tuple[Meter, ...],
    start: int,
    customers: st.SearchStrategy[str] | None,
    values: st.SearchStrategy[str] | None,
    min_steps: int,
    max_steps: int,
    anchors: tuple[int, ...],
) -> list[UsageStep]:
    now = start
    steps: list[UsageStep] = []
    created: list[dict[str, Any]] = []
    times: list[tuple[int, int]] = []  # (timestamp, received) of each create
    for number in range(draw(st.integers(min_steps, max_steps))):
        kind = draw(_KINDS)
        recent = times[-_RECENT:]
        if kind in ("retry", "cancel") and created:
            earlier = draw(picks(created[::-1]))
            if kind == "retry":
                steps.append(RetryEvent(kwargs=earlier))
            else:
                identifier = earlier["identifier"]
                steps.append(CancelEvent(event_name=earlier["event_name"], identifier=identifier))
        elif kind == "move":
            seconds = draw(
                clock_moves(
                    now=now,
                    receipts=[received for _, received in recent],
                    timestamps=[*anchors, *(timestamp for timestamp, _ in recent)],
                )
            )
            now += seconds
            steps.append(AdvanceClock(seconds=seconds))
        else:
            stamps = event_timestamps(
                now, anchors=[*anchors, *(moment for pair in recent for moment in pair)]
            )
            accepted = [a for a in anchors if now - PAST_LIMIT <= a <= now + FUTURE_LIMIT]
            if accepted:  # your own moments, exactly, half the time
                timestamp = draw(st.one_of(picks(accepted), st.none(), stamps, picks(accepted)))
            else:
                timestamp = draw(st.one_of(st.none(), stamps, stamps))
            kwargs = draw(
                meter_events(
                    draw(st.sampled_from(meters)),
                    customers=customers,
                    values=values,
                    identifiers=st.just(f"script-{number}"),
                    timestamps=st.just(timestamp),
                )
            )
            created.append(kwargs)
            times.append((now if timestamp is None else timestamp, now))
            steps.append(CreateEvent(kwargs=kwargs))
    return steps


# --- billing --------------------------------------------------------------------------------


@st.composite
def _anchors(draw: st.DrawFn) -> datetime:
    """Billing cycle anchors in 2024-2028 that favour the ends of months and of days."""
    year, month = draw(st.integers(2024, 2028)), draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    day = min(draw(st.sampled_from([28, 29, 30, 31]) | st.integers(1, 31)), last)
    hour, minute, second = draw(
        st.sampled_from([(0, 0, 0), (23, 59, 59), (0, 0, 1)])
        | st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
    )
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


_ANCHORS = _anchors()


def billing_periods(
    *,
    intervals: Sequence[str] = INTERVALS,
    max_interval_count: int = 1,
    anchors: st.SearchStrategy[datetime] | None = None,
    max_number: int = 24,
) -> st.SearchStrategy[BillingPeriod]:
    """Billing periods of subscriptions, computed by `reference_period`, with their `edges`.

    Args:
        intervals: the ``recurring.interval`` values to draw (``day``, ``week``, ``month``,
            ``year``).
        max_interval_count: periods last 1 to this many intervals.
        anchors: billing cycle anchors (aware datetimes; sub-seconds are dropped); by default
            2024 to 2028, favouring the 28th to the 31st (so the months that clamp them,
            leap years' February included) and the first and last second of a day.
        max_number: the latest period to draw (0 is the first).

    Compare your own period code with the drawn ``start`` and ``end``, and place usage at
    ``period.edges`` (one second before, on and after each end)::

        @given(billing_periods(intervals=["month"]))
        def test_periods(period):
            assert my_period(period.anchor, period.number) == (period.start, period.end)

    """
    chosen = _check_choices("intervals", intervals, INTERVALS)
    count = _check_int("max_interval_count", max_interval_count)
    latest = _check_int("max_number", max_number)
    if count < 1 or latest < 0:
        raise InvalidArgument("need max_interval_count >= 1 and max_number >= 0")
    _check_strategy("anchors", anchors)
    return st.builds(
        reference_period,
        anchors if anchors is not None else _ANCHORS,
        st.integers(0, latest),
        interval=st.sampled_from(chosen),
        interval_count=st.integers(1, count),
    )


def _check_decimal(name: str, given: object) -> Decimal:
    if isinstance(given, bool) or not isinstance(given, int | Decimal):
        raise InvalidArgument(f"{name} must be an int or a Decimal, got {given!r}")
    value = Decimal(given)
    if not value.is_finite() or value <= 0:
        raise InvalidArgument(f"{name} must be positive, got {given!r}")
    return value


def tier_tables(
    *,
    min_tiers: int = 2,
    max_tiers: int = 4,
    max_up_to: int = 100_000,
    unit_amounts: st.SearchStrategy[Decimal] | None = None,
) -> st.SearchStrategy[tuple[Tier, ...]]:
    """Tier tables as Stripe's ``tiers[]``: increasing whole-unit ``up_to``, then "and beyond".

    The last tier's `Tier.up_to` is None; the others' are whole units that increase.

    Args:
        min_tiers: at least this many tiers (1 is a single price for every unit, with no
            edge to get wrong).
        max_tiers: at most this many.
        max_up_to: the highest ``up_to`` drawn.
        unit_amounts: the prices per unit; by default 0 to 100 with up to 4 decimal places.

    Price the tables with `reference_price` as the oracle, and quantities from
    `tier_quantities`.

    """
    low, high = _check_int("min_tiers", min_tiers), _check_int("max_tiers", max_tiers)
    top = _check_int("max_up_to", max_up_to)
    if not 1 <= low <= high or top < high - 1:
        raise InvalidArgument(
            f"need 1 <= min_tiers <= max_tiers and max_up_to >= max_tiers - 1, got {low}, "
            f"{high} and {top}"
        )
    _check_strategy("unit_amounts", unit_amounts)
    prices = unit_amounts if unit_amounts is not None else _UNIT_AMOUNTS
    edges = st.lists(st.integers(1, top), min_size=low - 1, max_size=high - 1, unique=True)
    return st.builds(_tier_table, edges, st.lists(prices, min_size=high, max_size=high))


_UNIT_AMOUNTS = st.decimals(min_value=0, max_value=100, places=4)


def _tier_table(edges: list[int], prices: list[Decimal]) -> tuple[Tier, ...]:
    ups: list[Decimal | None] = [Decimal(edge) for edge in sorted(edges)]
    ups.append(None)
    return tuple(
        Tier(up_to=up_to, unit_amount=price) for up_to, price in zip(ups, prices, strict=False)
    )


def tier_quantities(
    tiers: Sequence[Tier], *, places: int = 3, allow_negative: bool = True
) -> st.SearchStrategy[Decimal]:
    """Quantities to price with `tiers`, most of them at and around each tier's edge.

    A third of the draws are an ``up_to`` exactly; a third are one unit or one
    ``10**-places`` either side of one, or 0 (with `allow_negative`, -1 and -``10**-places``
    too); a third anywhere from the lowest of those to twice the highest ``up_to`` (1,000 for a
    single tier), with `places` decimals. Every quantity is a value a meter accepts (at most 15
    significant digits).

    In a test::

        @given(tier_quantities(TIERS))
        def test_price(quantity):
            assert my_price(quantity) == reference_price(quantity, TIERS)

    """
    if isinstance(tiers, str) or not isinstance(tiers, Sequence) or not tiers:
        raise InvalidArgument(f"tiers must be a non-empty sequence of Tier, got {tiers!r}")
    if not all(isinstance(tier, Tier) for tier in tiers):
        raise InvalidArgument(f"tiers must hold Tier objects, got {tiers!r}")
    digits = _check_int("places", places)
    if not 0 <= digits <= 6:
        raise InvalidArgument(f"places must be 0 to 6, got {digits}")
    if not isinstance(allow_negative, bool):
        raise InvalidArgument(f"allow_negative must be a bool, got {allow_negative!r}")
    unit, step = Decimal(1), Decimal(1).scaleb(-digits)
    ups = [tier.up_to for tier in tiers if tier.up_to is not None]
    near = [up + offset for up in ups for offset in (step, -step, unit, -unit)]
    near += [Decimal(0), -step, -unit] if allow_negative else [Decimal(0)]
    near = [quantity for quantity in near if allow_negative or quantity >= 0]
    highest = 2 * max(ups) if ups else Decimal(1_000)
    anywhere = st.decimals(min_value=min(near), max_value=highest, places=digits)
    return st.one_of(st.sampled_from(ups or near), st.sampled_from(near), anywhere)


def register_types() -> None:
    """Register strategies for meterlib's types, so `st.from_type(Meter)` works.

    Hypothesis calls this through its ``hypothesis`` entry point once meterlib is installed.
    """
    st.register_type_strategy(Meter, _meters())
    st.register_type_strategy(
        AggregationSettings,
        st.sampled_from(BUILTIN_FORMULAS).map(lambda formula: AggregationSettings(formula=formula)),
    )
    st.register_type_strategy(
        CustomerMapping, _PAYLOAD_KEYS.map(lambda key: CustomerMapping(event_payload_key=key))
    )
    st.register_type_strategy(
        ValueSettings, _PAYLOAD_KEYS.map(lambda key: ValueSettings(event_payload_key=key))
    )


register_types()
