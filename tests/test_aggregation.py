"""Aggregation objects, their registry, and the pure summary helpers built on them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from meterlib import AggregationSettings, CustomerMapping, Meter, StatusTransitions, ValueSettings
from meterlib.aggregation import (
    SMALL_COUNTS,
    Aggregation,
    Count,
    Last,
    Sum,
    aggregate,
    formula_names,
    get_aggregation,
    register_aggregation,
    unregister_aggregation,
)
from meterlib.errors import ConfigurationError
from meterlib.summaries import PointT, SummaryQuery, pre_aggregate, summarize_points
from tests.formulas import Minimum

BUILTINS: list[Aggregation[Any]] = [Sum(), Count(), Last()]


def points(*values: str, timestamp: int = 100) -> list[PointT]:
    """Points at one timestamp, received in the order given."""
    return [(timestamp, seq, Decimal(value)) for seq, value in enumerate(values)]


def test_sum() -> None:
    """Sum adds the values exactly."""
    assert aggregate(Sum(), points("0.1", "0.2", "-1")) == Decimal("-0.7")


def test_count_ignores_values() -> None:
    """Count counts events, with or without a value."""
    assert aggregate(Count(), [(1, 0, None), (2, 1, Decimal(5)), (2, 2, Decimal(0))]) == 3


@given(st.integers(min_value=0, max_value=10**6))
@example(len(SMALL_COUNTS) - 1)
@example(len(SMALL_COUNTS))
def test_count_result_is_the_count_as_an_integral_decimal(count: int) -> None:
    """A count's result is Decimal(count), exponent 0, for small (shared) and large counts."""
    assert str(Count().result(count)) == str(count)


def test_last_takes_greatest_timestamp_then_latest_received() -> None:
    """Last keeps the value sorting last by (timestamp, receipt order)."""
    assert aggregate(Last(), [(5, 2, Decimal(1)), (7, 0, Decimal(2)), (7, 1, Decimal(3))]) == 3


def test_last_keeps_the_later_event_when_fed_out_of_order() -> None:
    """Last compares (timestamp, seq), so an earlier event fed after a later one loses."""
    last = Last()
    state = last.add(last.add(last.initial(), 9, 5, Decimal(1)), 3, 6, Decimal(2))
    assert last.result(state) == 1


@pytest.mark.parametrize("aggregation", BUILTINS, ids=lambda a: a.name)
def test_empty_is_zero(aggregation: Aggregation[Any]) -> None:
    """Every built-in formula aggregates no events to Decimal 0."""
    result = aggregate(aggregation, [])
    assert result == 0
    assert isinstance(result, Decimal)


def ordered_points() -> st.SearchStrategy[list[PointT]]:
    """Points in (timestamp, seq) order with distinct seqs and exact decimal values."""
    values = st.decimals(
        min_value=-(10**6), max_value=10**6, places=4, allow_nan=False, allow_infinity=False
    )
    raw = st.lists(st.tuples(st.integers(min_value=0, max_value=50), values), max_size=20)
    return raw.map(
        lambda items: sorted(
            (timestamp, seq, value) for seq, (timestamp, value) in enumerate(items)
        )
    )


@given(events=ordered_points(), split=st.integers(min_value=0, max_value=20))
@pytest.mark.parametrize("aggregation", BUILTINS, ids=lambda a: a.name)
def test_combine_matches_one_fold(
    aggregation: Aggregation[Any], events: list[PointT], split: int
) -> None:
    """Folding two adjacent parts and combining them equals folding the whole."""

    def fold(part: Iterable[PointT]) -> Any:
        state = aggregation.initial()
        for timestamp, seq, value in part:
            state = aggregation.add(state, timestamp, seq, value)
        return state

    combined = aggregation.combine(fold(events[:split]), fold(events[split:]))
    assert aggregation.result(combined) == aggregate(aggregation, events)


@given(
    values=st.lists(
        st.builds(
            lambda mantissa, exponent: Decimal(mantissa).scaleb(exponent),
            st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
            st.integers(min_value=-40, max_value=25),
        ),
        max_size=30,
    )
)
def test_sum_is_exact(values: list[Decimal]) -> None:
    """Sum equals the exact rational sum, across wildly different scales."""
    result = aggregate(Sum(), [(0, seq, value) for seq, value in enumerate(values)])
    assert Fraction(result) == sum(map(Fraction, values))


# --- registry -----------------------------------------------------------------------------


@pytest.fixture
def minimum() -> Iterator[Minimum]:
    """The `min` formula, registered for one test."""
    formula = Minimum()
    register_aggregation(formula)
    yield formula
    unregister_aggregation("min")


