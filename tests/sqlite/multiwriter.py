"""A child process for the multi-process test: one writer's share of a common workload.

Usage: ``python -m tests.sqlite.multiwriter DB_PATH WORKER EVENTS``. Every worker sends
``EVENTS`` events; every tenth uses an identifier (and value) common to all workers. Prints one
line per event: ``<identifier> ok`` or ``<identifier> <error code>``.
"""

from __future__ import annotations

import sys

from meterlib import InvalidRequestError, ManualClock, Metering
from tests.sqlite.writer import CLOCK_START


def identifier_and_value(worker: int, index: int) -> tuple[str, int]:
    """The identifier and value of a worker's event; shared ones are the same for all workers."""
    if index % 10 == 0:
        return f"shared-{index}", index % 7 + 1
    return f"w{worker}-{index}", index % 5 + 1


def main() -> None:
    """Send this worker's events one by one and report each outcome."""
    path, worker, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    lines = []
    with Metering(storage=f"sqlite:///{path}", clock=ManualClock(CLOCK_START)) as m:
        for index in range(events):
            identifier, value = identifier_and_value(worker, index)
            try:
                m.record("calls", customer="cus_1", value=value, identifier=identifier)
                lines.append(f"{identifier} ok")
            except InvalidRequestError as error:
                lines.append(f"{identifier} {error.code}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
