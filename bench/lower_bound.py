"""How cheap could ingest be in pure Python? A measurement, not library code.

``python -m bench.lower_bound`` times, batch by batch in turn: the floor;
`InlinedStore.create`, every check and store step of ``meter_events.create`` written out in one
function, with no layers, no error messages and no reusable rules; and meterlib's own
``create``. With ``--bulk``, the same for batches: `InlinedStore.create_many`, one loop with
every check inlined, against ``meter_events.create_many``. If an inlined sketch already costs
the issue's ratio to the floor (3x per event, 1.5x in bulk), that target leaves no room for any
design that keeps Stripe's rules. For repeatable figures count instructions instead:
``valgrind --tool=callgrind python -m bench.lower_bound --only inlined --events N`` at two sizes,
minus the same for ``--only none`` (which only generates the events).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from types import MappingProxyType

from bench import data
from bench.baselines import Floor
from meterlib import MeterEvent, Metering
from meterlib.model.v1 import _EVENT_SETTERS, _new
from meterlib.storage.memory import _SEQ_BITS, _SEQ_MASK
from meterlib.validation import (
    FUTURE_LIMIT,
    IDENTIFIER_WINDOW,
    MAX_NAME,
    MAX_PAYLOAD_STRING,
    MAX_SIGNIFICANT_DIGITS,
    PAST_LIMIT,
)


class InlinedStore:
    """One active sum meter and the columns the memory store keeps, all checks in `create`."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.lock = threading.Lock()
        self.meters = {data.EVENT_NAME: ("mtr_sketch", "active", data.CUSTOMER_KEY, "value")}
        self.seen: dict[str, int] = {}
        self.values: list[Decimal] = []
        self.keys: list[int] = []
        self.created: list[int] = []
        self.streams: dict[str, list[int]] = {}

    def create(
        self,
        *,
        event_name: object,
        payload: object,
        identifier: object = None,
        timestamp: object = None,
    ) -> MeterEvent:
        """The rules of ``create`` for the common event shape; anything else raises ValueError."""
        with self.lock:
            now = self.now
            meter = self.meters.get(event_name) if type(event_name) is str else None
            if meter is None or meter[1] != "active":
                raise ValueError("event_name")
            if not (type(payload) is dict and len(payload) == 2):
                raise ValueError("payload")
            customer, raw = payload.get(meter[2]), payload.get(meter[3])
            if not (
                type(customer) is str
                and len(customer) <= MAX_PAYLOAD_STRING
                and customer.isprintable()
                and customer.strip()
                and type(raw) is str
            ):
                raise ValueError("payload")
            if not (
                len(raw) <= MAX_SIGNIFICANT_DIGITS
                and raw.isascii()
                and raw.removeprefix("-").replace(".", "", 1).isdecimal()
            ):
                raise ValueError("value")
            value = Decimal(raw)
            if not (
                type(identifier) is str
                and len(identifier) <= MAX_NAME
                and identifier.isprintable()
                and identifier.strip()
            ):
                raise ValueError("identifier")
            if timestamp is None:
                timestamp = now
            elif not (
                type(timestamp) is int and now - PAST_LIMIT <= timestamp <= now + FUTURE_LIMIT
            ):
                raise ValueError("timestamp")
            previous = self.seen.get(identifier)
            if (
                previous is not None
                and self.created[previous & _SEQ_MASK] > now - IDENTIFIER_WINDOW
            ):
                raise ValueError("duplicate")
            stream = self.streams.get(customer)
            if stream is None:
                stream = self.streams[customer] = []
            key = timestamp << _SEQ_BITS | len(self.values)
            self.values.append(value)
            self.keys.append(key)
            self.created.append(now)
            self.seen[identifier] = key
            stream.append(key)  # the data arrive in time order
        event: MeterEvent = _new(MeterEvent)
        name_, identifier_, payload_, timestamp_, created_, livemode_, object_ = _EVENT_SETTERS
        name_(event, event_name)
        identifier_(event, identifier)
        payload_(event, MappingProxyType(payload.copy()))
        timestamp_(event, timestamp)
        created_(event, now)
        livemode_(event, False)
        object_(event, "billing.meter_event")
        return event

    def create_many(self, items: Sequence[object]) -> list[int | None]:
        """The rules of ``create_many`` for the common shape, in one loop: seqs, None if rejected.

        Rejected items are only marked, not explained; accepted ones are stored, with nothing
        kept for a result object (``create_many`` keeps a snapshot of each for its results).
        """
        known, now = self.meters, self.now
        low, high, cutoff = now - PAST_LIMIT, now + FUTURE_LIMIT, now - IDENTIFIER_WINDOW
        seen, values, keys, created, streams = (
            self.seen,
            self.values,
            self.keys,
            self.created,
            self.streams,
        )
        results: list[int | None] = []
        with self.lock:
            for item in items:
                if type(item) is not dict or not _ARGUMENTS.issuperset(item):
                    results.append(None)
                    continue
                name, payload = item.get("event_name"), item.get("payload")
                meter = known.get(name) if type(name) is str else None
                if meter is None or type(payload) is not dict or len(payload) != 2:
                    results.append(None)
                    continue
                customer, raw = payload.get(meter[2]), payload.get(meter[3])
                identifier, timestamp = item.get("identifier"), item.get("timestamp")
                if timestamp is None:
                    timestamp = now
                if not (
                    meter[1] == "active"
                    and type(customer) is str
                    and len(customer) <= MAX_PAYLOAD_STRING
                    and customer.isprintable()
                    and customer.strip()
                    and type(raw) is str
                    and len(raw) <= MAX_SIGNIFICANT_DIGITS
                    and raw.isascii()
                    and raw.removeprefix("-").replace(".", "", 1).isdecimal()
                    and type(identifier) is str
                    and len(identifier) <= MAX_NAME
                    and identifier.isprintable()
                    and identifier.strip()
                    and type(timestamp) is int
                    and low <= timestamp <= high
                ):
                    results.append(None)
                    continue
                previous = seen.get(identifier)
                if previous is not None and created[previous & _SEQ_MASK] > cutoff:
                    results.append(None)
                    continue
                stream = streams.get(customer)
                if stream is None:
                    stream = streams[customer] = []
                seq = len(values)
                key = timestamp << _SEQ_BITS | seq
                values.append(Decimal(raw))
                keys.append(key)
                created.append(now)
                seen[identifier] = key
                stream.append(key)
                results.append(seq)
        return results


