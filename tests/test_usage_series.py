"""`UsageSeries` reads as the list of ``(window_start, value)`` pairs it replaces."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib import ManualClock, Metering, UsageSeries

pairs_lists = st.lists(
    st.tuples(st.integers(0, 2**40), st.decimals(allow_nan=False, allow_infinity=False)),
    max_size=20,
)


def series_of(pairs: list[tuple[int, Decimal]]) -> UsageSeries:
    """The series of `pairs`, built as ``usage_series`` builds one: two columns."""
    return UsageSeries([start for start, _ in pairs], [value for _, value in pairs])


@given(pairs_lists, st.integers(-25, 25), st.integers(-25, 25), st.sampled_from([None, 1, 2, -1]))
def test_a_series_reads_as_its_list_of_pairs(
    pairs: list[tuple[int, Decimal]], first: int, last: int, step: int | None
) -> None:
    """Length, iteration, items, slices, repr and the columns agree with the list of pairs."""
    series = series_of(pairs)
    assert len(series) == len(pairs)
    assert list(series) == pairs
    assert series == pairs
    assert series == tuple(pairs)
    assert repr(series) == repr(pairs)
    assert series.starts == tuple(start for start, _ in pairs)
    assert series.values == tuple(value for _, value in pairs)
    assert list(reversed(series)) == pairs[::-1]
    window = slice(first, last, step)
    assert series[window] == pairs[window]
    assert isinstance(series[window], UsageSeries)
    for index in range(-len(pairs), len(pairs)):
        assert series[index] == pairs[index]


@given(pairs_lists, pairs_lists)
def test_series_are_equal_exactly_when_their_pairs_are(
    left: list[tuple[int, Decimal]], right: list[tuple[int, Decimal]]
) -> None:
    """Equality (and inequality) with another series or a list follows the pairs."""
    assert (series_of(left) == series_of(right)) == (left == right)
    assert (series_of(left) != right) == (left != right)


def test_a_series_is_unhashable_and_refuses_mismatched_columns() -> None:
    """Like the list it equals, a series has no hash; its columns must be of one length."""
    with pytest.raises(TypeError):
        hash(series_of([(0, Decimal(1))]))
    with pytest.raises(ValueError, match="2 window starts for 1 values"):
        UsageSeries([0, 3600], [Decimal(1)])
    with pytest.raises(IndexError):
        series_of([])[0]
    assert series_of([]) != 5


def test_usage_series_returns_a_series_of_every_window() -> None:
    """m.usage_series gives a UsageSeries whose columns are the windows' starts and values."""
    m = Metering(clock=ManualClock("2026-03-10T12:30:00Z"))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    m.record("api", customer="cus_1", value=25)
    series = m.usage_series(
        meter.id,
        "cus_1",
        "2026-03-10T10:00:00Z",
        "2026-03-10T13:00:00Z",
        value_grouping_window="hour",
    )
    assert isinstance(series, UsageSeries)
    assert series.starts == (1773136800, 1773140400, 1773144000)
    assert series.values == (Decimal(0), Decimal(0), Decimal(25))
