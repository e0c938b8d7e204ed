"""The edge-aiming strategies draw only valid values, and reach every edge they promise."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from meterlib import Metering
from meterlib.testing import CreateEvent, frozen_time
from meterlib.testing.strategies import (
    clock_moves,
    counted_lists,
    edge_moments,
    event_timestamps,
    meter_events,
    picks,
    time_edges,
    usage_scripts,
)
from meterlib.timeutil import DAY, HOUR, MINUTE, now_seconds, to_unix_seconds, window_start
from meterlib.validation import FUTURE_LIMIT, LOG_RETENTION, PAST_LIMIT

NOW = 1_773_144_000 + 7 * MINUTE + 5
"""2026-03-10 12:07:05 UTC: on no minute, hour or day boundary."""
QUICK = settings(database=None, phases=[Phase.generate], max_examples=3_000)
"""For `find`: generation only, enough examples to reach an edge drawn one time in a hundred."""
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reaches(strategy: st.SearchStrategy[Any], value: object) -> bool:
    """Whether `strategy` draws exactly `value` within `QUICK`'s examples."""
    found: object = find(strategy, lambda drawn: drawn == value, settings=QUICK)
    return found == value


def test_time_edges_are_the_moment_and_its_window_ends_one_second_either_side() -> None:
    """Each moment, and the start and end of its minute, hour and day, each +-1, sorted."""
    edges = time_edges(NOW)
    hour, day = window_start(NOW, HOUR), window_start(NOW, DAY)
    for moment in (NOW, NOW - 5, NOW + 55, hour, hour + HOUR, day, day + DAY):
        assert {moment - 1, moment, moment + 1} <= set(edges)
    assert edges == sorted(set(edges))
    assert len(edges) == 3 * 7


@given(st.integers(0, 2**40), st.data())
def test_edge_moments_are_time_edges(moment: int, data: st.DataObject) -> None:
    """Every drawn edge of a moment is one of its `time_edges`."""
    assert data.draw(edge_moments(moment)) in time_edges(moment)


@pytest.mark.parametrize("edge", time_edges(NOW))
def test_edge_moments_reach_every_edge(edge: int) -> None:
    """Each of the `time_edges` of a moment is drawn."""
    assert reaches(edge_moments(NOW), edge)


@RELAXED
@given(st.data())
def test_event_timestamps_are_accepted_at_now(data: st.DataObject) -> None:
    """Every drawn timestamp lies within the 35 days before and the 300 seconds after now."""
    anchors = data.draw(st.lists(st.integers(NOW - 40 * DAY, NOW + DAY), max_size=4))
    timestamp = data.draw(event_timestamps(NOW, anchors=anchors))
    assert NOW - PAST_LIMIT <= timestamp <= NOW + FUTURE_LIMIT


@pytest.mark.parametrize(
    "edge",
    [
        NOW - PAST_LIMIT,
        NOW - PAST_LIMIT + 1,
        NOW + FUTURE_LIMIT,
        NOW + FUTURE_LIMIT - 1,
        NOW - DAY,
        NOW - DAY - 1,
        NOW - DAY + 1,
        window_start(NOW - DAY, HOUR),
        window_start(NOW - DAY, DAY) - 1,
        window_start(NOW, HOUR),
        window_start(NOW, MINUTE) + MINUTE + 1,
    ],
)
def test_event_timestamps_reach_the_range_ends_and_the_edges_of_anchors(edge: int) -> None:
    """The exact window ends, an anchor and the ends of its hour and day are all drawn."""
    assert reaches(event_timestamps(NOW, anchors=[NOW - DAY]), edge)


@given(st.integers(NOW - 40 * DAY, NOW), st.integers(NOW - 40 * DAY, NOW), st.data())
def test_clock_moves_are_forward(received: int, timestamp: int, data: st.DataObject) -> None:
    """Every move is a positive whole number of seconds, whatever has passed already."""
    seconds = data.draw(clock_moves(now=NOW, receipts=[received], timestamps=[timestamp]))
    assert isinstance(seconds, int)
    assert seconds > 0


