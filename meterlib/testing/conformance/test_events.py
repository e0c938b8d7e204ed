"""Meter events: every rejection code, value exactness, payload strings, time inputs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import ManualClock, Meter, MeterEvent, Metering
from meterlib.errors import InvalidRequestError

DAY = 86_400
EVENT = "api_call"


def sum_meter(m: Metering, formula: str = "sum", **settings: Any) -> Meter:
    """A raw meter for `EVENT` with the given formula and settings."""
    return m.meters.create(
        display_name="API calls",
        event_name=EVENT,
        default_aggregation={"formula": formula},
        **settings,
    )


def send(m: Metering, value: object = "1", customer: str = "cus_1", **kwargs: Any) -> MeterEvent:
    """Create an event for `EVENT` with the default payload keys."""
    return m.meter_events.create(
        event_name=EVENT, payload={"stripe_customer_id": customer, "value": value}, **kwargs
    )


def now_of(clock: ManualClock) -> int:
    """The clock's now in Unix seconds."""
    return int(clock.now().timestamp())


def total(m: Metering, meter: Meter, clock: ManualClock, customer: str = "cus_1") -> Decimal:
    """The customer's usage over the 35 days before and the day after now."""
    now = now_of(clock)
    return m.usage(meter.id, customer, now - 40 * DAY, now + DAY)


def rejected(call: Any, code: str, param: str | None = None) -> InvalidRequestError:
    """Run `call`, assert it raises `code` (and `param`), return the error."""
    with pytest.raises(InvalidRequestError) as info:
        call()
    assert info.value.code == code
    if param is not None:
        assert info.value.param == param
    return info.value


def test_event_object(m: Metering, clock: ManualClock) -> None:
    """An accepted event echoes name, identifier, payload strings, timestamp and created."""
    sum_meter(m)
    event = send(m, "25", identifier="req_1")
    now = now_of(clock)
    assert event.to_dict() == {
        "object": "billing.meter_event",
        "created": now,
        "event_name": EVENT,
        "identifier": "req_1",
        "livemode": False,
        "payload": {"stripe_customer_id": "cus_1", "value": "25"},
        "timestamp": now,
    }


def test_identifier_is_generated_when_absent(m: Metering) -> None:
    """Events without an identifier get distinct generated ones."""
    sum_meter(m)
    first, second = send(m), send(m)
    assert first.identifier
    assert first.identifier != second.identifier


def test_no_meter(m: Metering) -> None:
    """An event name no meter owns is no_meter."""
    sum_meter(m)
    rejected(
        lambda: m.meter_events.create(
            event_name="unknown", payload={"stripe_customer_id": "c", "value": "1"}
        ),
        "no_meter",
        "event_name",
    )


def test_archived_meter(m: Metering, clock: ManualClock) -> None:
    """An inactive meter rejects events with archived_meter and keeps its total."""
    meter = sum_meter(m)
    send(m, "2")
    m.meters.deactivate(meter.id)
    rejected(lambda: send(m, "3"), "archived_meter", "event_name")
    assert total(m, meter, clock) == 2


def test_reactivated_meter_accepts_events(m: Metering, clock: ManualClock) -> None:
    """After reactivation the meter takes events again."""
    meter = sum_meter(m)
    m.meters.deactivate(meter.id)
    m.meters.reactivate(meter.id)
    send(m, "3")
    assert total(m, meter, clock) == 3


@pytest.mark.parametrize(
    "payload",
    [{"value": "1"}, {"stripe_customer_id": "", "value": "1"}, {"customer": "c", "value": "1"}],
)
def test_payload_no_customer_defined(m: Metering, payload: dict[str, str]) -> None:
    """A payload without the (non-empty) customer key is payload_no_customer_defined."""
    sum_meter(m)
    rejected(
        lambda: m.meter_events.create(event_name=EVENT, payload=payload),
        "payload_no_customer_defined",
        "payload[stripe_customer_id]",
    )


