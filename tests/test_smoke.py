"""Smoke test: the package imports and meters one event end to end."""

from datetime import UTC, datetime
from decimal import Decimal

from meterlib import ManualClock, Metering


def test_record_and_usage() -> None:
    """A recorded value shows up in usage for its range."""
    m = Metering(clock=ManualClock(datetime(2026, 3, 10, tzinfo=UTC)))
    meter = m.meters.create(
        display_name="Search", event_name="search", default_aggregation={"formula": "sum"}
    )
    m.record("search", customer="cus_1", value="2.5")
    assert m.usage(meter.id, "cus_1", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z") == Decimal(
        "2.5"
    )
