"""What-if replay: recorded usage loaded into one fresh store per meter configuration."""

from __future__ import annotations

import gzip
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import meterlib
from meterlib import InvalidRequestError, ManualClock, Meter, Metering, replay

DAY = ("2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")
CONFIGS: list[dict[str, Any]] = [
    {"default_aggregation": {"formula": "sum"}},
    {"default_aggregation": {"formula": "count"}},
    {"default_aggregation": {"formula": "last"}},
    {"default_aggregation": {"formula": "sum"}, "event_time_window": "hour"},
    {"default_aggregation": {"formula": "sum"}, "event_time_window": "day"},
]
LABELS = ["sum, raw", "count, raw", "last, raw", "sum, per hour", "sum, per day"]


@pytest.fixture
def usage() -> tuple[Metering, Meter]:
    """cus_1 sends 3, 5 and 2 at 10:00, 10:30 and 11:00; cus_2 sends 7; one event cancelled."""
    clock = ManualClock("2026-03-10T10:00:00Z")
    m = Metering(clock=clock)
    meter = m.meters.create(
        display_name="GPU", event_name="gpu", default_aggregation={"formula": "sum"}
    )
    for value in (3, 5, 2):
        m.record("gpu", customer="cus_1", value=value, timestamp=clock.now())
        clock.advance(1800)
    m.record("gpu", customer="cus_2", value=7, identifier="mistake")
    m.record("gpu", customer="cus_2", value=7, timestamp="2026-03-10T09:00:00Z")
    m.meter_event_adjustments.create(
        event_name="gpu", type="cancel", cancel={"identifier": "mistake"}
    )
    return m, meter


EXPECTED = {
    "cus_1": [Decimal(10), Decimal(3), Decimal(2), Decimal(7), Decimal(2)],
    "cus_2": [Decimal(7), Decimal(1), Decimal(7), Decimal(7), Decimal(7)],
}
"""Each configuration's usage of the fixture's day: hourly keeps 10:30's 5 and 11:00's 2."""


def test_a_store_replays_under_every_configuration(usage: tuple[Metering, Meter]) -> None:
    """sum, count, last, hourly and daily runs each give their formula over the same events."""
    m, _ = usage
    runs = replay(m, meters=CONFIGS)
    assert runs.labels == LABELS
    assert runs.customers == ("cus_1", "cus_2")
    for customer, values in EXPECTED.items():
        assert list(runs.usage(customer, *DAY).values()) == values


def test_each_run_is_a_fresh_store_with_the_configured_meter(
    usage: tuple[Metering, Meter],
) -> None:
    """A run's Metering holds one meter, named after the source's, with the run's settings."""
    m, meter = usage
    run = replay(m, meters=CONFIGS)["sum, per hour"]
    assert run.metering is not m
    assert run.meter.event_name == meter.event_name
    assert run.meter.event_time_window == "hour"
    assert [listed.id for listed in run.metering.meters.list()] == [run.meter.id]
    assert run.usage("cus_1", *DAY) == Decimal(7)


def test_an_export_file_replays_as_the_store_does(
    usage: tuple[Metering, Meter], tmp_path: Path
) -> None:
    """A CSV, JSON or gzipped JSON Lines export gives the same usage as the store it came from."""
    m, _ = usage
    expected = replay(m, meters=CONFIGS).totals(*DAY)
    for name in ("usage.csv", "usage.json", "usage.jsonl.gz"):
        m.export_events(tmp_path / name)
        assert replay(tmp_path / name, meters=CONFIGS).totals(*DAY).equals(expected), name
    raw = gzip.decompress((tmp_path / "usage.jsonl.gz").read_bytes())
    assert replay(io.BytesIO(raw), meters=CONFIGS).totals(*DAY).equals(expected)


def test_an_events_frame_replays_as_the_store_does(usage: tuple[Metering, Meter]) -> None:
    """A frame from events_frame (cancelled rows included and skipped) replays the same."""
    m, meter = usage
    frame = m.events_frame(meter.id, include_cancelled=True)
    assert frame["cancelled"].sum() == 1
    assert replay(frame, meters=CONFIGS).totals(*DAY).equals(replay(m, meters=CONFIGS).totals(*DAY))
    floats = m.events_frame(meter.id, as_float=True).drop(columns=["received"])
    assert replay(floats, meters=CONFIGS[:1]).usage("cus_1", *DAY) == {"sum, raw": Decimal(10)}


def test_totals_price_each_configuration(usage: tuple[Metering, Meter]) -> None:
    """totals() is a customer x configuration frame of Decimals; times a price, it bills."""
    m, _ = usage
    totals = replay(m, meters=CONFIGS[:2]).totals(*DAY)
    bill = totals * Decimal("0.25")
    assert bill.to_dict() == {
        "sum, raw": {"cus_1": Decimal("2.50"), "cus_2": Decimal("1.75")},
        "count, raw": {"cus_1": Decimal("0.75"), "cus_2": Decimal("0.25")},
    }
    assert replay(m, meters=CONFIGS[:1]).totals(*DAY, as_float=True)["sum, raw"].dtype == "float64"


def test_series_compares_one_customer_window_by_window(usage: tuple[Metering, Meter]) -> None:
    """series() has a row per window and a column per configuration."""
    m, _ = usage
    frame = replay(m, meters=CONFIGS).series(
        "cus_1", "2026-03-10T10:00:00Z", "2026-03-10T12:00:00Z", window="hour"
    )
    assert frame.columns.tolist() == LABELS
    assert frame.loc[frame.index[0]].tolist() == [8, 2, 5, 5, 0]


def test_a_display_name_labels_its_run(usage: tuple[Metering, Meter]) -> None:
    """display_name names the run; two runs with one label are refused."""
    m, _ = usage
    named = [{"display_name": "hourly", **CONFIGS[3]}]
    assert replay(m, meters=named).labels == ["hourly"]
    with pytest.raises(InvalidRequestError) as raised:
        replay(m, meters=[CONFIGS[0], CONFIGS[0]])
    assert (raised.value.code, raised.value.param) == (
        "resource_already_exists",
        "meters[1][display_name]",
    )


def test_an_event_a_configuration_refuses_names_the_run() -> None:
    """Count events without values replayed under sum: the error names the run and the event."""
    m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
    m.meters.create(
        display_name="Logins", event_name="login", default_aggregation={"formula": "count"}
    )
    m.record("login", customer="cus_1", identifier="l1")
    with pytest.raises(InvalidRequestError) as raised:
        replay(m, meters=[{"default_aggregation": {"formula": "sum"}}])
    assert raised.value.code == "payload_no_value_defined"
    assert "'sum, raw' refused the event 'l1'" in raised.value.message


@pytest.mark.parametrize(
    ("events", "meters", "code"),
    [
        pytest.param(object(), CONFIGS, "parameter_invalid_type", id="not-a-source"),
        pytest.param(Metering(), CONFIGS, "parameter_missing", id="a-store-without-meters"),
        pytest.param(io.StringIO(""), [], "parameter_invalid_type", id="no-configurations"),
        pytest.param(io.StringIO(""), [{"formula": "sum"}], "parameter_unknown", id="unknown-key"),
    ],
)
def test_bad_arguments_are_refused(
    events: object, meters: list[dict[str, object]], code: str
) -> None:
    """A source that is none of the three, no meters, or an unknown setting is refused."""
    with pytest.raises(InvalidRequestError) as raised:
        replay(events, meters=meters)
    assert raised.value.code == code


def test_replay_is_meterlib_replay() -> None:
    """The function is meterlib.replay, as the issue names it."""
    assert meterlib.replay is replay
