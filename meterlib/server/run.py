"""Serving the app: `serve` (the ``meterlib serve`` command) and `running` (for test suites)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import attrs
import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from meterlib.errors import ConfigurationError, InvalidRequestError, MeterlibError, describe
from meterlib.metering import Metering
from meterlib.server.app import DEFAULT_MAX_BODY, create_app
from meterlib.storage import Storage
from meterlib.timeutil import Clock, ManualClock, SystemClock

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12111
"""stripe-mock's port, so a suite that points the SDK at stripe-mock can switch unchanged."""
DEFAULT_API_KEY = "sk_test_meterlib"
MAX_HEAD = 65_536
"""The largest request line and headers taken, in bytes; larger gets a Stripe-shaped 400."""
STARTUP_TIMEOUT = 10.0
"""Seconds `running` waits for the server thread to accept connections."""
SHUTDOWN_TIMEOUT = 10.0
"""Seconds `running` waits for the server thread to finish its requests and stop."""


def clock_from_option(option: str | Clock | None) -> Clock:
    """The clock a ``--clock`` option names: ``system``, ``manual`` or ``manual:<ISO-8601>``.

    ``manual`` alone starts at the current time. A `Clock` object is used as it is.

    >>> clock_from_option("manual:2026-03-10T12:00:00Z").now().isoformat()
    '2026-03-10T12:00:00+00:00'
    """
    if option is None or option == "system":
        return SystemClock()
    if not isinstance(option, str):
        return option
    kind, _, start = option.partition(":")
    if kind == "manual":
        try:
            return ManualClock(start or None)
        except MeterlibError as error:
            raise ConfigurationError(
                f"--clock manual:<time> needs an ISO-8601 time: {error.message}",
                code="clock_invalid",
                param="clock",
            ) from error
    raise ConfigurationError(
        f"clock must be 'system', 'manual' or 'manual:<ISO-8601>'; got {describe(option)}",
        code="clock_invalid",
        param="clock",
    )


def _metering(store: str | Storage | Metering, clock: str | Clock | None) -> tuple[Metering, bool]:
    """The `Metering` to serve, and whether it is ours to close."""
    if isinstance(store, Metering):
        if clock is not None:
            raise ConfigurationError(
                "pass the clock to your Metering, not beside it",
                code="clock_invalid",
                param="clock",
            )
        return store, False
    return Metering(store, clock=clock_from_option(clock)), True


