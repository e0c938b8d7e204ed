"""The pytest fixtures, `frozen_time`, and meterlib working without Hypothesis installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta, timezone

import pytest

import meterlib.testing
from meterlib import InvalidRequestError, ManualClock, Metering
from meterlib.testing import frozen_time

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_meter_clock_is_frozen_at_the_documented_start(meter_clock: ManualClock) -> None:
    """``meter_clock`` stands at 2026-03-10 12:00 UTC and moves only when told."""
    assert meter_clock.now() == START
    meter_clock.advance(90)
    assert meter_clock.now() == START + timedelta(seconds=90)


def test_metering_is_fresh_and_reads_meter_clock(
    metering: Metering, meter_clock: ManualClock
) -> None:
    """``metering`` is an empty in-memory Metering whose clock is ``meter_clock``."""
    assert list(metering.meters.list()) == []
    meter_clock.advance(60)
    meter = metering.meters.create(
        display_name="C", event_name="c", default_aggregation={"formula": "count"}
    )
    assert meter.created == int((START + timedelta(seconds=60)).timestamp())


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    """Installing meterlib registers the plugin under the name ``meterlib``."""
    plugin = pytestconfig.pluginmanager.get_plugin("meterlib")
    assert plugin is not None
    assert plugin.__name__ == "meterlib.testing.pytest_plugin"


@pytest.mark.parametrize(
    "moment",
    [START, "2026-03-10T12:00:00Z", 1_773_144_000, START.astimezone(timezone(timedelta(hours=-5)))],
)
def test_frozen_time_accepts_every_time_input(moment: object) -> None:
    """An aware datetime, an ISO-8601 string and Unix seconds all freeze the same moment."""
    assert frozen_time(moment).now() == START  # type: ignore[arg-type]


def test_frozen_time_rejects_a_naive_datetime() -> None:
    """A naive datetime is ambiguous and rejected, as everywhere in meterlib."""
    with pytest.raises(InvalidRequestError) as raised:
        frozen_time(datetime(2026, 3, 10))
    assert raised.value.code == "parameter_invalid_timestamp"


WITHOUT_HYPOTHESIS = textwrap.dedent(
    """
    import sys

    attempts = []

    class NoHypothesis:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "hypothesis":
                attempts.append(name)
                raise ImportError(f"{name} is hidden for this test")
            return None

    sys.meta_path.insert(0, NoHypothesis())
    import meterlib
    import meterlib.testing
    import meterlib.testing.pytest_plugin
    from meterlib.testing import ReferenceModel, frozen_time

    ReferenceModel(frozen_time())
    assert attempts == [], attempts
    try:
        meterlib.testing.MeteringStateMachine
    except ImportError as error:
        assert "meterlib[testing]" in str(error), error
    else:
        raise AssertionError("the state machine imported without hypothesis")
    print("ok")
    """
)


def test_meterlib_imports_without_hypothesis() -> None:
    """meterlib, meterlib.testing and the pytest plugin import without ever importing Hypothesis."""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_HYPOTHESIS], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_unknown_attributes_still_raise_attribute_error() -> None:
    """The lazy loader answers only for the Hypothesis-based names."""
    with pytest.raises(AttributeError):
        meterlib.testing.no_such_name  # noqa: B018 -- the attribute access is the test
