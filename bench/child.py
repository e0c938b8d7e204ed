"""Measurements that need a fresh process; the parent runs ``python -m bench.child ...``.

* ``rss``: resident memory of an in-memory store holding N events, measured as the growth of
  ``VmRSS`` while the events stream in (generated lazily, so the inputs are not counted);
* ``open``: cold open of a durable store, then its first summary query.

Each prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from itertools import islice
from typing import Any

from bench import data
from bench.measure import rss_bytes
from bench.workloads import ingest, new_store
from meterlib import Metering


def measure_rss(spec: data.Spec, batch: int) -> dict[str, Any]:
    """How much `VmRSS` grows while an in-memory store takes in `spec.events` events."""
    metering, _ = new_store("memory://", "sum", None)
    stream = data.generate(spec)
    next(data.generate(data.Spec(1, spec.customers, spec.seed + 1)))  # warm the generator's code
    gc.collect()
    before = rss_bytes()
    while chunk := list(islice(stream, batch)):
        ingest(metering, chunk, batch=batch)
    del chunk
    gc.collect()
    after = rss_bytes()
    return {"events": spec.events, "rss_before": before, "rss_after": after}


def measure_open(url: str, customer: str) -> dict[str, Any]:
    """Seconds to open a durable store, and then to answer a first hourly summary page."""
    begin = time.perf_counter()
    metering = Metering(url, clock=data.clock())
    opened = time.perf_counter()
    (meter,) = metering.meters.list(limit=1).data
    page = metering.meters.list_event_summaries(
        meter.id,
        customer=customer,
        start_time=data.START,
        end_time=data.END,
        value_grouping_window="hour",
        limit=100,
    )
    answered = time.perf_counter()
    metering.close()
    return {"open_s": opened - begin, "first_query_s": answered - opened, "windows": len(page)}


def main() -> None:
    """Parse the command line, measure, print JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    commands = parser.add_subparsers(dest="command", required=True)
    rss = commands.add_parser("rss")
    rss.add_argument("--events", type=int, required=True)
    rss.add_argument("--customers", type=int, required=True)
    rss.add_argument("--seed", type=int, required=True)
    rss.add_argument("--batch", type=int, required=True)
    opening = commands.add_parser("open")
    opening.add_argument("url")
    opening.add_argument("customer")
    args = parser.parse_args()
    if args.command == "rss":
        result = measure_rss(data.Spec(args.events, args.customers, args.seed), args.batch)
    else:
        result = measure_open(args.url, args.customer)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
