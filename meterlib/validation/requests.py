"""Stripe's rules for an API request as a whole: keys, parameters, idempotency, routes, size.

These are the rules Stripe applies before (and around) any resource's own: who may call, which
parameters an endpoint takes, what an ``Idempotency-Key`` replays, and what an unknown route or
a body too large or malformed gets. ``meterlib.server`` parses HTTP and calls these; the
messages follow Stripe's own where Stripe's are known.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Collection, Mapping
from typing import NoReturn

from meterlib.errors import ConfigurationError, InvalidRequestError, MeterlibError, describe
from meterlib.storage import IdempotencyRecord
from meterlib.validation.limits import MAX_EXPAND, MAX_IDEMPOTENCY_KEY, MAX_LIMIT
from meterlib.validation.params import fail, require_string

SECRET_KEY_PREFIX = "sk_test_"
"""The prefix of the only keys a local server takes: test-mode secret keys."""
_MAX_API_KEY = 255
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
)
_SHOWN_KEY_END = 4
_UNAUTHORIZED = 401


def validate_api_key(key: object) -> str:
    """The secret key a server is configured with: ``sk_test_`` and printable characters.

    Raises `ConfigurationError` (``api_key_invalid``, param ``api_key``) for anything else.

    >>> validate_api_key("sk_test_123")
    'sk_test_123'
    """
    text = str.__str__(key) if isinstance(key, str) else None
    if (
        text is None
        or not text.startswith(SECRET_KEY_PREFIX)
        or len(text) == len(SECRET_KEY_PREFIX)
        or len(text) > _MAX_API_KEY
        or not (text.isascii() and text.isprintable())
        or " " in text
    ):
        raise ConfigurationError(
            f"the API key must be {SECRET_KEY_PREFIX!r} followed by up to "
            f"{_MAX_API_KEY - len(SECRET_KEY_PREFIX)} printable ASCII characters; "
            f"got {describe(key)}",
            code="api_key_invalid",
            param="api_key",
        )
    return text


def api_key_from(authorization: str | None) -> str:
    """The key (or session token) an ``Authorization`` header carries: Bearer or Basic auth.

    Basic auth takes the key as the user name (``curl -u sk_test_...:``), as Stripe does.
    No usable header is a 401 telling how to send one.

    >>> api_key_from("Bearer sk_test_1")
    'sk_test_1'
    """
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        credentials = decoded.partition(":")[0]
    elif scheme.lower() != "bearer":
        credentials = ""
    if not credentials:
        raise InvalidRequestError(_NO_KEY, http_status=_UNAUTHORIZED)
    return credentials


def check_api_key(given: str, expected: str) -> None:
    """`given` must be the server's secret key; anything else (a session token too) is a 401.

    The message shows the key as Stripe does: its start and last four characters.
    """
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        shown = given[:8] + "*" * max(0, min(len(given), 40) - 8 - _SHOWN_KEY_END)
        raise InvalidRequestError(
            f"Invalid API Key provided: {shown}{given[-_SHOWN_KEY_END:]}",
            http_status=_UNAUTHORIZED,
        )


def check_known_params(params: Mapping[str, object], allowed: Collection[str]) -> None:
    """Every parameter must be one the endpoint takes: ``parameter_unknown`` on the first other.

    >>> check_known_params({"limit": 3}, ("limit", "starting_after"))
    """
    for name in params:
        if name not in allowed:
            shown = name if len(name) <= MAX_LIMIT else name[:MAX_LIMIT] + "..."
            fail(f"Received unknown parameter: {shown}", code="parameter_unknown", param=shown)


def validate_expand(value: object) -> list[str]:
    """``expand``: a list of field paths, each a string of at most 5000 characters.

    No field of the Billing Meters objects is expandable, so the list changes nothing in the
    answer (meterlib's decision: it is accepted as Stripe accepts the parameter everywhere).
    """
    if not isinstance(value, list):
        fail(
            f"expand must be a list of strings; got {describe(value)}",
            code="parameter_invalid_type",
            param="expand",
        )
    return [
        require_string(item, f"expand[{i}]", max_length=MAX_EXPAND) for i, item in enumerate(value)
    ]


def unrecognized_request(method: str, path: str) -> NoReturn:
    """A route (or method) the API does not have: 404, with Stripe's message.

    >>> unrecognized_request("GET", "/v1/nope")
    Traceback (most recent call last):
    ...
    meterlib.errors.InvalidRequestError: Unrecognized request URL (GET: /v1/nope).
    """
    shown = path if len(path) <= MAX_EXPAND else path[:MAX_EXPAND] + "..."
    raise InvalidRequestError(f"Unrecognized request URL ({method}: {shown}).", http_status=404)


def request_too_large(limit: int) -> NoReturn:
    """A body over the server's limit: 413 ``request_too_large``, nothing read further."""
    raise InvalidRequestError(
        f"The request body is larger than {limit} bytes.",
        code="request_too_large",
        http_status=413,
    )


def malformed_request(problem: str) -> NoReturn:
    """A body or query that does not parse (bad JSON, bad bracket notation): 400."""
    raise InvalidRequestError(
        f"The request could not be parsed: {problem}", code="request_malformed"
    )


def validate_idempotency_key(key: object) -> str:
    """An ``Idempotency-Key``: 1 to 255 printable characters.

    >>> validate_idempotency_key("3f0c-retry-1")
    '3f0c-retry-1'
    """
    text = str.__str__(key) if isinstance(key, str) else ""
    if not (0 < len(text) <= MAX_IDEMPOTENCY_KEY and text.isprintable() and text.strip()):
        raise InvalidRequestError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters; "
            f"got {describe(key)}",
            code="idempotency_key_invalid",
            type="idempotency_error",
        )
    return text


