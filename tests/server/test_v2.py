"""The v2 Billing Meters API and event log over loopback HTTP, driven by the stripe SDK."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
import stripe

from meterlib.server import StripeServer
from tests.server import schemas
from tests.server.conftest import API_KEY, event_params, meter_params

NOON = 1_773_144_000
DAY = 86_400


def body(obj: Any) -> Any:
    """The JSON the server answered for an SDK object."""
    return obj.last_response.data


def advance(client: stripe.StripeClient, seconds: int) -> Any:
    """Move the served manual clock through ``POST /_meterlib/clock/advance``."""
    response = client.raw_request("post", "/_meterlib/clock/advance", seconds=seconds)
    return json.loads(response.body)


def stream_events(count: int, *, value: str = "1", start: int = 0) -> list[dict[str, Any]]:
    """`count` stream items of the ``api_calls`` meter with identifiers ``s<start+i>``."""
    return [
        {
            "event_name": "api_calls",
            "identifier": f"s{start + i}",
            "payload": {"stripe_customer_id": "cus_1", "value": value},
        }
        for i in range(count)
    ]


def usage(served: StripeServer, meter_id: str) -> Any:
    """cus_1's usage over the 35-day event window, read in process."""
    return served.metering.usage(meter_id, "cus_1", NOON - 35 * DAY, NOON + 40 * DAY)


def test_v2_meter_event_is_typed_and_in_the_v2_shape(served: StripeServer) -> None:
    """v2 meter_events.create answers a v2.billing.MeterEvent with RFC 3339 times."""
    served.client.v1.billing.meters.create(meter_params())
    event = served.client.v2.billing.meter_events.create(
        event_params(identifier="v2_1", timestamp="2026-03-10T11:59:30.250Z")
    )
    assert isinstance(event, stripe.v2.billing.MeterEvent)
    assert (event.timestamp, event.created) == (
        "2026-03-10T11:59:30.000Z",
        "2026-03-10T12:00:00.000Z",
    )
    schemas.check(body(event), schemas.V2_METER_EVENT)


def test_v2_json_numbers_and_unix_timestamps_are_taken(served: StripeServer) -> None:
    """A JSON number value stays exact and an int timestamp (the SDK's datetime) is Unix s."""
    meter = served.client.v1.billing.meters.create(meter_params())
    served.client.v2.billing.meter_events.create(
        {
            "event_name": "api_calls",
            "payload": {"stripe_customer_id": "cus_1", "value": 0.1},
            "timestamp": NOON - 60,
        }
    )
    assert str(usage(served, meter.id)) == "0.1"


def test_v2_adjustment_cancels_a_v1_event(served: StripeServer) -> None:
    """A v2 adjustment has an id and created, and cancels an event v1 recorded."""
    meter = served.client.v1.billing.meters.create(meter_params())
    served.client.v1.billing.meter_events.create(event_params("4", identifier="e1"))
    adjustment = served.client.v2.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "e1"}}
    )
    assert isinstance(adjustment, stripe.v2.billing.MeterEventAdjustment)
    assert adjustment.id.startswith("mtradj_test_")
    schemas.check(body(adjustment), schemas.V2_METER_EVENT_ADJUSTMENT)
    assert usage(served, meter.id) == 0


def test_a_session_token_streams_events(served: StripeServer) -> None:
    """A v2 session's token authenticates the stream; its events are counted exactly."""
    meter = served.client.v1.billing.meters.create(meter_params())
    session = served.client.v2.billing.meter_event_session.create()
    assert isinstance(session, stripe.v2.billing.MeterEventSession)
    schemas.check(body(session), schemas.V2_METER_EVENT_SESSION)
    streamer = served.client_for(session.authentication_token)
    assert streamer.v2.billing.meter_event_stream.create({"events": stream_events(100)}) is None
    served.client.v2.billing.meter_event_stream.create(
        {"events": stream_events(50, start=100)},
        {"api_key": session.authentication_token},
    )
    assert usage(served, meter.id) == 150


