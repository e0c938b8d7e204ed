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
from meterlib.timeutil import WINDOW_SECONDS

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


@pytest.mark.parametrize("formula", ["sum", "count", "last"])
@pytest.mark.parametrize("window", [None, "hour"])
@pytest.mark.parametrize(("start", "step"), [(HOUR_START, HOUR), (HOUR_START + 600, 600)])
def test_summary_queries_search_the_live_index(
    formula: str, window: str | None, start: int, step: int
) -> None:
    """Every summary query seeks the partial index of live events; none scans the table."""
    size = None if window is None else WINDOW_SECONDS[window]
    single = size == step and start % step == 0
    query = sqlite_module._summary_sql(formula, size, single=single)
    db = sqlite3.connect(":memory:")
    for script in sqlite_module.MIGRATIONS:
        for statement in sqlite_module._statements(script):
            db.execute(statement)
    params = {
        "meter": 1,
        "customer": "c",
        "low": start,
        "high": start + step,
        "start": start,
        "end": start + step,
        "step": step,
        "key": 1,
    }
    plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {query}", params)]
    assert any("USING INDEX events_live" in line for line in plan), plan
    assert not any(line.startswith("SCAN events") or "SCAN e" in line for line in plan), plan


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
    statements: list[str] = []
    m.usage(meter_id, "cus_1", HOUR_START, NOW_S + 1)
    storage._db.set_trace_callback(statements.append)
    try:
        assert m.usage(meter_id, "cus_1", HOUR_START, NOW_S + 1) == 1
    finally:
        storage._db.set_trace_callback(None)
    assert len(statements) == 1, statements