def test_builtins_are_registered() -> None:
    """sum, count and last are found by name."""
    assert {"sum", "count", "last"} <= set(formula_names())
    assert [get_aggregation(name) for name in ("sum", "count", "last")] == BUILTINS


def test_register_and_unregister(minimum: Minimum) -> None:
    """A registered formula is found by name until it is unregistered."""
    assert get_aggregation("min") is minimum
    assert "min" in formula_names()
    assert aggregate(minimum, points("3", "-2", "5")) == -2
    unregister_aggregation("min")
    assert get_aggregation("min") is None
    register_aggregation(minimum)


@pytest.mark.usefixtures("minimum")
def test_names_cannot_be_taken_twice() -> None:
    """Registering a name twice is a ConfigurationError unless replace=True."""
    with pytest.raises(ConfigurationError) as info:
        register_aggregation(Minimum())
    assert info.value.code == "aggregation_exists"
    replacement = Minimum()
    register_aggregation(replacement, replace=True)
    assert get_aggregation("min") is replacement


def test_builtins_cannot_be_taken_or_removed() -> None:
    """A user formula cannot silently replace or remove a built-in."""
    with pytest.raises(ConfigurationError):
        register_aggregation(Minimum(name="sum"))
    with pytest.raises(ConfigurationError) as info:
        register_aggregation(Minimum(name="sum"), replace=True)
    assert info.value.code == "aggregation_builtin"
    with pytest.raises(ConfigurationError) as info:
        unregister_aggregation("sum")
    assert info.value.code == "aggregation_builtin"
    assert get_aggregation("sum") == Sum()


def test_non_aggregations_are_refused() -> None:
    """An object without the protocol's methods is refused."""
    with pytest.raises(ConfigurationError) as info:
        register_aggregation(object())  # type: ignore[arg-type]
    assert info.value.code == "aggregation_invalid"


def test_unregistering_an_unknown_name_is_harmless() -> None:
    """Unregistering a name nobody registered does nothing."""
    before = formula_names()
    unregister_aggregation("never-registered")
    assert formula_names() == before


# --- summary helpers ----------------------------------------------------------------------


def test_pre_aggregate_keeps_latest_received_per_window() -> None:
    """Per window the point with the highest seq survives, output in (timestamp, seq) order."""
    kept = pre_aggregate(
        [(10, 0, Decimal(1)), (50, 1, Decimal(2)), (20, 2, Decimal(3)), (70, 3, Decimal(4))],
        60,
    )
    assert kept == [(20, 2, Decimal(3)), (70, 3, Decimal(4))]


def make_meter(window: str | None) -> Meter:
    """A sum meter with this pre-aggregation window."""
    return Meter(
        id="mtr_1",
        created=0,
        updated=0,
        display_name="m",
        event_name="e",
        default_aggregation=AggregationSettings(formula="sum"),
        customer_mapping=CustomerMapping(),
        value_settings=ValueSettings(),
        event_time_window=window,  # type: ignore[arg-type]
        status="active",
        status_transitions=StatusTransitions(),
        livemode=False,
    )


class FakeScan:
    """A scan over fixed points that records the ranges it was asked for."""

    def __init__(self, stored: list[PointT]) -> None:
        self.stored = stored
        self.ranges: list[tuple[int, int]] = []

    def __call__(self, meter_id: str, customer: str, start: int, end: int) -> list[PointT]:
        """Stored points in ``[start, end)``."""
        self.ranges.append((start, end))
        return [point for point in self.stored if start <= point[0] < end]


def test_summarize_raw_windows() -> None:
    """A raw meter puts each point in its window, empty windows 0."""
    scan = FakeScan([(0, 0, Decimal(1)), (59, 1, Decimal(2)), (120, 2, Decimal(4))])
    values = summarize_points(
        scan, SummaryQuery(meter=make_meter(None), customer="c", start=0, step=60, count=3), Sum()
    )
    assert values == [3, 0, 4]
    assert scan.ranges == [(0, 180)]


def test_summarize_widens_scan_to_whole_pre_aggregation_windows() -> None:
    """A pre-aggregated meter scans whole windows and picks survivors before cutting the range."""
    scan = FakeScan([(3_700, 0, Decimal(5)), (7_000, 1, Decimal(7))])
    values = summarize_points(
        scan,
        SummaryQuery(meter=make_meter("hour"), customer="c", start=3_600, step=60, count=30),
        Sum(),
    )
    assert values == [0] * 30
    assert scan.ranges == [(3_600, 7_200)]