def test_custom_customer_key_is_required(m: Metering) -> None:
    """With customer_mapping key `customer`, stripe_customer_id does not count."""
    sum_meter(m, customer_mapping={"type": "by_id", "event_payload_key": "customer"})
    rejected(lambda: send(m), "payload_no_customer_defined", "payload[customer]")


@pytest.mark.parametrize("formula", ["sum", "last"])
def test_payload_no_value_defined(m: Metering, formula: str) -> None:
    """Meters with the sum or last formula need the value key."""
    sum_meter(m, formula)
    rejected(
        lambda: m.meter_events.create(event_name=EVENT, payload={"stripe_customer_id": "c"}),
        "payload_no_value_defined",
        "payload[value]",
    )


def test_custom_value_key_is_required(m: Metering) -> None:
    """With value_settings key `tokens`, the `value` key does not count."""
    sum_meter(m, value_settings={"event_payload_key": "tokens"})
    rejected(lambda: send(m), "payload_no_value_defined", "payload[tokens]")


def test_count_meter_needs_no_value(m: Metering, clock: ManualClock) -> None:
    """A count meter accepts events without the value key, and counts them."""
    meter = sum_meter(m, "count")
    event = m.meter_events.create(event_name=EVENT, payload={"stripe_customer_id": "cus_1"})
    assert dict(event.payload) == {"stripe_customer_id": "cus_1"}
    assert total(m, meter, clock) == 1


def test_count_meter_still_validates_a_given_value(m: Metering) -> None:
    """A value sent to a count meter must still be valid."""
    sum_meter(m, "count")
    rejected(lambda: send(m, "abc"), "payload_invalid_value", "payload[value]")


BAD_VALUES: list[object] = [
    "abc",
    "",
    " ",
    "1,5",
    "1_000",
    "0x10",
    "1e",
    "--1",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    True,
    False,
    float("nan"),
    float("inf"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    [1],
    {"amount": 1},
]


@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_payload_invalid_value(m: Metering, clock: ManualClock, value: object) -> None:
    """Non-numeric, empty, NaN, infinite, underscored or boolean values are rejected."""
    meter = sum_meter(m)
    rejected(lambda: send(m, value), "payload_invalid_value", "payload[value]")
    assert total(m, meter, clock) == 0


@pytest.mark.parametrize(
    "value",
    ["1234567890123456", "1.234567890123456", "-0.0001234567890123456", 1234567890123456],
    ids=repr,
)
def test_value_with_16_significant_digits(m: Metering, value: object) -> None:
    """Sixteen significant digits are meter_event_value_too_many_digits."""
    sum_meter(m)
    rejected(lambda: send(m, value), "meter_event_value_too_many_digits", "payload[value]")


@pytest.mark.parametrize(
    "value",
    [
        "123456789012345",
        "1.23456789012345",
        "123456789012345000000",
        "12345678901234.50000",
        "0.000000123456789012345",
        "-99999999999999.9",
    ],
)
def test_value_with_15_significant_digits(m: Metering, clock: ManualClock, value: str) -> None:
    """Fifteen significant digits pass; leading and trailing zeros do not count."""
    meter = sum_meter(m)
    send(m, value)
    assert total(m, meter, clock) == Decimal(value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0.1", "0.2"], "0.3"),
        (["-5", "2"], "-3"),
        (["1.005", "-0.005"], "1.000"),
        (["0.000001", "1000000"], "1000000.000001"),
    ],
)
def test_values_add_exactly(
    m: Metering, clock: ManualClock, values: list[str], expected: str
) -> None:
    """Decimal and negative values sum exactly, never through floats."""
    meter = sum_meter(m)
    for value in values:
        send(m, value)
    assert total(m, meter, clock) == Decimal(expected)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("25", "25"),
        ("0.10", "0.10"),
        ("1e3", "1e3"),
        ("+7", "+7"),
        (25, "25"),
        (-3, "-3"),
        (Decimal("1.50"), "1.50"),
        (0.1, "0.1"),
    ],
    ids=repr,
)
def test_payload_value_kept_as_string(m: Metering, given: object, stored: str) -> None:
    """The payload keeps the value string given; ints, Decimals and floats are stringified."""
    sum_meter(m)
    assert send(m, given).payload["value"] == stored


