"""Synthetic usage, generated on the fly from a seed: the same events for every backend.

Timestamps are spread evenly over `DAYS` days starting at `START` (UTC midnight) and arrive in
time order, as live traffic does; customers are drawn uniformly; identifiers are UUID-shaped and
unique; values are two-decimal strings such as ``"412.07"``. The clock stands at the end of the
span, so every timestamp lies within Stripe's 35-day window.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from meterlib import ManualClock

DAY = 86_400
HOUR = 3_600
DAYS = 30
START = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())
"""The first second of the data, a UTC midnight."""
END = START + DAYS * DAY
EVENT_NAME = "api_call"
CUSTOMER_KEY = "stripe_customer_id"
VALUE_KEY = "value"

Event = dict[str, Any]
"""The keyword arguments of one ``m.meter_events.create`` call."""


def clock() -> ManualClock:
    """A clock standing at the end of the data's span."""
    return ManualClock(datetime.fromtimestamp(END, UTC))


def customer_names(count: int) -> list[str]:
    """``cus_000000`` … : the customers the data spreads over."""
    return [f"cus_{index:06d}" for index in range(count)]


@dataclass(frozen=True, slots=True)
class Spec:
    """What to generate: how many events over how many customers, from which seed."""

    events: int
    customers: int
    seed: int


def generate(spec: Spec, *, start: int = START, days: int = DAYS) -> Iterator[Event]:
    """Yield `spec.events` create-kwargs, timestamps non-decreasing across `days` from `start`."""
    rng = random.Random(spec.seed)
    names = customer_names(spec.customers)
    span = days * DAY
    count = max(spec.events, 1)
    for index in range(spec.events):
        cents = rng.randrange(1, 100_000)
        yield {
            "event_name": EVENT_NAME,
            "payload": {
                CUSTOMER_KEY: names[rng.randrange(spec.customers)],
                VALUE_KEY: f"{cents // 100}.{cents % 100:02d}",
            },
            "identifier": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "timestamp": start + (index * span + rng.randrange(span)) // count,
        }


def row(index: int, event: Event) -> tuple[int, str, str, int, str]:
    """An event as a baseline table row: ``(seq, identifier, customer, ts, value)``."""
    payload = event["payload"]
    return (
        index,
        event["identifier"],
        payload[CUSTOMER_KEY],
        event["timestamp"],
        payload[VALUE_KEY],
    )
