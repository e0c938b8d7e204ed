"""Decoding Stripe's bracket notation and JSON bodies into the values the API takes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib import InvalidRequestError
from meterlib.server.forms import parse_clock_body, parse_form, parse_json, parse_query


def test_nested_hashes_lists_and_integers() -> None:
    """Brackets nest hashes, indexed expand entries make a list, typed ints become ints."""
    body = (
        b"event_name=api&payload[stripe_customer_id]=cus_1&payload[value]=25"
        b"&expand[1]=b&expand[0]=a&timestamp=1700000000&identifier=007"
    )
    assert parse_form(body) == {
        "event_name": "api",
        "payload": {"stripe_customer_id": "cus_1", "value": "25"},
        "expand": ["a", "b"],
        "timestamp": 1_700_000_000,
        "identifier": "007",
    }


def test_payload_keys_that_look_like_indexes_stay_a_hash() -> None:
    """Only array parameters become lists: payload[0] is a payload key."""
    assert parse_form(b"payload[0]=x") == {"payload": {"0": "x"}}


def test_queries_decode_percent_encoded_brackets_and_escapes() -> None:
    """GET queries arrive with %5B/%5D and form escapes; both decode."""
    query = b"expand%5B0%5D=x&display_name=%C3%BC+%26+%3D&limit=3&types%5B%5D=t"
    assert parse_query(query) == {
        "expand": ["x"],
        "display_name": "\u00fc & =",
        "limit": 3,
        "types": ["t"],
    }


def test_a_non_integer_stays_text_for_the_api_to_refuse() -> None:
    """limit=ten is passed on as text: the API's own rule names the error."""
    assert parse_query(b"limit=ten&start_time=1.5") == {"limit": "ten", "start_time": "1.5"}


@pytest.mark.parametrize(
    "body",
    [b"a]=1", b"a[b=1", b"[a]=1", b"a=1&a=2", b"a=1&a[b]=2", b"a[b]=1&a=2", b"a[][x]=1&a[y]=2",
     b"a" + b"[x]" * 9 + b"=1", b"\xff=1", b"a=%ff"],
)  # fmt: skip
def test_malformed_forms_are_request_malformed(body: bytes) -> None:
    """Bad brackets, repeats, clashes, deep nesting and bad UTF-8 are request_malformed (400)."""
    with pytest.raises(InvalidRequestError) as raised:
        parse_form(body)
    assert (raised.value.code, raised.value.http_status) == ("request_malformed", 400)


def test_json_keeps_decimals_exact_and_reads_empty_as_empty() -> None:
    """JSON fractions are Decimals (0.1 stays 0.1); an empty body is {}."""
    assert parse_json(b'{"value": 0.1, "n": 25}') == {"value": Decimal("0.1"), "n": 25}
    assert parse_json(b"  ") == {}


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'"x"', b'{"a": NaN}', b'{"a": Infinity}', b"1" * 5000, b"[" * 100_000]
)
def test_malformed_json_is_request_malformed(body: bytes) -> None:
    """Invalid JSON, a non-object, NaN, huge ints and deep nesting are request_malformed."""
    with pytest.raises(InvalidRequestError) as raised:
        parse_json(body)
    assert raised.value.code == "request_malformed"


def test_the_clock_body_is_json_or_a_form() -> None:
    """The clock route reads JSON (fractions as floats) or a form (what raw_request sends)."""
    assert parse_clock_body(b'{"seconds": 1.5}', "application/json; charset=utf-8") == {
        "seconds": 1.5
    }
    assert parse_clock_body(b"seconds=60", "application/x-www-form-urlencoded") == {"seconds": 60}


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_request_malformed(body: bytes) -> None:
    """No input makes the decoders raise anything but request_malformed."""
    for parse in (parse_form, parse_json, parse_query):
        try:
            parse(body)
        except InvalidRequestError as error:
            assert error.code == "request_malformed"
