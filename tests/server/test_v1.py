"""The v1 Billing Meters API over loopback HTTP, driven by the official stripe SDK."""

from __future__ import annotations

from typing import Any

import stripe

from meterlib import ManualClock
from meterlib.server import StripeServer
from tests.server import schemas
from tests.server.conftest import event_params, meter_params

HOUR = 3_600
NOON = 1_773_144_000  # 2026-03-10T12:00:00Z, the clock's start


def body(obj: Any) -> Any:
    """The JSON the server answered for an SDK object."""
    return obj.last_response.data


def test_meter_create_returns_a_typed_meter_in_stripes_shape(client: stripe.StripeClient) -> None:
    """meters.create gives a stripe.billing.Meter whose JSON validates against billing.meter."""
    meter = client.v1.billing.meters.create(
        meter_params(
            customer_mapping={"type": "by_id", "event_payload_key": "user"},
            value_settings={"event_payload_key": "tokens"},
            event_time_window="hour",
        )
    )
    assert isinstance(meter, stripe.billing.Meter)
    assert meter.id.startswith("mtr_test_")
    assert meter.customer_mapping.event_payload_key == "user"
    assert meter.event_time_window == "hour"
    assert meter.created == meter.updated == NOON
    schemas.check(body(meter), schemas.BILLING_METER)


def test_retrieve_update_deactivate_reactivate(client: stripe.StripeClient) -> None:
    """A meter is retrieved, renamed, deactivated and reactivated, each a billing.meter."""
    meters = client.v1.billing.meters
    created = meters.create(meter_params())
    assert meters.retrieve(created.id).display_name == "API calls"
    renamed = meters.update(created.id, {"display_name": "Renamed"})
    assert renamed.display_name == "Renamed"
    unchanged = meters.update(created.id)
    assert unchanged.display_name == "Renamed"
    inactive = meters.deactivate(created.id)
    assert (inactive.status, inactive.status_transitions.deactivated_at) == ("inactive", NOON)
    active = meters.reactivate(created.id)
    assert (active.status, active.status_transitions.deactivated_at) == ("active", None)
    for answered in (renamed, unchanged, inactive, active):
        schemas.check(body(answered), schemas.BILLING_METER)


def test_meters_list_pages_through_auto_paging_iter(client: stripe.StripeClient) -> None:
    """meters.list pages newest first by starting_after, each page a list with a path url."""
    made = [client.v1.billing.meters.create(meter_params(f"m{i}")).id for i in range(5)]
    first = client.v1.billing.meters.list({"limit": 2})
    assert isinstance(first, stripe.ListObject)
    assert first.has_more
    schemas.check(body(first), schemas.v1_list(schemas.BILLING_METER, "/v1/billing/meters"))
    assert [meter.id for meter in first.auto_paging_iter()] == made[::-1]
    client.v1.billing.meters.deactivate(made[0])
    inactive = client.v1.billing.meters.list({"status": "inactive"})
    assert [meter.id for meter in inactive] == [made[0]]


def test_meters_list_walks_backwards_from_ending_before(client: stripe.StripeClient) -> None:
    """A first page fetched with only ending_before is walked backwards by the SDK."""
    made = [client.v1.billing.meters.create(meter_params(f"m{i}")).id for i in range(4)]
    page = client.v1.billing.meters.list({"limit": 1, "ending_before": made[0]})
    assert [meter.id for meter in page.auto_paging_iter()] == made[1:]


