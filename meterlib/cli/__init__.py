"""The ``meterlib`` command: files in and out, meters, summaries and store checks from a shell.

It needs the ``cli`` extra (Click and Rich): ``pip install 'meterlib[cli]'``. Without it,
``meterlib`` says so in one line and exits with status 5; `meterlib` itself never imports
either. The commands live in `meterlib.cli.app`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXTRA_MISSING = 5
"""The exit status when the ``cli`` extra is not installed (a configuration problem)."""


def main(argv: Sequence[str] | None = None) -> None:
    """The console script: run the command line `argv` (default ``sys.argv[1:]``) and exit."""
    try:
        import click  # noqa: F401, PLC0415 -- here only to learn whether the extra is installed
        import rich  # noqa: F401, PLC0415
    except ImportError as error:
        sys.stderr.write(
            f"error: the meterlib command needs the cli extra ({error.name or 'click'} is "
            "missing): pip install 'meterlib[cli]' (code=extra_missing)\n"
        )
        sys.exit(EXTRA_MISSING)
    from meterlib.cli.app import run  # noqa: PLC0415 -- needs the extra just checked for

    sys.exit(run(list(sys.argv[1:] if argv is None else argv)))
