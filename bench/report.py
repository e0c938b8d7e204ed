"""Result rows, the issue's targets, ratios to the baselines of the same run, table and JSON.

Every ratio is a *cost* ratio: meterlib's time per event (or per query) divided by the
baseline's, measured in the same process run. Below 1 means meterlib is faster.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BASELINES = ("floor", "inlined", "sqlite3", "duckdb", "create_many", "csv+sqlite3", "psycopg")
"""Backends that are baselines; every other backend row is compared with them."""

PER_EVENT = "ingest per-event"
BULK = "ingest bulk"
IMPORT = "import of a CSV file (m.import_events)"
STREAM = "ingest v2 stream, 100-event calls (create_many of the same 100 as baseline)"
HTTP_V1 = "ingest v1 per-event over HTTP, 8 clients (meterlib serve; in process beside)"
HTTP_STREAM = "ingest v2 stream over HTTP, 8 clients, 100-event calls (in process beside)"
DURABLE_NORMAL = "durable per-event synchronous=NORMAL"
DURABLE_FULL = "durable per-event synchronous=FULL"
HOURLY_SERIES = "summary 1 customer hourly 30d, 720 windows (m.usage_series)"
HOURLY = "summary 1 customer hourly 30d, 720 windows (Stripe listing, all pages)"
HOURLY_PAGE = "summary 1 customer hourly, first page (100 windows)"
WHOLE_USAGE = "summary 1 customer whole 30d (m.usage)"
WHOLE_LIST = "summary 1 customer whole 30d (list, 1 window)"
SWEEP = "summary all customers daily 30d sweep"
BUILD = "store build (bulk path)"
COLD_OPEN = "cold open of durable store"
RSS = "RSS of in-memory store"
STORE_SIZE = "store size on disk, the same events (bare table as baseline)"
COLD_SUMMARY = "summary 1 customer hourly 30d, first query after reopening (cold)"
WARM_SUMMARY = "summary 1 customer hourly 30d, repeated query (warm)"
GROWTH = "summary cost vs store size (events outside range)"

WORKLOAD_ORDER = (
    PER_EVENT,
    BULK,
    IMPORT,
    STREAM,
    HTTP_V1,
    HTTP_STREAM,
    DURABLE_NORMAL,
    DURABLE_FULL,
    HOURLY_SERIES,
    HOURLY,
    HOURLY_PAGE,
    WHOLE_USAGE,
    WHOLE_LIST,
    SWEEP,
    BUILD,
    COLD_OPEN,
    RSS,
    GROWTH,
    STORE_SIZE,
    COLD_SUMMARY,
    WARM_SUMMARY,
)
BACKEND_ORDER = (*BASELINES, "memory", "sqlite", "postgres")

RATIO_TARGETS: dict[tuple[str, str, str], float] = {
    (PER_EVENT, "memory", "inlined"): 1.5,
    (BULK, "memory", "inlined"): 1.5,
    (BULK, "sqlite", "sqlite3"): 2.0,
    (IMPORT, "memory", "create_many"): 1 / 0.8,
    (IMPORT, "sqlite", "csv+sqlite3"): 2.0,
    (STREAM, "memory", "create_many"): 1.0,
    (STREAM, "sqlite", "create_many"): 1.0,
    (DURABLE_NORMAL, "sqlite", "sqlite3"): 2.0,
    (HOURLY_SERIES, "memory", "sqlite3"): 1 / 3,
    (HOURLY_SERIES, "memory", "duckdb"): 1 / 20,
    (HOURLY_SERIES, "sqlite", "sqlite3"): 1.0,
    (PER_EVENT, "postgres", "psycopg"): 2.0,
    (BULK, "postgres", "psycopg"): 2.0,
    (HOURLY_SERIES, "postgres", "psycopg"): 1.0,
    (STORE_SIZE, "sqlite", "sqlite3"): 1.3,
    (STORE_SIZE, "postgres", "psycopg"): 1.3,
    (COLD_SUMMARY, "sqlite", "sqlite3"): 1.0,
    (WARM_SUMMARY, "sqlite", "sqlite3"): 1.0,
    (COLD_SUMMARY, "postgres", "psycopg"): 1.0,
    (WARM_SUMMARY, "postgres", "psycopg"): 1.0,
}
"""The issue's ratio targets: (workload, backend, baseline) -> the highest cost ratio allowed.

The issue's "one-customer 30-day hourly summary" is checked on ``m.usage_series``, the call that
returns those 720 values; the Stripe-shaped listing of the same windows (8 pages of 100
``MeterEventSummary`` objects) is measured and compared too, without a target.
"""

ABSOLUTE_TARGETS: dict[tuple[str, str, str], tuple[str, float]] = {
    (HOURLY_SERIES, "memory", "ms"): ("<=", 0.5),
    (RSS, "memory", "MB at 1M events"): ("<=", 400),
    (GROWTH, "memory", "x"): ("<=", 1.5),
    (GROWTH, "sqlite", "x"): ("<=", 1.5),
    (HTTP_V1, "memory", "ev/s"): (">=", 1_000),
    (HTTP_V1, "sqlite", "ev/s"): (">=", 1_000),
    (HTTP_STREAM, "memory", "ev/s"): (">=", 10_000),
    (HTTP_STREAM, "sqlite", "ev/s"): (">=", 10_000),
}
"""The issue's absolute targets: (workload, backend, unit) -> (comparison, bound).

