"""What a SQLite connection did inside a block: its statements, or its VM steps."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


class Steps:
    """A running count of progress-handler calls (one every `every` VM instructions)."""

    def __init__(self) -> None:
        self.count = 0

    def tick(self) -> int:
        """The progress handler: count, and let the statement go on (0)."""
        self.count += 1
        return 0


@contextmanager
def counted_steps(db: sqlite3.Connection, every: int = 1) -> Iterator[Steps]:
    """Count `db`'s VM instructions (in calls of the handler, one per `every`) in the block.

    Steps, not seconds: the count is the same however loaded the machine is.
    """
    steps = Steps()
    db.set_progress_handler(steps.tick, every)
    try:
        yield steps
    finally:
        db.set_progress_handler(None, every)


@contextmanager
def traced_statements(db: sqlite3.Connection) -> Iterator[list[str]]:
    """Every SQL statement `db` runs in the block, in order."""
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        db.set_trace_callback(None)
