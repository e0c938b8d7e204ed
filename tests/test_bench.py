"""The benchmark suite runs and its meterlib answers agree with the sqlite3 baseline's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
