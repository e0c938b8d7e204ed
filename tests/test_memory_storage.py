"""The memory store's own limits, beyond what the conformance suite covers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meterlib.storage as storage_module
import meterlib.storage.memory as memory_module
from meterlib import ConfigurationError, ManualClock, Metering, Storage, StorageError
from meterlib.aggregation import get_aggregation, register_aggregation, unregister_aggregation
from meterlib.model import NewEvents
from meterlib.storage import NewEvent, SummaryQuery

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_a_full_store_refuses_events_and_stays_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the seqs a stream key can hold: StorageError storage_full, nothing half-stored."""
    monkeypatch.setattr(memory_module, "_MAX_EVENTS", 2)
    m = Metering(clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    for identifier in ("a", "b"):
        m.record("api", customer="cus_1", value=1, identifier=identifier)
    with pytest.raises(StorageError) as info:
        m.record("api", customer="cus_1", value=1, identifier="c")
    assert info.value.code == "storage_full"
    assert m.usage(meter.id, "cus_1", NOW.replace(hour=0), NOW.replace(hour=13)) == Decimal(2)
    assert m.storage.find_event("c") is None


def test_a_batch_that_would_overfill_the_store_is_refused_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch with more events than the store has room for: storage_full, none of it stored."""
    monkeypatch.setattr(memory_module, "_MAX_EVENTS", 3)
    m = Metering(clock=ManualClock(NOW))
    m.meters.create(display_name="API", event_name="api", default_aggregation={"formula": "sum"})
    m.record("api", customer="cus_1", value=1, identifier="a")
    batch = [
        {
            "event_name": "api",
            "payload": {"stripe_customer_id": "cus_1", "value": "1"},
            "identifier": identifier,
        }
        for identifier in ("b", "c", "d")
    ]
    with pytest.raises(StorageError) as info:
        m.meter_events.create_many(batch)
    assert info.value.code == "storage_full"
    assert [m.storage.find_event(identifier) for identifier in "bcd"] == [None, None, None]
    assert m.meter_events.create_many(batch[:2]).ok


def test_rollups_keep_only_the_days_among_a_streams_events() -> None:
    """A long hourly range reads days without events as empty, and keeps no rollup for them."""
    m = Metering(clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    now = int(NOW.timestamp())
    today = now - now % 86_400
    for hours_ago in range(48, -1, -1):  # hourly from midnight to midnight: the rollup is read
        m.record("api", customer="cus_1", value="1.5", timestamp=today - 3_600 * hours_ago)
    start = today - 30 * 86_400
    series = m.usage_series(meter.id, "cus_1", start, today + 86_400, value_grouping_window="hour")
    assert sum(value for _, value in series) == Decimal("73.5")
    assert [value for _, value in series[: 27 * 24]] == [Decimal(0)] * (27 * 24)
    stream = m.storage._find_stream(meter.id, "cus_1")  # type: ignore[attr-defined]
    assert sorted(stream.rollup.days) == [today - 2 * 86_400, today - 86_400, today]


def test_rollups_keep_the_most_recently_read_streams_within_the_budget() -> None:
    """Past ``rollup_days`` kept days, the least recently read streams lose their rollups."""
    m = Metering(storage="memory://?rollup_days=5", clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    now = int(NOW.timestamp())
    today = now - now % 86_400
    days = [today - 86_400 * back for back in (4, 3, 2, 1)]
    for day in days:
        for hour in range(24):  # dense enough for the rollup to be read
            for customer in ("cus_a", "cus_b"):
                m.record("api", customer=customer, value="2", timestamp=day + 3_600 * hour)

    def read(customer: str, first: int) -> Decimal:
        series = m.usage_series(meter.id, customer, first, today, value_grouping_window="hour")
        return sum((value for _, value in series), Decimal(0))

    def kept(customer: str) -> list[int] | None:
        rollup = m.storage._find_stream(meter.id, customer).rollup  # type: ignore[attr-defined]
        return None if rollup is None else sorted(rollup.days)

    assert (read("cus_a", days[1]), read("cus_b", days[2])) == (Decimal(144), Decimal(96))
    assert (kept("cus_a"), kept("cus_b")) == (days[1:], days[2:])  # 5 days: within the budget
    assert read("cus_a", days[0]) == Decimal(192)
    assert (kept("cus_a"), kept("cus_b")) == (days, None)
    assert read("cus_b", days[2]) == Decimal(96)  # rebuilt
    assert (kept("cus_a"), kept("cus_b")) == (None, days[2:])


def test_rollup_days_zero_keeps_no_rollups() -> None:
    """``memory://?rollup_days=0`` folds every query's events and keeps nothing."""
    m = Metering(storage="memory://?rollup_days=0", clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    for minute in range(0, 600, 5):
        m.record("api", customer="cus_1", value="1", timestamp=NOW - timedelta(minutes=minute))
    start = NOW.replace(hour=0)
    end = NOW.replace(hour=13)
    series = m.usage_series(meter.id, "cus_1", start, end, value_grouping_window="hour")
    assert sum(value for _, value in series) == Decimal(120)
    assert m.storage._find_stream(meter.id, "cus_1").rollup is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url", ["memory://?rollup_day=5", "memory://?rollup_days=-1", "memory://?rollup_days=1.5"]
)
def test_bad_memory_url_options_raise_configuration_error(url: str) -> None:
    """An unknown memory URL option or a rollup budget that is not a whole number: by name."""
    with pytest.raises(ConfigurationError) as raised:
        Metering(storage=url)
    assert raised.value.code == "storage_url_invalid"
    assert "rollup_day" in raised.value.message


# --- long ranges cost what their events do (issue 12, item 13) ------------------------------

LONG_RANGES_CHILD = """
import json, time
from datetime import datetime, timezone
from decimal import Decimal
from meterlib import ManualClock, Metering
from meterlib.aggregation import get_aggregation
from meterlib.storage import NewEvent, SummaryQuery

def peak_kib():  # this process's own high-water RSS (ru_maxrss counts the parent's at fork)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

m = Metering(clock=ManualClock(datetime(2026, 3, 10, 12, tzinfo=timezone.utc)))
meter = m.meters.create(display_name="x", event_name="api", default_aggregation={"formula": "sum"})
for minute in range(0, 300, 60):  # five events in five hours: dense enough for the rollup
    m.record("api", customer="c1", value=1, timestamp=1773100800 + minute * 60)
    m.record("api", customer="c2", value=1, timestamp=1773100800 + minute * 60)
# and c2 has one from 1971 too (sent to storage: too old for the API): 55 years apart
m.storage.add_event(
    NewEvent(meter.id, "api", "c2", "old", 31536000, 31536000, Decimal(2), {}), duplicate_after=0
)
sum_ = get_aggregation("sum")
years_8000 = 8000 * 365 * 86400
year_1, year_9999 = -62135596800, 253402214400  # 0001-01-01 and 9999-12-31, UTC midnights
answers, took = [], []
for customer in ("c1", "c2"):
    for call in (
        lambda: m.usage(meter.id, customer, 0, years_8000),
        lambda: m.meters.list_event_summaries(
            meter.id, customer=customer, start_time=0, end_time=years_8000
        ).data[0].aggregated_value,
        lambda: m.storage.summarize(SummaryQuery(
            meter=meter, customer=customer, start=year_1, step=year_9999 - year_1, count=1
        ), sum_)[0],
        lambda: sum(m.storage.summarize(SummaryQuery(
            meter=meter, customer=customer, start=year_1, step=365 * 86400, count=9990
        ), sum_)),
    ):
        begin = time.perf_counter()
        answers.append(str(call()))
        took.append(time.perf_counter() - begin)
peak = peak_kib()
print(json.dumps({"answers": answers, "seconds": max(took), "peak_kib": peak}))
"""
"""Ranges of millennia around a few events near 2026 (c1: the rollup path; c2: an event of 1971
too, so its events span 55 years and the range is folded)."""


def test_millennia_long_ranges_cost_what_their_events_do() -> None:
    """Usage and summaries over 8,000 years (and years 1 to 9999) take milliseconds and MBs."""
    child = subprocess.run(
        [sys.executable, "-c", LONG_RANGES_CHILD],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(child.stdout)
    assert report["answers"] == ["5"] * 4 + ["7"] * 4
    assert report["seconds"] < 2  # unbounded: 4 s for the 8,000 years, MemoryError past 10**6
    assert report["peak_kib"] < 150 * 1024  # unbounded: 1.1 GB


def test_rollups_read_and_keep_only_days_with_events_across_a_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A range spanning years between two days of events keeps a rollup of just those two days."""
    monkeypatch.setattr(memory_module, "_ROLLUP_DENSITY", 0)
    m = Metering(clock=ManualClock(NOW))
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    today = int(NOW.timestamp()) // 86_400 * 86_400
    long_ago = today - 3_000 * 86_400
    events = [
        _timed_event(meter.id, f"e{at}", at, "1.5")
        for at in (long_ago + 7_200, today, today + 3_600)
    ]
    m.storage.add_events(events, duplicate_after=0)
    start = long_ago - 400 * 86_400
    daily = m.usage_series(meter.id, "cus_1", start, today + 86_400, value_grouping_window="day")
    assert [(at, value) for at, value in daily if value] == [
        (long_ago, Decimal("1.5")),
        (today, Decimal("3.0")),
    ]
    stream = m.storage._find_stream(meter.id, "cus_1")  # type: ignore[attr-defined]
    assert sorted(stream.rollup.days) == [long_ago, today]


def _timed_event(meter_id: str, identifier: str, timestamp: int, value: str | None) -> NewEvent:
    """A valid-looking event of cus_1, received at `timestamp`, straight to storage."""
    return NewEvent(
        meter_id=meter_id,
        event_name="api",
        customer="cus_1",
        identifier=identifier,
        timestamp=timestamp,
        created=timestamp,
        value=None if value is None else Decimal(value),
        payload={},
    )


DAYS_WITH_EVENTS = [0, 1, 3, 9]
"""Days (from `GAP_BASE`) that may hold events: a run of two days, gaps of one and five days."""
GAP_BASE = int(NOW.timestamp()) // 86_400 * 86_400 - 20 * 86_400
STEP_HOURS = [1, 5, 24, 48, 24 * 7, 24 * 45]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    formula=st.sampled_from(["sum", "count", "last"]),
    window=st.sampled_from([None, "hour", "day"]),
    events=st.lists(
        st.tuples(
            st.sampled_from(DAYS_WITH_EVENTS),
            st.integers(min_value=0, max_value=86_399),
            st.sampled_from(["1", "2.5", "-3", "7.00"]),
        ),
        min_size=1,
        max_size=20,
    ),
    cancels=st.lists(st.integers(min_value=0, max_value=19), max_size=3),
    start_hours=st.integers(min_value=-30, max_value=10 * 24),
)
def test_rollup_windows_equal_recomputation_across_empty_days(
    *,
    formula: str,
    window: str | None,
    events: list[tuple[int, int, str]],
    cancels: list[int],
    start_hours: int,
) -> None:
    """Hourly rollups over runs of days and gaps between them give the recomputed windows."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(memory_module, "_ROLLUP_DENSITY", 0)  # always read the rollup
        m = Metering(clock=ManualClock(NOW))
        meter = m.meters.create(
            display_name="API",
            event_name="api",
            default_aggregation={"formula": formula},
            event_time_window=window,
        )
        aggregation = get_aggregation(formula)
        assert aggregation is not None

        def check() -> None:
            for first in (GAP_BASE + start_hours * 3_600, GAP_BASE - 3 * 3_600):
                for step in (hours * 3_600 for hours in STEP_HOURS):
                    for count in (1, 3, -(-(GAP_BASE + 10 * 86_400 - first) // step)):
                        query: dict[str, Any] = {
                            "customer": "cus_1",
                            "start": first,
                            "step": step,
                            "count": count,
                        }
                        indexed = m.storage.summarize(
                            SummaryQuery(meter=meter, **query), aggregation
                        )
                        scratch = Storage.summarize(
                            m.storage, SummaryQuery(meter=meter, **query), aggregation
                        )
                        assert [str(value) for value in indexed] == [str(v) for v in scratch]

        for number, (day, second, value) in enumerate(events):
            at = GAP_BASE + day * 86_400 + second
            m.storage.add_event(_timed_event(meter.id, f"e{number}", at, value), duplicate_after=0)
            if number == len(events) // 2:  # rollups built, then kept up to date or dropped
                check()
        for number in cancels:
            found = m.storage.find_event(f"e{number}")
            if found is not None:
                m.storage.cancel_event(found.seq)
        check()


# --- a failed write changes nothing (issue 12, item 11) -------------------------------------

NOW_S = int(NOW.timestamp())


class _UnhashableIdentifier(str):
    """An identifier whose hash raises, as a caller's hostile object may."""

    __slots__ = ()

    def __hash__(self) -> int:
        raise RuntimeError("no hash for you")

    def __eq__(self, other: object) -> bool:
        return str.__eq__(self, other)


class _Fragile:
    """``sum``, except that a value of 13 raises: a user formula failing inside a write."""

    name = "fragile"
    requires_value = True

    def initial(self) -> Decimal:
        """Zero."""
        return Decimal(0)

    def add(self, state: Decimal, timestamp: int, seq: int, value: Decimal | None) -> Decimal:
        """Add the value, unless it is 13."""
        if value == 13:
            raise ArithmeticError("13 is unlucky")
        return state if value is None else state + value

    def combine(self, earlier: Decimal, later: Decimal) -> Decimal:
        """The sum of both."""
        return earlier + later

    def result(self, state: Decimal) -> Decimal:
        """The sum."""
        return state


def _filled_store(formula: str = "sum") -> tuple[Metering, str, str]:
    """A memory store with a raw meter and an hourly pre-aggregated one, each read once.

    So every structure a write touches exists: streams, survivors, hourly rollups.
    """
    m = Metering(clock=ManualClock(NOW))
    raw, hourly = (
        m.meters.create(
            display_name=name,
            event_name=name,
            default_aggregation={"formula": formula},
            event_time_window=window,
        ).id
        for name, window in (("api", None), ("api_hourly", "hour"))
    )
    for name in ("api", "api_hourly"):
        for minutes_ago in range(600, 0, -20):
            m.record(
                name,
                customer="cus_1",
                value="1.5",
                timestamp=NOW - timedelta(minutes=minutes_ago),
                identifier=f"{name}-{minutes_ago}",
            )
    _state(m, [raw, hourly])
    return m, raw, hourly


def _state(m: Metering, meter_ids: list[str]) -> list[object]:
    """What a caller can read of the store (meters, events, every summary shape) and its sizes."""
    storage: Any = m.storage
    state: list[object] = [
        [meter.to_dict() for meter in m.meters.list(limit=100)],
        [len(column) for column in (storage._values, storage._keys, storage._stream_of)],
        len(storage._created),
        {meter: sorted(customers) for meter, customers in storage._streams.items()},
        [m.storage.find_event(f"api-{minutes_ago}") for minutes_ago in range(600, 0, -20)],
    ]
    midnight = NOW_S - NOW_S % 86_400
    for meter_id in meter_ids:
        for customer in ("cus_1", "cus_2"):
            state.append(list(storage.scan_points(meter_id, customer, 0, 2 * 10**10)))
            for window in ("hour", "day"):
                state.append(
                    m.usage_series(
                        meter_id,
                        customer,
                        midnight,
                        midnight + 86_400,
                        value_grouping_window=window,
                    )
                )
            state.append(m.usage(meter_id, customer, midnight - 86_400, midnight + 86_400))
    return state


def _event(meter_id: str, identifier: str, *, customer: str = "cus_1", **fields: Any) -> NewEvent:
    """An event of value 2 a minute before `NOW`, received at `NOW`, for storage directly."""
    event = NewEvent(
        meter_id=meter_id,
        event_name="api",
        customer=customer,
        identifier=identifier,
        timestamp=NOW_S - 60,
        created=NOW_S,
        value=Decimal(2),
        payload={},
    )
    return event._replace(**fields)


def _good_events(raw: str, hourly: str) -> list[NewEvent]:
    """Events that touch every structure: a rollup fold, a survivor, a new stream, a taken id."""
    return [
        _event(raw, "new-1"),  # the latest event of an existing stream: folded into its rollup
        _event(hourly, "new-2", timestamp=NOW_S - 5_000),  # late: a survivor replaced
        _event(raw, "new-3", customer="cus_2"),  # a new stream
        _event(raw, "api-20", created=NOW_S + 1),  # an identifier past its duplicate window
    ]


BAD_EVENTS = {
    "unhashable-identifier": lambda raw: _event(raw, _UnhashableIdentifier("bad")),
    "unknown-meter": lambda raw: _event("mtr_missing", "bad", customer="cus_3"),
    "float-timestamp": lambda raw: _event(raw, "bad", timestamp=1.5),
}


@pytest.mark.parametrize("bad", list(BAD_EVENTS))
@pytest.mark.parametrize("position", [0, 1, 4])
def test_a_batch_failing_part_way_stores_none_of_it(bad: str, position: int) -> None:
    """Whatever raises inside add_events, the store is left exactly as it was, and usable."""
    m, raw, hourly = _filled_store()
    before = _state(m, [raw, hourly])
    batch = _good_events(raw, hourly)
    batch.insert(position, BAD_EVENTS[bad](raw))
    with pytest.raises(Exception):  # noqa: B017 -- each case raises its own kind
        m.storage.add_events(batch, duplicate_after=NOW_S)
    assert _state(m, [raw, hourly]) == before
    assert m.storage.find_event("new-1") is None
    accepted = m.storage.add_events(batch[:position] + batch[position + 1 :], duplicate_after=NOW_S)
    stored = len(m.storage._keys)  # type: ignore[attr-defined]
    assert accepted == list(range(stored - 4, stored))
    assert m.storage.cancel_event(stored - 4)
    assert not m.storage.cancel_event(stored - 4)
    midnight = NOW_S - NOW_S % 86_400
    assert m.usage(raw, "cus_1", midnight, midnight + 86_400) == Decimal("45") + 2


@pytest.mark.parametrize("bad", list(BAD_EVENTS))
def test_a_single_event_failing_stores_nothing(bad: str) -> None:
    """Whatever raises inside add_event (the per-event path), the store is left as it was."""
    m, raw, hourly = _filled_store()
    before = _state(m, [raw, hourly])
    event = BAD_EVENTS[bad](raw)
    with pytest.raises(Exception):  # noqa: B017 -- each case raises its own kind
        m.storage.add_event(event, duplicate_after=NOW_S)
    assert _state(m, [raw, hourly]) == before
    assert m.storage.find_event("bad") is None


def test_a_failing_reuse_of_an_expired_identifier_keeps_the_old_event() -> None:
    """add_event reusing an identifier past its window, failing: the old event is found again."""
    register_aggregation(_Fragile())
    try:
        m, raw, hourly = _filled_store("fragile")
        old = m.storage.find_event("api-600")
        assert old is not None
        before = _state(m, [raw, hourly])
        with pytest.raises(ArithmeticError):
            m.storage.add_event(_event(raw, "api-600", value=Decimal(13)), duplicate_after=NOW_S)
        assert m.storage.find_event("api-600") == old
        assert _state(m, [raw, hourly]) == before
    finally:
        unregister_aggregation("fragile")


def test_a_bad_second_event_of_a_batch_changes_nothing() -> None:
    """A batch whose second event cannot be keyed: nothing stored; a create and cancel work."""
    m, raw, hourly = _filled_store()
    before = _state(m, [raw, hourly])
    with pytest.raises(TypeError):
        m.storage.add_events(
            [_event(raw, "first"), _event(raw, "second", timestamp=1.5)], duplicate_after=0
        )
    assert m.storage.find_event("first") is None
    assert _state(m, [raw, hourly]) == before
    m.record("api", customer="cus_1", value="4", identifier="later")
    m.meter_event_adjustments.create(
        event_name="api", type="cancel", cancel={"identifier": "later"}
    )
    assert _state(m, [raw, hourly])[4:] == before[4:]


def test_an_identifier_whose_hash_raises_fails_the_batch_whole() -> None:
    """A later item's identifier is a str whose hash raises: the batch raises, none of it stays."""
    m, raw, hourly = _filled_store()
    before = _state(m, [raw, hourly])
    batch = [_event(raw, "first"), _event(raw, "second"), _event(raw, _UnhashableIdentifier("x"))]
    with pytest.raises(RuntimeError, match="no hash"):
        m.storage.add_events(batch, duplicate_after=0)
    assert [m.storage.find_event(name) for name in ("first", "second")] == [None, None]
    assert _state(m, [raw, hourly]) == before


def test_a_formula_failing_inside_a_write_undoes_the_batch() -> None:
    """A user formula raising while an event is folded into a rollup: the batch is undone."""
    register_aggregation(_Fragile())
    try:
        m, raw, hourly = _filled_store("fragile")
        before = _state(m, [raw, hourly])
        batch = [_event(raw, "first"), _event(raw, "unlucky", value=Decimal(13))]
        with pytest.raises(ArithmeticError):
            m.storage.add_events(batch, duplicate_after=0)
        assert m.storage.find_event("first") is None
        assert _state(m, [raw, hourly]) == before
    finally:
        unregister_aggregation("fragile")


def test_cancel_of_a_seq_no_event_has_changes_nothing() -> None:
    """cancel_event of an unknown seq (negative ones included) is False and cancels nothing."""
    m, raw, hourly = _filled_store()
    before = _state(m, [raw, hourly])
    stored = len(m.storage._keys)  # type: ignore[attr-defined]
    assert [m.storage.cancel_event(seq) for seq in (stored, -1, -stored)] == [False] * 3
    assert _state(m, [raw, hourly]) == before


def test_built_in_schemes_do_not_read_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """memory:// opens without scanning installed packages' entry points (milliseconds each)."""

    def refuse(group: str) -> list[object]:
        raise AssertionError(f"entry points of {group} read for a built-in scheme")

    monkeypatch.setattr(storage_module, "entry_points", refuse)
    assert type(storage_module.storage_from_url("memory://")).__name__ == "MemoryStorage"


def test_a_batch_received_at_two_times_keeps_each_events_created() -> None:
    """A plain batch of events received at two times, one a duplicate: each keeps its created."""
    m, raw, _ = _filled_store()
    storage: Any = m.storage
    batch = [
        _event(raw, "first", created=NOW_S - 5),
        _event(raw, "first", created=NOW_S - 5),
        _event(raw, "second", created=NOW_S),
    ]
    seqs = m.storage.add_events(batch, duplicate_after=0)
    assert seqs[1] is None
    assert len(storage._created) == len(storage._values)
    found = [m.storage.find_event(name) for name in ("first", "second")]
    assert [record.created for record in found if record] == [NOW_S - 5, NOW_S]


def test_columns_with_a_duplicate_keep_the_created_column_aligned() -> None:
    """`NewEvents` with a repeated identifier: one slot less, each event's created at its seq."""
    m, raw, _ = _filled_store()
    storage: Any = m.storage
    batch = NewEvents.of([_event(raw, "x"), _event(raw, "x"), _event(raw, "y")], NOW_S)
    seqs = m.storage.add_events(batch, duplicate_after=0)
    assert seqs[1] is None and seqs[2] == seqs[0] + 1  # type: ignore[operator]
    assert len(storage._created) == len(storage._values)
    m.storage.add_events([_event(raw, "z", created=NOW_S + 1)], duplicate_after=0)
    record = m.storage.find_event("z")
    assert record is not None and record.created == NOW_S + 1


def test_events_received_in_one_second_share_one_created_int() -> None:
    """With the system clock, the per-event path keeps one `created` int object per second."""
    m = Metering()
    m.meters.create(display_name="a", event_name="api", default_aggregation={"formula": "count"})
    for number in range(5):
        m.record("api", customer="cus_1", identifier=f"e{number}")
    created = m.storage._created  # type: ignore[attr-defined]
    assert len(created) == 5
    assert len({id(seconds) for seconds in created}) == len(set(created))