def test_events_and_hourly_summaries_page_through_auto_paging_iter(
    client: stripe.StripeClient,
) -> None:
    """Events land in hourly MeterEventSummary pages that auto_paging_iter walks by id."""
    meter = client.v1.billing.meters.create(meter_params())
    event = client.v1.billing.meter_events.create(
        event_params("25", identifier="req_1", timestamp=NOON - HOUR)
    )
    assert isinstance(event, stripe.billing.MeterEvent)
    assert (event.identifier, event.timestamp, event.created) == ("req_1", NOON - HOUR, NOON)
    schemas.check(body(event), schemas.METER_EVENT)
    client.v1.billing.meter_events.create(event_params("0.5"))
    summaries = client.v1.billing.meters.event_summaries.list(
        meter.id,
        {
            "customer": "cus_1",
            "start_time": NOON - 3 * HOUR,
            "end_time": NOON + 2 * HOUR,
            "value_grouping_window": "hour",
            "limit": 2,
        },
    )
    path = f"/v1/billing/meters/{meter.id}/event_summaries"
    schemas.check(body(summaries), schemas.v1_list(schemas.METER_EVENT_SUMMARY, path))
    walked = list(summaries.auto_paging_iter())
    assert all(isinstance(summary, stripe.billing.MeterEventSummary) for summary in walked)
    assert [summary.aggregated_value for summary in walked] == [0, 0, 25, 0.5, 0]
    assert [summary.start_time for summary in walked] == [NOON + h * HOUR for h in range(-3, 2)]
    assert len({summary.id for summary in walked}) == 5


def test_one_summary_for_the_whole_range_without_a_window(client: stripe.StripeClient) -> None:
    """Without value_grouping_window one summary covers [start_time, end_time)."""
    meter = client.v1.billing.meters.create(meter_params())
    for value in ("1", "2", "3.25"):
        client.v1.billing.meter_events.create(event_params(value))
    page = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": "cus_1", "start_time": NOON, "end_time": NOON + 60}
    )
    assert [(s.start_time, s.end_time, s.aggregated_value) for s in page] == [
        (NOON, NOON + 60, 6.25)
    ]


def test_an_adjustment_cancels_an_event_out_of_the_summaries(client: stripe.StripeClient) -> None:
    """meter_event_adjustments.create cancels by identifier; the usage leaves the summary."""
    meter = client.v1.billing.meters.create(meter_params())
    client.v1.billing.meter_events.create(event_params("7", identifier="req_7"))
    adjustment = client.v1.billing.meter_event_adjustments.create(
        {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "req_7"}}
    )
    assert isinstance(adjustment, stripe.billing.MeterEventAdjustment)
    assert adjustment.cancel is not None
    assert (adjustment.status, adjustment.cancel.identifier) == ("complete", "req_7")
    schemas.check(body(adjustment), schemas.METER_EVENT_ADJUSTMENT)
    page = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": "cus_1", "start_time": NOON, "end_time": NOON + 60}
    )
    assert page.data[0].aggregated_value == 0


def test_expand_is_accepted_and_changes_nothing(client: stripe.StripeClient) -> None:
    """expand[] on a POST body and (percent-encoded) in a GET query answers the same meter."""
    meter = client.v1.billing.meters.create(meter_params(expand=["customer_mapping"]))
    fetched = client.v1.billing.meters.retrieve(meter.id, {"expand": ["a", "b"]})
    assert body(fetched) == body(meter)


def test_ids_the_sdk_quotes_reach_the_api_decoded(client: stripe.StripeClient) -> None:
    """A path id with a space, slash and question mark is decoded: resource_missing on it."""
    try:
        client.v1.billing.meters.retrieve("mtr test/1?x")
    except stripe.InvalidRequestError as error:
        assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")
        assert "mtr test/1?x" in str(error.user_message)
    else:
        raise AssertionError("retrieving an unknown id succeeded")


def test_every_answer_carries_a_request_id(served: StripeServer) -> None:
    """Request-Id is on every response and becomes the SDK's last_response.request_id."""
    meter = served.client.v1.billing.meters.create(meter_params())
    again = served.client.v1.billing.meters.retrieve(meter.id)
    ids = {meter.last_response.request_id, again.last_response.request_id}
    assert len(ids) == 2
    assert all(request_id.startswith("req_") for request_id in ids)


def test_the_store_sees_what_the_sdk_sent(served: StripeServer, clock: ManualClock) -> None:
    """Events sent over HTTP are in the served Metering's own usage, to the cent."""
    meter = served.client.v1.billing.meters.create(meter_params())
    for value in ("0.10", "0.20"):
        served.client.v1.billing.meter_events.create(event_params(value))
    usage = served.metering.usage(meter.id, "cus_1", NOON, NOON + 1)
    assert str(usage) == "0.30"
