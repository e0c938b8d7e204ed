"""The meterlib error hierarchy: every failure of the public API is a `MeterlibError`.

Each error class carries the Stripe error ``type`` it maps to, and ``to_dict()`` gives Stripe's
error envelope (``{"error": {...}}``) for the v1 or the v2 API. `ERROR_REPORT_CODES` maps the
codes the event rules raise to the codes Stripe's asynchronous error reports use.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

V1_ERROR_TYPES = frozenset(
    {"api_error", "card_error", "idempotency_error", "invalid_request_error"}
)
"""The ``type`` values of Stripe's v1 error object (``api_errors.type`` in the OpenAPI spec)."""

_STRIPE_ERROR_CODES_URL = "https://stripe.com/docs/error-codes/"
_STRIPE_DOCUMENTED_CODES = frozenset(
    {
        "parameter_invalid_integer",
        "parameter_invalid_string_blank",
        "parameter_invalid_string_empty",
        "parameter_missing",
        "parameter_unknown",
        "parameters_exclusive",
        "resource_already_exists",
        "resource_missing",
    }
)
"""Stripe's general error codes that meterlib raises; Stripe's error code list documents each."""
SESSION_EXPIRED_DOC_URL = "https://docs.stripe.com/api/v2/billing/meter-event-stream/create"
"""The ``doc_url`` of ``billing_meter_event_session_expired``.

Stripe's schema requires a ``doc_url`` on this error but publishes no value; meterlib points at
the API reference page that documents the error (meterlib's choice).
"""


def default_doc_url(code: str | None) -> str | None:
    """The ``doc_url`` Stripe sends with `code`, or None where Stripe documents no page for it.

    Stripe links its general codes to ``https://stripe.com/docs/error-codes/<code-with-dashes>``;
    meterlib's own codes and the meter-specific ones get none.

    >>> default_doc_url("resource_missing")
    'https://stripe.com/docs/error-codes/resource-missing'
    >>> default_doc_url("payload_invalid_value") is None
    True
    """
    if code == "billing_meter_event_session_expired":
        return SESSION_EXPIRED_DOC_URL
    if code in _STRIPE_DOCUMENTED_CODES:
        return _STRIPE_ERROR_CODES_URL + code.replace("_", "-")
    return None


class MeterlibError(Exception):
    """Base class of every error meterlib raises on purpose.

    Attributes mirror Stripe's error object: a human `message`, a machine `code`, the offending
    `param` (Stripe's bracket notation, e.g. ``payload[value]``), the `http_status` Stripe
    would answer with, the error `type` (each class sets its own; ``api_error``, Stripe's
    catch-all, here) and a `doc_url` (`default_doc_url` of the code unless given). `type`,
    `http_status` and `doc_url` can be overridden per instance.
    """

    http_status: int = 400
    type: str = "api_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        http_status: int | None = None,
        type: str | None = None,
        doc_url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        if http_status is not None:
            self.http_status = http_status
        if type is not None:
            self.type = type
        self.doc_url = doc_url if doc_url is not None else default_doc_url(code)

    def to_dict(self, api_version: Literal["v1", "v2"] = "v1") -> dict[str, Any]:
        """Stripe's error envelope for this error, as the v1 or the v2 API sends it.

        v1 (``api_errors``): ``type`` always, ``code``, ``doc_url``, ``message`` and ``param``
        when set; a type outside the v1 set (`V1_ERROR_TYPES`) is sent as
        ``invalid_request_error``, as Stripe's v1 API answers a rejected key (with a 401).
        v2 (``v2.error``): ``code`` and ``message`` always (an error without a code sends its
        type as the code, since v2 requires one), ``doc_url`` when set, and ``type``; v2 errors
        have no ``param``. Keys are in Stripe's (alphabetical) order.

        >>> error = InvalidRequestError("No meter", code="no_meter", param="event_name")
        >>> error.to_dict()["error"]  # doctest: +NORMALIZE_WHITESPACE
        {'code': 'no_meter', 'message': 'No meter', 'param': 'event_name',
         'type': 'invalid_request_error'}
        >>> error.to_dict("v2")["error"]
        {'code': 'no_meter', 'message': 'No meter', 'type': 'invalid_request_error'}
        """
        if api_version == "v1":
            body: dict[str, Any] = {
                "code": self.code,
                "doc_url": self.doc_url,
                "message": self.message,
                "param": self.param,
                "type": self.type if self.type in V1_ERROR_TYPES else "invalid_request_error",
            }
            return {"error": {key: value for key, value in body.items() if value is not None}}
        if api_version == "v2":
            body = {"code": self.code if self.code is not None else self.type}
            if self.doc_url is not None:
                body["doc_url"] = self.doc_url
            body["message"] = self.message
            body["type"] = self.type
            return {"error": body}
        raise ValueError(f"api_version must be 'v1' or 'v2'; got {describe(api_version)}")

    def __str__(self) -> str:
        details = ", ".join(
            f"{name}={value}"
            for name, value in (("code", self.code), ("param", self.param))
            if value
        )
        return f"{self.message} ({details})" if details else self.message


