"""Fuzz the ``meterlib`` command line: any arguments give an exit status and, on failure, one line.

Command lines are drawn from the real commands and their options (walked from the Click group),
with values mixed from valid ones (the store's meter, dates, files) and junk of every kind a
shell can pass: empty, dashes, huge numbers, impossible dates, very long words and undecodable
bytes (which Python hands over as lone surrogates). Each runs in-process through
`meterlib.cli.app.run`, as the console script does; the installed script itself is exercised by
tests/cli/test_commands.py. ``serve`` is left out (it would start serving).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import Metering
from meterlib.cli.app import (
    CONFIGURATION,
    INVALID_REQUEST,
    OK,
    PROBLEMS,
    STORAGE,
    USAGE,
    cli,
    run,
)

STATUSES = {OK, PROBLEMS, USAGE, INVALID_REQUEST, STORAGE, CONFIGURATION}
EXCLUDED = {"serve"}


def commands() -> dict[tuple[str, ...], list[click.Parameter]]:
    """Every runnable command path and its parameters, walked from the group."""
    found: dict[tuple[str, ...], list[click.Parameter]] = {}
    context = click.Context(cli)

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            found[path] = list(command.params)
            for name in command.list_commands(context):
                child = command.get_command(context, name)
                if child is not None and name not in EXCLUDED:
                    walk(child, (*path, name))
        else:
            found[path] = list(command.params)

    walk(cli, ())
    return found


COMMANDS = commands()


@pytest.fixture(scope="module")
def place() -> Iterator[Path]:
    """A directory with a SQLite store holding one meter, and files to import."""
    with TemporaryDirectory() as directory:
        root = Path(directory)
        with Metering(f"sqlite:///{root / 'usage.db'}") as m:
            meter = m.meters.create(
                display_name="API", event_name="api", default_aggregation={"formula": "sum"}
            )
        (root / "meter_id").write_text(meter.id)
        (root / "good.csv").write_text(
            "timestamp,event_name,payload_stripe_customer_id,payload_value\n"
            "2026-03-10,api,cus_1,1\n"
        )
        (root / "junk.bin").write_bytes(b"\x1f\x8b\x00\xff junk")
        yield root


def values(root: Path) -> st.SearchStrategy[str]:
    """Option and argument values: valid ones of this directory and junk a shell can pass."""
    meter_id = (root / "meter_id").read_text()
    return st.sampled_from(
        [
            meter_id,
            "mtr_nope",
            "api",
            "cus_1",
            "",
            "-",
            "--",
            "-x",
            "0",
            "-1",
            "1" + "0" * 30,
            "1.5",
            "2026-03-10",
            "2026-03-10T12:00:00Z",
            "2026-13-45",
            "sum",
            "hour",
            "csv",
            "jsonl",
            "report",
            "raise",
            "x" * 5_000,
            "\udcff\udcfe",
            "caf\u00e9",
            "memory://",
            f"sqlite:///{root / 'usage.db'}",
            f"sqlite:///{root / 'missing' / 'x.db'}",
            "sqlite:///",
            "postgresql://127.0.0.1:1/nowhere?connect_timeout=1",
            "redis://x",
            str(root / "good.csv"),
            str(root / "junk.bin"),
            str(root / "missing.csv"),
            str(root),
            str(root / "out.csv"),
            str(root / "out.jsonl.gz"),
            "/nonexistent/dir/out.csv",
        ]
    ) | st.text(max_size=8).filter(lambda text: "\x00" not in text)


def good_values(root: Path, parameter: click.Parameter) -> st.SearchStrategy[str]:
    """Values a user would give `parameter`: its choices, or valid ones of this directory."""
    if isinstance(parameter.type, click.Choice):
        return st.sampled_from([str(choice) for choice in parameter.type.choices])
    good = {
        "store": [f"sqlite:///{root / 'usage.db'}", "memory://"],
        "meter_id": [(root / "meter_id").read_text()],
        "customer": ["cus_1", "cus_2"],
        "start": ["2026-03-01", "1772323200"],
        "end": ["2026-04-01", "2026-03-01T01:00:00Z"],
        "display_name": ["API calls"],
        "event_name": ["api", "api_2"],
        "customer_key": ["stripe_customer_id"],
        "value_key": ["value"],
        "files": [str(root / "good.csv")],
        "output": [str(root / "out.csv"), str(root / "out.jsonl.gz"), "-"],
        "batch_size": ["1", "100"],
    }
    return st.sampled_from(good.get(parameter.name or "", ["x"]))


def chance(probability: float) -> st.SearchStrategy[bool]:
    """True with about this probability (Hypothesis' integers favour their bounds)."""
    slots = round(1 / probability)
    return st.sampled_from(range(slots)).map(lambda slot: slot == slots - 1)


@st.composite
def command_lines(draw: st.DrawFn, root: Path) -> list[str]:
    """A command path; most of its options with good values; junk options, values and tokens.

    The good values take the run past the parser into the commands; the junk, put anywhere,
    tests both.
    """
    path = draw(st.sampled_from(sorted(COMMANDS)))
    words = values(root)
    parameters = COMMANDS[path]
    tail: list[str] = []
    for parameter in parameters:
        if draw(chance(1 / 20 if parameter.required else 1 / 2)):  # left out
            continue
        value = draw(words if draw(chance(1 / 5)) else good_values(root, parameter))
        if isinstance(parameter, click.Argument):
            tail.append(value)
        elif isinstance(parameter, click.Option):
            tail.append(draw(st.sampled_from(parameter.opts)))
            if not parameter.is_flag:
                tail.append(value)
    options = [parameter for parameter in parameters if isinstance(parameter, click.Option)]
    if draw(chance(1 / 3)) and options:  # an option given twice, the second time junk
        tail.extend([draw(st.sampled_from(draw(st.sampled_from(options)).opts)), draw(words)])
    if draw(chance(1 / 4)):
        tail.append(draw(words | st.sampled_from(["--help", "--json", "--nope"])))
    if draw(chance(1 / 5)):
        tail = draw(st.permutations(tail))
    return [*path, *tail]


@contextlib.contextmanager
def captured() -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    """Standard output and error as a terminal-less process has them, and an empty stdin.

    Both are UTF-8 text over bytes, stdout strict and stderr ``backslashreplace`` as Python
    sets them up, so a lone surrogate printed where it cannot be encoded fails as it would.
    """
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield out, err
    finally:
        sys.stdin = stdin


def written(stream: io.TextIOWrapper) -> str:
    """What was written to a `captured` stream."""
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode()


def test_the_walk_finds_every_command() -> None:
    """The fuzz reaches each subcommand the group lists (but ``serve``)."""
    assert {path[0] for path in COMMANDS if path} == {
        "import",
        "export",
        "meters",
        "summary",
        "usage",
        "check",
    }
    assert ("meters", "create") in COMMANDS


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_command_line_exits_with_a_status_and_one_error_line(
    place: Path, data: st.DataObject
) -> None:
    """Any arguments: a documented status, no traceback, and a failure is one ``error:`` line."""
    argv = data.draw(command_lines(place), label="argv")
    with captured() as (_, err):
        status = run(argv)
    errors = written(err)
    assert status in STATUSES, (status, errors)
    assert "Traceback" not in errors
    if status in STATUSES - {OK, PROBLEMS}:
        lines = errors.splitlines()
        assert len(lines) == 1, errors
        assert lines[0].startswith("error: ")
        assert "(code=" in lines[0]
