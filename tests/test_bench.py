"""The benchmark suite runs and its meterlib answers agree with the sqlite3 baseline's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import data
from bench.lower_bound import InlinedStore
from meterlib import InvalidRequestError, Metering

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_runs_and_cross_checks_answers(tmp_path: Path) -> None:
    """`python -m bench --quick --only summaries` exits 0: no error, no answer mismatch."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--only",
            "summaries",
            "--tmpdir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "summary 1 customer hourly" in result.stdout


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"event_name": "unknown"}, "event_name"),
        ({"payload": {"stripe_customer_id": "cus_1"}}, "payload"),
        ({"payload": {"stripe_customer_id": " ", "value": "1"}}, "payload"),
        ({"payload": {"stripe_customer_id": "cus_1", "value": "abc"}}, "value"),
        ({"payload": {"stripe_customer_id": "cus_1", "value": "1" * 16}}, "value"),
        ({"identifier": ""}, "identifier"),
        ({"identifier": "x" * 101}, "identifier"),
        ({"timestamp": data.END + 301}, "timestamp"),
        ({"timestamp": data.END - 35 * 86_400 - 1}, "timestamp"),
        ({"identifier": "taken"}, "duplicate"),
    ],
)
def test_lower_bound_sketch_checks_what_create_checks(
    change: dict[str, object], param: str
) -> None:
    """The inlined sketch rejects what meterlib rejects, so its cost is a fair lower bound."""
    event: dict[str, Any] = {
        "event_name": data.EVENT_NAME,
        "payload": {"stripe_customer_id": "cus_1", "value": "2.50"},
        "identifier": "taken",
        "timestamp": data.END - 60,
    }
    sketch = InlinedStore(data.END)
    metering = Metering(clock=data.clock())
    metering.meters.create(
        display_name="m", event_name=data.EVENT_NAME, default_aggregation={"formula": "sum"}
    )
    assert sketch.create(**event).to_dict() == metering.meter_events.create(**event).to_dict()
    bad = {**event, "identifier": "other", **change}
    with pytest.raises(ValueError, match=param):
        sketch.create(**bad)
    with pytest.raises(InvalidRequestError):
        metering.meter_events.create(**bad)


def test_lower_bound_runs() -> None:
    """`python -m bench.lower_bound` prints each contender's cost against the floor."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.lower_bound", "--events", "2000"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "floor",
        "inlined",
        "meterlib",
    ]
