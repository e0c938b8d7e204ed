"""A child process for durability tests: writes events and acknowledges each on stdout.

Usage: ``python -m tests.sqlite.writer DB_PATH RUN COUNT [BATCH]``. Prints ``ack <i>`` only
after ``meter_events.create`` returned for event ``i``; with BATCH, events go in batches of that
size through ``create_many`` and each batch's events are acknowledged after it returns.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime

from meterlib import InvalidRequestError, ManualClock, Metering

CLOCK_START = datetime(2026, 3, 10, tzinfo=UTC)


def main() -> None:
    """Create the meter if needed, then write COUNT events, acknowledging each."""
    path, run, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    with Metering(storage=f"sqlite:///{path}", clock=ManualClock(CLOCK_START)) as m:
        with contextlib.suppress(InvalidRequestError):  # an earlier run created it already
            m.meters.create(
                display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
            )
        print("ready", flush=True)
        if batch:
            for first in range(0, count, batch):
                indexes = range(first, first + batch)
                results = m.meter_events.create_many(
                    {
                        "event_name": "calls",
                        "payload": {"stripe_customer_id": run},
                        "identifier": f"{run}-{index}",
                    }
                    for index in indexes
                )
                assert all(result.ok for result in results)
                print("".join(f"ack {index}\n" for index in indexes), end="", flush=True)
            return
        for index in range(count):
            m.record("calls", customer=run, identifier=f"{run}-{index}")
            print(f"ack {index}", flush=True)


if __name__ == "__main__":
    main()
