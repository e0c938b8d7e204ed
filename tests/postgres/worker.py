"""A child process of the concurrency test: one worker's share of a workload with overlaps.

Usage: ``python -m tests.postgres.worker URL WORKER EVENTS``. Event ``i`` has the identifier
``shared-i`` on every worker when ``i % 10 == 0`` (the same event everywhere), its own
``wWORKER-i`` otherwise; even ``i`` go to the raw ``calls`` meter, odd ones to ``gauge``
(pre-aggregated by hour). Events go in chunks of 50, every tenth chunk one by one and the
others through ``create_many``; after each chunk the worker cancels its events with
``i % 23 == 3``. (One by one, an event costs two round trips and a cancel three: these
shares keep both interleaved with the batches while the test stays well under 30 s.) Prints
``create <identifier> <ok or error code>`` and ``cancel <identifier> <ok or code>`` lines.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal

from meterlib import InvalidRequestError, ManualClock, Metering

CLOCK_START = datetime(2026, 3, 10, 12, tzinfo=UTC)
NOW = int(CLOCK_START.timestamp())
CHUNK = 50


def event_of(worker: int, index: int) -> tuple[str, str, str, int, Decimal]:
    """``(identifier, event name, customer, timestamp, value)`` of a worker's event."""
    shared = index % 10 == 0
    identifier = f"shared-{index}" if shared else f"w{worker}-{index}"
    name = "calls" if index % 2 == 0 else "gauge"
    customer = f"cus_{index % 3}"
    timestamp = NOW - (index * 7 % 48) * 1_800 - worker * (0 if shared else 13)
    value = Decimal(index % 97) / 4 + (0 if shared else worker)
    return identifier, name, customer, timestamp, value


def cancelled(index: int) -> bool:
    """Whether the workers cancel event `index`."""
    return index % 23 == 3


def main() -> None:
    """Send this worker's events and cancels; report each outcome."""
    url, worker, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lines = []
    with Metering(storage=url, clock=ManualClock(CLOCK_START)) as m:
        for first in range(0, events, CHUNK):
            chunk = [event_of(worker, index) for index in range(first, min(events, first + CHUNK))]
            bodies = [
                {
                    "event_name": name,
                    "payload": {"stripe_customer_id": customer, "value": str(value)},
                    "identifier": identifier,
                    "timestamp": timestamp,
                }
                for identifier, name, customer, timestamp, value in chunk
            ]
            if (first // CHUNK) % 10 != 1:
                for body, result in zip(bodies, m.meter_events.create_many(bodies), strict=True):
                    code = "ok" if result.ok else result.error.code  # type: ignore[union-attr]
                    lines.append(f"create {body['identifier']} {code}")
            else:
                for body in bodies:
                    try:
                        m.meter_events.create(**body)  # type: ignore[arg-type]
                        lines.append(f"create {body['identifier']} ok")
                    except InvalidRequestError as error:
                        lines.append(f"create {body['identifier']} {error.code}")
            for offset, (identifier, name, *_) in enumerate(chunk):
                if not cancelled(first + offset):
                    continue
                try:
                    m.meter_event_adjustments.create(
                        event_name=name, type="cancel", cancel={"identifier": identifier}
                    )
                    lines.append(f"cancel {identifier} ok")
                except InvalidRequestError as error:
                    lines.append(f"cancel {identifier} {error.code}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
