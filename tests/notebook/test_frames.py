"""Frames of meters, events, summaries and usage: equal to the objects they come from."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from meterlib import InvalidRequestError, ManualClock, Meter, Metering

DAY_9 = "2026-03-09T00:00:00Z"
DAY_11 = "2026-03-11T00:00:00Z"


@pytest.fixture
def recorded(m: Metering, meter: Meter) -> Metering:
    """Three events of two customers on 9 and 10 March, one of them later cancelled."""
    m.record("api", customer="cus_1", value="2.5", identifier="a")
    m.record("api", customer="cus_2", value=1, timestamp="2026-03-09T12:00:00Z", identifier="b")
    m.record("api", customer="cus_1", value="0.1", timestamp="2026-03-10T11:00:00Z", identifier="c")
    m.meter_event_adjustments.create(event_name="api", type="cancel", cancel={"identifier": "c"})
    return m


def test_usage_frame_columns_are_each_customers_usage_series(
    recorded: Metering, meter: Meter
) -> None:
    """Every column equals usage_series of its customer, indexed by the window starts."""
    frame = recorded.usage_frame(meter.id, DAY_9, DAY_11, window="hour")
    assert list(frame.columns) == ["cus_1", "cus_2"]
    for customer in frame.columns:
        series = recorded.usage_series(
            meter.id, customer, DAY_9, DAY_11, value_grouping_window="hour"
        )
        assert [int(moment.timestamp()) for moment in frame.index] == [s for s, _ in series]
        assert list(frame[customer]) == [value for _, value in series]
    assert frame.index.name == "start"
    assert isinstance(frame.index, pd.DatetimeIndex) and str(frame.index.tz) == "UTC"


def test_usage_frame_values_are_decimals_unless_floats_are_asked_for(
    recorded: Metering, meter: Meter
) -> None:
    """Values are exact Decimals by default; as_float gives a float64 column."""
    exact = recorded.usage_frame(meter.id, DAY_9, DAY_11)
    assert exact["cus_1"].tolist() == [Decimal(0), Decimal("2.5")]
    assert all(type(value) is Decimal for value in exact["cus_1"])
    rounded = recorded.usage_frame(meter.id, DAY_9, DAY_11, as_float=True)
    assert rounded.dtypes.tolist() == ["float64", "float64"]
    assert rounded["cus_2"].tolist() == [1.0, 0.0]


def test_usage_frame_reads_local_windows_in_the_zone(recorded: Metering, meter: Meter) -> None:
    """With a timezone the index is in that zone, its days starting at local midnight."""
    frame = recorded.usage_frame(
        meter.id, "2026-03-09T00:00:00+05:30", "2026-03-11T00:00:00+05:30", timezone="Asia/Kolkata"
    )
    assert [str(moment) for moment in frame.index] == [
        "2026-03-09 00:00:00+05:30",
        "2026-03-10 00:00:00+05:30",
    ]
    assert frame.loc[frame.index[0], "cus_2"] == 1  # 12:00 UTC is 17:30 in Kolkata


def test_usage_frame_takes_the_customers_it_is_given(recorded: Metering, meter: Meter) -> None:
    """customers= picks the columns, including a customer with no usage (all zeros)."""
    frame = recorded.usage_frame(meter.id, DAY_9, DAY_11, customers=["cus_9", "cus_2"])
    assert list(frame.columns) == ["cus_9", "cus_2"]
    assert frame["cus_9"].tolist() == [0, 0]


def test_usage_frame_of_no_customers_still_has_the_windows(m: Metering, meter: Meter) -> None:
    """A range without events gives a frame of no columns, indexed by its windows."""
    frame = m.usage_frame(meter.id, DAY_9, DAY_11)
    assert frame.shape == (2, 0)


def test_usage_frame_raises_what_usage_series_raises(m: Metering, meter: Meter) -> None:
    """A misaligned range is the same InvalidRequestError as from usage_series."""
    with pytest.raises(InvalidRequestError) as raised:
        m.usage_frame(meter.id, "2026-03-09T01:00:00Z", DAY_11, customers=["cus_1"])
    assert (raised.value.code, raised.value.param) == ("timestamp_not_aligned", "start_time")


def test_a_summary_list_frame_is_its_summaries(recorded: Metering, meter: Meter) -> None:
    """to_frame has one row per summary of every page, indexed by start_time, same values."""
    listed = recorded.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time=DAY_9,
        end_time=DAY_11,
        value_grouping_window="hour",
        limit=10,
    )
    frame = listed.to_frame()
    summaries = list(listed.auto_paging_iter())
    assert len(frame) == len(summaries) == 48
    assert [int(moment.timestamp()) for moment in frame.index] == [s.start_time for s in summaries]
    assert frame["aggregated_value"].tolist() == [s.aggregated_value for s in summaries]
    assert frame["id"].tolist() == [s.id for s in summaries]
    assert [int(moment.timestamp()) for moment in frame["end_time"]] == [
        s.end_time for s in summaries
    ]
    assert frame.index.name == "start_time"
    assert len(listed.to_frame(all_pages=False)) == 10


def test_an_events_frame_has_a_row_per_stored_event(recorded: Metering, meter: Meter) -> None:
    """One row per live event in order of receipt: times in UTC, values exact."""
    frame = recorded.events_frame(meter.id)
    assert list(frame.columns) == [
        "timestamp",
        "received",
        "identifier",
        "customer",
        "value",
        "cancelled",
    ]
    assert frame["identifier"].tolist() == ["a", "b"]
    assert frame["value"].tolist() == [Decimal("2.5"), Decimal(1)]
    assert [str(moment) for moment in frame["timestamp"]] == [
        "2026-03-10 12:00:00+00:00",
        "2026-03-09 12:00:00+00:00",
    ]
    assert set(frame["received"]) == {pd.Timestamp("2026-03-10T12:00:00Z")}


def test_an_events_frame_filters_as_an_export_does(recorded: Metering, meter: Meter) -> None:
    """customer, start/end and include_cancelled select rows; cancelled ones are marked."""
    every = recorded.events_frame(meter.id, include_cancelled=True)
    assert every["cancelled"].tolist() == [False, False, True]
    mine = recorded.events_frame(meter.id, "cus_1", "2026-03-10T00:00:00Z", DAY_11, True)
    assert mine["identifier"].tolist() == ["a", "c"]
    assert recorded.events_frame(meter.id, as_float=True)["value"].tolist() == [2.5, 1.0]


def test_count_events_without_a_value_show_none(m: Metering) -> None:
    """A count meter's event with no value has None (NaN as floats) in the value column."""
    meter = m.meters.create(
        display_name="Logins", event_name="login", default_aggregation={"formula": "count"}
    )
    m.record("login", customer="cus_1")
    assert m.events_frame(meter.id)["value"].tolist() == [None]
    assert m.events_frame(meter.id, as_float=True)["value"].isna().tolist() == [True]


