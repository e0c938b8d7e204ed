"""Fixtures of the PostgreSQL tests: a fresh schema on the test server, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.postgres.server import drop_schemas, postgres_url, with_options

pytestmark = pytest.mark.postgres


@pytest.fixture
def server_url() -> str:
    """The test server (skips, or under CI fails, without one)."""
    return postgres_url()


@pytest.fixture
def schema(server_url: str) -> Iterator[str]:
    """A schema name of this test's own, dropped after it."""
    name = f"t_{uuid.uuid4().hex[:20]}"
    yield name
    drop_schemas(server_url, [name])


@pytest.fixture
def url(server_url: str, schema: str) -> str:
    """A storage URL on this test's own schema."""
    return with_options(server_url, schema=schema)