_ARGUMENTS = frozenset(("event_name", "payload", "identifier", "timestamp"))


def each(create: Callable[..., object], events: Sequence[data.Event]) -> None:
    """Call `create` once per event, as per-event ingest does."""
    for event in events:
        create(**event)


def main(argv: Sequence[str] | None = None) -> None:
    """Print µs an event and the ratio to the floor of the floor, the sketch and meterlib."""
    parser = argparse.ArgumentParser(prog="python -m bench.lower_bound", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument(
        "--only",
        choices=("floor", "inlined", "meterlib", "none"),
        action="append",
        help="time only these; 'none' only generates the events (for instruction counts)",
    )
    parser.add_argument("--bulk", action="store_true", help="time create_many, not create")
    args = parser.parse_args(argv)
    events = list(data.generate(data.Spec(events=args.events, customers=1_000, seed=6)))
    metering = Metering(clock=data.clock())
    metering.meters.create(
        display_name="bench", event_name=data.EVENT_NAME, default_aggregation={"formula": "sum"}
    )
    sketch = InlinedStore(data.END)
    contenders: dict[str, Callable[[Sequence[data.Event]], object]] = {
        "floor": Floor().feed,
        "inlined": sketch.create_many if args.bulk else partial(each, sketch.create),
        "meterlib": metering.meter_events.create_many
        if args.bulk
        else partial(each, metering.meter_events.create),
    }
    chosen = {name: feed for name, feed in contenders.items() if name in (args.only or contenders)}
    seconds = dict.fromkeys(chosen, 0.0)
    for first in range(0, len(events), args.batch):
        batch = events[first : first + args.batch]
        for name, feed in chosen.items():
            begin = time.perf_counter()
            feed(batch)
            seconds[name] += time.perf_counter() - begin
    if "inlined" in chosen and len(sketch.values) != len(events):
        raise SystemExit("the sketch did not store every event")
    floor = seconds.get("floor")
    for name, total in seconds.items():
        ratio = "" if floor is None else f"  {total / floor:.2f}x floor"
        print(f"{name:<9} {total / len(events) * 1e6:6.2f} µs/event{ratio}")


if __name__ == "__main__":
    main()
