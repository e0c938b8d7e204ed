"""The demo (`examples/quickstart.py`) runs as users run it and prints the right numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parent.parent / "examples" / "quickstart.py"

DAILY = {
    # (day, customer): (api_request count, ai_tokens sum, seats last, gpus_in_use hourly sum)
    ("2026-03-02", "cus_acme"): ("3", "3.39", "11", "8"),
    ("2026-03-03", "cus_acme"): ("6", "6.78", "13", "6"),
    ("2026-03-04", "cus_acme"): ("9", "10.17", "15", "6"),
    ("2026-03-02", "cus_globex"): ("6", "12.78", "21", "9"),
    ("2026-03-03", "cus_globex"): ("9", "19.17", "23", "9"),
    ("2026-03-04", "cus_globex"): ("12", "25.56", "25", "9"),
    ("2026-03-02", "cus_initech"): ("9", "28.17", "31", "12"),
    ("2026-03-03", "cus_initech"): ("12", "37.56", "33", "12"),
    ("2026-03-04", "cus_initech"): ("15", "46.95", "35", "12"),
}
"""Worked out by hand from the story in the demo's docstring, not by running meterlib."""

HOURLY_ACME_FIRST_DAY = {
    "08:00": ("0", "0", "10", "0"),
    "09:00": ("1", "1.09", "0", "2"),
    "13:00": ("1", "1.13", "0", "4"),
    "17:00": ("1", "1.17", "0", "2"),
    "18:00": ("0", "0", "11", "0"),
}


@pytest.fixture(scope="module")
def output() -> str:
    """The demo's standard output, run in a fresh interpreter like `make demo` does."""
    done = subprocess.run(
        [sys.executable, str(QUICKSTART)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def rows(output: str, pattern: str) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Table rows whose leading cells match `pattern`, keyed by those cells."""
    found = {}
    for line in output.splitlines():
        match = re.match(pattern, line)
        if match:
            found[match.groups()] = tuple(line[match.end() :].split())
    return found


def test_daily_summaries_are_the_hand_computed_totals(output: str) -> None:
    """Each customer-day row shows count, sum, last and pre-aggregated sum as worked out by hand."""
    assert rows(output, r"(\d{4}-\d\d-\d\d)\s+(cus_\w+)") == DAILY


def test_hourly_summaries_include_empty_hours_and_the_late_report(output: str) -> None:
    """The hourly table has all 11 hours (empty ones 0) and the late GPU report wins 13:00."""
    hourly = rows(output, r"(\d\d:00)\s")
    assert list(hourly) == [(f"{hour:02d}:00",) for hour in range(8, 19)]
    for hour, expected in HOURLY_ACME_FIRST_DAY.items():
        assert hourly[(hour,)] == expected
    assert hourly[("10:00",)] == ("0", "0", "0", "0")


def test_cancelled_event_disappears_from_usage(output: str) -> None:
    """The mistaken 1000 counts before the cancel and is gone after it."""
    match = re.search(r"ai_tokens that day: (\S+) before cancelling \S+, (\S+) after", output)
    assert match is not None
    before, after = map(Decimal, match.groups())
    assert before - after == 1000
    assert after == Decimal(DAILY[("2026-03-03", "cus_globex")][1])
    assert "(adjustment complete)" in output


def test_retry_is_rejected_by_identifier(output: str) -> None:
    """Resending an identifier is reported as duplicate_meter_event on the identifier param."""
    assert "-> duplicate_meter_event (param identifier)" in output


def test_meters_table_lists_each_formula_and_window(output: str) -> None:
    """The meters table shows the four meters with their formula and pre-aggregation window."""
    meters = rows(output, r"(api_request|ai_tokens|seats|gpus_in_use)\s")
    assert meters[("api_request",)][-3:] == ("count", "none", "(raw)")
    assert meters[("ai_tokens",)][-3:] == ("sum", "none", "(raw)")
    assert meters[("seats",)][-3:] == ("last", "none", "(raw)")
    assert meters[("gpus_in_use",)][-2:] == ("sum", "hour")


HIGH_THROUGHPUT = QUICKSTART.parent / "high_throughput.py"


def test_high_throughput_example_records_and_reports_what_it_says() -> None:
    """The stream example: every good event counted, the two bad ones reported by code."""
    done = subprocess.run(
        [sys.executable, str(HIGH_THROUGHPUT)], capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    totals = {customer: 0 for customer in ("cus_0", "cus_1", "cus_2")}
    for n in range(1_000):
        if n not in (10, 20):  # event 10 has a bad value, event 20 names no meter
            totals[f"cus_{n % 3}"] += n % 7
    assert lines[:3] == [f"{customer} {total}" for customer, total in totals.items()]
    assert sorted(lines[3:]) == [
        "v1.billing.meter.error_report_triggered meter_event_invalid_value 1 ['req_10']",
        "v1.billing.meter.no_meter_found no_meter 1 ['req_20']",
    ]