@pytest.mark.parametrize(
    "target",
    [
        NOW - HOUR + DAY - 1,
        NOW - HOUR + DAY,
        NOW - HOUR + DAY + 1,
        NOW - HOUR + LOG_RETENTION,
        NOW - 2 * DAY + PAST_LIMIT - 1,
        NOW - 2 * DAY + PAST_LIMIT,
        NOW - 2 * DAY + PAST_LIMIT + 1,
        NOW + 2 * HOUR - FUTURE_LIMIT,
        window_start(NOW, HOUR) + HOUR,
        window_start(NOW, DAY) + DAY - 1,
    ],
)
def test_clock_moves_land_on_the_edges_of_earlier_events(target: int) -> None:
    """24 hours and 30 days after a receipt, 35 days after or 300 s before a timestamp, +-1 s."""
    moves = clock_moves(now=NOW, receipts=[NOW - HOUR], timestamps=[NOW - 2 * DAY, NOW + 2 * HOUR])
    assert reaches(moves, target - NOW)


def test_clock_moves_without_now_are_lengths() -> None:
    """Without now, the moves are the boundaries' lengths, one second either side included."""
    for length in (MINUTE, FUTURE_LIMIT, HOUR, DAY, PAST_LIMIT):
        assert reaches(clock_moves(), length + 1)


@given(st.lists(st.integers(), min_size=1, max_size=20), st.data())
def test_picks_draw_only_the_items(items: list[int], data: st.DataObject) -> None:
    """A pick is one of the items."""
    assert data.draw(picks(items)) in items


def test_picks_reach_every_item() -> None:
    """Every item of a list is drawn, whatever its place."""
    items = list(range(12))
    for item in items:
        assert reaches(picks(items), item)


@given(st.data())
def test_counted_lists_keep_to_their_sizes(data: st.DataObject) -> None:
    """A counted list has between min_size and max_size elements, each from its strategy."""
    drawn = data.draw(counted_lists(st.integers(0, 9), min_size=2, max_size=5))
    assert 2 <= len(drawn) <= 5
    assert all(0 <= element <= 9 for element in drawn)


@RELAXED
@given(st.data())
def test_meter_events_take_their_timestamps_from_a_strategy(data: st.DataObject) -> None:
    """With `timestamps`, the event carries the drawn moment (None: no timestamp at all)."""
    with Metering(clock=frozen_time(NOW)) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
        moment = data.draw(st.none() | event_timestamps(NOW))
        kwargs = data.draw(meter_events(meter, timestamps=st.just(moment)))
        if moment is None:
            assert "timestamp" not in kwargs
        else:
            assert to_unix_seconds(kwargs["timestamp"], "timestamp") == moment
            assert m.meter_events.create(**kwargs).timestamp == moment


def test_usage_scripts_create_events_exactly_on_their_anchors() -> None:
    """Given anchors, a script creates an event timestamped exactly on one of them."""
    with Metering(clock=frozen_time(NOW)) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
        anchor = NOW - 3 * DAY + 17
        scripts = usage_scripts([meter], start=now_seconds(m.clock), anchors=[anchor])
        found = find(
            scripts,
            lambda script: any(
                isinstance(step, CreateEvent)
                and step.kwargs.get("timestamp") is not None
                and to_unix_seconds(step.kwargs["timestamp"], "timestamp") == anchor
                for step in script
            ),
            settings=QUICK,
        )
    assert found


@pytest.mark.parametrize(
    "make",
    [
        lambda: event_timestamps("now"),  # type: ignore[arg-type]
        lambda: event_timestamps(NOW, anchors=[1.5]),  # type: ignore[list-item]
        lambda: clock_moves(receipts=[NOW]),
        lambda: clock_moves(now=NOW, timestamps="12"),  # type: ignore[arg-type]
        lambda: edge_moments(True),
        lambda: picks([]),
        lambda: counted_lists(st.integers(), min_size=3, max_size=2),
        lambda: counted_lists([1, 2]),  # type: ignore[arg-type]
        lambda: meter_events(
            Metering().meters.create(
                display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
            ),
            start=NOW,
            end=NOW,
            timestamps=st.just(NOW),
        ),
    ],
)
def test_bad_arguments_are_rejected(make: Any) -> None:
    """A bad argument raises InvalidArgument at once, as Hypothesis' own strategies do."""
    with pytest.raises(InvalidArgument):
        make()
