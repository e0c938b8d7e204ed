"""Loopback load on ``meterlib serve``: a server in a child process, N client threads.

The server runs as ``python -m meterlib.server`` in its own process (so it has a core of its
own, as a deployed one would) on a manual clock; clients are threads with one keep-alive
``http.client`` connection each, sending what the stripe SDK sends (form bodies for v1, JSON
for the stream, an ``Idempotency-Key`` on every POST) without the SDK's own cost. Every request
is counted and checked; totals are read back through the summaries API. Used by the load test
(``tests/server/test_load.py``) and ``make bench``.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

API_KEY = "sk_test_meterlib"
CLOCK = "manual:2026-03-10T12:00:00Z"
NOON = 1_773_144_000
EVENT_NAME = "api_calls"
STARTUP_SECONDS = 30.0


@dataclass(frozen=True)
class Load:
    """What a load run sent: requests, events in them, wall seconds, and failed requests."""

    requests: int
    events: int
    seconds: float
    failures: tuple[str, ...]

    @property
    def requests_per_second(self) -> float:
        """Requests answered per second of wall time."""
        return self.requests / self.seconds

    @property
    def events_per_second(self) -> float:
        """Events sent per second of wall time."""
        return self.events / self.seconds


@contextmanager
def served(store: str = "memory://", *, clock: str = CLOCK) -> Iterator[str]:
    """``python -m meterlib.server`` on a free loopback port; yields its URL, then SIGTERMs it."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "meterlib.server", "--store", store, "--port", "0"),
            *("--clock", clock, "--api-key", API_KEY),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"http://\S+", line)
        if found is None:
            raise RuntimeError(f"the server did not start: {line!r}")
        yield found.group(0)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class Client:
    """One keep-alive connection speaking just enough HTTP/1.1, as one SDK thread would hold.

    Raw sockets rather than ``http.client``: its header parsing costs more than the server's
    answer, and the clients share one process (and its GIL); what is measured is the server.
    """

    def __init__(self, url: str, api_key: str = API_KEY) -> None:
        parts = urlsplit(url)
        self._sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._auth = f"Authorization: Bearer {api_key}\r\n"
        self._prefix = uuid.uuid4().hex
        self._sent = 0
        self._buffer = b""

    def request(
        self, method: str, path: str, body: bytes = b"", *, json_body: bool = False
    ) -> tuple[int, bytes]:
        """Send one request (POSTs with a fresh Idempotency-Key); the status and body."""
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{self._auth}"
        if method == "POST":
            self._sent += 1
            kind = "application/json" if json_body else "application/x-www-form-urlencoded"
            head += (
                f"Idempotency-Key: {self._prefix}-{self._sent}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\n"
            )
        self._sock.sendall(head.encode() + b"\r\n" + body)
        while b"\r\n\r\n" not in self._buffer:
            self._receive()
        response_head, _, rest = self._buffer.partition(b"\r\n\r\n")
        length = 0
        for line in response_head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            self._buffer = rest
            self._receive()
            rest = self._buffer
        self._buffer = rest[length:]
        return int(response_head[9:12]), rest[:length]

    def _receive(self) -> None:
        chunk = self._sock.recv(262_144)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        """Close the connection."""
        self._sock.close()


def setup(url: str, *, event_name: str = EVENT_NAME) -> tuple[str, str]:
    """Create a sum meter and a meter event session; their meter id and session token."""
    client = Client(url)
    try:
        form = urlencode(
            {
                "display_name": "Load",
                "event_name": event_name,
                "default_aggregation[formula]": "sum",
            }
        )
        status, body = client.request("POST", "/v1/billing/meters", form.encode())
        if status != 200:
            raise RuntimeError(f"meter create failed: {status} {body[:200]!r}")
        meter_id = json.loads(body)["id"]
        status, body = client.request(
            "POST", "/v2/billing/meter_event_session", b"{}", json_body=True
        )
        if status != 200:
            raise RuntimeError(f"session create failed: {status} {body[:200]!r}")
        return meter_id, json.loads(body)["authentication_token"]
    finally:
        client.close()


