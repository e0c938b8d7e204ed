"""Pure validation rules: value parsing, payload strings, and no stray exception types."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from meterlib import (
    AggregationSettings,
    CustomerMapping,
    Meter,
    StatusTransitions,
    ValueSettings,
    validation,
)
from meterlib.aggregation import Sum
from meterlib.errors import InvalidRequestError
from meterlib.model import ItemColumns, NewEvent, NewEvents
from meterlib.validation import (
    parse_value,
    payload_string,
    validate_cancel_params,
    validate_event,
    validate_meter_params,
    validate_page_params,
    validate_summary_params,
)

PARAM = "payload[value]"


def code_of(raw: object) -> str | None:
    """The error code parse_value raises for `raw`, or None if it accepts it."""
    try:
        parse_value(raw, PARAM)
    except InvalidRequestError as error:
        assert error.param == PARAM
        return error.code
    return None


@pytest.mark.parametrize(
    ("raw", "value", "text"),
    [
        ("25", Decimal(25), "25"),
        ("0.10", Decimal("0.10"), "0.10"),
        ("-3.5", Decimal("-3.5"), "-3.5"),
        ("+7", Decimal(7), "+7"),
        (".5", Decimal("0.5"), ".5"),
        ("5.", Decimal(5), "5."),
        ("1e3", Decimal(1000), "1e3"),
        ("-0", Decimal(0), "-0"),
        (12, Decimal(12), "12"),
        (-4, Decimal(-4), "-4"),
        (Decimal("1.50"), Decimal("1.50"), "1.50"),
        (0.1, Decimal("0.1"), "0.1"),
        (2.5, Decimal("2.5"), "2.5"),
        (1e-7, Decimal("1e-7"), "1e-07"),
    ],
    ids=repr,
)
def test_accepted_values(raw: object, value: Decimal, text: str) -> None:
    """Decimal strings, ints, Decimals and floats parse exactly and keep their string form."""
    parsed, kept = parse_value(raw, PARAM)
    assert (parsed, kept) == (value, text)
    assert isinstance(parsed, Decimal)


def test_float_arithmetic_noise_is_too_many_digits() -> None:
    """0.1 + 0.2 has 17 significant digits in its repr and is rejected."""
    assert code_of(0.1 + 0.2) == "meter_event_value_too_many_digits"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " 1",
        "1 ",
        "one",
        "1_000",
        "1,000",
        "0x1F",
        "1e",
        "e5",
        ".",
        "NaN",
        "-nan",
        "sNaN",
        "Infinity",
        "inf",
        "١٢",
        True,
        False,
        None,
        float("nan"),
        float("-inf"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        b"1",
        [1],
        object(),
    ],
    ids=repr,
)
def test_invalid_values(raw: object) -> None:
    """Anything but a finite decimal number is payload_invalid_value."""
    assert code_of(raw) == "payload_invalid_value"


@pytest.mark.parametrize(
    "raw",
    [
        "123456789012345",
        "-123456789012345",
        "1234567890.12345",
        "123456789012345000",
        "1.234567890123450000",
        "0.000123456789012345",
        999_999_999_999_999,
        Decimal("123456789012345.000"),
    ],
    ids=repr,
)
def test_fifteen_significant_digits_pass(raw: object) -> None:
    """Up to 15 significant digits pass; leading and trailing zeros do not count."""
    assert code_of(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "1234567890123456",
        "1.234567890123456",
        "-0.00001234567890123456",
        1_234_567_890_123_456,
        Decimal("1234567890123456"),
        pytest.param("9" * 100, id="100 nines"),
        pytest.param(10**41 - 1, id="41 nines"),
    ],
)
def test_sixteen_significant_digits_fail(raw: object) -> None:
    """Sixteen or more significant digits are meter_event_value_too_many_digits."""
    assert code_of(raw) == "meter_event_value_too_many_digits"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("9" * 101, id="101 nines"),
        pytest.param("1." + "0" * 99, id="101 characters"),
        pytest.param(Decimal("1." + "0" * 99), id="a Decimal of 101 characters"),
        pytest.param(10**5000 - 1, id="5000 nines"),
        pytest.param(2**137, id="past 10**41"),
    ],
)
def test_values_too_large_to_parse_are_invalid(raw: object) -> None:
    """A value string over 100 characters, or an int of 10**41 or more, is refused unparsed."""
    assert code_of(raw) == "payload_invalid_value"


@pytest.mark.parametrize("raw", ["1e40", "-1e40", "1e-40", "9.99e40", "0.000"])
def test_values_within_range(raw: str) -> None:
    """Values whose digits lie between 10**-40 and 10**40 are accepted, the ends included."""
    assert code_of(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "1e41",
        "1e-41",
        "1e999999",
        "1e-99999999999999999999999",
        "1e99999999999999999999999",
        pytest.param(10**5000, id="10**5000"),
        pytest.param(-(10**5000), id="-10**5000"),
        Decimal("1e-999999"),
    ],
)
def test_values_out_of_range(raw: object) -> None:
    """Values needing digits beyond 10**±40 are payload_invalid_value, however extreme."""
    assert code_of(raw) == "payload_invalid_value"


def decimals() -> st.SearchStrategy[Decimal]:
    """Finite Decimals with at most 15 significant digits and exponents within range."""
    return st.builds(
        lambda mantissa, exponent: Decimal(mantissa).scaleb(exponent),
        st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
        st.integers(min_value=-25, max_value=25),
    )


@given(value=decimals())
def test_valid_decimals_round_trip(value: Decimal) -> None:
    """A valid Decimal and its string parse to the same exact value, keeping the string."""
    assert parse_value(value, PARAM) == (value, str(value))
    parsed, text = parse_value(str(value), PARAM)
    assert parsed == value
    assert text == str(value)


@given(value=st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1))
def test_ints_round_trip(value: int) -> None:
    """Every int of at most 15 digits is accepted exactly, stringified."""
    assert parse_value(value, PARAM) == (Decimal(value), str(value))


NUMBER_LIKE = r"[+-]?[0-9]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,30})?"


@settings(max_examples=200)
@given(raw=st.one_of(st.from_regex(NUMBER_LIKE, fullmatch=True), st.text(max_size=30)))
def test_parse_value_raises_only_invalid_request(raw: str) -> None:
    """Any string either parses to a Decimal or raises one of the two value codes."""
    assert code_of(raw) in {None, "payload_invalid_value", "meter_event_value_too_many_digits"}


@pytest.mark.parametrize(
    ("raw", "text"),
    [("eu", "eu"), ("", ""), (4, "4"), (-4, "-4"), (Decimal("1.50"), "1.50")],
    ids=repr,
)
def test_payload_string(raw: object, text: str) -> None:
    """Payload entries stay strings; ints and Decimals are stringified."""
    assert payload_string(raw, "payload[x]") == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [(10**99, "1" + "0" * 99), (-(10**98), "-1" + "0" * 98)],
    ids=["100 digits", "-99 digits"],
)
def test_payload_string_of_a_long_int(raw: int, text: str) -> None:
    """An int of up to 100 characters is stringified in full."""
    assert payload_string(raw, "payload[x]") == text


@pytest.mark.parametrize(
    "raw",
    [10**100, -(10**99), 10**5000, 2**3_000_000, "x" * 101, Decimal("1" * 101)],
    ids=["101 digits", "-100 digits", "10**5000", "2**3000000", "101 characters", "Decimal"],
)
def test_payload_string_over_100_characters_is_refused(raw: object) -> None:
    """Payload entries are at most 100 characters, and huge ints are refused unstringified."""
    with pytest.raises(InvalidRequestError) as info:
        payload_string(raw, "payload[x]")
    assert (info.value.code, info.value.param) == ("parameter_invalid_string_length", "payload[x]")


@pytest.mark.parametrize("raw", [None, True, 1.5, [1], {"a": "b"}, b"x"], ids=repr)
def test_payload_string_rejects_other_types(raw: object) -> None:
    """Floats, bools, None, bytes and containers are not payload strings."""
    with pytest.raises(InvalidRequestError) as info:
        payload_string(raw, "payload[x]")
    assert (info.value.code, info.value.param) == ("parameter_invalid_type", "payload[x]")


def _hashable(value: object) -> bool:
    return not isinstance(value, list | dict)


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["formula", "type", "event_payload_key", "x"]), children)
    ),
    max_leaves=6,
)


def only_invalid_request(call: Callable[[], object]) -> None:
    """Run `call`: it may return, or raise InvalidRequestError with a code and param."""
    try:
        call()
    except InvalidRequestError as error:
        assert error.code
        assert error.param


@settings(max_examples=200)
@given(
    display_name=JUNK | st.just("Name"),
    event_name=JUNK | st.just("api"),
    default_aggregation=JUNK | st.just({"formula": "sum"}),
    customer_mapping=JUNK | st.just({"type": "by_id", "event_payload_key": "c"}),
    value_settings=JUNK | st.just({"event_payload_key": "v"}),
    event_time_window=JUNK | st.sampled_from(["hour", "day"]),
)
def test_meter_params_raise_only_invalid_request(**params: Any) -> None:
    """Whatever the argument types, meter validation returns or raises InvalidRequestError."""
    only_invalid_request(lambda: validate_meter_params(**params))


METER = Meter(
    id="mtr_1",
    created=0,
    updated=0,
    display_name="API",
    event_name="api",
    default_aggregation=AggregationSettings(formula="sum"),
    customer_mapping=CustomerMapping(),
    value_settings=ValueSettings(),
    event_time_window=None,
    status="active",
    status_transitions=StatusTransitions(),
    livemode=False,
)


@settings(max_examples=200)
@given(
    payload=JUNK
    | st.dictionaries(
        st.sampled_from(["stripe_customer_id", "value", "x"]) | JUNK.filter(_hashable),
        JUNK | st.just("1"),
    ),
    identifier=JUNK,
    timestamp=JUNK | st.just("2026-03-10T12:00:00Z"),
)
def test_event_validation_raises_only_invalid_request(
    payload: object, identifier: object, timestamp: object
) -> None:
    """Whatever the argument types, event validation returns or raises InvalidRequestError."""
    only_invalid_request(
        lambda: validate_event(
            METER,
            Sum(),
            payload=payload,
            identifier=identifier,
            timestamp=timestamp,
            now=1_773_144_000,
        )
    )


@settings(max_examples=100)
@given(
    event_name=JUNK | st.just("api"),
    type=JUNK | st.just("cancel"),
    cancel=JUNK | st.just({"identifier": "req_1"}),
)
def test_cancel_validation_raises_only_invalid_request(
    event_name: object, type: object, cancel: object
) -> None:
    """Whatever the argument types, adjustment validation returns or raises InvalidRequestError."""
    only_invalid_request(lambda: validate_cancel_params(event_name, type, cancel))


@settings(max_examples=100)
@given(
    customer=JUNK | st.just("cus_1"),
    start_time=JUNK | st.just(0),
    end_time=JUNK | st.just(3_600),
    grouping=JUNK | st.just("hour"),
)
def test_summary_validation_raises_only_invalid_request(
    customer: object, start_time: object, end_time: object, grouping: object
) -> None:
    """Whatever the argument types, summary validation returns or raises InvalidRequestError."""
    only_invalid_request(
        lambda: validate_summary_params(
            customer=customer,
            start_time=start_time,
            end_time=end_time,
            value_grouping_window=grouping,
        )
    )


@settings(max_examples=100)
@given(limit=JUNK | st.just(10), starting_after=JUNK, ending_before=JUNK)
def test_page_validation_raises_only_invalid_request(
    limit: object, starting_after: object, ending_before: object
) -> None:
    """Whatever the argument types, paging validation returns or raises InvalidRequestError."""
    only_invalid_request(lambda: validate_page_params(limit, starting_after, ending_before))


@pytest.mark.parametrize("raw", ["0E-41", "0E+41", "0E-9999999", "1E-41", "1E+41"])
def test_values_needing_digits_beyond_the_exact_range_are_rejected(raw: str) -> None:
    """Digits (and a zero's exponent) must lie within 10**±40, so sums stay exact and small."""
    assert code_of(raw) == "payload_invalid_value"


@pytest.mark.parametrize("raw", ["0E-40", "0.000", "1E+40", "1E-40", "-0"])
def test_values_at_the_edge_of_the_exact_range_are_accepted(raw: str) -> None:
    """The bounds of the exact range are inclusive."""
    assert parse_value(raw, PARAM)[0] == Decimal(raw)


@given(
    st.from_regex(r"-?[0-9]{1,14}(\.[0-9]{1,13})?", fullmatch=True).filter(lambda s: len(s) <= 15)
)
def test_short_plain_decimals_take_a_fast_path_with_the_same_answer(raw: str) -> None:
    """The fast path for short plain decimals agrees with the full parser."""
    assert parse_value(raw, PARAM) == validation.values._parse_any_value(raw, PARAM)


NOW = 1_773_144_000
NEARLY_VALID: dict[str, st.SearchStrategy[Any]] = {
    "customer": st.sampled_from(["cus_2", "", " ", "\t"]) | st.text(max_size=3) | JUNK,
    "value": st.sampled_from(
        [
            *("-0", "0.10", "123456789012345", "1234567890123456", "0.0000000000001234"),
            *("+5", "1e3", ".5", "5.", "-.5", "--5", "1.2.3", "-", "."),
            *("1_0", "NaN", " 1", "\u0661", ""),  # U+0661: Arabic-Indic one
        ]
    )
    | JUNK,
    "identifier": st.sampled_from(["", " ", "\n"]) | st.text(min_size=99, max_size=101) | JUNK,
    "timestamp": st.none()
    | st.booleans()
    | st.integers(NOW - validation.PAST_LIMIT - 2, NOW + validation.FUTURE_LIMIT + 2)
    | st.sampled_from([NOW - validation.PAST_LIMIT, NOW + validation.FUTURE_LIMIT, "1"]),
    "extra key": JUNK,
    "payload": JUNK,
}


@given(
    changes=st.lists(
        st.sampled_from(sorted(NEARLY_VALID)).flatmap(
            lambda field: st.tuples(st.just(field), NEARLY_VALID[field])
        ),
        min_size=1,
        max_size=2,
    )
)
@example(changes=[("value", "1234567890123456")])
@example(changes=[("timestamp", NOW - validation.PAST_LIMIT - 1)])
@example(changes=[("timestamp", NOW + validation.FUTURE_LIMIT + 1)])
@example(changes=[("identifier", "i" * 101)])
@example(changes=[("identifier", " ")])
@example(changes=[("customer", " ")])
@settings(max_examples=300)
def test_common_shape_fast_path_agrees_with_every_rule(changes: list[tuple[str, Any]]) -> None:
    """The fast path accepts only what the rule-by-rule checks accept, as the same event."""
    event: dict[str, Any] = {
        "customer": "cus_1",
        "value": "1.5",
        "identifier": "req_1",
        "timestamp": NOW,
    }
    event.update(changes)
    payload = {"stripe_customer_id": event["customer"], "value": event["value"]}
    if "extra key" in event:
        payload["x"] = event["extra key"]
    arguments = {
        "payload": event.get("payload", payload),
        "identifier": event["identifier"],
        "timestamp": event["timestamp"],
    }
    fast = validation.events.common_event(METER, now=NOW, **arguments)
    if fast is None:
        return
    full = validate_event(METER, Sum(), now=NOW, **arguments)
    assert fast == full
    assert str(fast.value) == str(full.value)
    assert fast.payload is not arguments["payload"]


def test_common_shape_takes_the_fast_path() -> None:
    """A dict of customer and short decimal, string identifier, int or no timestamp: fast path."""
    payload = {"stripe_customer_id": "cus_1", "value": "412.07"}
    for timestamp in (NOW - 60, None):
        event = validation.events.common_event(
            METER, payload=payload, identifier="req_1", timestamp=timestamp, now=NOW
        )
        assert event is not None
        assert (event.customer, event.value, event.timestamp) == (
            "cus_1",
            Decimal("412.07"),
            NOW if timestamp is None else timestamp,
        )


VALID_ITEM: dict[str, Any] = {
    "event_name": "api",
    "payload": {"stripe_customer_id": "cus_1", "value": "1.5"},
    "identifier": "req_1",
    "timestamp": NOW,
}


@given(
    changes=st.dictionaries(
        st.sampled_from([*VALID_ITEM, "x"]),
        st.sampled_from(["other", ["api"], "api"]) | JUNK,
        max_size=2,
    ),
    dropped=st.sets(st.sampled_from(sorted(VALID_ITEM))),
    as_mapping=st.booleans(),
)
@example(changes={"event_name": ["api"]}, dropped=set(), as_mapping=False)
@example(changes={"x": None}, dropped=set(), as_mapping=False)
@example(changes={"event_name": "other"}, dropped=set(), as_mapping=False)
@example(changes={}, dropped={"event_name"}, as_mapping=False)
@settings(max_examples=300)
def test_batch_fast_path_accepts_only_what_every_rule_accepts(
    changes: dict[str, Any], dropped: set[str], as_mapping: bool
) -> None:
    """A batch item takes the fast path only as the event the full rules make of it."""
    fields = {**VALID_ITEM, **changes}
    item: object = {key: value for key, value in fields.items() if key not in dropped}
    if as_mapping:
        item = MappingProxyType(item)  # type: ignore[arg-type]
    fast = _fast_item(item)
    if fast is None:
        return
    name, payload, identifier, timestamp = validation.event_arguments(item, 0)
    assert name == METER.event_name
    full = validate_event(
        METER, Sum(), payload=payload, identifier=identifier, timestamp=timestamp, now=NOW
    )
    assert fast == full


def _fast_item(item: object) -> NewEvent | None:
    """`common_items` on a batch of this one item: its event, or None if it stopped there."""
    events = NewEvents(NOW)
    stop = validation.common_items([item], 0, {"api": (METER, Sum())}, events)
    assert stop == len(events)
    return events[0] if events else None


def test_batch_fast_path_takes_the_common_item() -> None:
    """A dict of the four arguments whose event name has a known meter: its event, at once."""
    event = _fast_item(VALID_ITEM)
    assert event is not None
    assert (event.meter_id, event.customer, event.value) == ("mtr_1", "cus_1", Decimal("1.5"))
    assert event.payload == VALID_ITEM["payload"]
    assert event.payload is not VALID_ITEM["payload"]
    assert validation.common_items([VALID_ITEM], 0, {}, NewEvents(NOW)) == 0


@pytest.mark.parametrize("keys", [("stripe_customer_id", "value"), ("value", "stripe_customer_id")])
def test_batch_fast_path_payload_reads_back_as_it_came(keys: tuple[str, str]) -> None:
    """A batch's payload reads back equal, keys in the caller's order, after the caller edits it."""
    given_payload = {"stripe_customer_id": "cus_1", "value": "1.50"}
    payload = {key: given_payload[key] for key in keys}
    events = NewEvents(NOW)
    item = {**VALID_ITEM, "payload": payload}
    assert validation.common_items([item], 0, {"api": (METER, Sum())}, events) == 1
    payload["value"] = "2"
    payload["extra"] = "x"
    assert events[0].payload == given_payload
    assert list(events[0].payload) == list(keys)


@given(
    items=st.lists(
        st.sampled_from(
            [
                VALID_ITEM,
                {**VALID_ITEM, "identifier": "req_2", "timestamp": None},
                {**VALID_ITEM, "event_name": "other"},
                {**VALID_ITEM, "payload": {"stripe_customer_id": "cus_1"}},
                {**VALID_ITEM, "timestamp": NOW + validation.FUTURE_LIMIT + 1},
                {**VALID_ITEM, "x": 1},
                ["not", "a", "mapping"],
            ]
        ),
        max_size=8,
    ),
    start=st.integers(0, 3),
)
def test_batch_fast_path_resumed_after_each_stop_takes_the_others_in_order(
    items: list[Any], start: int
) -> None:
    """Called again past each item it stops at, the fast path takes every other item, in order."""
    accepting = {"api": (METER, Sum())}
    events = NewEvents(NOW)
    stops: list[int] = []
    index = validation.common_items(items, start, accepting, events)
    while index < len(items):
        stops.append(index)
        index = validation.common_items(items, index + 1, accepting, events)
    taken = [item for index, item in enumerate(items) if index >= start and index not in stops]
    assert all(_fast_item(items[index]) is None for index in stops)
    assert list(events) == [_fast_item(item) for item in taken]


SWAPPED = attrs.evolve(
    METER,
    id="mtr_2",
    event_name="swapped",
    customer_mapping=CustomerMapping(event_payload_key="value"),
    value_settings=ValueSettings(event_payload_key="stripe_customer_id"),
)
"""`METER` with its payload keys the other way round."""
CELL = st.sampled_from(["1.5", "7", "x", "", "cus_1", "\x00"])


@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["api", "swapped", "other"]),
            st.sampled_from(["req_1", "req_2", "", " "]),
            st.sampled_from([NOW, NOW - validation.PAST_LIMIT - 1, "1", None, True]),
            CELL,
            CELL,
        ),
        max_size=8,
    ),
)
def test_columns_take_what_the_dicts_take(rows: list[tuple[str, str, object, str, str]]) -> None:
    """`common_columns` stops where `common_items` stops on the same items, with equal events."""
    columns = ItemColumns.of(("stripe_customer_id", "value"), rows)
    accepting = {"api": (METER, Sum()), "swapped": (SWAPPED, Sum())}
    by_columns, by_dicts = NewEvents(NOW), NewEvents(NOW)
    index = other = -1
    while index < len(rows):
        index = validation.common_columns(columns, index + 1, accepting, by_columns)
        other = validation.common_items(list(columns), other + 1, accepting, by_dicts)
        assert index == other
    assert list(by_columns) == list(by_dicts)
    assert [list(event.payload) for event in by_columns] == [
        list(event.payload) for event in by_dicts
    ]


