"""The close contract: closing twice is harmless; a closed store refuses every call, coded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from meterlib import Metering, Storage, StorageError
from meterlib.storage import IdempotencyRecord, LogRecord, NewEvent, SessionRecord, storage_from_url
from meterlib.testing.conformance import StorageFactory

CALLS: dict[str, Callable[[Storage, str], Any]] = {
    "get_meter": lambda storage, meter_id: storage.get_meter(meter_id),
    "get_meter_by_event_name": lambda storage, meter_id: storage.get_meter_by_event_name("calls"),
    "list_meters": lambda storage, meter_id: storage.list_meters(status=None, limit=10),
    "add_event": lambda storage, meter_id: storage.add_event(
        NewEvent(meter_id, "calls", "cus_1", "req_1", 0, 0, None, {}), duplicate_after=0
    ),
    "find_event": lambda storage, meter_id: storage.find_event("req_1"),
    "cancel_event": lambda storage, meter_id: storage.cancel_event(1),
    "scan_points": lambda storage, meter_id: list(storage.scan_points(meter_id, "cus_1", 0, 10)),
    "add_session": lambda storage, meter_id: storage.add_session(
        SessionRecord(id="mes_1", token="tok_1", created=0, expires_at=900)
    ),
    "find_session": lambda storage, meter_id: storage.find_session("tok_1"),
    "purge_sessions": lambda storage, meter_id: storage.purge_sessions(expired_by=0),
    "add_log_events": lambda storage, meter_id: storage.add_log_events(
        [LogRecord(id="evt_1", type="t", created=0, body="{}")]
    ),
    "list_log_events": lambda storage, meter_id: storage.list_log_events(limit=10),
    "get_log_event": lambda storage, meter_id: storage.get_log_event("evt_1"),
    "purge_log_events": lambda storage, meter_id: storage.purge_log_events(created_before=0),
    "claim_idempotency_key": lambda storage, meter_id: storage.claim_idempotency_key(
        IdempotencyRecord(key="k", fingerprint="f", created=0), answered_after=0, pending_after=0
    ),
    "purge_idempotency_keys": lambda storage, meter_id: storage.purge_idempotency_keys(
        created_before=0
    ),
}
"""One call of each storage operation that touches the store, given a stored meter's id."""


def _open(storage_factory: StorageFactory, directory: Path) -> Storage:
    made = storage_factory(directory)
    return made if isinstance(made, Storage) else storage_from_url(made)


def _holds_resources(storage: Storage) -> bool:
    """Whether the backend has something to release (it overrides `Storage.close`)."""
    return type(storage).close is not Storage.close


def test_closing_twice_is_harmless(storage_factory: StorageFactory, tmp_path: Path) -> None:
    """A second close (and a Metering's exit after an explicit close) raises nothing."""
    storage = _open(storage_factory, tmp_path)
    storage.close()
    storage.close()
    with Metering(storage=_open(storage_factory, tmp_path)) as m:
        m.close()


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_closed_store_refuses_every_call_with_storage_closed(
    storage_factory: StorageFactory, tmp_path: Path, call: str
) -> None:
    """After close, each operation raises StorageError(storage_closed), never a driver error.

    A backend that holds nothing to release (it keeps `Storage.close`, a no-op) must instead
    keep answering as before: closing it loses nothing.
    """
    storage = _open(storage_factory, tmp_path)
    meter = Metering(storage=storage).meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
    )
    storage.close()
    if not _holds_resources(storage):
        CALLS[call](storage, meter.id)
        return
    with pytest.raises(StorageError) as raised:
        CALLS[call](storage, meter.id)
    assert raised.value.code == "storage_closed"


def test_a_closed_metering_refuses_calls_with_storage_closed(
    storage_factory: StorageFactory, tmp_path: Path
) -> None:
    """Through the public API too: a closed durable store's Metering raises storage_closed."""
    m = Metering(storage=_open(storage_factory, tmp_path))
    m.meters.create(
        display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
    )
    m.close()
    if not _holds_resources(m.storage):
        assert len(m.meters.list().data) == 1
        return
    with pytest.raises(StorageError) as raised:
        m.meters.list()
    assert raised.value.code == "storage_closed"
