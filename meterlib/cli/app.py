"""The command group, its shared options, and how every failure becomes one line and a status.

Subcommands are found by name in `COMMANDS` and imported only when run (or listed by
``--help``), so ``meterlib import`` never loads what ``meterlib check`` needs. A module that
is not installed is not listed: ``serve`` joins the moment ``meterlib.server.cli`` exists.

Exit statuses: `OK` 0; `PROBLEMS` 1 (the command ran and found problems: rejected rows, an
unhealthy store); `USAGE` 2 (bad command line); `INVALID_REQUEST` 3; `STORAGE` 4;
`CONFIGURATION` 5 (a bad store URL, a missing extra); `INTERRUPTED` 130.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from meterlib.bulk.formats import timestamp_input
from meterlib.errors import ConfigurationError, MeterlibError, StorageError
from meterlib.metering import Metering

OK = 0
PROBLEMS = 1
USAGE = 2
INVALID_REQUEST = 3
STORAGE = 4
CONFIGURATION = 5
INTERRUPTED = 130

COMMANDS: dict[str, str] = {
    "import": "meterlib.cli.files:import_command",
    "export": "meterlib.cli.files:export_command",
    "meters": "meterlib.cli.meters:meters",
    "summary": "meterlib.cli.usage:summary",
    "usage": "meterlib.cli.usage:usage",
    "check": "meterlib.cli.check:check",
    "serve": "meterlib.server.cli:serve",
}
"""Each subcommand and the ``module:attribute`` of its Click command."""

STORE_ENV = "METERLIB_STORE"

F = TypeVar("F", bound=Callable[..., Any])


def _installed(target: str) -> bool:
    """Whether the command's module exists (its own dependencies may still be missing)."""
    module = target.partition(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError as error:  # a parent package is missing, or a dependency of it
        missing = error.name or ""
        return not (module == missing or module.startswith(missing + "."))
    except ImportError:  # a parent package failed on a dependency: the command is there
        return True


class _Commands(click.Group):
    """A group whose commands are imported when first needed (`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, target in COMMANDS.items() if _installed(target)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _installed(target):
            return None
        module, _, attribute = target.partition(":")
        try:
            command: click.Command = getattr(importlib.import_module(module), attribute)
        except ImportError as error:  # its own extra is missing: say which, when it is run
            return _missing(cmd_name, error)
        return command


EXTRAS = {"serve": "server"}
"""The extra each subcommand needs beyond ``cli``, for the hint when it is missing."""


def _missing(name: str, error: ImportError) -> click.Command:
    """A stand-in for a subcommand whose extra is not installed: running it says so."""
    extra = EXTRAS.get(name, "cli")

    def explain() -> None:
        raise ConfigurationError(
            f"meterlib {name} needs the {extra} extra ({error.name or 'a module'} is missing): "
            f"pip install 'meterlib[{extra}]'",
            code="extra_missing",
        )

    return click.Command(
        name,
        callback=explain,
        help=f"(needs the {extra} extra: pip install 'meterlib[{extra}]')",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meterlib", prog_name="meterlib")
def cli() -> None:
    """Stripe Billing Meters in a file: import and export usage, manage meters, read summaries.

    Every command works on one store, named by --store or the METERLIB_STORE environment
    variable (memory://, sqlite:///usage.db, ...).

    \b
    Example:
      export METERLIB_STORE=sqlite:///usage.db
      meterlib meters create --display-name "API calls" --event-name api --formula sum
      meterlib import usage-2026-03.csv.gz
      meterlib summary mtr_test_... --customer cus_1 --start 2026-03-01 --end 2026-04-01
    """


def store_option(function: F) -> F:
    """``--store URL`` (or ``METERLIB_STORE``): the store a command opens."""
    return click.option(
        "--store",
        envvar=STORE_ENV,
        required=True,
        metavar="URL",
        help=f"The store: memory://, sqlite:///path.db, ... (default: ${STORE_ENV}).",
    )(function)


def json_option(function: F) -> F:
    """``--json``: print machine-readable JSON instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON, not a table.")(
        function
    )


def time_value(ctx: click.Context, param: click.Parameter, value: str | None) -> object:
    """A time option's text as the library takes it: Unix seconds, a date, or ISO-8601.

    Only spelled out here (the same reading as a file's timestamps); the library checks it.
    """
    return None if value is None else timestamp_input(value)


def time_option(name: str, *, required: bool, help: str) -> Callable[[F], F]:
    """A ``--start``/``--end`` style option: ``TIME`` is Unix seconds, a date or ISO-8601."""
    return click.option(name, required=required, metavar="TIME", callback=time_value, help=help)


PIPED_WIDTH = 200
"""Tables written to a pipe or file are this wide, so ids are never cut short."""


def console(*, stderr: bool = False) -> Console:
    """A Rich console on stdout (or stderr): the terminal's width there, `PIPED_WIDTH` else."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPED_WIDTH)


def open_store(url: str) -> Metering:
    """The `Metering` over the store at `url` (the system clock)."""
    return Metering(url)


def print_json(value: object) -> None:
    """One JSON document on standard output."""
    click.echo(json.dumps(value, sort_keys=False, default=str))


def _line(text: str) -> str:
    return " ".join(text.split())


def fail_line(message: str) -> None:
    """Write ``error: <message>`` as one line on standard error."""
    click.echo(f"error: {_line(message)}", err=True)


def _status(error: MeterlibError) -> int:
    if isinstance(error, StorageError):
        return STORAGE
    if isinstance(error, ConfigurationError):
        return CONFIGURATION
    return INVALID_REQUEST


def run(argv: list[str]) -> int:
    """Run one command line; the exit status. Errors are one line on stderr, no traceback."""
    try:
        result = cli.main(args=argv, prog_name="meterlib", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as error:
        context = error.ctx
        param = getattr(error, "param", None)
        details = "code=usage_error" + (f", param={param.name}" if param is not None else "")
        where = context.command_path if context is not None else "meterlib"
        fail_line(f"{error.format_message()} ({details}); see '{where} --help'")
        return USAGE
    except (click.Abort, KeyboardInterrupt):
        fail_line("interrupted")
        return INTERRUPTED
    except MeterlibError as error:
        fail_line(str(error))
        return _status(error)
    except BrokenPipeError:  # the reader of our output went away: nothing more to say
        sys.stderr.close()
        return PROBLEMS
    return result if isinstance(result, int) else OK