def test_the_meters_frame_has_every_meter(m: Metering, meter: Meter) -> None:
    """m.meters.to_frame lists every meter by id, newest first, with its settings and times."""
    clock = m.clock
    assert isinstance(clock, ManualClock)
    clock.advance(60)
    hourly = m.meters.create(
        display_name="GPU",
        event_name="gpu",
        default_aggregation={"formula": "last"},
        event_time_window="hour",
        customer_mapping={"type": "by_id", "event_payload_key": "user"},
    )
    m.meters.deactivate(meter.id)
    frame = m.meters.to_frame()
    assert frame.index.tolist() == [hourly.id, meter.id]
    assert frame.loc[hourly.id, "formula"] == "last"
    assert frame.loc[hourly.id, "event_time_window"] == "hour"
    assert frame.loc[hourly.id, "customer_key"] == "user"
    assert frame.loc[meter.id, "event_time_window"] is None
    assert frame.loc[meter.id, "status"] == "inactive"
    assert frame.loc[meter.id, "deactivated_at"] == pd.Timestamp("2026-03-10T12:01:00Z")
    assert frame.loc[hourly.id, "deactivated_at"] is pd.NaT
    assert m.meters.to_frame(status="active").index.tolist() == [hourly.id]
    assert m.meters.list().to_frame().equals(frame)


def test_a_list_of_other_objects_makes_no_frame(m: Metering) -> None:
    """to_frame of a list holding neither meters nor summaries is a TypeError."""
    from meterlib import ListObject  # noqa: PLC0415 -- only this test builds its own list
    from meterlib.notebook import list_frame  # noqa: PLC0415

    with pytest.raises(TypeError, match="meters or of summaries"):
        list_frame([ListObject(data=(), has_more=False, url="/")])
