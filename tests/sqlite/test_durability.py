"""SQLite durability: killed writers, concurrent processes and threads lose nothing acknowledged."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib import InvalidRequestError, ManualClock, Metering
from tests.sqlite.multiwriter import identifier_and_value
from tests.sqlite.writer import CLOCK_START

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=None,  # straight to the test's stderr, so a crash explains itself
        text=True,
    )


def _open(path: Path) -> Metering:
    return Metering(storage=f"sqlite:///{path}", clock=ManualClock(CLOCK_START))


@pytest.mark.parametrize("batch", [0, 50], ids=["per-event", "batches-of-50"])
def test_sigkill_mid_stream_loses_no_acknowledged_event(tmp_path: Path, batch: int) -> None:
    """After SIGKILL at random points, every acknowledged event is present exactly once.

    Batches are atomic: after a kill, a batch in flight is present whole or not at all.
    """
    path = tmp_path / "usage.db"
    rng = random.Random(20261128 + batch)
    in_flight = max(batch, 1)
    acknowledged: dict[str, int] = {}
    for run in range(8):
        name = f"run{run}"
        writer = _spawn("tests.sqlite.writer", str(path), name, "1000000", str(batch))
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + rng.uniform(0.02, 0.4)
        acks = 0
        while time.monotonic() < deadline:
            line = writer.stdout.readline()
            assert line.startswith("ack "), line
            acks = int(line.split()[1]) + 1
        writer.kill()
        # read through the same buffered stream: communicate() would skip what readline buffered
        acks += writer.stdout.read().count("ack ")
        writer.stdout.close()
        writer.wait()
        acknowledged[name] = acks
        assert acks > 0

    with _open(path) as m:
        meter = m.meters.list().data[0]
        for name, acks in acknowledged.items():
            present = m.usage(meter.id, name, 0, 2**37)
            # what was in flight when the kill landed is there whole or not at all
            assert present in (Decimal(acks), Decimal(acks + in_flight)), (name, acks, present)
            for index in range(int(present)):
                record = m.storage.find_event(f"{name}-{index}")
                assert record is not None and record.customer == name
            assert m.storage.find_event(f"{name}-{int(present)}") is None


def test_four_processes_share_one_file_without_loss_or_double_acceptance(tmp_path: Path) -> None:
    """4 processes x 5,000 events, 10% shared identifiers: each accepted once, rest duplicates."""
    path = tmp_path / "usage.db"
    workers, events = 4, 5_000
    with _open(path) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
        )
    processes = [
        _spawn("tests.sqlite.multiwriter", str(path), str(worker), str(events))
        for worker in range(workers)
    ]
    outcomes: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for process in processes:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0
        for line in out.splitlines():
            identifier, outcome = line.split()
            outcomes[outcome] += 1
            if outcome == "ok":
                accepted[identifier] += 1

    shared = events // 10
    assert outcomes == {
        "ok": workers * events - (workers - 1) * shared,
        "duplicate_meter_event": (workers - 1) * shared,
    }
    assert set(accepted.values()) == {1}
    expected = sum(
        identifier_and_value(worker, index)[1]
        for worker in range(workers)
        for index in range(events)
        if index % 10 or worker == 0
    )
    with _open(path) as m:
        assert m.usage(meter.id, "cus_1", 0, 2**37) == Decimal(expected)


def test_threads_with_their_own_instances_share_one_file(tmp_path: Path) -> None:
    """Threads writing through separate Metering instances on one file lose nothing."""
    path = tmp_path / "usage.db"
    with _open(path) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with _open(path) as mine:
                for index in range(300):
                    mine.record("calls", customer="cus_1", identifier=f"t{worker}-{index}")
        except BaseException as error:  # reported to the main thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with _open(path) as m:
        assert m.usage(meter.id, "cus_1", 0, 2**37) == Decimal(1200)


def test_duplicate_identifier_rejected_across_instances(tmp_path: Path) -> None:
    """The database, not one process's memory, decides that an identifier is taken."""
    path = tmp_path / "usage.db"
    with _open(path) as first, _open(path) as second:
        first.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
        first.record("calls", customer="cus_1", identifier="once")
        with pytest.raises(InvalidRequestError) as raised:
            second.record("calls", customer="cus_1", identifier="once")
        assert raised.value.code == "duplicate_meter_event"
