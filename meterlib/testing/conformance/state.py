"""A store's full state, read through the public API, to prove a failed call changed nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meterlib import Metering, StorageError
from meterlib.timeutil import DAY, EARLIEST, LATEST, now_seconds, window_start


def stored_event_count(m: Metering) -> int | None:
    """How many events the store holds, cancelled ones included; None if it cannot list them.

    Read through `Storage.list_events` page by page, so any backend that lists its events is
    checked to the last row.
    """
    count, after = 0, None
    try:
        while page := m.storage.list_events(limit=1_000, after=after, include_cancelled=True):
            count += len(page)
            after = page[-1].seq
    except StorageError as error:
        if error.code == "storage_unsupported":
            return None
        raise
    return count


def store_state(m: Metering, *, identifiers: Iterable[str], customers: Iterable[str]) -> Any:
    """Meters, the event log, these identifiers' events, these customers' summaries.

    Summaries are read by day over the event window, by hour over the last two days and
    ungrouped, so a cache (the memory store's rollups) left wrong shows as well as a stored row.
    """
    meters = [meter.to_dict() for meter in m.meters.list(limit=100).auto_paging_iter()]
    now = window_start(now_seconds(m.clock), DAY)
    logged = [event.to_dict() for event in m.v2.core.events.list(limit=100).auto_paging_iter()]
    state: list[Any] = [meters, stored_event_count(m), logged]
    state.extend(m.storage.find_event(identifier) for identifier in identifiers)
    for meter in meters:
        for customer in customers:
            state.append(list(m.storage.scan_points(meter["id"], customer, EARLIEST, LATEST + 1)))
            for window, days in (("day", 40), ("hour", 2)):
                state.append(
                    m.usage_series(
                        meter["id"],
                        customer,
                        now - (days - 1) * DAY,
                        now + DAY,
                        value_grouping_window=window,
                    )
                )
            state.append(m.usage(meter["id"], customer, EARLIEST, LATEST))
    return state
