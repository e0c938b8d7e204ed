"""Without the notebook extra: meterlib imports and works; frames and charts name the extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BLOCKER = 'raise ImportError("blocked for this test", name=__name__)\n'
"""A module that fails to import, shadowing the real one: as if it were not installed."""


def run_without(tmp_path: Path, names: list[str], script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in a fresh interpreter in which the named top-level modules cannot import."""
    for name in names:
        (tmp_path / f"{name}.py").write_text(BLOCKER)
    return subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_meterlib_works_without_pandas_or_matplotlib(tmp_path: Path) -> None:
    """meterlib, usage_series with a zone, and replay all work with neither one installed."""
    script = (
        "import sys\n"
        "import meterlib\n"
        "m = meterlib.Metering(clock=meterlib.ManualClock('2026-03-10T12:00:00Z'))\n"
        "meter = m.meters.create(display_name='a', event_name='api', "
        "default_aggregation={'formula': 'sum'})\n"
        "m.record('api', customer='c', value=2)\n"
        "s = m.usage_series(meter.id, 'c', '2026-03-01T00:00:00+01:00', "
        "'2026-04-01T00:00:00+02:00', value_grouping_window='month', timezone='Europe/Paris')\n"
        "assert [str(v) for _, v in s] == ['2'], s\n"
        "runs = meterlib.replay(m, meters=[{'default_aggregation': {'formula': 'count'}}])\n"
        "assert str(runs.usage('c', 0, 2**35)['count, raw']) == '1'\n"
        "assert 'pandas' not in sys.modules and 'matplotlib' not in sys.modules\n"
        "print('ok')\n"
    )
    done = run_without(tmp_path, ["pandas", "matplotlib"], script)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")


def test_frames_without_pandas_name_the_extra(tmp_path: Path) -> None:
    """usage_frame, to_frame and importing meterlib.notebook raise NotebookExtraMissing."""
    script = (
        "import meterlib\n"
        "m = meterlib.Metering()\n"
        "meter = m.meters.create(display_name='a', event_name='api', "
        "default_aggregation={'formula': 'sum'})\n"
        "calls = [lambda: m.usage_frame(meter.id, 0, 86400), lambda: m.meters.to_frame(),\n"
        "         lambda: m.meters.list().to_frame(), lambda: m.events_frame(meter.id)]\n"
        "for call in calls:\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as error:\n"
        "        assert isinstance(error, meterlib.ConfigurationError)\n"
        "        assert (error.code, error.param) == ('extra_missing', 'notebook')\n"
        "        print(error.message)\n"
    )
    done = run_without(tmp_path, ["pandas"], script)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.splitlines()
        == [
            "meterlib.notebook needs the notebook extra (pandas is missing): "
            "pip install 'meterlib[notebook]'"
        ]
        * 4
    )


def test_charts_without_matplotlib_name_the_extra(tmp_path: Path) -> None:
    """With pandas but no matplotlib, meterlib.plot and list.plot() name the extra."""
    script = (
        "import meterlib\n"
        "try:\n"
        "    import meterlib.plot\n"
        "except ImportError as error:\n"
        "    print(error.code, '|', error.message)\n"
    )
    done = run_without(tmp_path, ["matplotlib"], script)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "extra_missing | meterlib.plot needs the notebook extra (matplotlib is missing): "
        "pip install 'meterlib[notebook]'\n"
    )