class InvalidRequestError(MeterlibError):
    """A request was rejected: bad parameters, an unknown resource, or a broken rule.

    Stripe type ``invalid_request_error``.
    """

    type = "invalid_request_error"


class AuthenticationError(MeterlibError):
    """A meter event session token is unknown or expired (the v2 meter event stream).

    Stripe's answer: HTTP 401, ``code`` ``billing_meter_event_session_expired``, ``type``
    ``temporary_session_expired`` (the SDK raises ``TemporarySessionExpiredError``), with a
    ``doc_url``. In a v1 envelope the type is ``invalid_request_error``, as Stripe's v1 API
    answers a rejected key; the 401 makes the SDK raise its ``AuthenticationError`` there.
    """

    http_status = 401
    type = "temporary_session_expired"

    def __init__(
        self,
        message: str = "The temporary session token has expired.",
        *,
        code: str | None = "billing_meter_event_session_expired",
        param: str | None = None,
        http_status: int | None = None,
        type: str | None = None,
        doc_url: str | None = None,
    ) -> None:
        super().__init__(
            message, code=code, param=param, http_status=http_status, type=type, doc_url=doc_url
        )


class ConfigurationError(MeterlibError):
    """meterlib was set up wrongly, e.g. with a storage URL whose scheme nobody registered.

    Stripe type ``api_error`` with HTTP 500: set-up happens before and outside any request, so
    to an API client it is a fault of the server it is talking to, never of its own request;
    Stripe sends ``api_error`` only with a 5xx, so the status follows the type.
    """

    http_status = 500
    type = "api_error"


class StorageError(MeterlibError):
    """The storage backend failed (locked, corrupt or foreign file, driver error).

    Stripe type ``api_error`` (a problem on the server's side), HTTP 500.
    """

    http_status = 500
    type = "api_error"


# --- asynchronous error reports --------------------------------------------------------------

ERROR_REPORT_TRIGGERED = "v1.billing.meter.error_report_triggered"
"""The event type of an error report about a known meter (``related_object`` is the meter)."""
NO_METER_FOUND = "v1.billing.meter.no_meter_found"
"""The event type of an error report about events that no meter matches."""

