"""Hypothesis strategies for meterlib's inputs, in Hypothesis' own style.

Each strategy is a function named with a plural noun; its arguments are keyword-only and checked
(a bad one raises ``hypothesis.errors.InvalidArgument``); it returns a ``SearchStrategy``.

* `meter_configs` draws keyword arguments for ``m.meters.create``;
* `payload_values` draws valid decimal strings for a payload's value;
* `meter_events` draws keyword arguments for ``m.meter_events.create`` that a meter accepts;
* `invalid_meter_events` draws events with one defect each, and the error they must raise;
* `usage_scripts` draws sequences of creates, retries, cancels and clock moves (see `play`);
* `clock_moves` draws forward clock moves that favour meterlib's time boundaries.

Importing this module registers strategies for `Meter` and its settings classes, so
``st.from_type(Meter)`` (and ``st.builds`` of anything taking a `Meter`) works.

Drawn text never contains surrogates or NUL characters, which no storage can keep.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

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
from meterlib.testing.scripts import AdvanceClock, CancelEvent, CreateEvent, RetryEvent, UsageStep
from meterlib.timeutil import DAY, HOUR, MINUTE, from_unix_seconds
from meterlib.validation import FUTURE_LIMIT, PAST_LIMIT, validate_meter_params

__all__ = [
    "INVALID_EVENT_CODES",
    "InvalidMeterEvent",
    "clock_moves",
    "event_time_ranges",
    "invalid_meter_events",
    "meter_configs",
    "meter_events",
    "payload_values",
    "usage_scripts",
]

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


def _texts(max_size: int) -> st.SearchStrategy[str]:
    """Non-blank text of at most `max_size` characters."""
    return st.text(_CHARACTERS, min_size=1, max_size=max_size).filter(lambda text: text.strip())


def _event_names(max_size: int = 100) -> st.SearchStrategy[str]:
    return st.text(_NAME_ALPHABET, min_size=1, max_size=max_size)


_PAYLOAD_KEYS = _texts(100)
_CUSTOMER_IDS = st.text(string.ascii_letters + string.digits, min_size=1, max_size=14).map(
    lambda tail: f"cus_{tail}"
)
_IDENTIFIERS = st.text(_IDENTIFIER_ALPHABET, min_size=1, max_size=100)


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
    return _payload_values(allow_negative, digits)


@st.composite
def _payload_values(draw: st.DrawFn, allow_negative: bool, max_digits: int) -> str:
    significand = draw(st.integers(0, 10**max_digits - 1))
    # the highest digit, exponent + len - 1, must stay at most 40; the lowest at least -40
    exponent = draw(st.integers(-40, 40 - (len(str(significand)) - 1)))
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


def _time_inputs(seconds: int) -> st.SearchStrategy[object]:
    """Every accepted way of writing the moment `seconds` (sub-second parts are floored)."""
    moment = from_unix_seconds(seconds)
    india = timezone(timedelta(hours=5, minutes=30))
    return st.one_of(
        st.just(seconds),
        st.just(moment),
        st.just(moment.astimezone(india)),
        st.integers(0, 999_999).map(lambda micros: moment + timedelta(microseconds=micros)),
        st.just(moment.isoformat().replace("+00:00", "Z")),
        st.just(moment.astimezone(india).isoformat()),
    )


def meter_events(
    meter: Meter,
    *,
    customers: st.SearchStrategy[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    values: st.SearchStrategy[str] | None = None,
    identifiers: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid keyword arguments for ``m.meter_events.create`` for this (active) meter.

    Args:
        meter: the meter; its event name and payload keys are used.
        customers: customer ids to draw; by default ``cus_`` and up to 14 letters or digits.
        start: give `start` and `end` to draw a ``timestamp`` in ``[start, end]`` (Unix
            seconds), written as an int, an aware datetime or an ISO-8601 string; give neither
            to leave the timestamp out (the clock's now). The range must lie within the 35 days
            before and the 5 minutes after the moment of the create.
        end: the last timestamp to draw (inclusive).
        values: the value strings to draw; by default `payload_values` with negatives. The value
            is always present where the formula requires one, and sometimes for ``count``.
        identifiers: identifiers to draw, None meaning "let meterlib generate one"; by default
            None or up to 100 letters, digits, ``-`` and ``_``. Two draws may share an
            identifier: pass unique ones when you create several events.

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
    ):
        _check_strategy(name, strategy)
    if (start is None) != (end is None):
        raise InvalidArgument("pass both start and end, or neither")
    if (
        start is not None
        and end is not None
        and _check_int("start", start) > _check_int("end", end)
    ):
        raise InvalidArgument(f"start={start} must not be after end={end}")
    return _meter_events(
        meter=meter,
        customers=customers if customers is not None else _CUSTOMER_IDS,
        times=None if start is None or end is None else (start, end),
        values=values if values is not None else payload_values(allow_negative=True),
        identifiers=identifiers if identifiers is not None else st.none() | _IDENTIFIERS,
    )


@st.composite
def _meter_events(
    draw: st.DrawFn,
    *,
    meter: Meter,
    customers: st.SearchStrategy[str],
    times: tuple[int, int] | None,
    values: st.SearchStrategy[str],
    identifiers: st.SearchStrategy[str | None],
) -> dict[str, Any]:
    customer_key = meter.customer_mapping.event_payload_key
    value_key = meter.value_settings.event_payload_key
    payload: dict[str, Any] = {customer_key: draw(customers)}
    if _requires_value(meter) or draw(st.booleans()):
        payload[value_key] = draw(values)
    extra_keys = _PAYLOAD_KEYS.filter(lambda key: key not in (customer_key, value_key))
    payload.update(draw(st.dictionaries(extra_keys, st.text(_CHARACTERS, max_size=20), max_size=2)))
    kwargs: dict[str, Any] = {"event_name": meter.event_name, "payload": payload}
    identifier = draw(identifiers)
    if identifier is not None:
        kwargs["identifier"] = identifier
    if times is not None:
        kwargs["timestamp"] = draw(st.integers(*times).flatmap(_time_inputs))
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
    key = draw(
        st.just(customer_key)
        | _PAYLOAD_KEYS.filter(lambda key: key not in (customer_key, value_key))
    )
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
    moment = now - PAST_LIMIT - draw(st.integers(1, 400 * DAY))
    return _changed(
        base, "timestamp_too_far_in_past", "timestamp", timestamp=draw(_time_inputs(moment))
    )


def _too_new(draw: st.DrawFn, meter: Meter, now: int, base: dict[str, Any]) -> InvalidMeterEvent:
    moment = now + FUTURE_LIMIT + draw(st.integers(1, 400 * DAY))
    return _changed(base, "timestamp_in_future", "timestamp", timestamp=draw(_time_inputs(moment)))


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
    again = draw(meter_events(meter, start=now, end=now, identifiers=st.just(identifier)))
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


@st.composite
def _invalid_meter_events(draw: st.DrawFn, meter: Meter, now: int) -> InvalidMeterEvent:
    base = draw(meter_events(meter, start=now, end=now, identifiers=st.none()))
    defects = [defect for defect in _DEFECTS if defect is not _no_value or _requires_value(meter)]
    return draw(st.sampled_from(defects))(draw, meter, now, base)


# --- scripts --------------------------------------------------------------------------------


def clock_moves() -> st.SearchStrategy[int]:
    """Forward clock moves in seconds, often exactly on or one second off a time boundary.

    The boundaries are a minute, the 5-minute future allowance, an hour, the 24-hour identifier
    and cancel windows, and the 35-day event window.
    """
    boundaries = (MINUTE, FUTURE_LIMIT, HOUR, DAY, PAST_LIMIT)
    exact = sorted({moment + offset for moment in boundaries for offset in (-1, 0, 1)})
    return st.sampled_from(exact) | st.integers(1, 2 * DAY)


def usage_scripts(
    meters: Sequence[Meter],
    *,
    start: int,
    customers: st.SearchStrategy[str] | None = None,
    values: st.SearchStrategy[str] | None = None,
    min_steps: int = 0,
    max_steps: int = 20,
) -> st.SearchStrategy[list[UsageStep]]:
    """Scripts of event creates, retries, cancels and clock moves over (active) `meters`.

    Each `CreateEvent` is valid when its turn comes, provided the clock stood at `start` when
    the script began: its timestamp respects the clock as moved by the script so far, and its
    identifier (``script-<step>``) is unique within the script. A `RetryEvent` resends an
    earlier create unchanged; a `CancelEvent` cancels an earlier create, whether or not it is
    still cancellable. Run scripts with `meterlib.testing.play`.

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
    )


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
) -> list[UsageStep]:
    now = start
    steps: list[UsageStep] = []
    created: list[dict[str, Any]] = []
    for number in range(draw(st.integers(min_steps, max_steps))):
        kind = draw(st.sampled_from(["create", "create", "move", "retry", "cancel"]))
        if kind in ("retry", "cancel") and created:
            earlier = draw(st.sampled_from(created))
            if kind == "retry":
                steps.append(RetryEvent(kwargs=earlier))
            else:
                identifier = earlier["identifier"]
                steps.append(CancelEvent(event_name=earlier["event_name"], identifier=identifier))
        elif kind == "move":
            seconds = draw(clock_moves())
            now += seconds
            steps.append(AdvanceClock(seconds=seconds))
        else:
            times = draw(event_time_ranges(now))
            kwargs = draw(
                meter_events(
                    draw(st.sampled_from(meters)),
                    customers=customers,
                    values=values,
                    identifiers=st.just(f"script-{number}"),
                    start=None if times is None else times[0],
                    end=None if times is None else times[1],
                )
            )
            created.append(kwargs)
            steps.append(CreateEvent(kwargs=kwargs))
    return steps


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
