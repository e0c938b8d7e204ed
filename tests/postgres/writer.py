"""A child process of the fault tests: writes events through a server that may die under it.

Usage: ``python -m tests.postgres.writer URL RUN COUNT BATCH``. Writes events ``RUN-0``,
``RUN-1``… (in batches of BATCH through ``create_many``, or one by one when BATCH is 0). A call
that raises `StorageError` prints ``error <code>`` and is retried with the same identifiers
until it is answered, as the retry contract says a caller may: then ``ack <i> ok`` for an event
stored by this call, or ``ack <i> duplicate_meter_event`` for one an earlier, unanswered call
had stored. A batch answered partly ok and partly duplicate prints ``mixed`` (it must never).
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from meterlib import InvalidRequestError, ManualClock, Metering, StorageError

CLOCK_START = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _open(url: str) -> Metering:
    """A Metering on the URL, retried while the server is down."""
    while True:
        try:
            return Metering(storage=url, clock=ManualClock(CLOCK_START))
        except StorageError as error:
            print(f"error {error.code}", flush=True)
            time.sleep(0.05)


def main() -> None:
    """Write COUNT events, retrying each call until it is answered."""
    url, run, count, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    m = _open(url)
    print("ready", flush=True)
    size = batch or 1
    for first in range(0, count, size):
        indexes = range(first, first + size)
        bodies = [
            {
                "event_name": "calls",
                "payload": {"stripe_customer_id": run},
                "identifier": f"{run}-{i}",
            }
            for i in indexes
        ]
        while True:
            try:
                if batch:
                    codes = [
                        "ok" if result.ok else result.error.code  # type: ignore[union-attr]
                        for result in m.meter_events.create_many(bodies)
                    ]
                else:
                    try:
                        m.meter_events.create(**bodies[0])  # type: ignore[arg-type]
                        codes = ["ok"]
                    except InvalidRequestError as error:
                        codes = [str(error.code)]
                break
            except StorageError as error:
                print(f"error {error.code}", flush=True)
                time.sleep(0.05)
        if len(set(codes)) > 1:
            print("mixed", flush=True)
        print(
            "".join(f"ack {i} {code}\n" for i, code in zip(indexes, codes, strict=True)),
            end="",
            flush=True,
        )


if __name__ == "__main__":
    main()
