"""``meterlib serve``: the CLI's subcommand (``meterlib.cli`` finds it here by name).

Needs both extras, ``cli`` (Click) and ``server``; `serve` does the work.
"""

from __future__ import annotations

import click

from meterlib.server.app import DEFAULT_MAX_BODY
from meterlib.server.run import DEFAULT_API_KEY, DEFAULT_HOST, DEFAULT_PORT
from meterlib.server.run import serve as serve_api


@click.command("serve")
@click.option(
    "--store",
    envvar="METERLIB_STORE",
    default="memory://",
    show_default=True,
    metavar="URL",
    help="The store: memory://, sqlite:///path.db, ... (or $METERLIB_STORE).",
)
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True, help="0: a free one.")
@click.option(
    "--api-key", default=DEFAULT_API_KEY, show_default=True, help="The sk_test_ key clients send."
)
@click.option(
    "--clock",
    default=None,
    metavar="manual[:ISO-8601]",
    help="Run on a manual clock, moved by POST /_meterlib/clock/advance (default: system).",
)
@click.option(
    "--max-body", type=int, default=DEFAULT_MAX_BODY, show_default=True, help="Bytes per request."
)
def serve(  # noqa: PLR0917 -- Click passes one argument per option
    store: str, host: str, port: int, api_key: str, clock: str | None, max_body: int
) -> None:
    r"""Serve Stripe's Billing Meters API (v1 and v2) over a store, until Ctrl+C or SIGTERM.

    Point the stripe SDK at the printed URL as both base addresses ("api" and
    "meter_events"). The store is closed on the way out: a SQLite store loses nothing.

    \b
    Example:
      meterlib serve --store sqlite:///usage.db --port 12111 --clock manual
    """
    serve_api(store, host=host, port=port, api_key=api_key, clock=clock, max_body=max_body)
