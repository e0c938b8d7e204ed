"""Notebook tests: charts render with the Agg backend (no display), every figure is closed."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib import pyplot

from meterlib import ManualClock, Meter, Metering

NOW = "2026-03-10T12:00:00Z"


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close the figures a test opened, so pyplot's open-figure warning never fires."""
    yield
    pyplot.close("all")


@pytest.fixture
def m() -> Metering:
    """An in-memory store on a manual clock at 2026-03-10T12:00:00Z."""
    return Metering(clock=ManualClock(NOW))


@pytest.fixture
def meter(m: Metering) -> Meter:
    """A raw ``sum`` meter for events named ``api``."""
    return m.meters.create(
        display_name="API calls", event_name="api", default_aggregation={"formula": "sum"}
    )
