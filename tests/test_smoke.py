"""Smoke test: the package imports and meters one event end to end."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterlib import ConfigurationError, ManualClock, Metering


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


def test_a_clock_without_now_is_a_configuration_error() -> None:
    """Metering refuses a clock object that has no now() method, naming the parameter."""
    with pytest.raises(ConfigurationError) as raised:
        Metering(clock=object())  # type: ignore[arg-type]
    assert raised.value.param == "clock"
