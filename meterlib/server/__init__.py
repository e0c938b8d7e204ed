"""A local Stripe Billing Meters API over any meterlib store, for the official ``stripe`` SDK.

``meterlib serve`` (or `serve`) answers Stripe's v1 and v2 Billing Meters routes on one port,
for both of the SDK's base addresses; `running` does it in a background thread for a test
suite; `create_app` gives the Starlette app itself. The server only parses, calls the
`Metering` API and serialises: every rule is the library's. Needs the ``server`` extra
(``pip install 'meterlib[server]'``); ``import meterlib`` never imports it.
"""

from __future__ import annotations

from meterlib.errors import ConfigurationError


class ServerExtraMissing(ConfigurationError, ImportError):
    """``meterlib.server`` without its extra: an `ImportError` and a `ConfigurationError`.

    ``pytest.importorskip`` and ``except ImportError`` catch it as any missing module; the
    ``meterlib`` command reports it as one line (``extra_missing``), as for its own extra.
    """


try:
    import starlette  # noqa: F401 -- checked here for the hint below
    import uvicorn  # noqa: F401
except ImportError as error:  # pragma: no cover -- exercised in a subprocess test
    raise ServerExtraMissing(
        f"meterlib.server needs the server extra ({error.name or 'starlette'} is missing): "
        "pip install 'meterlib[server]'",
        code="extra_missing",
        param="server",
    ) from error

# after the check above, so a missing extra is named rather than failing deep inside
from meterlib.server.app import DEFAULT_MAX_BODY, ENDPOINTS, create_app  # noqa: E402
from meterlib.server.run import (  # noqa: E402
    DEFAULT_API_KEY,
    DEFAULT_HOST,
    DEFAULT_PORT,
    StripeServer,
    clock_from_option,
    running,
    serve,
    stripe_client,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY",
    "DEFAULT_PORT",
    "ENDPOINTS",
    "ServerExtraMissing",
    "StripeServer",
    "clock_from_option",
    "create_app",
    "running",
    "serve",
    "stripe_client",
]
