"""meterlib quickstart: three customers, four meters, three simulated days, printed as tables.

Run it with ``make demo`` (or ``python examples/quickstart.py`` once meterlib is installed).

The story, all in UTC on a `ManualClock` that only moves when we advance it:

* ``api_request`` (count): each customer makes a few API requests in three busy hours a day;
* ``ai_tokens`` (sum): each request also reports the thousands of AI tokens it used (decimals);
* ``seats`` (last): each customer reports its seat count at 08:00 and 18:00; the latest counts;
* ``gpus_in_use`` (sum, pre-aggregated by hour): customers report how many GPUs they run; only
  the most recently *received* report of each hour counts, so a day sums to GPU-hours.

Along the way it shows three rules at work: a late report winning its hour, a retried event
rejected by its identifier, and a mistaken event cancelled by an adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meterlib import InvalidRequestError, ManualClock, Meter, Metering

FIRST_DAY = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 3
BUSY_HOURS = (9, 13, 17)
CUSTOMERS = {"cus_acme": 1, "cus_globex": 2, "cus_initech": 3}
"""Each customer's size: it scales requests, tokens, seats and GPUs."""


def advance_to(clock: ManualClock, moment: datetime) -> None:
    """Move the clock forward to `moment` (time never runs backwards in this story)."""
    step = moment - clock.now()
    assert step >= timedelta(0), f"{moment} is in the clock's past"
    clock.advance(step)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: text columns left-aligned, numbers right-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=True)]
    numeric = [isinstance(cell, int | Decimal) for cell in rows[0]]

    def line(texts: Sequence[str]) -> str:
        return "  ".join(
            text.rjust(width) if right else text.ljust(width)
            for text, width, right in zip(texts, widths, numeric, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in cells)])


def create_meters(m: Metering) -> dict[str, Meter]:
    """The four meters of the story, keyed by event name."""
    specs = [
        ("API requests", "api_request", "count", None),
        ("AI tokens (thousands)", "ai_tokens", "sum", None),
        ("Seats", "seats", "last", None),
        ("GPU hours", "gpus_in_use", "sum", "hour"),
    ]
    return {
        event_name: m.meters.create(
            display_name=name,
            event_name=event_name,
            default_aggregation={"formula": formula},
            event_time_window=window,
        )
        for name, event_name, formula, window in specs
    }


def simulate_day(m: Metering, clock: ManualClock, day: int) -> None:
    """One day of usage from every customer, received in time order."""
    midnight = FIRST_DAY + timedelta(days=day)
    advance_to(clock, midnight + timedelta(hours=8))
    for customer, size in CUSTOMERS.items():
        m.record("seats", customer=customer, value=10 * size + 2 * day, timestamp=clock.now())
    for hour in BUSY_HOURS:
        busy = midnight + timedelta(hours=hour)
        advance_to(clock, busy + timedelta(minutes=10))
        for customer, size in CUSTOMERS.items():
            for n in range(size + day):
                stamp = busy + timedelta(minutes=5, seconds=n)
                m.record("api_request", customer=customer, timestamp=stamp)
                m.record(
                    "ai_tokens",
                    customer=customer,
                    value=f"{size}.{hour:02d}",  # decimal strings, as in Stripe's payload
                    timestamp=stamp,
                    identifier=f"tok_{customer}_{day}_{hour}_{n}",
                )
            m.record(
                "gpus_in_use", customer=customer, value=size, timestamp=busy + timedelta(minutes=5)
            )
        advance_to(clock, busy + timedelta(minutes=35))
        for customer, size in CUSTOMERS.items():
            m.record("gpus_in_use", customer=customer, value=size + 1, timestamp=clock.now())
        if day == 0 and hour == 13:
            # cus_acme's agent sent a report stamped 13:20 that only arrives at 13:50: the
            # most recently received report wins the hour, whatever its timestamp.
            advance_to(clock, busy + timedelta(minutes=50))
            m.record(
                "gpus_in_use", customer="cus_acme", value=4, timestamp=busy + timedelta(minutes=20)
            )
    advance_to(clock, midnight + timedelta(hours=18))
    for customer, size in CUSTOMERS.items():
        m.record("seats", customer=customer, value=10 * size + 2 * day + 1, timestamp=clock.now())


def retry_is_rejected(m: Metering) -> str:
    """A client retries an event it already sent: the identifier makes it count once."""
    identifier = "tok_cus_acme_0_17_0"
    try:
        m.record("ai_tokens", customer="cus_acme", value="1.17", identifier=identifier)
    except InvalidRequestError as error:
        return f"Retry: {identifier} sent again -> {error.code} (param {error.param}); counts once."
    raise AssertionError("a retried identifier must be rejected")