def _run(
    url: str, api_key: str, jobs: list[list[tuple[str, bytes, bool]]], events_per_request: int
) -> Load:
    """Each job's requests on its own thread and connection, all started together."""
    failures: list[str] = []
    lock = threading.Lock()
    ready = threading.Barrier(len(jobs) + 1)

    def work(requests: list[tuple[str, bytes, bool]]) -> None:
        client = Client(url, api_key)
        try:
            ready.wait()
            for path, body, is_json in requests:
                status, answer = client.request("POST", path, body, json_body=is_json)
                if status != 200:
                    with lock:
                        failures.append(f"{status} {answer[:200]!r}")
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    requests = sum(len(job) for job in jobs)
    return Load(requests, requests * events_per_request, seconds, tuple(failures))


def customer(index: int, customers: int) -> str:
    """The customer of event `index`."""
    return f"cus_{index % customers}"


def v1_load(url: str, *, clients: int, events: int, customers: int, value: str = "1") -> Load:
    """`events` v1 meter events (one a request), spread over `clients` threads."""
    jobs: list[list[tuple[str, bytes, bool]]] = [[] for _ in range(clients)]
    for index in range(events):
        form = (
            f"event_name={EVENT_NAME}&payload[stripe_customer_id]={customer(index, customers)}"
            f"&payload[value]={value}&identifier=v1-{index}"
        )
        jobs[index % clients].append(("/v1/billing/meter_events", form.encode(), False))
    return _run(url, API_KEY, jobs, 1)


def stream_load(
    url: str, token: str, *, clients: int, calls: int, customers: int, value: str = "2"
) -> Load:
    """`calls` stream calls of 100 events each, spread over `clients` threads."""
    jobs: list[list[tuple[str, bytes, bool]]] = [[] for _ in range(clients)]
    for call in range(calls):
        events = [
            {
                "event_name": EVENT_NAME,
                "identifier": f"st-{call}-{i}",
                "payload": {"stripe_customer_id": customer(i, customers), "value": value},
            }
            for i in range(100)
        ]
        body = json.dumps({"events": events}).encode()
        jobs[call % clients].append(("/v2/billing/meter_event_stream", body, True))
    return _run(url, token, jobs, 100)


def totals(url: str, meter_id: str, customers: int) -> dict[str, Decimal]:
    """Each customer's usage from noon (the clock's start) for a day, read over HTTP."""
    client = Client(url)
    try:
        found = {}
        for index in range(customers):
            who = f"cus_{index}"
            query = urlencode({"customer": who, "start_time": NOON, "end_time": NOON + 86_400})
            status, body = client.request(
                "GET", f"/v1/billing/meters/{meter_id}/event_summaries?{query}"
            )
            if status != 200:
                raise RuntimeError(f"summary failed: {status} {body[:200]!r}")
            (summary,) = json.loads(body, parse_float=Decimal)["data"]
            found[who] = Decimal(summary["aggregated_value"])
        return found
    finally:
        client.close()


def expected(events: int, customers: int, value: Decimal) -> dict[str, Decimal]:
    """What `events` events of `value` spread by `customer` add up to, per customer."""
    counts = [0] * customers
    for index in range(events):
        counts[index % customers] += 1
    return {f"cus_{index}": value * count for index, count in enumerate(counts)}


def in_process(store: str, *, events: int, calls: int, customers: int) -> tuple[Load, Load]:
    """The same v1 events and stream calls, straight into a `Metering` of `store`, timed."""
    from meterlib import ManualClock, Metering  # noqa: PLC0415 -- the driver itself needs neither

    with Metering(store, clock=ManualClock(CLOCK.removeprefix("manual:"))) as metering:
        metering.meters.create(
            display_name="Load", event_name=EVENT_NAME, default_aggregation={"formula": "sum"}
        )
        token = metering.v2.billing.meter_event_session.create().authentication_token
        create = metering.meter_events.create
        started = time.perf_counter()
        for index in range(events):
            create(
                event_name=EVENT_NAME,
                payload={"stripe_customer_id": customer(index, customers), "value": "1"},
                identifier=f"v1-{index}",
            )
        v1 = Load(events, events, time.perf_counter() - started, ())
        batches = [
            [
                {
                    "event_name": EVENT_NAME,
                    "identifier": f"st-{call}-{i}",
                    "payload": {"stripe_customer_id": customer(i, customers), "value": "2"},
                }
                for i in range(100)
            ]
            for call in range(calls)
        ]
        stream = metering.v2.billing.meter_event_stream.create
        started = time.perf_counter()
        for batch in batches:
            stream(events=batch, authentication_token=token)
        streamed = Load(calls, calls * 100, time.perf_counter() - started, ())
    return v1, streamed
