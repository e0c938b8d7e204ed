"""Fixtures of the file tests: a store per backend with a manual clock and a sum meter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meterlib import ManualClock, Meter, Metering

NOW = 1_773_144_000
"""The clock's time: 2026-03-10 12:00 UTC."""
HEADER = "identifier,timestamp,event_name,payload_stripe_customer_id,payload_value\n"

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
]


def store_url(backend: str, directory: Path, name: str = "usage") -> str:
    """A fresh store URL of this backend inside `directory`."""
    return "memory://" if backend == "memory" else f"sqlite:///{directory / name}.db"


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at `NOW`."""
    return ManualClock(NOW)


@pytest.fixture(params=BACKENDS)
def m(request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path) -> Iterator[Metering]:
    """A fresh store on each backend, with the ``api`` sum meter."""
    with Metering(store_url(request.param, tmp_path), clock=clock) as metering:
        metering.meters.create(
            display_name="API", event_name="api", default_aggregation={"formula": "sum"}
        )
        yield metering


@pytest.fixture
def memory(clock: ManualClock) -> Iterator[Metering]:
    """A fresh in-memory store with the ``api`` sum meter (for tests of one backend's worth)."""
    with Metering(clock=clock) as metering:
        metering.meters.create(
            display_name="API", event_name="api", default_aggregation={"formula": "sum"}
        )
        yield metering


def api_meter(metering: Metering) -> Meter:
    """The ``api`` meter of a fixture store."""
    (meter,) = [meter for meter in metering.meters.list().data if meter.event_name == "api"]
    return meter


def total(metering: Metering, customer: str = "cus_1") -> object:
    """The customer's usage of the ``api`` meter over the 35 days before the clock."""
    return metering.usage(api_meter(metering).id, customer, NOW - 35 * 86_400, NOW + 301)


def stored_count(metering: Metering) -> int:
    """How many events the store holds (cancelled ones too)."""
    events = metering.storage.list_events(limit=10**9, include_cancelled=True)
    return len(events)