def request_fingerprint(request: str) -> str:
    """The digest a key remembers of its request (method, path and parameters, as text)."""
    return hashlib.sha256(request.encode("utf-8", "surrogatepass")).hexdigest()


def check_replay(found: IdempotencyRecord, fingerprint: str) -> None:
    """A key already used may only be replayed for the same request, once it has answered.

    Another request with the key: 400 ``idempotency_error`` (Stripe's message); the same
    request while the first still runs: 409 ``idempotency_key_in_use``.
    """
    if found.fingerprint != fingerprint:
        raise InvalidRequestError(
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than {found.key!r} if you meant to execute "
            "a different request.",
            type="idempotency_error",
        )
    if found.status is None:
        raise InvalidRequestError(
            "There is currently another in-progress request using this Idempotency-Key; "
            "retry later.",
            code="idempotency_key_in_use",
            type="idempotency_error",
            http_status=409,
        )


def is_replayed(status: int) -> bool:
    """Which answers a key keeps: the successful ones (2xx).

    A failed call changes nothing in meterlib, so running it again answers as replaying it
    would, unless the store changed meanwhile; Stripe, too, keeps no answer for a request that
    fails validation.
    """
    return 200 <= status < 300


def validate_clock_advance(seconds: object) -> int | float:
    """How far to move a served manual clock: a finite number of seconds, not negative.

    A clock that every client shares only moves forward, as Stripe's test clocks do.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        fail(
            f"seconds must be a number; got {describe(seconds)}",
            code="parameter_invalid_type",
            param="seconds",
        )
    amount = int.__int__(seconds) if isinstance(seconds, int) else float.__float__(seconds)
    if not (math.isfinite(amount) and amount >= 0):
        fail(
            f"seconds must be a finite number, 0 or more; got {describe(seconds)}",
            code="parameter_invalid_number",
            param="seconds",
        )
    return amount


def should_retry(error: MeterlibError) -> bool | None:
    """The ``Stripe-Should-Retry`` hint for an error: False where a retry cannot succeed.

    A repeated identifier stays a duplicate (Stripe sends ``false`` with it); a key in use
    answers once its first request has (``true``); None leaves it to the client.
    """
    if error.code == "duplicate_meter_event":
        return False
    if error.code == "idempotency_key_in_use":
        return True
    return None
