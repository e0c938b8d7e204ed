"""The error model: every class has its Stripe type, and to_dict gives Stripe's envelopes."""

from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import meterlib
from meterlib import errors
from meterlib.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequestError,
    MeterlibError,
    StorageError,
)
from tests.v2 import schemas

EXPECTED_TYPES: dict[type[MeterlibError], tuple[str, int]] = {
    MeterlibError: ("api_error", 400),
    InvalidRequestError: ("invalid_request_error", 400),
    AuthenticationError: ("temporary_session_expired", 401),
    ConfigurationError: ("api_error", 500),
    StorageError: ("api_error", 500),
}
"""Each error class's Stripe type and default HTTP status."""


def error_classes() -> set[type[MeterlibError]]:
    """Every MeterlibError class meterlib.errors defines."""
    found: set[type[MeterlibError]] = set()
    pending: list[type[MeterlibError]] = [MeterlibError]
    while pending:
        cls = pending.pop()
        if cls.__module__ == "meterlib.errors":
            found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def sdk_error_class(status: int, envelope: dict[str, Any], api_mode: Literal["v1", "v2"]) -> str:
    """The stripe SDK's error class for a response, as stripe-sdk.md section 7 describes it."""
    error = envelope["error"]
    if api_mode == "v2":
        special = {
            "idempotency_error": "IdempotencyError",
            "rate_limit": "RateLimitError",
            "temporary_session_expired": "TemporarySessionExpiredError",
        }
        if error.get("type") in special:
            return special[error["type"]]
    if status == 429 or (status == 400 and error.get("code") == "rate_limit"):
        return "RateLimitError"
    if status in (400, 404):
        if error.get("type") == "idempotency_error":
            return "IdempotencyError"
        return "InvalidRequestError"
    return {401: "AuthenticationError", 402: "CardError", 403: "PermissionError"}.get(
        status, "APIError"
    )


codes = st.sampled_from(
    ["resource_missing", "parameter_missing", "no_meter", "payload_invalid_value", "storage_full"]
)


@st.composite
def meterlib_errors(draw: st.DrawFn) -> MeterlibError:
    """An error of any class, with any message and an optional code, param and type."""
    cls = draw(st.sampled_from(sorted(error_classes(), key=lambda cls: cls.__name__)))
    return cls(
        draw(st.text(max_size=30)),
        code=draw(st.none() | codes),
        param=draw(st.none() | st.sampled_from(["event_name", "payload[value]"])),
        type=draw(st.none() | st.sampled_from(["api_error", "invalid_request_error"])),
    )


def test_every_error_class_has_its_type_and_status() -> None:
    """Each MeterlibError class sets its own Stripe type, and the table names every class."""
    assert error_classes() == set(EXPECTED_TYPES)
    for cls, (error_type, status) in EXPECTED_TYPES.items():
        assert "type" in vars(cls), cls
        assert (cls.type, cls.http_status) == (error_type, status), cls


def test_type_is_overridable_per_instance() -> None:
    """An instance can carry another type than its class, e.g. a v2 idempotency error."""
    error = InvalidRequestError("again", code="idempotency_key_in_use", type="idempotency_error")
    assert error.type == "idempotency_error"
    assert InvalidRequestError.type == "invalid_request_error"
    assert error.to_dict()["error"]["type"] == "idempotency_error"


@given(meterlib_errors())
def test_v1_envelope_matches_schema(error: MeterlibError) -> None:
    """Every error's v1 envelope is Stripe's v1 error object, as plain JSON, message included."""
    envelope = error.to_dict("v1")
    schemas.check(envelope, schemas.V1_ERROR)
    assert envelope["error"]["message"] == error.message
    assert json.loads(json.dumps(envelope)) == envelope


@given(meterlib_errors())
def test_v2_envelope_matches_schema(error: MeterlibError) -> None:
    """Every error's v2 envelope is Stripe's v2.error: code and message, no param."""
    envelope = error.to_dict("v2")
    schemas.check(envelope, schemas.V2_ERROR)
    assert envelope["error"]["type"] == error.type


def test_invalid_request_envelopes() -> None:
    """An invalid request gives Stripe's v1 and v2 envelopes; general codes carry a doc_url."""
    error = InvalidRequestError("No such meter: 'mtr_x'", code="resource_missing", param="id")
    doc_url = "https://stripe.com/docs/error-codes/resource-missing"
    assert error.to_dict() == {
        "error": {
            "code": "resource_missing",
            "doc_url": doc_url,
            "message": "No such meter: 'mtr_x'",
            "param": "id",
            "type": "invalid_request_error",
        }
    }
    assert error.to_dict("v2") == {
        "error": {
            "code": "resource_missing",
            "doc_url": doc_url,
            "message": "No such meter: 'mtr_x'",
            "type": "invalid_request_error",
        }
    }