The growth bound (1.5x for 50x the events) is this suite's reading of "must not grow". The
HTTP bounds are Stripe's live limits (issue 15): 1,000 v1 calls and 10,000 stream events a
second; the in-process rows beside them (backend ``memory in process``) carry no target.
"""


@dataclass(slots=True)
class Row:
    """One measurement: `value` in `unit`; `cost` (seconds per event or query) for ratios."""

    workload: str
    variant: str
    backend: str
    unit: str
    value: float | None
    cost: float | None = None
    note: str = ""
    ratios: dict[str, float] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)


def rate_row(workload: str, variant: str, backend: str, events: int, seconds: float) -> Row:
    """A throughput row: events per second."""
    return Row(workload, variant, backend, "ev/s", events / seconds, cost=seconds / events)


def latency_row(workload: str, variant: str, backend: str, seconds: float, note: str = "") -> Row:
    """A query row: milliseconds per query (a median)."""
    return Row(workload, variant, backend, "ms", seconds * 1e3, cost=seconds, note=note)


def missing_row(workload: str, variant: str, backend: str, why: str) -> Row:
    """A row for something that could not be measured, and why."""
    return Row(workload, variant, backend, "", None, note=f"n/a ({why})")


def _ok(comparison: str, value: float, bound: float) -> bool:
    return value >= bound if comparison == ">=" else value <= bound


def evaluate(rows: list[Row]) -> None:
    """Fill each row's ratios to the baselines of its workload and its target checks."""
    baselines = {
        (row.workload, row.variant, row.backend): row
        for row in rows
        if row.backend in BASELINES and row.cost
    }
    for row in rows:
        row.ratios.clear()
        row.checks.clear()
        if row.value is None:
            continue
        if row.backend not in BASELINES and row.cost is not None:
            for name in BASELINES:
                base = baselines.get((row.workload, row.variant, name))
                if base is None or base.cost is None:
                    continue
                ratio = row.cost / base.cost
                row.ratios[name] = ratio
                limit = RATIO_TARGETS.get((row.workload, row.backend, name))
                if limit is not None:
                    row.checks.append(
                        {"against": name, "target": f"<={limit:.3g}", "ok": ratio <= limit}
                    )
        absolute = ABSOLUTE_TARGETS.get((row.workload, row.backend, row.unit))
        if absolute is not None:
            comparison, bound = absolute
            row.checks.append(
                {
                    "against": "absolute",
                    "target": f"{comparison}{bound:g} {row.unit}",
                    "ok": _ok(comparison, row.value, bound),
                }
            )


def _number(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.1f}k"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _result(row: Row) -> str:
    if row.value is None:
        return row.note
    return f"{_number(row.value)} {row.unit}"


def _ratio_cell(row: Row, baseline: str) -> str:
    ratio = row.ratios.get(baseline)
    if ratio is None:
        return ""
    cell = f"{ratio:.3g}x"
    for check in row.checks:
        if check["against"] == baseline:
            cell += f" {'PASS' if check['ok'] else 'FAIL'}{check['target']}"
    return cell


def _absolute_cell(row: Row) -> str:
    return " ".join(
        f"{'PASS' if check['ok'] else 'FAIL'} {check['target']}"
        for check in row.checks
        if check["against"] == "absolute"
    )


def ordered(rows: list[Row]) -> list[Row]:
    """Rows grouped by workload, then variant (in order of appearance), baselines first."""
    variants: dict[str, int] = {}
    for row in rows:
        variants.setdefault(row.variant, len(variants))

    def key(row: Row) -> tuple[int, int, int]:
        workload = (
            WORKLOAD_ORDER.index(row.workload)
            if row.workload in WORKLOAD_ORDER
            else len(WORKLOAD_ORDER)
        )
        backend = (
            BACKEND_ORDER.index(row.backend) if row.backend in BACKEND_ORDER else len(BACKEND_ORDER)
        )
        return workload, variants[row.variant], backend

    return sorted(rows, key=key)


def table(rows: list[Row]) -> str:
    """The results as a fixed-width text table, one line per row, grouped by workload."""
    header = ["workload", "variant", "backend", "result", *(f"vs {b}" for b in BASELINES)]
    header.append("target / note")
    lines = [header]
    for row in rows:
        note = _absolute_cell(row)
        if row.value is not None and row.note:
            note = f"{note} {row.note}".strip()
        lines.append(
            [
                row.workload,
                row.variant,
                row.backend,
                _result(row),
                *(_ratio_cell(row, b) for b in BASELINES),
                note,
            ]
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header) - 1)]
    text = []
    previous = ""
    for number, line in enumerate(lines):
        if number > 1 and line[0] != previous:
            text.append("")
        previous = line[0]
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        text.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(text)


def _check_line(row: Row, check: dict[str, Any]) -> str:
    against = check["against"]
    got = (
        f"{_number(row.value or 0)} {row.unit}"
        if against == "absolute"
        else f"{row.ratios[against]:.3g}x {against}"
    )
    return f"{row.workload} [{row.variant}] {row.backend}: {got}, target {check['target']}"


def targets(rows: list[Row]) -> list[str]:
    """One line per target check, PASS or FAIL first."""
    return [
        f"{'PASS' if check['ok'] else 'FAIL'}  {_check_line(row, check)}"
        for row in rows
        for check in row.checks
    ]


def failures(rows: list[Row]) -> list[str]:
    """One line per failed target."""
    return [_check_line(row, check) for row in rows for check in row.checks if not check["ok"]]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def write_json(
    path: Path,
    *,
    machine: dict[str, Any],
    config: dict[str, Any],
    rows: list[Row],
    extra: dict[str, Any],
) -> None:
    """Write the run as JSON (atomically: a ``.tmp`` file renamed into place)."""
    document = {
        "schema": 1,
        "machine": machine,
        "config": config,
        "rows": [asdict(row) for row in rows],
        "failed_targets": failures(rows),
        **extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps(_clean(document), indent=1, sort_keys=False) + "\n")
    os.replace(scratch, path)
