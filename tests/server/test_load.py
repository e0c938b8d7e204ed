"""Bounded loopback load: 8 clients, 20,000 v1 events and 100-event streams, exact totals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bench import http_load

CLIENTS = 8
V1_EVENTS = 20_000
STREAM_CALLS = 200
CUSTOMERS = 10


def test_concurrent_clients_lose_and_double_count_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """8 clients' 20,000 v1 events and 20,000 streamed ones add up exactly, per customer.

    On the memory store, to keep the suite fast; ``make bench`` runs the same load on SQLite.
    """
    with http_load.served("memory://") as url:
        meter_id, token = http_load.setup(url)
        v1 = http_load.v1_load(url, clients=CLIENTS, events=V1_EVENTS, customers=CUSTOMERS)
        stream = http_load.stream_load(
            url, token, clients=CLIENTS, calls=STREAM_CALLS, customers=CUSTOMERS
        )
        found = http_load.totals(url, meter_id, CUSTOMERS)
    assert v1.failures == stream.failures == ()
    v1_part = http_load.expected(V1_EVENTS, CUSTOMERS, Decimal(1))
    stream_part = http_load.expected(STREAM_CALLS * 100, CUSTOMERS, Decimal(2))
    assert found == {who: v1_part[who] + stream_part[who] for who in v1_part}
    with capsys.disabled():
        print(
            f"\n[memory] v1: {v1.requests_per_second:,.0f} requests/s "
            f"({v1.events_per_second:,.0f} events/s); stream: "
            f"{stream.requests_per_second:,.0f} requests/s "
            f"({stream.events_per_second:,.0f} events/s)"
        )