ERROR_REPORT_CODES: Mapping[str, str | None] = MappingProxyType(
    {
        # Stripe's own pairs (stripe-meters.md section 3.6): the synchronous v2 code and the
        # code of Stripe's asynchronous error reports for the same failure.
        "no_meter": "no_meter",
        "archived_meter": "archived_meter",
        "payload_no_customer_defined": "meter_event_no_customer_defined",
        "payload_no_value_defined": "meter_event_value_not_found",
        "payload_invalid_value": "meter_event_invalid_value",
        "meter_event_value_too_many_digits": "meter_event_value_too_many_digits",
        "timestamp_too_far_in_past": "timestamp_too_far_in_past",
        "timestamp_in_future": "timestamp_in_future",
        # Stripe reports no error for a repeated identifier: uniqueness absorbs retries, and
        # the repeat is dropped as one.
        "duplicate_meter_event": None,
        # Rules Stripe has no asynchronous code for keep their own code (Stripe's code is an
        # open enum); the report's sample error message names the param.
        "aggregation_missing": "aggregation_missing",
        "parameter_invalid_length": "parameter_invalid_length",
        "parameter_invalid_string": "parameter_invalid_string",
        "parameter_invalid_string_blank": "parameter_invalid_string_blank",
        "parameter_invalid_string_empty": "parameter_invalid_string_empty",
        "parameter_invalid_string_length": "parameter_invalid_string_length",
        "parameter_invalid_timestamp": "parameter_invalid_timestamp",
        "parameter_invalid_type": "parameter_invalid_type",
        "parameter_missing": "parameter_missing",
        "parameter_unknown": "parameter_unknown",
    }
)
"""Each code the event rules raise, and the code an asynchronous error report gives it.

The stream (``/v2/billing/meter_event_stream``) validates events after it answers, and reports
bad ones in ``v1.billing.meter.*`` events whose ``error_types[].code`` are these codes. It
lives here, with the error model, so validation, model and services can all read it without a
new import edge. None: Stripe reports nothing for that code. Which event type a report goes
into is `error_report`'s business: it also needs the param.
"""


class ErrorReport(NamedTuple):
    """Where an asynchronously validated event's error is reported: event type and code."""

    event_type: str
    code: str


def error_report(code: str, param: str | None) -> ErrorReport | None:
    """The error report an event rejected with `code` on `param` goes into; None for none.

    ``no_meter``, and any parameter rule broken by ``event_name`` itself (a name no meter can
    have: missing, empty, too long...), go into a ``v1.billing.meter.no_meter_found`` report as
    ``no_meter``; every other code into the meter's ``v1.billing.meter.error_report_triggered``
    report, with its `ERROR_REPORT_CODES` code. Raises `KeyError` for a code the table lacks.

    >>> error_report("payload_invalid_value", "payload[value]").code
    'meter_event_invalid_value'
    >>> error_report("parameter_invalid_string_empty", "event_name").event_type
    'v1.billing.meter.no_meter_found'
    """
    reported = ERROR_REPORT_CODES[code]
    if code == "no_meter" or (param == "event_name" and code.startswith("parameter_")):
        return ErrorReport(NO_METER_FOUND, "no_meter")
    if reported is None:
        return None
    return ErrorReport(ERROR_REPORT_TRIGGERED, reported)


_SHOWN_CHARACTERS = 40
_SHOWN_INT_BITS = 128


def describe(value: object) -> str:
    """A short description of any caller value for an error message, in bounded time.

    Never calls the value's own ``__repr__``/``__str__`` (a hostile or self-referencing object
    could raise or recurse) and never prints more than a few dozen characters of it.

    >>> describe("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (100 characters)"
    >>> describe(10**5000)
    'an int of 16610 bits'
    >>> describe([[1]])
    'a list'
    """
    if value is None or type(value) is bool:
        return repr(value)
    if isinstance(value, str):
        return _describe_text(str.__str__(value))
    if isinstance(value, int):
        number = int.__int__(value)
        bits = number.bit_length()
        return str(number) if bits <= _SHOWN_INT_BITS else f"an int of {bits} bits"
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, Decimal):
        return f"Decimal({_describe_text(Decimal.__str__(value))})"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _describe_text(text: str) -> str:
    if len(text) <= _SHOWN_CHARACTERS:
        return repr(text)
    return f"{text[:_SHOWN_CHARACTERS]!r}... ({len(text)} characters)"
