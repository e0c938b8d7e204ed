"""Fixtures of the conformance suite: a fresh `Metering` per backend with a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meterlib import ManualClock, Metering
from tests.conformance.backends import BACKENDS, StorageFactory

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def storage_factory(request: pytest.FixtureRequest) -> StorageFactory:
    """The backend under test."""
    factory: StorageFactory = request.param
    return factory


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 2026-03-10 12:00 UTC."""
    return ManualClock(START)


@pytest.fixture
def m(storage_factory: StorageFactory, clock: ManualClock, tmp_path: Path) -> Iterator[Metering]:
    """A fresh Metering on the backend under test, closed afterwards."""
    with Metering(storage=storage_factory(tmp_path), clock=clock) as metering:
        yield metering
