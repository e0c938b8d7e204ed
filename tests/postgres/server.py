"""The PostgreSQL server the tests use: ``METERLIB_TEST_POSTGRES_URL``, or a skip saying why.

Under ``CI=true`` a missing server fails the test instead: CI must never skip PostgreSQL.
"""

from __future__ import annotations

import os

import pytest

from tests.postgres.cluster import URL_VARIABLE


def postgres_url() -> str:
    """The test server's URL; skips (or, under CI, fails) without one or without psycopg."""
    reason = None
    try:
        import psycopg  # noqa: F401, PLC0415 -- the driver is an optional extra
        import psycopg_pool  # noqa: F401, PLC0415
    except ImportError:
        reason = "psycopg is not installed: pip install 'meterlib[postgres]'"
    url = os.environ.get(URL_VARIABLE, "")
    if reason is None and not url:
        reason = (
            f"no PostgreSQL: set {URL_VARIABLE}=postgresql://user@host:port/db, or run "
            "`make test`, which starts a throwaway server"
        )
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    return url


def with_options(url: str, **options: str) -> str:
    """`url` with these query options added.

    >>> with_options("postgresql://u@h/db", schema="s")
    'postgresql://u@h/db?schema=s'
    """
    query = "&".join(f"{key}={value}" for key, value in options.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


def drop_schemas(url: str, schemas: list[str]) -> None:
    """Drop the schemas (with everything in them) that a test created."""
    import psycopg  # noqa: PLC0415 -- the driver is an optional extra

    if not schemas:
        return
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET lock_timeout = '30s'")
        for schema in schemas:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
