"""The memory store's own limits, beyond what the conformance suite covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import meterlib.storage.memory as memory_module
from meterlib import ConfigurationError, ManualClock, Metering, StorageError

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
