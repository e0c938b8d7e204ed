"""The request-level rules the server calls (``meterlib.validation.requests``)."""

from __future__ import annotations

import base64

import pytest

from meterlib import ConfigurationError, InvalidRequestError
from meterlib import validation as rules
from meterlib.storage import IdempotencyRecord


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Bearer sk_test_1", "sk_test_1"),
        ("bearer  sk_test_1 ", "sk_test_1"),
        ("Basic " + base64.b64encode(b"sk_test_2:").decode(), "sk_test_2"),
    ],
)
def test_keys_are_read_from_bearer_and_basic_auth(header: str, key: str) -> None:
    """Bearer and Basic auth (key as user name) both give the key."""
    assert rules.api_key_from(header) == key


@pytest.mark.parametrize("header", [None, "", "Bearer", "Token sk_test_1", "Basic !!!"])
def test_no_usable_key_is_a_401(header: str | None) -> None:
    """A missing or unreadable Authorization header is a 401 that says how to send a key."""
    with pytest.raises(InvalidRequestError) as raised:
        rules.api_key_from(header)
    assert raised.value.http_status == 401
    assert "Authorization" in raised.value.message


def test_a_wrong_key_is_a_401_showing_only_its_ends() -> None:
    """Another key is a 401 whose message masks all but its start and last four."""
    with pytest.raises(InvalidRequestError) as raised:
        rules.check_api_key("sk_test_abcdefghijklmnop", "sk_test_right")
    assert raised.value.http_status == 401
    assert "sk_test_" in raised.value.message
    assert raised.value.message.endswith("mnop")
    assert "ijkl" not in raised.value.message
    rules.check_api_key("sk_test_right", "sk_test_right")


@pytest.mark.parametrize("key", ["sk_live_1", "sk_test_", "pk_test_1", "sk_test_a b", 5, None])
def test_only_test_secret_keys_configure_a_server(key: object) -> None:
    """A server's key must be sk_test_ and printable ASCII: else api_key_invalid."""
    with pytest.raises(ConfigurationError) as raised:
        rules.validate_api_key(key)
    assert raised.value.code == "api_key_invalid"


def test_unknown_params_are_named() -> None:
    """The first parameter an endpoint lacks is parameter_unknown on that parameter."""
    with pytest.raises(InvalidRequestError) as raised:
        rules.check_known_params({"limit": 1, "colour": "red"}, ("limit",))
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "colour")


@pytest.mark.parametrize(
    ("value", "code", "param"),
    [("x", "parameter_invalid_type", "expand"), (["a", ""], "parameter_invalid_string_empty",
     "expand[1]"), (["a" * 5001], "parameter_invalid_string_length", "expand[0]")],
)  # fmt: skip
def test_expand_is_a_list_of_strings(value: object, code: str, param: str) -> None:
    """Expand must be a list of non-empty strings of at most 5000 characters."""
    with pytest.raises(InvalidRequestError) as raised:
        rules.validate_expand(value)
    assert (raised.value.code, raised.value.param) == (code, param)


@pytest.mark.parametrize("key", ["", " ", "k" * 256, "a\nb", 7])
def test_bad_idempotency_keys(key: object) -> None:
    """An Idempotency-Key is 1 to 255 printable characters: else idempotency_key_invalid."""
    with pytest.raises(InvalidRequestError) as raised:
        rules.validate_idempotency_key(key)
    assert (raised.value.code, raised.value.type) == (
        "idempotency_key_invalid",
        "idempotency_error",
    )


def test_a_replay_must_be_the_same_request_and_answered() -> None:
    """Another request is a 400 idempotency_error; the same one still running a 409."""
    pending = IdempotencyRecord(key="k", fingerprint="f", created=0)
    with pytest.raises(InvalidRequestError) as other:
        rules.check_replay(pending, "g")
    assert (other.value.http_status, other.value.type) == (400, "idempotency_error")
    with pytest.raises(InvalidRequestError) as running:
        rules.check_replay(pending, "f")
    assert (running.value.http_status, running.value.code) == (409, "idempotency_key_in_use")
    rules.check_replay(IdempotencyRecord(key="k", fingerprint="f", created=0, status=200), "f")


def test_only_successes_are_kept_for_replay() -> None:
    """2xx answers are replayed; 4xx and 5xx are not."""
    assert [rules.is_replayed(status) for status in (200, 299, 400, 404, 409, 500)] == [
        True, True, False, False, False, False
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "code"),
    [(-1, "parameter_invalid_number"), (float("nan"), "parameter_invalid_number"),
     (float("inf"), "parameter_invalid_number"), ("60", "parameter_invalid_type"),
     (True, "parameter_invalid_type")],
)  # fmt: skip
def test_a_served_clock_only_moves_forward(seconds: object, code: str) -> None:
    """Advancing takes a finite number of seconds, 0 or more."""
    with pytest.raises(InvalidRequestError) as raised:
        rules.validate_clock_advance(seconds)
    assert (raised.value.code, raised.value.param) == (code, "seconds")
    assert rules.validate_clock_advance(1.5) == 1.5


def test_retry_hints() -> None:
    """A duplicate is never worth retrying; a key in use is; other errors give no hint."""
    hints = [
        rules.should_retry(InvalidRequestError("m", code=code))
        for code in ("duplicate_meter_event", "idempotency_key_in_use", "no_meter")
    ]
    assert hints == [False, True, None]


def test_unrecognized_requests_and_large_bodies() -> None:
    """An unknown route is a 404 naming method and path; a large body a 413."""
    with pytest.raises(InvalidRequestError) as route:
        rules.unrecognized_request("PUT", "/v1/x")
    assert (route.value.http_status, route.value.code) == (404, None)
    assert "(PUT: /v1/x)" in route.value.message
    with pytest.raises(InvalidRequestError) as large:
        rules.request_too_large(10)
    assert (large.value.http_status, large.value.code) == (413, "request_too_large")
