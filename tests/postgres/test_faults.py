"""Faults: the PostgreSQL server SIGKILLed mid-ingest and restarted loses nothing acknowledged.

Each test runs its own throwaway server (`tests.postgres.cluster.Cluster`), kills its
postmaster and every backend with SIGKILL (a crash: no shutdown, no checkpoint), and starts it
again on the same data directory, which replays the WAL.
"""

from __future__ import annotations

import os
import random
import selectors
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterlib import ManualClock, Metering, StorageError
from tests.postgres.cluster import Cluster, binaries
from tests.postgres.server import postgres_url, with_options
from tests.postgres.writer import CLOCK_START

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A server of this test's own, destroyed afterwards whatever happened."""
    postgres_url()  # skips (or fails under CI) where PostgreSQL cannot be tested at all
    bin_dir = binaries()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the PostgreSQL fault tests: no /usr/lib/postgresql/*/bin")
        pytest.skip("the fault tests start their own server: no /usr/lib/postgresql/*/bin")
    server = Cluster(bin_dir).init().start()
    yield server
    server.destroy()


def _url(server: Cluster) -> str:
    return with_options(server.url, timeout="2", connect_timeout="2", pool_size="2")


class _Writer:
    """A writer process and the lines it printed so far."""

    def __init__(self, url: str, run: str, batch: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.postgres.writer", url, run, "1000000", str(batch)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.stdout = self.process.stdout
        self.lines: list[str] = []
        assert self.read_until("ready", 30)

    def read_until(self, wanted: str, seconds: float) -> bool:
        """Read lines until one starts with `wanted` (True) or `seconds` pass (False)."""
        deadline = time.monotonic() + seconds
        with selectors.DefaultSelector() as selector:
            selector.register(self.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    line = self.stdout.readline()
                    assert line, "the writer exited"
                    self.lines.append(line.strip())
                    if line.startswith(wanted):
                        return True
        return False

    def stop(self) -> list[str]:
        """Kill the writer; every line it printed."""
        self.process.kill()
        self.lines.extend(line.strip() for line in self.stdout.read().splitlines())
        self.stdout.close()
        self.process.wait()
        return self.lines


@pytest.mark.parametrize("batch", [0, 50], ids=["per-event", "batches-of-50"])
def test_server_killed_mid_ingest_keeps_every_acknowledged_event_once(
    cluster: Cluster, batch: int
) -> None:
    """SIGKILLed twice mid-ingest: every acknowledged event stored once, batches whole.

    Writers get StorageError within seconds, not a hang; retrying lands each event once (an
    earlier, unanswered landing reports duplicate_meter_event).
    """
    url = _url(cluster)
    with Metering(storage=url, clock=ManualClock(CLOCK_START)) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
    writers = [_Writer(url, f"run{index}", batch) for index in range(2)]
    try:
        _crash_twice(cluster, writers, batch)
    finally:
        lines = {f"run{index}": writer.stop() for index, writer in enumerate(writers)}
    _check_runs(url, meter.id, lines, batch)


def _crash_twice(cluster: Cluster, writers: list[_Writer], batch: int) -> None:
    """Kill the server twice while the writers write; each must notice, then go on."""
    rng = random.Random(20261128 + batch)
    for _ in range(2):
        for writer in writers:
            assert writer.read_until("ack", 30)
        time.sleep(rng.uniform(0.05, 0.3))  # let them write for a while: the kill lands mid-call
        cluster.kill()
        for writer in writers:  # each one notices on its own within its 2-second timeout
            assert writer.read_until("error", 15), writer.lines[-5:]
        cluster.start()
        for writer in writers:
            assert writer.read_until("ack", 60), writer.lines[-5:]


def _check_runs(url: str, meter_id: str, lines: dict[str, list[str]], batch: int) -> None:
    """Each run's acknowledged events are stored once, in order, batches whole."""
    with Metering(storage=url, clock=ManualClock(CLOCK_START)) as m:
        for run, printed in lines.items():
            assert "mixed" not in printed
            acks = [line.split() for line in printed if line.startswith("ack ")]
            assert [int(index) for _, index, _ in acks] == list(range(len(acks)))
            assert {code for *_, code in acks} <= {"ok", "duplicate_meter_event"}
            present = int(m.usage(meter_id, run, 0, 2**37))
            # acknowledged events are all there; a call in flight at the writer's kill may be too
            assert len(acks) <= present <= len(acks) + max(batch, 1), (run, len(acks), present)
            counts = Counter(
                event.identifier for event in m.storage.list_events(limit=10**6, customer=run)
            )
            assert set(counts.values()) == {1}
            assert sorted(counts, key=lambda name: int(name.split("-")[1])) == [
                f"{run}-{index}" for index in range(present)
            ]


def test_a_create_cut_off_by_a_crash_is_safe_to_retry(cluster: Cluster) -> None:
    """A create cut off by a crash is retried safely: stored once, or reported a duplicate."""
    url = _url(cluster)
    with Metering(storage=url, clock=ManualClock(CLOCK_START)) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
        m.record("calls", customer="cus_1", identifier="landed")
        cluster.kill()
        with pytest.raises(StorageError) as raised:
            m.record("calls", customer="cus_1", identifier="lost")
        assert raised.value.code in ("storage_unavailable", "storage_timeout")
        assert raised.value.__cause__ is not None
        cluster.start()
        for identifier, outcome in (("lost", "ok"), ("landed", "duplicate_meter_event")):
            for _ in range(20):  # the pool replaces the connections the crash broke
                try:
                    m.record("calls", customer="cus_1", identifier=identifier)
                    got = "ok"
                except StorageError:
                    continue
                except Exception as error:
                    got = str(getattr(error, "code", error))
                break
            assert got == outcome, identifier
        assert m.usage(meter.id, "cus_1", 0, 2**37) == 2


def test_reads_answer_at_once_after_the_server_restarts(cluster: Cluster) -> None:
    """After a crash and restart the first read answers: the broken pool is replaced, read again."""
    url = _url(cluster)
    with Metering(storage=url, clock=ManualClock(CLOCK_START)) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
        m.record("calls", customer="cus_1", identifier="before")
        cluster.kill()
        cluster.start()
        assert m.usage(meter.id, "cus_1", 0, 2**37) == 1
        assert [listed.id for listed in m.meters.list().data] == [meter.id]
        assert m.meters.retrieve(meter.id).status == "active"
        m.record("calls", customer="cus_1", identifier="after")  # the pool works again
        assert m.usage(meter.id, "cus_1", 0, 2**37) == 2