def test_extra_payload_keys_are_kept_as_strings(m: Metering) -> None:
    """Keys the meter does not use stay in the payload, ints and Decimals stringified."""
    sum_meter(m)
    event = m.meter_events.create(
        event_name=EVENT,
        payload={"stripe_customer_id": "cus_1", "value": "1", "region": "eu", "n": 4},
    )
    assert dict(event.payload) == {
        "stripe_customer_id": "cus_1",
        "value": "1",
        "region": "eu",
        "n": "4",
    }


@pytest.mark.parametrize(
    ("payload", "code", "param"),
    [
        (None, "parameter_missing", "payload"),
        ("stripe_customer_id=cus_1", "parameter_invalid_type", "payload"),
        (["cus_1", "1"], "parameter_invalid_type", "payload"),
        ({"stripe_customer_id": "c", "value": "1", 3: "x"}, "parameter_invalid_type", "payload"),
        (
            {"stripe_customer_id": "c", "value": "1", "tags": ["a"]},
            "parameter_invalid_type",
            "payload[tags]",
        ),
    ],
    ids=repr,
)
def test_bad_payload_shapes(m: Metering, payload: Any, code: str, param: str) -> None:
    """A payload that is not a mapping of strings is an InvalidRequestError."""
    sum_meter(m)
    rejected(lambda: m.meter_events.create(event_name=EVENT, payload=payload), code, param)


@pytest.mark.parametrize(
    ("event_name", "code"),
    [
        (None, "parameter_missing"),
        ("", "parameter_invalid_string_empty"),
        ("e" * 101, "parameter_invalid_string_length"),
        (5, "parameter_invalid_type"),
    ],
)
def test_bad_event_name(m: Metering, event_name: Any, code: str) -> None:
    """A missing, empty, overlong or non-string event name is rejected."""
    sum_meter(m)
    rejected(
        lambda: m.meter_events.create(
            event_name=event_name, payload={"stripe_customer_id": "c", "value": "1"}
        ),
        code,
        "event_name",
    )


@pytest.mark.parametrize(
    ("identifier", "code"),
    [
        ("", "parameter_invalid_string_empty"),
        ("i" * 101, "parameter_invalid_string_length"),
        (12, "parameter_invalid_type"),
    ],
)
def test_bad_identifier(m: Metering, identifier: Any, code: str) -> None:
    """An empty, overlong or non-string identifier is rejected."""
    sum_meter(m)
    rejected(lambda: send(m, identifier=identifier), code, "identifier")


def test_identifier_of_100_characters(m: Metering) -> None:
    """A 100-character identifier is accepted."""
    sum_meter(m)
    assert send(m, identifier="i" * 100).identifier == "i" * 100


# --- timestamps -----------------------------------------------------------------------------


def test_default_timestamp_is_now(m: Metering, clock: ManualClock) -> None:
    """Without a timestamp the event happens at the clock's now."""
    sum_meter(m)
    clock.advance(37)
    assert send(m).timestamp == now_of(clock)


@pytest.mark.parametrize("offset", [-35 * DAY, -35 * DAY + 1, -1, 1, 299, 300])
def test_timestamps_inside_the_window(m: Metering, clock: ManualClock, offset: int) -> None:
    """From exactly 35 days ago to exactly 300 seconds ahead, both ends inclusive."""
    sum_meter(m)
    when = now_of(clock) + offset
    assert send(m, timestamp=when).timestamp == when


