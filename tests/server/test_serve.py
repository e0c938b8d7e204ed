"""``python -m meterlib.server`` / `serve`: listening line, signals, store closed, options."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from meterlib import ConfigurationError, ManualClock, Metering, SystemClock
from meterlib.server import clock_from_option, running, stripe_client
from meterlib.server.__main__ import main
from tests.server.conftest import START, event_params, meter_params

NOON = 1_773_144_000


def start(*options: str) -> tuple[subprocess.Popen[str], str]:
    """The server in a child process; it and the URL its first line names."""
    process = subprocess.Popen(
        [sys.executable, "-m", "meterlib.server", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+ \((manual|system) clock\)", line)
    assert found is not None, line + (process.stderr.read() if process.stderr else "")
    return process, found.group(0).partition(" ")[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server_and_loses_nothing(sig: signal.Signals, tmp_path: Path) -> None:
    """On SIGTERM or SIGINT the server exits 0, its SQLite store closed with every event."""
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    process, address = start("--store", url, "--clock", "manual:2026-03-10T12:00:00Z")
    try:
        client = stripe_client(address)
        meter = client.v1.billing.meters.create(meter_params())
        for value in ("1", "2", "3"):
            client.v1.billing.meter_events.create(event_params(value))
    finally:
        process.send_signal(sig)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors
    with Metering(url, clock=ManualClock(START)) as reopened:
        assert reopened.usage(meter.id, "cus_1", NOON, NOON + 1) == 6


@pytest.mark.parametrize(
    "options",
    [["--clock", "sundial"], ["--clock", "manual:yesterday"], ["--api-key", "pk_test_x"]],
    ids=["clock kind", "clock time", "publishable key"],
)
def test_a_bad_option_exits_2_with_one_error_line(
    options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad clock or key is one ``error:`` line on stderr and exit status 2, no traceback."""
    assert main(["--port", "0", *options]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ")
    assert captured.err.count("\n") == 1
    assert captured.out == ""


def test_a_port_in_use_is_a_configuration_error() -> None:
    """Serving on a port another server holds raises address_unavailable."""
    with running() as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(ConfigurationError) as raised, running(port=port):
            pass
    assert raised.value.code == "address_unavailable"


def test_running_refuses_a_key_that_is_not_a_test_secret_key() -> None:
    """Only sk_test_ keys are served: anything else is api_key_invalid before listening."""
    with pytest.raises(ConfigurationError) as raised, running(api_key="sk_live_1"):
        pass
    assert raised.value.code == "api_key_invalid"


def test_clock_options() -> None:
    """system, manual (now) and manual:<ISO> name clocks; a Clock passes through."""
    assert isinstance(clock_from_option(None), SystemClock)
    assert isinstance(clock_from_option("system"), SystemClock)
    assert isinstance(clock_from_option("manual"), ManualClock)
    given = ManualClock(START)
    assert clock_from_option(given) is given
    with pytest.raises(ConfigurationError):
        clock_from_option("manual:not a time")


def test_a_metering_and_a_clock_together_are_refused() -> None:
    """The clock of a Metering passed in is its own: a clock beside it is an error."""
    with (
        Metering() as metering,
        pytest.raises(ConfigurationError),
        running(metering, clock="manual"),
    ):
        pass


def test_meterlib_imports_without_the_server_extra() -> None:
    """Without starlette and uvicorn meterlib works; meterlib.server names the extra."""
    script = textwrap.dedent(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("starlette", "uvicorn", "httptools"):
                    raise ImportError(f"No module named {name!r}")
        sys.meta_path.insert(0, Block())
        import meterlib
        meterlib.Metering().meters.list()
        try:
            import meterlib.server
        except ImportError as error:
            print(error, isinstance(error, meterlib.ConfigurationError))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'meterlib[server]' (code=extra_missing, param=server) True" in result.stdout


def test_the_cli_has_a_serve_command(capsys: pytest.CaptureFixture[str]) -> None:
    """``meterlib serve --help`` lists the options; a bad clock is one line, status 5."""
    cli = pytest.importorskip("meterlib.cli.app")
    assert cli.run(["serve", "--help"]) == 0
    shown = capsys.readouterr().out
    assert all(option in shown for option in ("--store", "--port", "--api-key", "--clock"))
    assert cli.run(["serve", "--port", "0", "--clock", "sundial"]) == cli.CONFIGURATION
    assert capsys.readouterr().err.startswith("error: clock must be")
