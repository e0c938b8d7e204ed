"""Fuzzed form and JSON bodies over HTTP: Stripe-shaped 4xx errors, and the store unchanged.

Every answer is JSON with a Request-Id, never a 5xx; every 4xx is Stripe's envelope and leaves
the store as it was (`store_state`). A body that happens to be valid may succeed (a random
display name makes a fine meter): such answers are only checked for their shape.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import ManualClock, Metering
from meterlib.server import StripeServer, running, stripe_client
from meterlib.testing.conformance.state import store_state
from tests.server import schemas
from tests.server.conftest import API_KEY, START, event_params, meter_params

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def target() -> Iterator[tuple[StripeServer, str]]:
    """A served store with one meter and one event."""
    with Metering(clock=ManualClock(START)) as metering, running(metering) as url:
        client = stripe_client(url, API_KEY)
        meter = client.v1.billing.meters.create(meter_params())
        client.v1.billing.meter_events.create(event_params(identifier="known"))
        served = StripeServer(url=url, api_key=API_KEY, metering=metering, client=client)
        yield served, meter.id


def state(served: StripeServer) -> Any:
    """What a failed request must not change."""
    return store_state(served.metering, identifiers=["known"], customers=["cus_1"])


def send(served: StripeServer, method: str, path: str, body: bytes, content_type: str) -> Any:
    """One raw request with the API key; checks the answer's shape and returns it."""
    host, port = served.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": content_type}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        status, text = response.status, response.read()
        assert response.headers["Request-Id"].startswith("req_")
    finally:
        connection.close()
    assert status < 500, text
    return status, json.loads(text)


NAMES = st.sampled_from(
    [
        "event_name",
        "display_name",
        "payload",
        "identifier",
        "timestamp",
        "type",
        "cancel",
        "default_aggregation",
        "customer_mapping",
        "value_settings",
        "event_time_window",
        "expand",
        "limit",
        "x",
        "",
    ]
)
SUBKEYS = st.sampled_from(
    ["", "0", "1", "value", "stripe_customer_id", "formula", "identifier", "type", "[", "]"]
)
TEXT = st.text(max_size=12) | st.sampled_from(["api_calls", "sum", "cancel", "25", "cus_1", "-1"])


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    """Form bodies: raw bytes, or bracket-notation fields of the API's names and junk values."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=64))
    fields = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(NAMES) + "".join(f"[{draw(SUBKEYS)}]" for _ in range(draw(st.integers(0, 3))))
        fields.append((key, draw(TEXT)))
    return urlencode(fields, safe="[]").encode()


V1_POSTS = [
    "/v1/billing/meters",
    "/v1/billing/meter_events",
    "/v1/billing/meter_event_adjustments",
    "/v1/billing/meters/{id}",
    "/v1/billing/meters/{id}/deactivate",
]


@FUZZ
@given(body=form_bodies(), route=st.sampled_from(V1_POSTS))
def test_fuzzed_form_bodies_get_stripe_errors(
    target: tuple[StripeServer, str], body: bytes, route: str
) -> None:
    """A fuzzed v1 form body: a v1 error envelope and an unchanged store, or a valid answer."""
    served, meter_id = target
    before = state(served)
    status, answer = send(
        served, "POST", route.format(id=meter_id), body, "application/x-www-form-urlencoded"
    )
    if status >= 400:
        schemas.check(answer, schemas.V1_ERROR)
        assert state(served) == before


@FUZZ
@given(query=form_bodies())
def test_fuzzed_summary_queries_get_stripe_errors(
    target: tuple[StripeServer, str], query: bytes
) -> None:
    """A fuzzed summary query string: a v1 error envelope, or a valid list."""
    served, meter_id = target
    path = f"/v1/billing/meters/{meter_id}/event_summaries?{quote(query, safe='=&')}"
    status, answer = send(served, "GET", path, b"", "text/plain")
    schemas.check(answer, schemas.V1_ERROR if status >= 400 else {"type": "object"})


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES | TEXT, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """JSON bodies: raw bytes, any JSON value, or objects of the API's names and junk values."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=64))
    if kind == 1:
        return json.dumps(draw(JSON_VALUES)).encode()
    return json.dumps(draw(st.dictionaries(NAMES, JSON_VALUES, min_size=1, max_size=5))).encode()


V2_POSTS = [
    "/v2/billing/meter_events",
    "/v2/billing/meter_event_adjustments",
    "/v2/billing/meter_event_stream",  # with the API key: always a 401
    "/_meterlib/clock/advance",
]


@FUZZ
@given(body=json_bodies(), route=st.sampled_from(V2_POSTS))
def test_fuzzed_json_bodies_get_stripe_errors(
    target: tuple[StripeServer, str], body: bytes, route: str
) -> None:
    """A fuzzed v2 JSON body: a v2 (or the clock's v1) error and an unchanged store."""
    served, _ = target
    before = state(served)
    now = served.metering.clock.now()
    status, answer = send(served, "POST", route, body, "application/json")
    if status >= 400:
        envelope = schemas.V1_ERROR if route.startswith("/_meterlib") else schemas.V2_ERROR
        schemas.check(answer, envelope)
        assert state(served) == before
        assert served.metering.clock.now() == now
    else:
        assert route != "/v2/billing/meter_event_stream"
        if route.startswith("/_meterlib"):  # a valid advance: put the clock back
            clock = served.metering.clock
            assert isinstance(clock, ManualClock)
            clock.set(now)
