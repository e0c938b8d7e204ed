"""An import holds off the garbage collector only while it records a chunk, and restores it."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from meterlib import InvalidRequestError, Metering
from tests.files.conftest import HEADER, NOW


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    """The collector on for the test, and as it was afterwards."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def rows(count: int) -> str:
    """A CSV file of `count` good rows for the ``api`` meter."""
    return HEADER + "".join(f"r{n},{NOW - n},api,cus_1,1\n" for n in range(count))


class WatchingClock:
    """A clock at `NOW` that notes whether the collector is on each time it is read."""

    def __init__(self) -> None:
        self.collector_on: list[bool] = []

    def now(self) -> datetime:
        """`NOW`, noting the collector's state."""
        self.collector_on.append(gc.isenabled())
        return datetime.fromtimestamp(NOW, UTC)


def test_the_collector_is_paused_per_chunk_and_back_on_afterwards(
    collector_enabled: None,
) -> None:
    """While a chunk is recorded the collector is off; between chunks and afterwards it is on."""
    clock = WatchingClock()
    m = Metering(clock=clock)
    m.meters.create(display_name="API", event_name="api", default_aggregation={"formula": "sum"})
    clock.collector_on.clear()
    between: list[bool] = []
    report = m.import_events(
        io.StringIO(rows(25)),
        format="csv",
        batch_size=10,
        progress=lambda *_: between.append(gc.isenabled()),
    )
    assert report.recorded == 25
    assert clock.collector_on and not any(clock.collector_on)
    assert between == [True, True, True] and gc.isenabled()


def test_a_failing_import_turns_the_collector_back_on(m: Metering, collector_enabled: None) -> None:
    """An import that raises part way still leaves the collector on."""
    broken = rows(3) + "x,notatime,api,cus_1,1\n"
    with pytest.raises(InvalidRequestError):
        m.import_events(io.StringIO(broken), format="csv", on_error="raise")
    assert gc.isenabled()


def test_an_import_leaves_a_disabled_collector_disabled(m: Metering) -> None:
    """A caller that turned the collector off finds it off after an import."""
    was = gc.isenabled()
    gc.disable()
    try:
        assert m.import_events(io.StringIO(rows(5)), format="csv").recorded == 5
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
