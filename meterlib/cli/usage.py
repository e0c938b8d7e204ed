"""``meterlib summary`` (one customer's windows) and ``meterlib usage`` (every customer)."""

from __future__ import annotations

import csv
import sys

import click
from rich.table import Table

from meterlib.bulk.exporting import Selection
from meterlib.cli.app import (
    OK,
    USAGE,
    console,
    fail_line,
    open_store,
    print_json,
    store_option,
    time_option,
)
from meterlib.model import json_number
from meterlib.timeutil import from_unix_seconds, to_unix_seconds


def _when(seconds: int) -> str:
    return from_unix_seconds(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _output_choice(as_json: bool, as_csv: bool) -> bool:
    if as_json and as_csv:
        fail_line("--json and --csv cannot both be given (code=usage_error, param=csv)")
        return False
    return True


@click.command("summary")
@click.argument("meter_id", metavar="METER")
@click.option("--customer", required=True, help="The customer (Stripe customer id).")
@time_option("--start", required=True, help="Start (inclusive, minute-aligned).")
@time_option("--end", required=True, help="End (exclusive, minute-aligned).")
@click.option(
    "--window",
    type=click.Choice(["hour", "day"]),
    help="One summary per hour or UTC day (default: one for the whole range).",
)
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print Stripe's summary objects as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print start_time,end_time,value rows.")
def summary(
    *,
    meter_id: str,
    customer: str,
    start: object,
    end: object,
    window: str | None,
    store: str,
    as_json: bool,
    as_csv: bool,
) -> int:
    """One customer's event summaries of a meter, as Stripe's list_event_summaries gives them.

    \b
    Example:
      meterlib summary mtr_test_61Q8... --customer cus_1 --start 2026-03-01 \\
        --end 2026-03-02 --window hour --store sqlite:///usage.db
    """
    if not _output_choice(as_json, as_csv):
        return USAGE
    with open_store(store) as metering:
        summaries = list(
            metering.meters.list_event_summaries(
                meter_id,
                customer=customer,
                start_time=start,
                end_time=end,
                value_grouping_window=window,
                limit=100,
            ).auto_paging_iter()
        )
    if as_json:
        print_json([item.to_dict() for item in summaries])
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["start_time", "end_time", "aggregated_value"])
        for item in summaries:
            writer.writerow([item.start_time, item.end_time, item.aggregated_value])
    else:
        table = Table(title=f"{meter_id} for {customer}")
        for column in ("start", "end", "value"):
            table.add_column(column, justify="right" if column == "value" else "left")
        for item in summaries:
            table.add_row(_when(item.start_time), _when(item.end_time), str(item.aggregated_value))
        console().print(table)
    return OK


@click.command("usage")
@click.argument("meter_id", metavar="METER")
@time_option("--start", required=True, help="Start (inclusive).")
@time_option("--end", required=True, help="End (exclusive).")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print customer,value rows.")
def usage(
    *, meter_id: str, start: object, end: object, store: str, as_json: bool, as_csv: bool
) -> int:
    """Every customer's usage of a meter in [start, end): one value each.

    Customers are those with (uncancelled) events in the range; the value is the meter's
    formula over the range, as m.usage gives it.

    \b
    Example:
      meterlib usage mtr_test_61Q8... --start 2026-03-01 --end 2026-04-01 --csv \\
        --store sqlite:///usage.db
    """
    if not _output_choice(as_json, as_csv):
        return USAGE
    with open_store(store) as metering:
        selection = Selection(metering.context, meter=meter_id, start=start, end=end)
        customers = sorted({event.customer for event in selection.events()})
        values = [(who, metering.usage(meter_id, who, start, end)) for who in customers]
    begin, finish = to_unix_seconds(start, "start"), to_unix_seconds(end, "end")
    if as_json:
        print_json(
            [
                {
                    "meter": meter_id,
                    "customer": who,
                    "start_time": begin,
                    "end_time": finish,
                    "aggregated_value": json_number(value),
                }
                for who, value in values
            ]
        )
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["customer", "aggregated_value"])
        writer.writerows(values)
    else:
        table = Table(title=f"{meter_id}, {_when(begin)} to {_when(finish)}")
        table.add_column("customer")
        table.add_column("value", justify="right")
        for who, value in values:
            table.add_row(who, str(value))
        console().print(table)
    return OK
