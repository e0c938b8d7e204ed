"""Imports stream in bounded memory (1M rows) and survive SIGKILL (re-run: each row once)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.files.conftest import NOW

ROWS = 1_000_000
CEILING_MIB = 80
"""How far a 1M-row import may raise the peak RSS (it takes ~50 MiB, most of it the 10,000-row
batch in flight; the file is ~40 MB, and holding its rows as items would take ~700 MB)."""

RSS_CHILD = """
import json, sys
from meterlib import ManualClock, Metering
def peak_kib():  # this process's own high-water RSS (VmHWM), as tests/test_resource_bounds.py
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
path, rows, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as out:  # 1,000 identifiers over and over: the store stays small
    out.write("identifier,timestamp,event_name,payload_stripe_customer_id,payload_value\\n")
    for first in range(0, rows, 10_000):
        out.write("".join(
            f"req_{n % 1000:04d},{now - n % 86_400},api,cus_{n % 97:03d},{n % 1000}.25\\n"
            for n in range(first, first + 10_000)
        ))
m = Metering(clock=ManualClock(now))
m.meters.create(display_name="API", event_name="api", default_aggregation={"formula": "sum"})
before = peak_kib()
report = m.import_events(path)
print(json.dumps({"grown_mib": (peak_kib() - before) / 1024, "report": report.to_dict(),
                  "size": __import__("os").path.getsize(path)}))
"""


@pytest.mark.slow
def test_a_million_row_import_stays_under_a_fixed_memory_ceiling(tmp_path: Path) -> None:
    """Importing a generated 1M-row (60 MB) CSV raises the child's peak RSS by < 80 MiB.

    Its rows repeat 1,000 identifiers, so the store keeps 1,000 events and 999,000 rows are
    duplicates: every row is read, parsed and judged by the pipeline, and what the peak
    measures is the import alone, not a store growing with it.
    """
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(RSS_CHILD),
            str(tmp_path / "big.csv"),
            str(ROWS),
            str(NOW),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    report = measured["report"]
    assert (report["rows"], report["recorded"], report["duplicates"]) == (ROWS, 1_000, ROWS - 1_000)
    assert measured["size"] > 35 * 2**20
    assert measured["grown_mib"] < CEILING_MIB, measured


KILL_CHILD = """
import sys
from meterlib import ManualClock, Metering
url, path, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = Metering(url, clock=ManualClock(now))
if not m.meters.list().data:
    m.meters.create(display_name="API", event_name="api", default_aggregation={"formula": "sum"})
def progress(report, read):
    print(report.rows, flush=True)
report = m.import_events(path, batch_size=500, progress=progress)
print("done", report.rows, report.recorded, report.duplicates, report.rejected, flush=True)
"""
KILL_ROWS = 40_000


def _write_rows(path: Path) -> None:
    """Half the rows with identifiers, half without (those get derived ones)."""
    lines = ["identifier,timestamp,event_name,payload_stripe_customer_id,payload_value\n"]
    lines += [
        f"{'' if n % 2 else f'req_{n}'},{NOW - n % 3_600},api,cus_{n % 7},{n % 10}\n"
        for n in range(KILL_ROWS)
    ]
    path.write_text("".join(lines))


def _child(url: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILL_CHILD), url, str(path), str(NOW)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_a_rerun_after_sigkill_records_every_row_exactly_once(tmp_path: Path) -> None:
    """SIGKILL mid-file, run again: the store holds every row exactly once, summing right."""
    path, url = tmp_path / "rows.csv", f"sqlite:///{tmp_path / 'usage.db'}"
    _write_rows(path)
    with _child(url, path) as child:
        assert child.stdout is not None
        for _ in range(10):  # ten batches of 500 committed, then kill it mid-file
            assert child.stdout.readline().strip().isdigit()
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    with _child(url, path) as rerun:
        out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    _, rows, recorded, duplicates, rejected = out.splitlines()[-1].split()
    assert (int(rows), int(rejected)) == (KILL_ROWS, 0)
    assert int(recorded) + int(duplicates) == KILL_ROWS
    assert 5_000 <= int(duplicates) < KILL_ROWS  # the killed run had committed some
    from meterlib import ManualClock, Metering  # noqa: PLC0415 -- after the children ran

    with Metering(url, clock=ManualClock(NOW)) as metering:
        events = metering.storage.list_events(limit=10 * KILL_ROWS)
        assert len(events) == KILL_ROWS
        assert len({event.identifier for event in events}) == KILL_ROWS
        assert sum(event.value or 0 for event in events) == sum(n % 10 for n in range(KILL_ROWS))
