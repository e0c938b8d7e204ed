"""High-throughput usage through Stripe's v2 meter event stream, in process.

A worker takes a meter event session (a token that lasts 15 minutes), sends usage in calls of up
to 100 events, renews the session when it expires, and reads the event log for the events the
stream rejected: the stream never raises for a bad event, it reports it afterwards, as Stripe's
does. Run it with ``python examples/high_throughput.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from meterlib import AuthenticationError, ManualClock, Metering, V2Event

clock = ManualClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
m = Metering(clock=clock)
meter = m.meters.create(
    display_name="AI tokens", event_name="ai_tokens", default_aggregation={"formula": "sum"}
)
stream = m.v2.billing.meter_event_stream
sessions = [m.v2.billing.meter_event_session.create()]


def send(events: list[dict[str, object]]) -> None:
    """One stream call; a new session first if the token has expired."""
    try:
        stream.create(events=events, authentication_token=sessions[-1].authentication_token)
    except AuthenticationError:  # the token lasts 15 minutes: take a new one and resend
        sessions.append(m.v2.billing.meter_event_session.create())
        stream.create(events=events, authentication_token=sessions[-1].authentication_token)


usage: list[dict[str, Any]] = [
    {
        "event_name": "ai_tokens",
        "payload": {"stripe_customer_id": f"cus_{n % 3}", "value": str(n % 7)},
        "identifier": f"req_{n}",
    }
    for n in range(1_000)
]
usage[10]["payload"] = {"stripe_customer_id": "cus_0", "value": "lots"}  # a bad value
usage[20]["event_name"] = "ai_tokenz"  # a typo: no meter has this name
for first in range(0, len(usage), 100):
    if first == 500:
        clock.advance(15 * 60)  # the first session expires half way
    send(usage[first : first + 100])

for customer in ("cus_0", "cus_1", "cus_2"):
    print(customer, m.usage(meter.id, customer, 0, "3000-01-01T00:00:00Z"))
for event in m.v2.core.events.list(
    types=["v1.billing.meter.error_report_triggered", "v1.billing.meter.no_meter_found"]
):
    assert isinstance(event, V2Event)
    for kind in event.data.reason.error_types:
        samples = [sample.request.identifier for sample in kind.sample_errors]
        print(event.type, kind.code, kind.error_count, samples)
