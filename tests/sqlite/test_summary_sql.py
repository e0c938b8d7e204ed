"""The SQLite summary queries: exact answers on their edge cases, index use, the meter cache."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import meterlib.storage.sqlite as sqlite_module
from meterlib import ManualClock, Metering, Storage
from meterlib.aggregation import SMALL_COUNTS, get_aggregation
from meterlib.storage import SummaryQuery
from meterlib.storage.sqlite import SQLiteStorage
from tests.sqlite.probes import counted_steps, traced_statements

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
HOUR = 3_600
DAY = 86_400
HOUR_START = NOW_S - NOW_S % HOUR - 6 * HOUR
"""An hour boundary six hours before now: every test's events fall after it."""


@pytest.fixture
def m() -> Iterator[Metering]:
    """A `Metering` on an in-memory SQLite store, its clock standing at `NOW`."""
    with Metering(storage="sqlite://", clock=ManualClock(NOW)) as metering:
        yield metering


def _meter(m: Metering, formula: str, window: str | None = None) -> str:
    return m.meters.create(
        display_name=f"{formula} {window}",
        event_name=f"{formula}_{window}",
        default_aggregation={"formula": formula},
        event_time_window=window,
    ).id


def _both(m: Metering, meter_id: str, start: int, step: int, count: int) -> list[str]:
    """The SQL answer, as strings, after checking it equals the Python recomputation."""
    meter = m.meters.retrieve(meter_id)
    aggregation = get_aggregation(meter.default_aggregation.formula)
    assert aggregation is not None
    sql = m.storage.summarize(
        SummaryQuery(meter=meter, customer="c", start=start, step=step, count=count), aggregation
    )
    scratch = Storage.summarize(
        m.storage,
        SummaryQuery(meter=meter, customer="c", start=start, step=step, count=count),
        aggregation,
    )
    assert [str(value) for value in sql] == [str(value) for value in scratch]
    return [str(value) for value in sql]


def _record(m: Metering, meter_id: str, *events: tuple[int, str]) -> None:
    event_name = m.meters.retrieve(meter_id).event_name
    for offset, value in events:
        m.record(event_name, customer="c", value=value, timestamp=HOUR_START + offset)


def test_last_breaks_timestamp_ties_by_latest_receipt(m: Metering) -> None:
    """Of events sharing the greatest timestamp, the one received last is the window's value."""
    meter_id = _meter(m, "last")
    _record(m, meter_id, (100, "1"), (10, "9"), (100, "2"), (100, "3"), (50, "8"))
    assert _both(m, meter_id, HOUR_START, HOUR, 2) == ["3", "0"]


