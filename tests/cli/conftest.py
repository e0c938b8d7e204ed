"""Helpers of the CLI tests: the installed ``meterlib`` console script, run in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

METERLIB = Path(sys.executable).with_name("meterlib")
"""The console script pip installed next to this interpreter ([project.scripts])."""
HOUR = 3_600
NOW = int(time.time()) // HOUR * HOUR
"""The start of this hour: the CLI runs on the system clock, so its events are recent."""
HEADER = "identifier,timestamp,event_name,payload_stripe_customer_id,payload_value\n"
UNSET = frozenset(
    {"METERLIB_STORE", "FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE"}
)
"""Variables a run leaves out: the store is the test's, and output is judged as piped."""


def run(
    *args: str,
    store: str | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``meterlib ARGS`` (with ``METERLIB_STORE`` = `store`, if given); its outcome."""
    if not METERLIB.exists():
        pytest.fail(f"{METERLIB} is missing: install meterlib (pip install -e '.[test]')")
    environment = {key: value for key, value in os.environ.items() if key not in UNSET}
    if store is not None:
        environment["METERLIB_STORE"] = store
    environment.update(env or {})
    return subprocess.run(
        [str(METERLIB), *args],
        input=input,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def ok_json(*args: str, store: str) -> Any:
    """Run a command with ``--json``; it must succeed; its JSON."""
    done = run(*args, "--json", store=store)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store URL in a fresh directory."""
    return f"sqlite:///{tmp_path / 'usage.db'}"


@pytest.fixture
def meter(store: str) -> str:
    """The id of an ``api`` sum meter created through the command."""
    created = ok_json(
        "meters",
        "create",
        "--display-name",
        "API",
        "--event-name",
        "api",
        "--formula",
        "sum",
        store=store,
    )
    meter_id: str = created["id"]
    return meter_id


def csv_rows(count: int, *, start: int = 0, bad_every: int = 0) -> str:
    """A CSV of `count` rows an hour ago (value 1 each; every `bad_every`-th value is bad)."""
    rows = []
    for n in range(start, start + count):
        value = "x" if bad_every and n % bad_every == 0 else "1"
        rows.append(f"r{n},{NOW - HOUR + n % HOUR},api,cus_{n % 3},{value}\n")
    return HEADER + "".join(rows)
