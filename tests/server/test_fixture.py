"""The ``stripe_server`` pytest fixture that meterlib's plugin ships, used as a user would."""

from __future__ import annotations

import stripe

from meterlib import ManualClock
from meterlib.server import StripeServer


def test_stripe_server_serves_a_fresh_store_on_meter_clock(
    stripe_server: StripeServer, meter_clock: ManualClock
) -> None:
    """The fixture's client reaches a fresh store whose clock is the test's meter_clock."""
    assert isinstance(stripe_server.client, stripe.StripeClient)
    assert list(stripe_server.client.v1.billing.meters.list()) == []
    meter_clock.advance(60)
    meter = stripe_server.client.v1.billing.meters.create(
        {"display_name": "C", "event_name": "c", "default_aggregation": {"formula": "count"}}
    )
    assert meter.created == int(meter_clock.now().timestamp())
    assert stripe_server.metering.meters.retrieve(meter.id).id == meter.id
    assert stripe_server.url.startswith("http://127.0.0.1:")
