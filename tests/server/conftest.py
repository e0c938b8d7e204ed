"""Fixtures of the server suite: a served store on a manual clock, and SDK clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import stripe

from meterlib import ManualClock, Metering
from meterlib.server import DEFAULT_API_KEY, StripeServer, running, stripe_client

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
"""Where every served clock starts: 2026-03-10 12:00 UTC."""

API_KEY = DEFAULT_API_KEY


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 2026-03-10 12:00 UTC."""
    return ManualClock(START)


@pytest.fixture(params=["memory", "sqlite"])
def served(
    request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path
) -> Iterator[StripeServer]:
    """A fresh store (memory, or a SQLite file) served on a free port, with an SDK client."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'usage.db'}"
    with Metering(url, clock=clock) as metering, running(metering) as address:
        yield StripeServer(
            url=address,
            api_key=API_KEY,
            metering=metering,
            client=stripe_client(address, API_KEY),
        )


@pytest.fixture
def client(served: StripeServer) -> stripe.StripeClient:
    """The served store's ``stripe.StripeClient`` (both base addresses, no retries)."""
    result: stripe.StripeClient = served.client
    return result


def meter_params(name: str = "api_calls", **extra: Any) -> Any:
    """``meters.create`` params of a sum meter on `name`."""
    return {
        "display_name": "API calls",
        "event_name": name,
        "default_aggregation": {"formula": "sum"},
        **extra,
    }


def event_params(value: str = "25", customer: str = "cus_1", **extra: Any) -> Any:
    """``meter_events.create`` params of an ``api_calls`` event."""
    return {
        "event_name": "api_calls",
        "payload": {"stripe_customer_id": customer, "value": value},
        **extra,
    }