def _unparsable(msg: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and headers of the Stripe-shaped 400 for HTTP that does not parse."""
    error = InvalidRequestError(f"The request could not be parsed: {msg}", code="request_malformed")
    body = json.dumps(error.to_dict("v1")).encode()
    return body, [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"request-id", f"req_{secrets.token_hex(7)}".encode()),
        (b"connection", b"close"),
    ]


class StripeH11Protocol(H11Protocol):
    """uvicorn's h11 protocol (pure Python), answering bad HTTP in Stripe's error shape."""

    def send_400_response(self, msg: str) -> None:
        """A Stripe-shaped 400 (and the connection closed) instead of uvicorn's plain text."""
        body, headers = _unparsable(msg)
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()


def _protocol() -> type[asyncio.Protocol]:
    """The protocol to serve: httptools' (C parser) when installed, else h11's."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415
    except ImportError:  # pragma: no cover -- httptools is in the server extra
        return StripeH11Protocol

    class StripeHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, answering bad HTTP in Stripe's error shape."""

        def send_400_response(self, msg: str) -> None:
            """A Stripe-shaped 400 (and the connection closed) instead of plain text."""
            body, headers = _unparsable(msg)
            lines = [b"HTTP/1.1 400 Bad Request\r\n"]
            lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
            self.transport.write(b"".join([*lines, b"\r\n", body]))
            self.transport.close()

    return StripeHttpToolsProtocol


PROTOCOL = _protocol()
"""The HTTP protocol served: httptools' C parser when installed (the extra brings it; 2.5
times h11's requests a second, measured), else h11."""


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT/SIGTERM without re-raising them afterwards.

    uvicorn raises a caught signal again once it has shut down, which would end the process
    before `serve` closes the store; here `serve` returns, and closes it.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


class _ThreadServer(_Server):
    """The server `running` runs in a thread: it stops within milliseconds of `stop`.

    uvicorn polls for a stop every 0.1 s and sleeps 0.1 s more while shutting down; a test
    suite starting a server per test would wait that out each time. Here the main loop wakes
    on `stop`, and shutdown waits for the open requests by millisecond polls, up to the same
    graceful timeout.
    """

    _loop: asyncio.AbstractEventLoop | None = None
    _stopping: asyncio.Event | None = None

    def stop(self) -> None:
        """Ask the server to stop (from any thread)."""
        self.should_exit = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(stopping.set)

    async def main_loop(self) -> None:
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(self.config.timeout_graceful_shutdown or 0)
        while (state.connections or state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        for task in state.tasks:
            task.cancel()
        await self.lifespan.shutdown()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it a response's head and body wait out the client's delayed ACK (40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {error.strerror}",
            code="address_unavailable",
            param="port",
        ) from error
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _server(
    metering: Metering,
    *,
    api_key: str,
    max_body: int,
    log_level: str,
    kind: type[_Server] = _Server,
) -> _Server:
    app = create_app(metering, api_key=api_key, max_body=max_body)
    config = uvicorn.Config(
        app,
        http=PROTOCOL,
        ws="none",
        lifespan="on",
        log_level=log_level,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=MAX_HEAD,  # httptools has its own (80 KiB) limit
    )
    return kind(config)


def serve(
    store: str | Storage | Metering = "memory://",
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    api_key: str = DEFAULT_API_KEY,
    clock: str | Clock | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    log_level: str = "warning",
    out: TextIO | None = None,
) -> None:
    """Serve Stripe's Billing Meters API on `host`:`port` until SIGINT or SIGTERM.

    Prints the URL it listens on, then serves; on a signal it finishes the requests in flight,
    closes the store it opened (a SQLite store loses nothing) and returns.

    Args:
        store: a storage URL (``"sqlite:///usage.db"``), a `Storage`, or a `Metering` (served
            as it is and left open).
        host: the address to bind; loopback by default.
        port: the port; 0 picks a free one.
        api_key: the ``sk_test_...`` secret key clients must send.
        clock: ``"manual"`` or ``"manual:<ISO-8601>"`` for a `ManualClock` that
            ``POST /_meterlib/clock/advance`` moves; a `Clock`; None for the system clock.
        max_body: the largest request body taken, in bytes.
        log_level: uvicorn's log level.
        out: where the listening line goes (standard output by default).

    Raises:
        ConfigurationError: a bad store URL, clock option or API key, or a port in use.

    """
    metering, owned = _metering(store, clock)
    try:
        server = _server(metering, api_key=api_key, max_body=max_body, log_level=log_level)
        sock = _listen(host, port)
        stream = out if out is not None else sys.stdout
        mode = "manual clock" if isinstance(metering.clock, ManualClock) else "system clock"
        print(
            f"meterlib serve: Stripe Billing Meters API on {_url(sock)} "
            f"({mode}); Ctrl+C or SIGTERM stops it",
            file=stream,
            flush=True,
        )
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
    finally:
        if owned:
            metering.close()


@contextlib.contextmanager
def running(
    store: str | Storage | Metering = "memory://",
    *,
    api_key: str = DEFAULT_API_KEY,
    clock: str | Clock | None = None,
    host: str = DEFAULT_HOST,
    port: int = 0,
    max_body: int = DEFAULT_MAX_BODY,
) -> Iterator[str]:
    """Serve in a background thread for the duration of a ``with`` block; yields the URL.

    The server listens on a free loopback port (unless `port` is given) before the block
    starts; leaving the block stops it and closes the store it opened. Point the SDK at the
    URL as both base addresses:

    >>> import stripe
    >>> with running(clock="manual:2026-03-10T12:00:00Z") as url:
    ...     client = stripe.StripeClient("sk_test_meterlib", max_network_retries=0,
    ...                                  base_addresses={"api": url, "meter_events": url})
    ...     meter = client.v1.billing.meters.create({"display_name": "API",
    ...         "event_name": "api_calls", "default_aggregation": {"formula": "sum"}})
    >>> meter.status
    'active'

    Args:
        store: a storage URL, a `Storage`, or a `Metering` (left open, for assertions in
            process; then pass its clock to the `Metering`, not here).
        api_key: the secret key clients must send.
        clock: as for `serve`.
        host: the address to bind.
        port: 0 (a free port) by default.
        max_body: the largest request body taken, in bytes.

    Raises:
        ConfigurationError: as for `serve`, or the server did not start in time.

    """
    metering, owned = _metering(store, clock)
    try:
        server = _server(
            metering, api_key=api_key, max_body=max_body, log_level="warning", kind=_ThreadServer
        )
        assert isinstance(server, _ThreadServer)
        sock = _listen(host, port)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as error:  # reported to the caller below
                failure.append(error)

        thread = threading.Thread(target=run, name="meterlib-server", daemon=True)
        thread.start()
        try:
            _wait_until(lambda: server.started or not thread.is_alive(), STARTUP_TIMEOUT)
            if not server.started:
                raise ConfigurationError(
                    "the server did not start", code="server_unavailable"
                ) from (failure[0] if failure else None)
            yield _url(sock)
        finally:
            server.stop()
            thread.join(SHUTDOWN_TIMEOUT)
            sock.close()
    finally:
        if owned:
            metering.close()


def stripe_client(url: str, api_key: str = DEFAULT_API_KEY) -> Any:
    """A ``stripe.StripeClient`` sending both base addresses to `url`, without retries.

    `api_key` is the secret key, or a meter event session's token for the stream. Needs the
    ``stripe`` package (not part of the server extra).
    """
    import stripe  # noqa: PLC0415 -- the SDK is the caller's dependency, not the server's

    return stripe.StripeClient(
        api_key, base_addresses={"api": url, "meter_events": url}, max_network_retries=0
    )


@attrs.frozen(kw_only=True)
class StripeServer:
    """A served store, as the ``stripe_server`` pytest fixture gives it.

    ``client`` is a ``stripe.StripeClient`` on ``url`` with ``api_key``; ``metering`` is the
    served `Metering` itself (its clock is the fixture's ``meter_clock``), for assertions in
    process.
    """

    url: str
    api_key: str
    metering: Metering
    client: Any

    def client_for(self, api_key: str) -> Any:
        """Another client on this server, e.g. with a session's token for the stream."""
        return stripe_client(self.url, api_key)


def _wait_until(done: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.002)
