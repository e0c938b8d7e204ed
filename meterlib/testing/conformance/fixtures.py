"""The suite's fixtures, a manual clock and a fresh `Metering`, and `Maximum`, a user formula.

``storage_factory`` itself comes from the backend author's plugin (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from meterlib import ManualClock, Metering, Storage

StorageFactory = Callable[[Path], "str | Storage"]
"""Makes the store under test in a fresh directory: a storage URL, or a `Storage` instance."""

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
"""Where the `clock` fixture starts: 2026-03-10 12:00 UTC."""


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 2026-03-10 12:00 UTC."""
    return ManualClock(START)


@pytest.fixture
def m(storage_factory: StorageFactory, clock: ManualClock, tmp_path: Path) -> Iterator[Metering]:
    """A fresh Metering on the backend under test, closed afterwards."""
    with Metering(storage=storage_factory(tmp_path), clock=clock) as metering:
        yield metering


@attrs.frozen
class Maximum:
    """A user formula no backend knows: the largest value (0 for an empty range)."""

    name: str = "max"
    requires_value: bool = True

    def initial(self) -> Decimal | None:
        """No value yet."""
        return None

    def add(
        self, state: Decimal | None, timestamp: int, seq: int, value: Decimal | None
    ) -> Decimal | None:
        """Keep the larger value."""
        if value is None or (state is not None and state >= value):
            return state
        return value

    def combine(self, earlier: Decimal | None, later: Decimal | None) -> Decimal | None:
        """The larger of two maxima."""
        return self.add(earlier, 0, 0, later)

    def result(self, state: Decimal | None) -> Decimal:
        """The maximum, or 0."""
        return Decimal(0) if state is None else state
