"""The stream keeps the sessions it has found: one storage read per token, a bounded number."""

from __future__ import annotations

import pytest

import meterlib.services.v2 as v2_services
from meterlib import ManualClock, Metering
from meterlib.storage import SessionRecord
from meterlib.storage.memory import MemoryStorage


class _CountingStorage(MemoryStorage):
    """A memory store that counts its session look-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def find_session(self, token: str) -> SessionRecord | None:
        self.lookups += 1
        return super().find_session(token)


def _metering() -> tuple[Metering, _CountingStorage]:
    storage = _CountingStorage()
    m = Metering(storage=storage, clock=ManualClock("2026-03-10T12:00:00Z"))
    m.meters.create(display_name="API", event_name="api", default_aggregation={"formula": "sum"})
    return m, storage


def _stream(m: Metering, token: str) -> None:
    m.v2.billing.meter_event_stream.create(
        authentication_token=token,
        events=[{"event_name": "api", "payload": {"stripe_customer_id": "c", "value": "1"}}],
    )


def test_a_token_is_read_from_the_storage_once() -> None:
    """Stream calls with one token read its session once; an unknown token is read each time."""
    m, storage = _metering()
    token = m.v2.billing.meter_event_session.create().authentication_token
    for _ in range(3):
        _stream(m, token)
    assert storage.lookups == 1
    for _ in range(2):
        with pytest.raises(Exception, match="no meter event session"):
            _stream(m, "mtrtok_unknown")
    assert storage.lookups == 3


def test_the_kept_sessions_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the bound the stream forgets what it kept, and every token still works."""
    monkeypatch.setattr(v2_services, "_KEPT_SESSIONS", 2)
    m, storage = _metering()
    tokens = [m.v2.billing.meter_event_session.create().authentication_token for _ in range(3)]
    for token in tokens:
        _stream(m, token)
    kept = m.v2.billing.meter_event_stream._sessions
    assert list(kept) == [tokens[2]]
    for token in tokens:
        _stream(m, token)
    assert storage.lookups == 6  # t0, t1, t2; then t0, t1 (full: forgets), t2 again
    assert m.usage(m.meters.list().data[0].id, "c", 0, 2_000_000_000) == 6