def test_last_falls_back_to_python_when_seq_keys_could_overflow(
    m: Metering, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seq at or above the key multiplier sends ``last`` to the Python path, same answer."""
    meter_id = _meter(m, "last")
    _record(m, meter_id, (100, "1"), (100, "2"), (200, "0.5"))
    monkeypatch.setattr(sqlite_module, "_LAST_KEY_LIMIT", 2 * HOUR)  # key = 1: every seq is >=
    calls: list[int] = []
    original = Storage.summarize

    def spy(self: Storage, *args: object, **kwargs: object) -> list[Decimal]:
        calls.append(1)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Storage, "summarize", spy)
    assert _both(m, meter_id, HOUR_START, HOUR, 2) == ["0.5", "0"]
    assert len(calls) == 2  # the fallback, then the recomputation


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "2.5", "7.00"], "10.50"),  # the most decimals of the window wins
        (["1E+2"], "100"),  # never fewer than zero decimals, as 0 + 1E+2 in Python
        (["0.50", "-0.50"], "0.00"),
        (["1.0000000", "2"], "3.0000000"),  # more than six decimals, whole units: padded
        (["0.1234567", "1"], "1.1234567"),  # no exact units: Python sums it
        (["9000000000000", "9000000000000"], "18000000000000"),  # past 2**63 units
        (["-0.000001", "0.000002"], "0.000001"),
    ],
)
def test_sums_keep_pythons_exponent(m: Metering, values: list[str], expected: str) -> None:
    """A window's SQL sum is exactly Python's, digits and exponent, or Python computes it."""
    meter_id = _meter(m, "sum")
    _record(m, meter_id, *[(60 * index, value) for index, value in enumerate(values)])
    assert _both(m, meter_id, HOUR_START, HOUR, 3) == [expected, "0", "0"]


def test_counts_beyond_the_shared_decimals(m: Metering) -> None:
    """A window counting more events than the cached counts hold still counts exactly."""
    meter_id = _meter(m, "count")
    many = len(SMALL_COUNTS) + 5
    m.meter_events.create_many(
        [
            {
                "event_name": "count_None",
                "payload": {"stripe_customer_id": "c"},
                "timestamp": HOUR_START + index % HOUR,
            }
            for index in range(many)
        ]
    )
    assert _both(m, meter_id, HOUR_START, HOUR, 2) == [str(many), "0"]


@pytest.mark.parametrize("formula", ["sum", "count", "last"])
@pytest.mark.parametrize(
    ("start", "step", "count"),
    [
        (HOUR_START, HOUR, 6),  # one pre-aggregation window per summary window
        (HOUR_START + 1_800, 600, 9),  # windows cut by the range: survivors chosen first
        (HOUR_START - HOUR, 3 * HOUR, 3),  # several pre-aggregation windows per summary
        (NOW_S - NOW_S % DAY, DAY, 1),
    ],
)
def test_pre_aggregated_survivors(
    m: Metering, formula: str, start: int, step: int, count: int
) -> None:
    """Hourly pre-aggregation keeps each hour's latest received event, whatever the range."""
    meter_id = _meter(m, formula, "hour")
    _record(
        m,
        meter_id,
        (1_000, "1"),
        (2_500, "2.25"),  # received last in hour 0, but not its latest timestamp
        (HOUR + 10, "3"),
        (HOUR + 10, "4"),  # same timestamp, received later
        (3 * HOUR + 3_000, "5.5"),
        (3 * HOUR + 100, "-1"),
    )
    _both(m, meter_id, start, step, count)


def _shapes() -> Iterator[tuple[str, int | None, str]]:
    """Every (formula, pre-aggregation window, shape) the summary queries come in."""
    for formula in ("sum", "count", "last"):
        for size in (None, HOUR):
            for shape in ("grouped", "whole", "fold", "single"):
                if (shape == "fold" and formula == "last") or (shape == "single" and not size):
                    continue
                yield formula, size, shape


def _migrated() -> sqlite3.Connection:
    """An empty in-memory database holding the latest schema."""
    db = sqlite3.connect(":memory:")
    for script in sqlite_module.MIGRATIONS:
        for statement in sqlite_module._statements(script):
            db.execute(statement)
    return db


_PARAMS = {
    "meter": 1,
    "customer": "c",
    "low": HOUR_START,
    "high": HOUR_START + HOUR,
    "start": HOUR_START,
    "end": HOUR_START + HOUR,
    "step": HOUR,
    "key": 1,
    "limit": sqlite_module.FOLD_LIMIT,
}


@pytest.mark.parametrize(("formula", "size", "shape"), list(_shapes()))
def test_summary_queries_search_the_live_index(formula: str, size: int | None, shape: str) -> None:
    """Every summary query seeks the partial index of live events; none scans the table."""
    query = sqlite_module._summary_sql(formula, size, shape)
    plan = [row[3] for row in _migrated().execute(f"EXPLAIN QUERY PLAN {query}", _PARAMS)]
    assert any("USING INDEX events_live" in line for line in plan), plan
    assert not any(line.startswith("SCAN events") or "SCAN e" in line for line in plan), plan


@pytest.mark.parametrize(("formula", "size", "shape"), list(_shapes()))
def test_folded_and_whole_range_queries_sort_nothing_by_window(
    formula: str, size: int | None, shape: str
) -> None:
    """Only a grouped query sorts by window: a fold or a whole range has no GROUP BY b-tree."""
    query = sqlite_module._summary_sql(formula, size, shape)
    plan = [row[3] for row in _migrated().execute(f"EXPLAIN QUERY PLAN {query}", _PARAMS)]
    sorts = sum("TEMP B-TREE" in line for line in plan)
    survivors = 0 if size is None else 1  # pre-aggregation groups its own windows first
    expected = {"grouped": survivors + 1, "whole": survivors, "fold": survivors}
    if shape in expected:
        assert sorts == expected[shape], plan


@pytest.mark.parametrize("formula", ["count", "sum"])
@pytest.mark.parametrize("window", [None, "hour"])
def test_folds_read_the_range_in_one_row(m: Metering, formula: str, window: str | None) -> None:
    """A count or sum of several windows fetches one row: the folded lists of its events."""
    meter_id = _meter(m, formula, window)
    _record(m, meter_id, (10, "1.50"), (20, "2.00"), (HOUR + 5, "0.25"), (3 * HOUR, "-1.00"))
    storage = m.storage
    assert isinstance(storage, SQLiteStorage)
    with traced_statements(storage._db) as statements:
        values = _both(m, meter_id, HOUR_START - HOUR, HOUR // 2, 12)
    assert len(values) == 12
    folds = [sql for sql in statements if "group_concat" in sql]
    assert len(folds) == 1, statements
    assert not any("GROUP BY bucket" in sql for sql in statements), statements


@pytest.mark.parametrize("formula", ["count", "sum"])
def test_a_fold_runs_fewer_sqlite_steps_than_grouping_by_window(m: Metering, formula: str) -> None:
    """720 hourly windows of 2,000 events: the fold runs a quarter fewer VM steps than GROUP BY."""
    _meter(m, formula)
    m.meter_events.create_many(
        [
            {
                "event_name": f"{formula}_None",
                "payload": {"stripe_customer_id": "c", "value": "1.25"},
                "timestamp": NOW_S - 29 * DAY + index * 1_237,
            }
            for index in range(2_000)
        ]
    )
    storage = m.storage
    assert isinstance(storage, SQLiteStorage)
    start = NOW_S - NOW_S % DAY - 29 * DAY
    params = {**_PARAMS, "low": start, "start": start, "high": start + 720 * HOUR}
    params["end"] = params["high"]

    def steps(shape: str) -> int:
        with counted_steps(storage._db) as counted:
            rows = storage._db.execute(
                sqlite_module._summary_sql(formula, None, shape), params
            ).fetchall()
        assert rows
        return counted.count

    folded, grouped = steps("fold"), steps("grouped")
    assert 4 * folded < 3 * grouped, (folded, grouped)  # measured: 0.59x (count), 0.73x (sum)


@pytest.mark.parametrize("formula", ["count", "sum"])
def test_a_range_past_the_fold_limit_is_grouped_in_sql(
    m: Metering, formula: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range holding FOLD_LIMIT events or more gets the GROUP BY query: the same answer."""
    meter_id = _meter(m, formula)
    _record(m, meter_id, *[(60 * index, f"{index}.5") for index in range(9)])
    monkeypatch.setattr(sqlite_module, "FOLD_LIMIT", 4)
    storage = m.storage
    assert isinstance(storage, SQLiteStorage)
    with traced_statements(storage._db) as statements:
        values = _both(m, meter_id, HOUR_START, 300, 3)
    assert values == (["5", "4"] if formula == "count" else ["12.5", "28.0"]) + ["0"]
    assert any("GROUP BY bucket" in sql for sql in statements), statements


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([(10, "1.5"), (HOUR + 10, "2"), (HOUR + 20, "3")], ["1.5", "5", "0"]),
        ([(10, "1.50"), (20, "0.5"), (HOUR + 10, "7")], ["2.00", "7", "0"]),
        ([(10, "1E+2"), (HOUR + 10, "0.001")], ["100", "0.001", "0"]),
        ([(10, "0.00"), (HOUR + 10, "1.0000000")], ["0.00", "1.0000000", "0"]),
    ],
)
def test_sums_of_mixed_decimals_are_grouped_in_sql(
    m: Metering, values: list[tuple[int, str]], expected: list[str]
) -> None:
    """Values of different decimals give each window its own exponent: the GROUP BY query."""
    meter_id = _meter(m, "sum")
    _record(m, meter_id, *values)
    storage = m.storage
    assert isinstance(storage, SQLiteStorage)
    with traced_statements(storage._db) as statements:
        assert _both(m, meter_id, HOUR_START, HOUR, 3) == expected
    assert any("GROUP BY bucket" in sql for sql in statements), statements


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([(10, "1.50"), (20, "2.25"), (HOUR + 10, "-3.00")], ["3.75", "-3.00", "0"]),
        ([(10, "0.00"), (HOUR + 10, "0.00"), (HOUR + 20, "1.00")], ["0.00", "1.00", "0"]),
        ([(10, "9000000000000"), (20, "9000000000000")], ["18000000000000", "0", "0"]),
        ([(10, "1E+2"), (HOUR + 10, "2E+2")], ["100", "200", "0"]),
        ([(10, "1.0000000"), (HOUR + 10, "2.0000000")], ["1.0000000", "2.0000000", "0"]),
        ([(10, "0.1234567"), (HOUR + 10, "1.7654321")], ["0.1234567", "1.7654321", "0"]),
    ],
)
def test_folded_sums_keep_pythons_exponent(
    m: Metering, values: list[tuple[int, str]], expected: list[str]
) -> None:
    """A sum folded in Python is exactly Python's, past 2**63 units too, or Python computes it."""
    meter_id = _meter(m, "sum")
    _record(m, meter_id, *values)
    assert _both(m, meter_id, HOUR_START, HOUR, 3) == expected


@pytest.mark.parametrize("formula", ["sum", "count", "last"])
@pytest.mark.parametrize("window", [None, "hour"])
def test_whole_range_of_no_events_is_zero(m: Metering, formula: str, window: str | None) -> None:
    """A one-window summary of an empty range is 0, like a window without events."""
    meter_id = _meter(m, formula, window)
    _record(m, meter_id, (10, "4"))
    assert _both(m, meter_id, HOUR_START + 2 * HOUR, 3 * HOUR, 1) == ["0"]
    assert _both(m, meter_id, HOUR_START, 3 * HOUR, 1) == ["1" if formula == "count" else "4"]


def test_meter_cache_sees_another_connections_update(tmp_path: Path) -> None:
    """A meter cached by one connection is reread once another connection changes it."""
    path = tmp_path / "usage.db"
    with (
        Metering(storage=f"sqlite:///{path}", clock=ManualClock(NOW)) as first,
        Metering(storage=f"sqlite:///{path}", clock=ManualClock(NOW)) as second,
    ):
        meter_id = _meter(first, "sum")
        assert second.meters.retrieve(meter_id).display_name == "sum None"
        first.meters.update(meter_id, display_name="Renamed")
        assert second.meters.retrieve(meter_id).display_name == "Renamed"
        second.meters.deactivate(meter_id)
        assert first.meters.retrieve(meter_id).status == "inactive"
        assert first.meters.retrieve(meter_id).display_name == "Renamed"
        assert isinstance(first.storage, SQLiteStorage)
        assert first.storage.get_meter("mtr_test_missing") is None


def test_a_warm_summary_is_one_statement(m: Metering) -> None:
    """A repeated summary runs only its query: the meter's definition needs no freshness check."""
    meter_id = _meter(m, "count")
    m.record("count_None", customer="cus_1")
    storage = m.storage
    assert isinstance(storage, SQLiteStorage)
    m.usage(meter_id, "cus_1", HOUR_START, NOW_S + 1)
    with traced_statements(storage._db) as statements:
        assert m.usage(meter_id, "cus_1", HOUR_START, NOW_S + 1) == 1
    assert len(statements) == 1, statements