def test_meter_codes_have_no_doc_url() -> None:
    """Meter-specific and meterlib's own codes get no doc_url; empty keys are left out."""
    error = InvalidRequestError("No meter", code="no_meter", param="event_name")
    assert error.to_dict() == {
        "error": {
            "code": "no_meter",
            "message": "No meter",
            "param": "event_name",
            "type": "invalid_request_error",
        }
    }
    assert MeterlibError("boom").to_dict() == {"error": {"message": "boom", "type": "api_error"}}


def test_storage_error_envelopes() -> None:
    """A storage failure is an api_error in both versions; v2 still has a code."""
    error = StorageError("SQLite: disk I/O error", code="storage_failure")
    assert error.to_dict()["error"] == {
        "code": "storage_failure",
        "message": "SQLite: disk I/O error",
        "type": "api_error",
    }
    assert StorageError("gone").to_dict("v2")["error"] == {
        "code": "api_error",
        "message": "gone",
        "type": "api_error",
    }


def test_session_expired_v2_envelope() -> None:
    """An unknown or expired session token gives the stream's 401 session-expired envelope."""
    error = AuthenticationError()
    envelope = error.to_dict("v2")
    schemas.check(envelope, schemas.V2_SESSION_EXPIRED_ERROR)
    assert envelope == {
        "error": {
            "code": "billing_meter_event_session_expired",
            "doc_url": errors.SESSION_EXPIRED_DOC_URL,
            "message": "The temporary session token has expired.",
            "type": "temporary_session_expired",
        }
    }
    assert (error.http_status, error.code, error.param) == (
        401,
        "billing_meter_event_session_expired",
        None,
    )


def test_session_expired_v1_envelope() -> None:
    """In a v1 envelope the session error is an invalid_request_error, as v1 sends for 401s."""
    envelope = AuthenticationError("Unknown session token").to_dict("v1")
    schemas.check(envelope, schemas.V1_ERROR)
    assert envelope["error"]["type"] == "invalid_request_error"
    assert envelope["error"]["code"] == "billing_meter_event_session_expired"


@pytest.mark.parametrize(
    ("error", "api_mode", "sdk_class"),
    [
        (
            InvalidRequestError("x", code="no_meter", param="event_name"),
            "v1",
            "InvalidRequestError",
        ),
        (
            InvalidRequestError("x", code="no_meter", param="event_name"),
            "v2",
            "InvalidRequestError",
        ),
        (
            InvalidRequestError("x", code="resource_missing", http_status=404),
            "v1",
            "InvalidRequestError",
        ),
        (StorageError("x", code="storage_locked"), "v1", "APIError"),
        (StorageError("x", code="storage_locked"), "v2", "APIError"),
        (ConfigurationError("x", code="storage_url_invalid"), "v2", "APIError"),
        (AuthenticationError(), "v2", "TemporarySessionExpiredError"),
        (AuthenticationError(), "v1", "AuthenticationError"),
    ],
)
def test_sdk_raises_the_matching_class(
    error: MeterlibError, api_mode: Literal["v1", "v2"], sdk_class: str
) -> None:
    """The SDK's error class for each envelope and status is the one meterlib's class mirrors."""
    assert sdk_error_class(error.http_status, error.to_dict(api_mode), api_mode) == sdk_class


def test_unknown_api_version_is_refused() -> None:
    """to_dict takes only "v1" or "v2"."""
    with pytest.raises(ValueError, match="api_version"):
        InvalidRequestError("x").to_dict("v3")  # type: ignore[arg-type]


def test_existing_behaviour_is_kept() -> None:
    """Message, code, param, status and str() are as before; the new fields default sensibly."""
    error = InvalidRequestError("bad", code="parameter_missing", param="payload", http_status=402)
    assert (error.message, error.code, error.param, error.http_status) == (
        "bad",
        "parameter_missing",
        "payload",
        402,
    )
    assert str(error) == "bad (code=parameter_missing, param=payload)"
    assert error.doc_url == "https://stripe.com/docs/error-codes/parameter-missing"
    assert InvalidRequestError("x", doc_url="https://example.test/x").doc_url == (
        "https://example.test/x"
    )


def test_authentication_error_is_exported() -> None:
    """AuthenticationError is public: importable from meterlib and listed in __all__."""
    assert meterlib.AuthenticationError is AuthenticationError
    assert "AuthenticationError" in meterlib.__all__
    assert issubclass(AuthenticationError, MeterlibError)
