"""meterlib's side of every workload, through its public API only."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench import data
from bench.report import HOURLY, HOURLY_PAGE, HOURLY_SERIES, SWEEP, WHOLE_LIST, WHOLE_USAGE
from meterlib import ListObject, MeterEventSummary, Metering

VARIANTS: tuple[tuple[str, str | None], ...] = (
    ("sum", None),
    ("count", None),
    ("last", None),
    ("sum", "hour"),
    ("count", "hour"),
    ("last", "hour"),
)
"""(formula, event_time_window) of every meter the summaries run on."""


def variant_name(formula: str, window: str | None) -> str:
    """The label of a meter variant: ``"sum raw"``, ``"last hour"`` and so on."""
    return f"{formula} {window or 'raw'}"


def new_store(url: str, formula: str, window: str | None) -> tuple[Metering, str]:
    """A `Metering` on `url` with the data's clock and one meter; returns it and the meter id."""
    metering = Metering(url, clock=data.clock())
    meter = metering.meters.create(
        display_name=f"bench {variant_name(formula, window)}",
        event_name=data.EVENT_NAME,
        default_aggregation={"formula": formula},
        event_time_window=window,
    )
    return metering, meter.id


def has_create_many(metering: Metering) -> bool:
    """Whether this meterlib has the bulk path ``meter_events.create_many``."""
    return callable(getattr(metering.meter_events, "create_many", None))


def ingest(metering: Metering, events: Sequence[data.Event], *, batch: int) -> None:
    """Store `events` with ``create_many`` in batches, or one ``create`` each if it is missing.

    Raises RuntimeError if any event is rejected: every benchmark event is valid.
    """
    create_many: Any = getattr(metering.meter_events, "create_many", None)
    if create_many is None:
        ingest_each(metering, events)
        return
    for first in range(0, len(events), batch):
        rejected = create_many(events[first : first + batch]).errors
        if rejected:
            raise RuntimeError(f"{len(rejected)} events rejected, first: {rejected[0]!r}")


def ingest_each(
    metering: Metering,
    events: Sequence[data.Event],
    *,
    seconds: float | None = None,
) -> int:
    """``meter_events.create`` once per event (for at most `seconds`); how many were stored."""
    create = metering.meter_events.create
    if seconds is None:
        for event in events:
            create(**event)
        return len(events)
    deadline = time.perf_counter() + seconds
    done = 0
    for event in events:
        create(**event)
        done += 1
        if done % 64 == 0 and time.perf_counter() > deadline:
            break
    return done


@dataclass(frozen=True, slots=True)
class Query:
    """A summary query: its workload name, its range and window, one customer or all."""

    workload: str
    start: int
    end: int
    step: int
    all_customers: bool = False

    @property
    def windows(self) -> int:
        """How many summaries the query answers (per customer)."""
        return (self.end - self.start) // self.step


QUERIES = (
    Query(HOURLY_SERIES, data.START, data.END, data.HOUR),
    Query(HOURLY, data.START, data.END, data.HOUR),
    Query(HOURLY_PAGE, data.START, data.START + 100 * data.HOUR, data.HOUR),
    Query(WHOLE_USAGE, data.START, data.END, data.END - data.START),
    Query(WHOLE_LIST, data.START, data.END, data.END - data.START),
    Query(SWEEP, data.START, data.END, data.DAY, all_customers=True),
)


def summary_call(
    metering: Metering, meter_id: str, query: Query, customers: Sequence[str]
) -> Callable[[], list[Decimal]]:
    """The meterlib call a user makes for `query`; it returns the values it got.

    Single-customer queries ask for ``customers[0]``.
    """
    customer = customers[0]
    grouping = {data.HOUR: "hour", data.DAY: "day"}.get(query.step)

    def listing(who: str) -> ListObject[MeterEventSummary]:
        return metering.meters.list_event_summaries(
            meter_id,
            customer=who,
            start_time=query.start,
            end_time=query.end,
            value_grouping_window=grouping,
            limit=100,
        )

    if query.workload == HOURLY_SERIES:
        # the values column, as the baselines give theirs: a list with one value per window
        return lambda: list(
            metering.usage_series(
                meter_id, customer, query.start, query.end, value_grouping_window=grouping
            ).values
        )
    if query.workload == HOURLY:
        return lambda: [s.aggregated_value for s in listing(customer).auto_paging_iter()]
    if query.workload == WHOLE_USAGE:
        return lambda: [metering.usage(meter_id, customer, query.start, query.end)]
    if query.all_customers:
        return lambda: [s.aggregated_value for who in customers for s in listing(who).data]
    return lambda: [s.aggregated_value for s in listing(customer).data]
