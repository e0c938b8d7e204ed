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


BAD_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"event_name": "unknown"}, "event_name"),
    ({"payload": {"stripe_customer_id": "cus_1"}}, "payload"),
    ({"payload": {"stripe_customer_id": " ", "value": "1"}}, "payload"),
    ({"payload": {"stripe_customer_id": "cus_1", "value": "abc"}}, "value"),
    ({"payload": {"stripe_customer_id": "cus_1", "value": "1" * 16}}, "value"),
    ({"payload": {"stripe_customer_id": "c" * 101, "value": "1"}}, "payload"),
    ({"payload": {"stripe_customer_id": "cus_\x00", "value": "1"}}, "payload"),
    ({"identifier": ""}, "identifier"),
    ({"identifier": "req_\ud800"}, "identifier"),
    ({"identifier": "x" * 101}, "identifier"),
    ({"timestamp": data.END + 301}, "timestamp"),
    ({"timestamp": data.END - 35 * 86_400 - 1}, "timestamp"),
    ({"identifier": "taken"}, "duplicate"),
]
"""Changes that make the sketches' event invalid, and the check that says so."""
SKETCH_EVENT: dict[str, Any] = {
    "event_name": data.EVENT_NAME,
    "payload": {"stripe_customer_id": "cus_1", "value": "2.50"},
    "identifier": "taken",
    "timestamp": data.END - 60,
}


def _metering() -> Metering:
    metering = Metering(clock=data.clock())
    metering.meters.create(
        display_name="m", event_name=data.EVENT_NAME, default_aggregation={"formula": "sum"}
    )
    return metering


@pytest.mark.parametrize(("change", "param"), BAD_EVENTS)
def test_lower_bound_sketch_checks_what_create_checks(
    change: dict[str, object], param: str
) -> None:
    """The inlined sketch rejects what meterlib rejects, so its cost is a fair lower bound."""
    event, sketch, metering = SKETCH_EVENT, InlinedStore(data.END), _metering()
    assert sketch.create(**event).to_dict() == metering.meter_events.create(**event).to_dict()
    bad = {**event, "identifier": "other", **change}
    with pytest.raises(ValueError, match=param):
        sketch.create(**bad)
    with pytest.raises(InvalidRequestError):
        metering.meter_events.create(**bad)


@pytest.mark.parametrize(
    "bad",
    [
        *({**SKETCH_EVENT, "identifier": "other", **change} for change, _ in BAD_EVENTS),
        {**SKETCH_EVENT, "identifier": "other", "extra": 1},
        [("event_name", data.EVENT_NAME)],
    ],
)
def test_lower_bound_batch_sketch_checks_what_create_many_checks(bad: object) -> None:
    """The inlined batch loop accepts and rejects the items ``create_many`` does."""
    sketch, metering = InlinedStore(data.END), _metering()
    results = metering.meter_events.create_many([SKETCH_EVENT, bad])  # type: ignore[list-item]
    assert [result.error is None for result in results] == [True, False]
    assert sketch.create_many([SKETCH_EVENT, bad]) == [0, None]


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
