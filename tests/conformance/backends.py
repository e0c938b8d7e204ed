"""meterlib's own backends under the shipped conformance suite: a plugin, as a third party writes.

The root ``conftest.py`` loads this module as a pytest plugin, so its ``storage_factory``
fixture serves every module of `meterlib.testing.conformance` (and the per-backend tests
beside it). Each backend carries its marker: ``pytest -m postgres`` runs the suite on
PostgreSQL alone. The PostgreSQL factory gives each directory a schema of its own (the same
schema when a test reopens its directory) and drops them after the test.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterlib.testing.conformance import StorageFactory
from tests.postgres.server import drop_schemas, postgres_url, with_options

RUN = uuid.uuid4().hex
"""Tells this run's schemas from any other run's on a shared server."""

BACKENDS = [
    pytest.param("memory", id="memory", marks=pytest.mark.memory),
    pytest.param("sqlite-memory", id="sqlite-memory", marks=pytest.mark.sqlite),
    pytest.param("sqlite-file", id="sqlite-file", marks=pytest.mark.sqlite),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def schema_of(directory: Path) -> str:
    """The schema of a test directory's PostgreSQL store: the same for the same directory."""
    return "t_" + hashlib.sha256(f"{RUN}:{directory}".encode()).hexdigest()[:24]


@pytest.fixture(params=BACKENDS)
def storage_factory(request: pytest.FixtureRequest) -> Iterator[StorageFactory]:
    """The backend under test, as the conformance suite asks for it."""
    backend = request.param
    if backend == "memory":
        yield lambda directory: "memory://"
    elif backend == "sqlite-memory":
        yield lambda directory: "sqlite://"
    elif backend == "sqlite-file":
        yield lambda directory: f"sqlite:///{directory / 'usage.db'}"
    else:
        url = postgres_url()
        schemas: list[str] = []

        def postgres(directory: Path) -> str:
            schemas.append(schema_of(directory))
            return with_options(url, schema=schemas[-1], pool_size="2")

        yield postgres
        drop_schemas(url, sorted(set(schemas)))
