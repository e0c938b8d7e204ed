"""The suite's fixtures: a manual clock and a fresh `Metering` on the backend under test.

``storage_factory`` itself comes from the backend author's plugin (see the package docstring).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

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