def test_the_stream_answers_an_empty_object(served: StripeServer) -> None:
    """The stream's 200 body is {} (the SDK discards it, but must be able to parse it)."""
    served.client.v1.billing.meters.create(meter_params())
    token = served.client.v2.billing.meter_event_session.create().authentication_token
    request = urllib.request.Request(
        f"{served.url}/v2/billing/meter_event_stream",
        data=json.dumps({"events": stream_events(1)}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert (response.status, json.loads(response.read())) == (200, {})
        assert response.headers["Request-Id"].startswith("req_")


def test_a_session_expires_after_15_minutes_of_the_clock(served: StripeServer) -> None:
    """After the clock route moves 15 minutes, the stream raises TemporarySessionExpiredError."""
    served.client.v1.billing.meters.create(meter_params())
    token = served.client.v2.billing.meter_event_session.create().authentication_token
    streamer = served.client_for(token)
    assert advance(served.client, 899)["now"] == NOON + 899
    streamer.v2.billing.meter_event_stream.create({"events": stream_events(1)})
    advance(served.client, 1)
    with pytest.raises(stripe.TemporarySessionExpiredError) as raised:
        streamer.v2.billing.meter_event_stream.create({"events": stream_events(1, start=1)})
    assert (raised.value.http_status, raised.value.code) == (
        401,
        "billing_meter_event_session_expired",
    )
    schemas.check(raised.value.json_body, schemas.V2_SESSION_EXPIRED_ERROR)


def test_bad_stream_events_are_reported_in_the_event_log(served: StripeServer) -> None:
    """A stream's bad events are accepted with the call and reported in /v2/core/events."""
    served.client.v1.billing.meters.create(meter_params())
    token = served.client.v2.billing.meter_event_session.create().authentication_token
    bad = [{"event_name": "nope", "payload": {"stripe_customer_id": "c", "value": "1"}}]
    served.client_for(token).v2.billing.meter_event_stream.create({"events": bad})
    reports = served.client.v2.core.events.list({"types": ["v1.billing.meter.no_meter_found"]})
    schemas.check(body(reports), schemas.v2_list(schemas.NO_METER_FOUND_EVENT))
    (report,) = reports.data
    assert report.data.reason.error_types[0].code == "no_meter"
    fetched = served.client.v2.core.events.retrieve(report.id)
    schemas.check(body(fetched), schemas.NO_METER_FOUND_EVENT)


def test_the_event_log_pages_through_next_page_url(served: StripeServer) -> None:
    """v2 core.events.list walks next_page_url pages, newest first, each a v2 list."""
    for i in range(5):
        served.client.v1.billing.meters.create(meter_params(f"m{i}"))
    page = served.client.v2.core.events.list({"limit": 2})
    schemas.check(body(page), schemas.v2_list(schemas.snapshot_event("billing.meter.created")))
    assert page.next_page_url.startswith("/v2/core/events?page=")
    names = [event.data.object.event_name for event in page.auto_paging_iter()]
    assert names == ["m4", "m3", "m2", "m1", "m0"]


def test_the_24_hour_identifier_window_is_crossed_with_the_clock(served: StripeServer) -> None:
    """An identifier is a duplicate for 86,399 s and free again at 86,400 s."""
    meter = served.client.v1.billing.meters.create(meter_params())
    served.client.v2.billing.meter_events.create(event_params(identifier="once"))
    advance(served.client, DAY - 1)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        served.client.v2.billing.meter_events.create(event_params(identifier="once"))
    assert raised.value.code == "duplicate_meter_event"
    assert raised.value.headers is not None
    assert raised.value.headers["Stripe-Should-Retry"] == "false"
    advance(served.client, 1)
    served.client.v2.billing.meter_events.create(event_params(identifier="once"))
    assert usage(served, meter.id) == 50


def test_cancels_and_timestamps_follow_the_clock_windows(served: StripeServer) -> None:
    """Past 24 h an event can't be cancelled; past 35 days a timestamp is too old."""
    served.client.v1.billing.meters.create(meter_params())
    served.client.v1.billing.meter_events.create(event_params(identifier="late"))
    advance(served.client, DAY)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        served.client.v2.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "late"}}
        )
    assert raised.value.code == "invalid_cancel_configuration"
    oldest = NOON + DAY - 35 * DAY
    served.client.v1.billing.meter_events.create(event_params(timestamp=oldest))
    advance(served.client, 1)
    with pytest.raises(stripe.InvalidRequestError) as too_old:
        served.client.v1.billing.meter_events.create(event_params(timestamp=oldest))
    assert too_old.value.code == "timestamp_too_far_in_past"


def test_the_clock_route_reads_and_refuses_going_back(served: StripeServer) -> None:
    """GET /_meterlib/clock reads the time; a negative advance is a 400 and moves nothing."""
    response = served.client.raw_request("get", "/_meterlib/clock")
    assert json.loads(response.body)["now_rfc3339"] == "2026-03-10T12:00:00.000Z"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        served.client.raw_request("post", "/_meterlib/clock/advance", seconds=-1)
    assert (raised.value.code, raised.value.param) == ("parameter_invalid_number", "seconds")
    assert advance(served.client, 0)["now"] == NOON


def test_the_clock_route_takes_json_too(served: StripeServer) -> None:
    """The clock route takes the issue's JSON body {"seconds": N} with the API key."""
    request = urllib.request.Request(
        f"{served.url}/_meterlib/clock/advance",
        data=b'{"seconds": 90.5}',
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["now_rfc3339"] == "2026-03-10T12:01:30.500Z"
