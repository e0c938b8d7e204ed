"""Every documented error over HTTP: the SDK's own class, code, param and status, in Stripe's shape.

One served store for the module: an error changes nothing, so the rows cannot disturb each other
(and `test_the_store_is_unchanged_by_every_row` checks that too).
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable, Iterator
from email.message import Message
from typing import Any

import pytest
import stripe

from meterlib import ManualClock, Metering
from meterlib.server import StripeServer, running, stripe_client
from tests.server import schemas
from tests.server.conftest import API_KEY, START, event_params, meter_params

NOON = 1_773_144_000
Call = Callable[[StripeServer], object]


@pytest.fixture(scope="module")
def stocked() -> Iterator[StripeServer]:
    """A served store with an active ``api_calls`` meter, an inactive ``old`` one, an event."""
    with Metering(clock=ManualClock(START)) as metering, running(metering) as url:
        client = stripe_client(url, API_KEY)
        client.v1.billing.meters.create(meter_params())
        old = client.v1.billing.meters.create(meter_params("old"))
        client.v1.billing.meters.deactivate(old.id)
        client.v1.billing.meter_events.create(event_params(identifier="dup"))
        yield StripeServer(url=url, api_key=API_KEY, metering=metering, client=client)


def _meter_id(served: StripeServer) -> str:
    meter = served.metering.storage.get_meter_by_event_name("api_calls")
    assert meter is not None
    return meter.id


def v1_event(**payload: Any) -> Call:
    """A v1 meter event of `payload` (keyword ``event_name`` overrides the name)."""
    name = payload.pop("event_name", "api_calls")
    return lambda s: s.client.v1.billing.meter_events.create(
        {"event_name": name, "payload": payload}
    )


def summaries(**params: Any) -> Call:
    """A summary listing of the active meter for cus_1 from noon for an hour, with `params`."""
    query = {"customer": "cus_1", "start_time": NOON, "end_time": NOON + 3_600, **params}
    query = {key: value for key, value in query.items() if value is not None}
    return lambda s: s.client.v1.billing.meters.event_summaries.list(_meter_id(s), query)


def v2_event(**payload: Any) -> Call:
    """A v2 meter event of `payload` (keyword ``event_name`` overrides the name)."""
    name = payload.pop("event_name", "api_calls")
    return lambda s: s.client.v2.billing.meter_events.create(
        {"event_name": name, "payload": payload}
    )


def _stream(events: list[dict[str, Any]]) -> Call:
    def call(s: StripeServer) -> object:
        token = s.client.v2.billing.meter_event_session.create().authentication_token
        return s.client_for(token).v2.billing.meter_event_stream.create({"events": events})

    return call


CUS = {"stripe_customer_id": "cus_1"}
INVALID = stripe.InvalidRequestError
ROWS: list[Any] = [
    # meters
    ("display_name missing", lambda s: s.client.v1.billing.meters.create(
        {"event_name": "x", "default_aggregation": {"formula": "sum"}}),
     INVALID, 400, "parameter_missing", "display_name"),
    ("formula unknown", lambda s: s.client.v1.billing.meters.create(
        meter_params("x", default_aggregation={"formula": "max"})),
     INVALID, 400, "parameter_invalid_enum", "default_aggregation[formula]"),
    ("settings key unknown", lambda s: s.client.v1.billing.meters.create(
        meter_params("x", value_settings={"event_payload_key": "v", "x": "1"})),
     INVALID, 400, "parameter_unknown", "value_settings[x]"),
    ("top-level param unknown", lambda s: s.client.v1.billing.meters.create(
        meter_params("x", colour="red")),
     INVALID, 400, "parameter_unknown", "colour"),
    ("event name taken", lambda s: s.client.v1.billing.meters.create(meter_params()),
     INVALID, 400, "resource_already_exists", "event_name"),
    ("window unknown", lambda s: s.client.v1.billing.meters.create(
        meter_params("x", event_time_window="week")),
     INVALID, 400, "parameter_invalid_enum", "event_time_window"),
    ("meter missing", lambda s: s.client.v1.billing.meters.retrieve("mtr_nope"),
     INVALID, 404, "resource_missing", "id"),
    ("update of a missing meter", lambda s: s.client.v1.billing.meters.update(
        "mtr_nope", {"display_name": "x"}),
     INVALID, 404, "resource_missing", "id"),
    ("display name too long", lambda s: s.client.v1.billing.meters.update(
        _meter_id(s), {"display_name": "x" * 251}),
     INVALID, 400, "parameter_invalid_string_length", "display_name"),
    ("limit not an integer", lambda s: s.client.v1.billing.meters.list({"limit": "ten"}),
     INVALID, 400, "parameter_invalid_integer", "limit"),
    ("limit over 100", lambda s: s.client.v1.billing.meters.list({"limit": 101}),
     INVALID, 400, "parameter_invalid_integer", "limit"),
    ("both cursors", lambda s: s.client.v1.billing.meters.list(
        {"starting_after": "a", "ending_before": "b"}),
     INVALID, 400, "parameters_exclusive", "ending_before"),
    ("cursor not in the list", lambda s: s.client.v1.billing.meters.list(
        {"starting_after": "mtr_nope"}),
     INVALID, 404, "resource_missing", "starting_after"),
    ("status unknown", lambda s: s.client.v1.billing.meters.list({"status": "gone"}),
     INVALID, 400, "parameter_invalid_enum", "status"),
    ("expand not a list", lambda s: s.client.v1.billing.meters.retrieve(
        _meter_id(s), {"expand": "x"}),
     INVALID, 400, "parameter_invalid_type", "expand"),
    # v1 meter events
    ("no meter", v1_event(event_name="nope", **CUS, value="1"),
     INVALID, 400, "no_meter", "event_name"),
    ("archived meter", v1_event(event_name="old", **CUS, value="1"),
     INVALID, 400, "archived_meter", "event_name"),
    ("payload missing", lambda s: s.client.v1.billing.meter_events.create(
        {"event_name": "api_calls"}),
     INVALID, 400, "parameter_missing", "payload"),
    ("customer missing", v1_event(value="1"),
     INVALID, 400, "payload_no_customer_defined", "payload[stripe_customer_id]"),
    ("value missing", v1_event(**CUS),
     INVALID, 400, "payload_no_value_defined", "payload[value]"),
    ("value not a number", v1_event(**CUS, value="ten"),
     INVALID, 400, "payload_invalid_value", "payload[value]"),
    ("value of 16 digits", v1_event(**CUS, value="1234567890.123456"),
     INVALID, 400, "meter_event_value_too_many_digits", "payload[value]"),
    ("payload value over 100 characters", v1_event(**CUS, value="1", note="x" * 101),
     INVALID, 400, "parameter_invalid_string_length", "payload[note]"),
    ("timestamp not a time", lambda s: s.client.v1.billing.meter_events.create(
        event_params(timestamp="soon")),
     INVALID, 400, "parameter_invalid_timestamp", "timestamp"),
    ("timestamp in the future", lambda s: s.client.v1.billing.meter_events.create(
        event_params(timestamp=NOON + 301)),
     INVALID, 400, "timestamp_in_future", "timestamp"),
    ("timestamp too far in the past", lambda s: s.client.v1.billing.meter_events.create(
        event_params(timestamp=NOON - 35 * 86_400 - 1)),
     INVALID, 400, "timestamp_too_far_in_past", "timestamp"),
    ("identifier too long", lambda s: s.client.v1.billing.meter_events.create(
        event_params(identifier="i" * 101)),
     INVALID, 400, "parameter_invalid_string_length", "identifier"),
    ("duplicate identifier", lambda s: s.client.v1.billing.meter_events.create(
        event_params(identifier="dup")),
     INVALID, 400, "duplicate_meter_event", "identifier"),
    # adjustments
    ("cancel of an unknown event", lambda s: s.client.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "nope"}}),
     INVALID, 404, "resource_missing", "cancel[identifier]"),
    ("cancel under another name", lambda s: s.client.v1.billing.meter_event_adjustments.create(
        {"event_name": "old", "type": "cancel", "cancel": {"identifier": "dup"}}),
     INVALID, 400, "invalid_cancel_configuration", "event_name"),
    ("adjustment type unknown", lambda s: s.client.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "refund", "cancel": {"identifier": "dup"}}),
     INVALID, 400, "parameter_invalid_enum", "type"),
    ("cancel missing", lambda s: s.client.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel"}),
     INVALID, 400, "parameter_missing", "cancel"),
    # summaries
    ("summary customer missing", summaries(customer=None),
     INVALID, 400, "parameter_missing", "customer"),
    ("summary start missing", summaries(start_time=None),
     INVALID, 400, "parameter_missing", "start_time"),
    ("summary range empty", summaries(end_time=NOON),
     INVALID, 400, "parameter_invalid_range", "end_time"),
    ("summary not minute-aligned", summaries(start_time=NOON + 1),
     INVALID, 400, "timestamp_not_aligned", "start_time"),
    ("summary not hour-aligned", summaries(end_time=NOON + 60, value_grouping_window="hour"),
     INVALID, 400, "timestamp_not_aligned", "end_time"),
    ("grouping window unknown", summaries(value_grouping_window="week"),
     INVALID, 400, "parameter_invalid_enum", "value_grouping_window"),
    ("summary cursor unknown", summaries(starting_after="mtrusg_nope"),
     INVALID, 404, "resource_missing", "starting_after"),
    ("summaries of a missing meter", lambda s: s.client.v1.billing.meters.event_summaries.list(
        "mtr_nope", {"customer": "c", "start_time": NOON, "end_time": NOON + 60}),
     INVALID, 404, "resource_missing", "id"),
    # v2
    ("v2 no meter", v2_event(event_name="nope", **CUS, value="1"),
     INVALID, 400, "no_meter", None),
    ("v2 archived meter", v2_event(event_name="old", **CUS, value="1"),
     INVALID, 400, "archived_meter", None),
    ("v2 customer missing", v2_event(value="1"),
     INVALID, 400, "payload_no_customer_defined", None),
    ("v2 value missing", v2_event(**CUS), INVALID, 400, "payload_no_value_defined", None),
    ("v2 value invalid", v2_event(**CUS, value="x"), INVALID, 400, "payload_invalid_value", None),
    ("v2 duplicate", lambda s: s.client.v2.billing.meter_events.create(
        event_params(identifier="dup")),
     INVALID, 400, "duplicate_meter_event", None),
    ("v2 cancel under another name", lambda s: s.client.v2.billing.meter_event_adjustments.create(
        {"event_name": "old", "type": "cancel", "cancel": {"identifier": "dup"}}),
     INVALID, 400, "invalid_cancel_configuration", None),
    ("v2 param unknown", lambda s: s.client.v2.billing.meter_events.create(
        event_params(extra=1)),
     INVALID, 400, "parameter_unknown", None),
    ("session with a body", lambda s: s.client.v2.billing.meter_event_session.create(
        {"ttl": 5}),
     INVALID, 400, "parameter_unknown", None),
    ("stream of 101 events", _stream([event_params()] * 101),
     INVALID, 400, "parameter_invalid_length", None),
    ("stream with an unknown token", lambda s: s.client_for(
        "mtrtok_nope").v2.billing.meter_event_stream.create({"events": []}),
     stripe.TemporarySessionExpiredError, 401, "billing_meter_event_session_expired", None),
    ("stream with the API key", lambda s: s.client.v2.billing.meter_event_stream.create(
        {"events": []}),
     stripe.TemporarySessionExpiredError, 401, "billing_meter_event_session_expired", None),
    ("log event missing", lambda s: s.client.v2.core.events.retrieve("evt_nope"),
     INVALID, 404, "resource_missing", None),
    ("log page token bad", lambda s: s.client.v2.core.events.list(
        {"page": "x"}),
     INVALID, 400, "parameter_invalid_string", None),
    ("log types too many", lambda s: s.client.v2.core.events.list(
        {"types": [f"t{i}" for i in range(21)]}),
     INVALID, 400, "parameter_invalid_length", None),
    # auth, routes
    ("session token on v1", lambda s: s.client_for(
        s.client.v2.billing.meter_event_session.create().authentication_token
    ).v1.billing.meters.list(),
     stripe.AuthenticationError, 401, None, None),
    ("wrong API key on v2", lambda s: s.client_for("sk_test_wrong").v2.billing.meter_events.create(
        event_params()),
     stripe.AuthenticationError, 401, None, None),
    ("unknown route", lambda s: s.client.raw_request("get", "/v1/billing/meterz"),
     INVALID, 404, None, None),
    ("unknown v2 route", lambda s: s.client.raw_request("post", "/v2/billing/meterz"),
     INVALID, 404, None, None),
    ("clock advance not a number", lambda s: s.client.raw_request(
        "post", "/_meterlib/clock/advance", seconds="soon"),
     INVALID, 400, "parameter_invalid_type", "seconds"),
]  # fmt: skip
V2_ROWS = {row[0] for row in ROWS if row[0].startswith(("v2 ", "stream", "session with", "log "))}
V2_ROWS |= {"wrong API key on v2", "unknown v2 route"}


@pytest.mark.parametrize(
    ("call", "kind", "status", "code", "param"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
def test_each_error_is_the_sdks_own_class(  # noqa: PLR0917 -- one parameter per column
    request: pytest.FixtureRequest,
    stocked: StripeServer,
    call: Call,
    kind: type[stripe.StripeError],
    status: int,
    code: str | None,
    param: str | None,
) -> None:
    """The error is raised as the SDK's class, with Stripe's code, param, status and envelope."""
    with pytest.raises(stripe.StripeError) as raised:
        call(stocked)
    error = raised.value
    assert type(error) is kind
    assert error.http_status == status
    assert error.error is not None
    v2 = request.node.callspec.id in V2_ROWS
    # a v2 error without a code of its own sends its type as the code (v2 requires one)
    assert error.error.code == (code or ("invalid_request_error" if v2 else None))
    assert getattr(error.error, "param", None) == param
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    schemas.check(error.json_body, schemas.V2_ERROR if v2 else schemas.V1_ERROR)


def test_the_store_is_unchanged_by_every_row(stocked: StripeServer) -> None:
    """After the error rows the store holds its two meters and one event, nothing more."""
    listed = stocked.client.v1.billing.meters.list()
    assert sorted(meter.event_name for meter in listed) == ["api_calls", "old"]
    assert stocked.metering.usage(_meter_id(stocked), "cus_1", NOON, NOON + 60) == 25


def _raw(
    stocked: StripeServer, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, Message, Any]:
    """One raw HTTP request: status, headers (case-insensitive) and JSON body."""
    host, port = stocked.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.headers, json.loads(response.read())
    finally:
        connection.close()


AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "v2"),
    [
        pytest.param("DELETE", "/v1/billing/meters", b"", AUTH, 404, False, id="unknown method"),
        pytest.param("PATCH", "/v2/core/events", b"", AUTH, 404, True, id="unknown v2 method"),
        pytest.param("GET", "/", b"", {}, 404, False, id="root"),
        pytest.param(
            "POST", "/v2/billing/meter_events", b"{nope", AUTH, 400, True, id="bad JSON"
        ),
        pytest.param(
            "POST", "/v2/billing/meter_events", b"[1, 2]", AUTH, 400, True, id="JSON not object"
        ),
        pytest.param(
            "POST", "/v2/billing/meter_events", b'{"a": NaN}', AUTH, 400, True, id="JSON NaN"
        ),
        pytest.param(
            "POST", "/v1/billing/meters", b"display_name]=x", AUTH, 400, False, id="bad brackets"
        ),
        pytest.param(
            "POST", "/v1/billing/meters", b"a=1&a[b]=2", AUTH, 400, False, id="value and hash"
        ),
        pytest.param("POST", "/v1/billing/meters", b"\xff", AUTH, 400, False, id="not UTF-8"),
        pytest.param("GET", "/v1/billing/meters", b"", {}, 401, False, id="no key"),
        pytest.param(
            "GET", "/v1/billing/meters", b"", {"Authorization": "Token x"}, 401, False,
            id="not bearer",
        ),
        pytest.param("GET", "/v1/billing/meters/%ff", b"", AUTH, 404, False, id="path not UTF-8"),
    ],
)  # fmt: skip
def test_bad_requests_get_stripe_shaped_errors(  # noqa: PLR0917 -- one parameter per column
    stocked: StripeServer,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    v2: bool,
) -> None:
    """Unknown routes and methods, bad bodies and bad auth: a JSON error with a Request-Id."""
    got, answered, envelope = _raw(stocked, method, path, body, **headers)
    assert got == status
    assert answered["Request-Id"].startswith("req_")
    assert answered["Content-Type"] == "application/json"
    schemas.check(envelope, schemas.V2_ERROR if v2 else schemas.V1_ERROR)


def test_basic_auth_with_the_key_as_user_name_is_accepted(stocked: StripeServer) -> None:
    """``curl -u sk_test_...:`` works as it does against Stripe."""
    import base64  # noqa: PLC0415 -- this test only

    token = base64.b64encode(f"{API_KEY}:".encode()).decode()
    status, _, listed = _raw(
        stocked, "GET", "/v1/billing/meters?limit=1", Authorization=f"Basic {token}"
    )
    assert (status, listed["object"]) == (200, "list")


def test_an_oversized_body_is_a_413_not_a_reset(stocked: StripeServer) -> None:
    """A body over 1 MiB gets a 413 in Stripe's shape (the SDK's APIError), read to its end."""
    big = {"event_name": "api_calls", "payload": {"stripe_customer_id": "c", "pad": "x" * 2**20}}
    with pytest.raises(stripe.APIError) as raised:
        stocked.client.v2.billing.meter_events.create(big)
    assert raised.value.http_status == 413
    schemas.check(raised.value.json_body, schemas.V2_ERROR)
    status, _, envelope = _raw(
        stocked, "POST", "/v1/billing/meters", b"x=" + b"y" * (2**20 + 1), **AUTH
    )
    assert (status, envelope["error"]["code"]) == (413, "request_too_large")


def test_unparsable_http_gets_a_json_400(stocked: StripeServer) -> None:
    """Bytes that are not HTTP get a Stripe-shaped 400 and a closed connection."""
    host, port = stocked.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"request-id: req_" in head.lower()
    schemas.check(json.loads(payload), schemas.V1_ERROR)
