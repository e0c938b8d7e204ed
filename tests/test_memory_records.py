"""The memory store's v2 records: purges release memory, failed appends are undone."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Callable
from typing import Literal

import pytest

from meterlib.model import (
    AggregationSettings,
    CustomerMapping,
    Meter,
    StatusTransitions,
    ValueSettings,
)
from meterlib.storage import LogRecord, SessionRecord
from meterlib.storage.memory import MemoryStorage


def entry(number: int, kind: str = "a", *, created: int = 100) -> LogRecord:
    """Log entry `number`: id ``evt_<number>``, with a body of its own."""
    return LogRecord(id=f"evt_{number}", type=kind, created=created, body=f'{{"n": {number}}}')


def listed_ids(storage: MemoryStorage, types: frozenset[str] | None = None) -> list[str]:
    """The ids of the whole log, newest first."""
    page = storage.list_log_events(limit=10_000, types=types)
    assert page is not None
    return [record.id for record in page[0]]


def test_purged_log_entries_are_released() -> None:
    """After a purge nothing in the store refers to the purged records any more."""
    storage = MemoryStorage()
    records = [entry(number, "ab"[number % 2], created=number) for number in range(100)]
    storage.add_log_events(records)
    references = [weakref.ref(record) for record in records]
    del records
    assert storage.purge_log_events(created_before=90) == 90
    gc.collect()
    assert [reference() is None for reference in references] == [True] * 90 + [False] * 10
    storage._check_records()
    assert listed_ids(storage) == [f"evt_{number}" for number in reversed(range(90, 100))]


def test_the_log_indexes_shrink_after_a_large_purge() -> None:
    """Purging most of the log rebuilds its dicts at their new size and drops empty types."""
    storage = MemoryStorage()
    storage.add_log_events([entry(n, f"type_{n % 50}", created=n) for n in range(10_000)])
    full = sys.getsizeof(storage._log) + sys.getsizeof(storage._log_seq_of)
    storage.purge_log_events(created_before=9_990)
    assert sys.getsizeof(storage._log) + sys.getsizeof(storage._log_seq_of) < full / 100
    assert len(storage._log_seqs_of) == 10  # the ten types left; 40 empty lists dropped
    storage._check_records()


def test_purged_sessions_are_released() -> None:
    """After purge_sessions nothing in the store refers to the purged sessions."""
    storage = MemoryStorage()
    sessions = [
        SessionRecord(id=f"mes_{n}", token=f"tok_{n}", created=0, expires_at=n) for n in range(10)
    ]
    for session in sessions:
        storage.add_session(session)
    references = [weakref.ref(session) for session in sessions]
    del sessions, session
    assert storage.purge_sessions(expired_by=4) == 5
    gc.collect()
    assert [reference() is None for reference in references] == [True] * 5 + [False] * 5
    storage._check_records()


class _Unhashable(str):
    """A type name whose hash raises, to fail an append after its first writes."""

    __hash__ = None  # type: ignore[assignment]


def test_an_append_failing_part_way_is_undone_whole() -> None:
    """A record failing mid-batch (after the earlier ones were written) leaves no trace."""
    storage = MemoryStorage()
    storage.add_log_events([entry(1), entry(2, "b")])
    bad = LogRecord(id="evt_5", type=_Unhashable("c"), created=100, body="{}")
    with pytest.raises(TypeError):
        storage.add_log_events([entry(3), entry(4, "b"), bad, entry(6)])
    storage._check_records()
    assert listed_ids(storage) == ["evt_2", "evt_1"]
    assert listed_ids(storage, frozenset("b")) == ["evt_2"]
    assert [storage.get_log_event(f"evt_{n}") for n in (3, 4, 5, 6)] == [None] * 4
    storage.add_log_events([entry(3), entry(4, "b")])
    assert listed_ids(storage) == ["evt_4", "evt_3", "evt_2", "evt_1"]
    storage._check_records()


def _meter(status: Literal["active", "inactive"] = "active") -> Meter:
    """A meter for the store, not created through a facade."""
    return Meter(
        id="mtr_1",
        created=100,
        updated=100,
        display_name="Calls",
        event_name="calls",
        default_aggregation=AggregationSettings(formula="count"),
        customer_mapping=CustomerMapping(),
        value_settings=ValueSettings(),
        event_time_window=None,
        status=status,
        status_transitions=StatusTransitions(),
        livemode=False,
    )


def test_a_meter_whose_log_append_fails_part_way_is_taken_out_again() -> None:
    """add_meter whose log fails after its first writes: no meter, no entry, name free."""
    storage = MemoryStorage()
    bad = LogRecord(id="evt_2", type=_Unhashable("c"), created=100, body="{}")
    with pytest.raises(TypeError):
        storage.add_meter(_meter(), log=[entry(1), bad])
    assert storage.get_meter("mtr_1") is None
    assert storage.list_meters(status="active", limit=10) == ([], False)
    assert storage.list_log_events(limit=10) == ([], False)
    storage._check_records()
    assert storage.add_meter(_meter(), log=[entry(1)])
    assert storage.list_meters(status=None, limit=10) == ([_meter()], False)


def test_a_replaced_meter_whose_log_append_fails_part_way_is_put_back() -> None:
    """replace_meter whose log fails after its first writes: the old meter, old status lists."""
    storage = MemoryStorage()
    storage.add_meter(_meter())
    bad = LogRecord(id="evt_2", type=_Unhashable("c"), created=100, body="{}")
    with pytest.raises(TypeError):
        storage.replace_meter(_meter("inactive"), log=[entry(1), bad])
    assert storage.get_meter("mtr_1") == _meter()
    assert storage.list_meters(status="inactive", limit=10) == ([], False)
    assert storage.list_meters(status="active", limit=10) == ([_meter()], False)
    assert storage.list_log_events(limit=10) == ([], False)
    storage._check_records()


def test_a_created_that_is_not_an_int_fails_before_any_write() -> None:
    """A record whose created is no int raises TypeError and the batch stores nothing."""
    storage = MemoryStorage()
    bad = LogRecord(id="evt_2", type="a", created="soon", body="{}")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        storage.add_log_events([entry(1), bad])
    assert storage.list_log_events(limit=10) == ([], False)
    assert storage._log_next_seq == 0
    storage._check_records()


def test_the_indexes_agree_after_every_operation() -> None:
    """_check_records holds after appends, refusals, purges and re-used ids."""
    storage = MemoryStorage()
    steps: list[Callable[[], object]] = [
        lambda: storage.add_log_events([entry(n, "abc"[n % 3], created=n % 7) for n in range(30)]),
        lambda: storage.purge_log_events(created_before=3),
        lambda: storage.add_log_events([entry(0, "z", created=50)]),
        lambda: storage.add_session(SessionRecord(id="m", token="t", created=0, expires_at=9)),
        lambda: storage.purge_log_events(created_before=6),
        lambda: storage.purge_sessions(expired_by=9),
        lambda: storage.purge_log_events(created_before=100),
    ]
    for step in steps:
        step()
        storage._check_records()
    assert storage.list_log_events(limit=10) == ([], False)
    assert storage._log_seqs_of == {}