def test_timestamp_too_far_in_past(m: Metering, clock: ManualClock) -> None:
    """One second more than 35 days ago is timestamp_too_far_in_past."""
    meter = sum_meter(m)
    when = now_of(clock) - 35 * DAY - 1
    rejected(lambda: send(m, timestamp=when), "timestamp_too_far_in_past", "timestamp")
    assert total(m, meter, clock) == 0


def test_timestamp_in_future(m: Metering, clock: ManualClock) -> None:
    """301 seconds ahead is timestamp_in_future."""
    meter = sum_meter(m)
    rejected(lambda: send(m, timestamp=now_of(clock) + 301), "timestamp_in_future", "timestamp")
    assert total(m, meter, clock) == 0


def test_time_window_follows_the_clock(m: Metering, clock: ManualClock) -> None:
    """The window is measured from the injected clock, not the wall clock."""
    sum_meter(m)
    when = now_of(clock) + 600
    rejected(lambda: send(m, timestamp=when), "timestamp_in_future")
    clock.advance(300)
    assert send(m, timestamp=when).timestamp == when


def test_time_input_forms_agree(m: Metering, clock: ManualClock) -> None:
    """Unix seconds, an aware datetime (any zone) and ISO strings name the same second."""
    sum_meter(m)
    moment = clock.now() - timedelta(hours=1)
    unix = int(moment.timestamp())
    inputs: list[object] = [
        unix,
        moment,
        moment.astimezone(timezone(timedelta(hours=-5))),
        moment.isoformat(),
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
    ]
    assert [send(m, timestamp=value).timestamp for value in inputs] == [unix] * len(inputs)


def test_sub_second_timestamps_are_floored(m: Metering, clock: ManualClock) -> None:
    """Fractions of a second are cut off, in datetimes and ISO strings."""
    sum_meter(m)
    base = clock.now() - timedelta(minutes=5)
    unix = int(base.timestamp())
    late = base + timedelta(microseconds=999_999)
    assert send(m, timestamp=late).timestamp == unix
    assert send(m, timestamp=late.isoformat()).timestamp == unix


@pytest.mark.parametrize(
    "timestamp",
    [
        datetime(2026, 3, 10, 11, 0),
        "2026-03-10T11:00:00",
        "yesterday",
        "",
        1.5e9,
        True,
        ["2026-03-10T11:00:00Z"],
    ],
    ids=repr,
)
def test_bad_timestamp(m: Metering, timestamp: object) -> None:
    """Naive datetimes, zone-less or garbled strings, floats and bools are rejected."""
    sum_meter(m)
    rejected(lambda: send(m, timestamp=timestamp), "parameter_invalid_timestamp", "timestamp")


# --- identifiers ----------------------------------------------------------------------------


def test_duplicate_identifier_within_24_hours(m: Metering, clock: ManualClock) -> None:
    """An identifier received 86,399 seconds ago is still taken, and nothing is stored."""
    meter = sum_meter(m)
    send(m, "1", identifier="req_1")
    clock.advance(DAY - 1)
    rejected(lambda: send(m, "5", identifier="req_1"), "duplicate_meter_event", "identifier")
    assert total(m, meter, clock) == 1


def test_identifier_free_again_after_24_hours(m: Metering, clock: ManualClock) -> None:
    """At exactly 86,400 seconds after receipt the identifier may be used again."""
    meter = sum_meter(m)
    send(m, "1", identifier="req_1")
    clock.advance(DAY)
    send(m, "5", identifier="req_1")
    assert total(m, meter, clock) == 6


def test_cancelled_identifier_stays_taken(m: Metering) -> None:
    """Cancelling an event does not free its identifier within the 24 hours."""
    sum_meter(m)
    send(m, identifier="req_1")
    m.meter_event_adjustments.create(
        event_name=EVENT, type="cancel", cancel={"identifier": "req_1"}
    )
    rejected(lambda: send(m, identifier="req_1"), "duplicate_meter_event")