def cancel_mistake(m: Metering, clock: ManualClock, meter: Meter) -> str:
    """On day two a buggy import sends 1000 tokens for cus_globex; support cancels it."""
    day = FIRST_DAY + timedelta(days=1)
    advance_to(clock, day + timedelta(hours=18, minutes=30))
    mistake = m.record("ai_tokens", customer="cus_globex", value=1000, identifier="tok_import_bug")
    before = m.usage(meter.id, "cus_globex", day, day + timedelta(days=1))
    advance_to(clock, day + timedelta(hours=18, minutes=35))
    adjustment = m.meter_event_adjustments.create(
        event_name="ai_tokens", type="cancel", cancel={"identifier": mistake.identifier}
    )
    after = m.usage(meter.id, "cus_globex", day, day + timedelta(days=1))
    return (
        f"Cancellation: a buggy import sent {mistake.payload['value']} (thousand tokens) for "
        f"cus_globex on {day:%Y-%m-%d}.\n"
        f"  ai_tokens that day: {before} before cancelling {mistake.identifier}, "
        f"{after} after\n  (adjustment {adjustment.status}): "
        "the cancelled event left every summary."
    )


def hourly_table(m: Metering, meters: dict[str, Meter], customer: str) -> str:
    """One customer's first day, hour by hour from 08:00 to 19:00 (empty hours are 0)."""
    start = FIRST_DAY + timedelta(hours=8)
    end = FIRST_DAY + timedelta(hours=19)
    columns = {
        name: m.meters.list_event_summaries(
            meter.id,
            customer=customer,
            start_time=start,
            end_time=end,
            value_grouping_window="hour",
            limit=100,
        ).data
        for name, meter in meters.items()
    }
    hours = columns["api_request"]
    rows = [
        [f"{datetime.fromtimestamp(summary.start_time, UTC):%H:%M}"]
        + [columns[name][i].aggregated_value for name in meters]
        for i, summary in enumerate(hours)
    ]
    return table(["hour", *meters], rows)


def daily_table(m: Metering, meters: dict[str, Meter]) -> str:
    """Every customer, day by day, with each meter's daily summary."""
    rows: list[list[object]] = []
    for customer in CUSTOMERS:
        pages = {
            name: m.meters.list_event_summaries(
                meter.id,
                customer=customer,
                start_time=FIRST_DAY,
                end_time=FIRST_DAY + timedelta(days=DAYS),
                value_grouping_window="day",
            ).data
            for name, meter in meters.items()
        }
        for day in range(DAYS):
            date = f"{FIRST_DAY + timedelta(days=day):%Y-%m-%d}"
            rows.append([date, customer, *(pages[name][day].aggregated_value for name in meters)])
    return table(["day", "customer", *meters], rows)


def main() -> None:
    """Run the story and print what the meters saw."""
    clock = ManualClock(FIRST_DAY)
    m = Metering(storage="memory://", clock=clock)
    meters = create_meters(m)
    notes: list[str] = []

    for day in range(DAYS):
        simulate_day(m, clock, day)
        if day == 0:
            notes.append(retry_is_rejected(m))
        if day == 1:
            notes.append(cancel_mistake(m, clock, meters["ai_tokens"]))
    advance_to(clock, FIRST_DAY + timedelta(days=DAYS, minutes=10))

    print(f"meterlib quickstart: {len(CUSTOMERS)} customers, {DAYS} simulated days (UTC)\n")
    print("Meters")
    print(
        table(
            ["event_name", "display_name", "formula", "event_time_window"],
            [
                [
                    meter.event_name,
                    meter.display_name,
                    meter.default_aggregation.formula,
                    meter.event_time_window or "none (raw)",
                ]
                for meter in meters.values()
            ],
        )
    )
    print()
    print(
        f"Pre-aggregation: on {FIRST_DAY:%Y-%m-%d} cus_acme reported 1 GPU at 13:05 and 2 at "
        "13:35;\n  a late report of 4 stamped 13:20 arrived at 13:50. The most recently "
        "received report\n  wins its hour, so gpus_in_use counts 4 for 13:00 below."
    )
    for note in notes:
        print(note)
    print()
    print(f"Hourly summaries for cus_acme on {FIRST_DAY:%Y-%m-%d}")
    print(hourly_table(m, meters, "cus_acme"))
    print()
    print("Daily summaries")
    print(daily_table(m, meters))


if __name__ == "__main__":
    main()
