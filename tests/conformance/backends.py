"""Every storage backend the conformance suite runs against: add one entry to test a new one.

Each entry makes a storage URL (or `Storage` instance) inside a fresh directory, so file-based
backends start empty.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from meterlib import Storage

StorageFactory = Callable[[Path], "str | Storage"]

BACKENDS: list[pytest.param] = [  # type: ignore[valid-type]
    pytest.param(lambda directory: "memory://", id="memory"),
    pytest.param(lambda directory: "sqlite://", id="sqlite-memory"),
    pytest.param(lambda directory: f"sqlite:///{directory / 'usage.db'}", id="sqlite-file"),
]
