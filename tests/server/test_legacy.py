"""The legacy global style (``stripe.api_base``, ``stripe.billing.Meter.create``) on the server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from meterlib.server import StripeServer
from tests.server.conftest import API_KEY, event_params, meter_params

NOON = 1_773_144_000


@pytest.fixture
def global_stripe(served: StripeServer) -> Iterator[StripeServer]:
    """Stripe's module globals pointed at the server for one test, restored afterwards."""
    saved = (stripe.api_key, stripe.api_base, stripe.meter_events_api_base)
    saved_retries = stripe.max_network_retries
    stripe.api_key, stripe.api_base, stripe.meter_events_api_base = API_KEY, served.url, served.url
    stripe.max_network_retries = 0
    try:
        yield served
    finally:
        stripe.api_key, stripe.api_base, stripe.meter_events_api_base = saved
        stripe.max_network_retries = saved_retries


def test_the_global_style_drives_every_v1_call(global_stripe: StripeServer) -> None:
    """Meter.create/retrieve/modify/list/deactivate/reactivate and events work globally."""
    meter = stripe.billing.Meter.create(**meter_params())
    assert isinstance(meter, stripe.billing.Meter)
    assert stripe.billing.Meter.retrieve(meter.id).event_name == "api_calls"
    assert stripe.billing.Meter.modify(meter.id, display_name="Renamed").display_name == "Renamed"
    assert [m.id for m in stripe.billing.Meter.list(limit=5).auto_paging_iter()] == [meter.id]
    assert stripe.billing.Meter.deactivate(meter.id).status == "inactive"
    assert stripe.billing.Meter.reactivate(meter.id).status == "active"
    event = stripe.billing.MeterEvent.create(**event_params("5", identifier="g1"))
    assert isinstance(event, stripe.billing.MeterEvent)
    summaries = stripe.billing.Meter.list_event_summaries(
        meter.id, customer="cus_1", start_time=NOON, end_time=NOON + 60
    )
    assert [summary.aggregated_value for summary in summaries] == [5]
    adjustment = stripe.billing.MeterEventAdjustment.create(
        event_name="api_calls", type="cancel", cancel={"identifier": "g1"}
    )
    assert adjustment.status == "complete"


def test_global_errors_are_the_sdks_classes(global_stripe: StripeServer) -> None:
    """A missing meter raises InvalidRequestError, a wrong global key AuthenticationError."""
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.billing.Meter.retrieve("mtr_nope")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    stripe.api_key = "sk_test_wrong"
    with pytest.raises(stripe.AuthenticationError):
        stripe.billing.Meter.list()
