"""meterlib's pytest plugin: the ``metering``, ``meter_clock`` and ``stripe_server`` fixtures.

pytest loads it through the ``pytest11`` entry point once meterlib is installed. It is opt-in:
it adds no options, hooks or autouse fixtures, and it imports nothing of meterlib (and never
Hypothesis) until one of its fixtures is used, so it changes nothing in test suites that do not
ask for them, not even which modules a coverage tool sees imported before it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from meterlib import ManualClock, Metering
    from meterlib.server import StripeServer


@pytest.fixture
def meter_clock() -> ManualClock:
    """A `ManualClock` frozen at 2026-03-10 12:00:00 UTC (see `meterlib.testing.frozen_time`)."""
    from meterlib.testing.clock import frozen_time  # noqa: PLC0415 -- import only when used

    return frozen_time()


@pytest.fixture
def metering(meter_clock: ManualClock) -> Iterator[Metering]:
    """A fresh in-memory `Metering` reading `meter_clock`, closed after the test.

    >>> def test_usage(metering, meter_clock):
    ...     meter = metering.meters.create(display_name="Calls", event_name="calls",
    ...                                    default_aggregation={"formula": "count"})
    ...     metering.record("calls", customer="cus_1")
    ...     meter_clock.advance(60)
    """
    from meterlib import Metering  # noqa: PLC0415 -- import only when used

    with Metering("memory://", clock=meter_clock) as instance:
        yield instance


@pytest.fixture
def stripe_server(meter_clock: ManualClock) -> Iterator[StripeServer]:
    """A local Stripe Billing Meters API over a fresh in-memory store reading `meter_clock`.

    Served on a free loopback port for the test (``meterlib.server.running``), with a
    ``stripe.StripeClient`` already pointed at it as ``.client``; needs the ``server`` extra
    and the ``stripe`` package.

    >>> def test_meter(stripe_server, meter_clock):
    ...     meter = stripe_server.client.v1.billing.meters.create({"display_name": "Calls",
    ...         "event_name": "calls", "default_aggregation": {"formula": "count"}})
    ...     meter_clock.advance(60)
    """
    from meterlib import Metering  # noqa: PLC0415 -- import only when used
    from meterlib.server import DEFAULT_API_KEY, StripeServer, running, stripe_client  # noqa: PLC0415

    with Metering("memory://", clock=meter_clock) as metering, running(metering) as url:
        yield StripeServer(
            url=url,
            api_key=DEFAULT_API_KEY,
            metering=metering,
            client=stripe_client(url, DEFAULT_API_KEY),
        )
