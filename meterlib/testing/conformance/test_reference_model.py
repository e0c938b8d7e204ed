"""Every backend runs `MeteringStateMachine` in lockstep with the reference model."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from meterlib import Storage
from meterlib.testing import MeteringStateMachine
from meterlib.testing.conformance import StorageFactory

BUDGET = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
"""Small enough to keep each backend to a few seconds, large enough to cross every rule."""


def test_backend_agrees_with_the_reference_model(
    storage_factory: StorageFactory, tmp_path: Path
) -> None:
    """Random meters, events, retries, cancels, clock moves and status changes: same answers."""

    class Machine(MeteringStateMachine):
        def make_storage(self) -> str | Storage:
            self.directory = Path(tempfile.mkdtemp(dir=tmp_path))
            return storage_factory(self.directory)

        def teardown(self) -> None:
            super().teardown()
            shutil.rmtree(self.directory)

    run_state_machine_as_test(Machine, settings=BUDGET)
