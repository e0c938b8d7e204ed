"""Without the cli extra: meterlib imports and works, and the command says what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import METERLIB, run

BLOCKER = 'raise ImportError("blocked for this test", name=__name__)\n'
"""A module that fails to import, shadowing the real one: as if it were not installed."""


def without(tmp_path: Path, *names: str) -> dict[str, str]:
    """An environment in which the named top-level modules cannot be imported."""
    for name in names:
        (tmp_path / f"{name}.py").write_text(BLOCKER)
    return {"PYTHONPATH": str(tmp_path)}


def test_the_command_without_the_extra_names_it(tmp_path: Path) -> None:
    """With click missing, the installed script prints one line naming meterlib[cli], status 5."""
    done = run("import", "x.csv", env=without(tmp_path, "click"))
    assert done.returncode == 5
    assert done.stderr == (
        "error: the meterlib command needs the cli extra (click is missing): "
        "pip install 'meterlib[cli]' (code=extra_missing)\n"
    )
    assert METERLIB.exists()


def test_import_and_files_work_without_click_or_rich(tmp_path: Path) -> None:
    """Meterlib, import_events and export_events need neither Click nor Rich."""
    script = """
import io, sys
import meterlib
m = meterlib.Metering(clock=meterlib.ManualClock(0))
m.meters.create(display_name="a", event_name="api", default_aggregation={"formula": "sum"})
rows = "timestamp,event_name,payload_stripe_customer_id,payload_value\\n0,api,c,1\\n"
assert m.import_events(io.StringIO(rows)).recorded == 1
m.export_events(io.StringIO(), format="jsonl")
assert "click" not in sys.modules and "rich" not in sys.modules
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**without(tmp_path, "click", "rich"), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


def test_a_subcommand_whose_own_extra_is_missing_names_it(tmp_path: Path) -> None:
    """Serve without the server extra: listed, and running it names meterlib[server], status 5."""
    environment = without(tmp_path, "uvicorn")
    assert "serve" in run("--help", env=environment).stdout
    done = run("serve", "--port", "0", env=environment)
    assert done.returncode == 5
    assert "pip install 'meterlib[server]'" in done.stderr
    assert "(code=extra_missing)" in done.stderr
