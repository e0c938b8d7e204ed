"""``python -m meterlib.server``: the ``meterlib serve`` command without the CLI extra.

Usage: ``python -m meterlib.server --store sqlite:///usage.db --port 12111 --clock manual``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from meterlib.errors import MeterlibError
from meterlib.server.app import DEFAULT_MAX_BODY
from meterlib.server.run import DEFAULT_API_KEY, DEFAULT_HOST, DEFAULT_PORT, serve

CONFIGURATION_FAILED = 2
"""The exit status for a bad option: store URL, clock, key, or a port in use."""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, serve until SIGINT/SIGTERM, and return the exit status."""
    parser = argparse.ArgumentParser(
        prog="meterlib serve",
        description="A local Stripe Billing Meters API (v1 and v2) over a meterlib store.",
    )
    parser.add_argument("--store", default="memory://", help="storage URL (default memory://)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help=f"default {DEFAULT_API_KEY}")
    parser.add_argument(
        "--clock", default=None, help="'manual' or 'manual:<ISO-8601>' (default: system clock)"
    )
    parser.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest request body, bytes"
    )
    options = parser.parse_args(argv)
    try:
        serve(
            options.store,
            host=options.host,
            port=options.port,
            api_key=options.api_key,
            clock=options.clock,
            max_body=options.max_body,
        )
    except MeterlibError as error:
        print(f"error: {error}", file=sys.stderr)
        return CONFIGURATION_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