def test_identifiers_are_unique_across_meters(m: Metering) -> None:
    """An identifier used on one meter is taken on every other meter of the store."""
    sum_meter(m)
    m.meters.create(
        display_name="Other", event_name="other", default_aggregation={"formula": "count"}
    )
    send(m, identifier="req_1")
    rejected(
        lambda: m.meter_events.create(
            event_name="other", payload={"stripe_customer_id": "c"}, identifier="req_1"
        ),
        "duplicate_meter_event",
    )


def test_window_is_by_receipt_not_timestamp(m: Metering, clock: ManualClock) -> None:
    """A back-dated event still holds its identifier for 24 hours after it was received."""
    sum_meter(m)
    send(m, identifier="req_1", timestamp=now_of(clock) - 30 * DAY)
    clock.advance(DAY - 1)
    rejected(lambda: send(m, identifier="req_1"), "duplicate_meter_event")


def test_failed_create_does_not_take_the_identifier(m: Metering) -> None:
    """An event rejected for its value leaves its identifier free."""
    sum_meter(m)
    rejected(lambda: send(m, "x", identifier="req_1"), "payload_invalid_value")
    assert send(m, "1", identifier="req_1").identifier == "req_1"


FAILURES: list[tuple[dict[str, Any], str]] = [
    ({"value": "abc"}, "payload_invalid_value"),
    ({"value": "1234567890123456"}, "meter_event_value_too_many_digits"),
    ({"value": None}, "payload_no_value_defined"),
    ({"customer": ""}, "payload_no_customer_defined"),
    ({"timestamp": -1}, "timestamp_too_far_in_past"),
    ({"timestamp": 4_000_000_000}, "timestamp_in_future"),
    ({"identifier": "req_taken"}, "duplicate_meter_event"),
]


@pytest.mark.parametrize(("overrides", "code"), FAILURES)
def test_failed_create_changes_no_summary(
    m: Metering, clock: ManualClock, overrides: dict[str, Any], code: str
) -> None:
    """A rejected event leaves the customer's summaries exactly as they were."""
    meter = sum_meter(m)
    send(m, "2", identifier="req_taken")
    before = m.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time=now_of(clock) - DAY,
        end_time=now_of(clock) + DAY,
        value_grouping_window="hour",
        limit=100,
    )
    rejected(lambda: send(m, **({"value": "7"} | overrides)), code)
    after = m.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time=now_of(clock) - DAY,
        end_time=now_of(clock) + DAY,
        value_grouping_window="hour",
        limit=100,
    )
    assert after == before


# --- properties -----------------------------------------------------------------------------


def valid_values() -> st.SearchStrategy[Decimal]:
    """Decimals with at most 15 significant digits and modest exponents."""
    return st.builds(
        lambda mantissa, exponent: Decimal(mantissa).scaleb(exponent),
        st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
        st.integers(min_value=-20, max_value=12),
    )


@pytest.fixture
def meter(m: Metering) -> Meter:
    """A raw sum meter for `EVENT`, shared by the examples of one property."""
    return sum_meter(m)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=valid_values(), as_text=st.booleans())
def test_value_round_trips_exactly(
    m: Metering, meter: Meter, clock: ManualClock, value: Decimal, as_text: bool
) -> None:
    """Any valid value is kept as its string and aggregates to exactly that Decimal."""
    customer = f"cus_{uuid.uuid4().hex}"
    event = send(m, str(value) if as_text else value, customer=customer)
    assert event.payload["value"] == str(value)
    assert total(m, meter, clock, customer) == value


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(valid_values(), min_size=1, max_size=20))
def test_sum_is_exact(m: Metering, meter: Meter, clock: ManualClock, values: list[Decimal]) -> None:
    """The sum of many values equals their exact rational sum, whatever their scales."""
    customer = f"cus_{uuid.uuid4().hex}"
    for value in values:
        send(m, str(value), customer=customer)
    assert Fraction(total(m, meter, clock, customer)) == sum(map(Fraction, values))