def test_item_columns_read_as_create_many_items() -> None:
    """Columns read back, item by item or sliced, as the dicts they stand for; keys must match."""
    rows = [("api", "req_1", NOW, "cus_1", "2"), ("api", "req_2", NOW, "cus_2", "3")]
    items = ItemColumns.of(("stripe_customer_id", "value"), rows)
    assert items[-1] == {
        "event_name": "api",
        "payload": {"stripe_customer_id": "cus_2", "value": "3"},
        "identifier": "req_2",
        "timestamp": NOW,
    }
    assert list(items[1:]) == [items[1]]
    items.add(items[:1])
    assert [item["identifier"] for item in items] == ["req_1", "req_2", "req_1"]
    with pytest.raises(ValueError, match="payload keys"):
        items.add(ItemColumns(("value", "stripe_customer_id")))


@pytest.mark.parametrize(
    ("timestamp", "accepted"),
    [
        (NOW - validation.PAST_LIMIT, True),
        (NOW + validation.FUTURE_LIMIT, True),
        (NOW - validation.PAST_LIMIT - 1, False),
        (NOW + validation.FUTURE_LIMIT + 1, False),
    ],
)
def test_fast_path_takes_timestamps_up_to_both_bounds(timestamp: int, accepted: bool) -> None:
    """`common_fields` accepts a timestamp exactly 35 days back or 5 minutes ahead, not past."""
    payload = {"stripe_customer_id": "cus_1", "value": "1"}
    fields = validation.common_fields(METER, payload, "req_1", timestamp, NOW)
    assert (fields is not None) == accepted
