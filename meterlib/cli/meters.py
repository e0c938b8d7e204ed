"""``meterlib meters list|show|create|update|deactivate|reactivate``."""

from __future__ import annotations

import click
from rich.table import Table

from meterlib.cli.app import OK, console, json_option, open_store, print_json, store_option
from meterlib.model import Meter
from meterlib.timeutil import from_unix_seconds


def _when(seconds: int | None) -> str:
    return "" if seconds is None else from_unix_seconds(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def _table(meters: list[Meter]) -> Table:
    table = Table()
    for column in ("id", "display_name", "event_name", "formula", "window", "status", "created"):
        table.add_column(column)
    for meter in meters:
        table.add_row(
            meter.id,
            meter.display_name,
            meter.event_name,
            meter.default_aggregation.formula,
            meter.event_time_window or "",
            meter.status,
            _when(meter.created),
        )
    return table


def _show(meter: Meter, as_json: bool) -> int:
    if as_json:
        print_json(meter.to_dict())
        return OK
    table = Table(show_header=False)
    table.add_column("field")
    table.add_column("value")
    for field, value in (
        ("id", meter.id),
        ("display_name", meter.display_name),
        ("event_name", meter.event_name),
        ("formula", meter.default_aggregation.formula),
        ("customer key", meter.customer_mapping.event_payload_key),
        ("value key", meter.value_settings.event_payload_key),
        ("event_time_window", meter.event_time_window or "none (raw)"),
        ("status", meter.status),
        ("created", _when(meter.created)),
        ("updated", _when(meter.updated)),
        ("deactivated_at", _when(meter.status_transitions.deactivated_at)),
    ):
        table.add_row(field, value)
    console().print(table)
    return OK


@click.group()
def meters() -> None:
    """List, show, create, update, deactivate and reactivate meters.

    \b
    Example:
      meterlib meters list --store sqlite:///usage.db
    """


@meters.command("list")
@store_option
@click.option("--status", type=click.Choice(["active", "inactive"]), help="Only these.")
@json_option
def list_meters(store: str, status: str | None, as_json: bool) -> int:
    """Every meter, newest first.

    \b
    Example:
      meterlib meters list --store sqlite:///usage.db --status active --json
    """
    with open_store(store) as metering:
        found = list(metering.meters.list(status=status, limit=100).auto_paging_iter())
    if as_json:
        print_json([meter.to_dict() for meter in found])
    else:
        console().print(_table(found))
    return OK


@meters.command("show")
@click.argument("meter_id", metavar="ID")
@store_option
@json_option
def show(meter_id: str, store: str, as_json: bool) -> int:
    """One meter's settings and status.

    \b
    Example:
      meterlib meters show mtr_test_61Q8... --store sqlite:///usage.db
    """
    with open_store(store) as metering:
        return _show(metering.meters.retrieve(meter_id), as_json)


@meters.command("create")
@store_option
@click.option("--display-name", required=True, help="The meter's name (not shown to customers).")
@click.option("--event-name", required=True, help="The event_name its events carry.")
@click.option(
    "--formula",
    required=True,
    type=click.Choice(["sum", "count", "last"]),
    help="How events aggregate.",
)
@click.option("--customer-key", default=None, help="Payload key of the customer.")
@click.option("--value-key", default=None, help="Payload key of the value.")
@click.option(
    "--event-time-window",
    type=click.Choice(["hour", "day"]),
    help="Pre-aggregate: keep the latest event per customer and window.",
)
@json_option
def create(
    *,
    store: str,
    display_name: str,
    event_name: str,
    formula: str,
    customer_key: str | None,
    value_key: str | None,
    event_time_window: str | None,
    as_json: bool,
) -> int:
    """Create a meter.

    \b
    Example:
      meterlib meters create --store sqlite:///usage.db --display-name "API calls" \\
        --event-name api --formula sum
    """
    with open_store(store) as metering:
        meter = metering.meters.create(
            display_name=display_name,
            event_name=event_name,
            default_aggregation={"formula": formula},
            customer_mapping=None
            if customer_key is None
            else {"type": "by_id", "event_payload_key": customer_key},
            value_settings=None if value_key is None else {"event_payload_key": value_key},
            event_time_window=event_time_window,
        )
        return _show(meter, as_json)


@meters.command("update")
@click.argument("meter_id", metavar="ID")
@store_option
@click.option("--display-name", required=True, help="The new name.")
@json_option
def update(meter_id: str, store: str, display_name: str, as_json: bool) -> int:
    """Rename a meter (its display name is all that can change).

    \b
    Example:
      meterlib meters update mtr_test_61Q8... --display-name "Search" --store sqlite:///usage.db
    """
    with open_store(store) as metering:
        return _show(metering.meters.update(meter_id, display_name=display_name), as_json)


@meters.command("deactivate")
@click.argument("meter_id", metavar="ID")
@store_option
@json_option
def deactivate(meter_id: str, store: str, as_json: bool) -> int:
    """Stop a meter accepting events (its summaries stay).

    \b
    Example:
      meterlib meters deactivate mtr_test_61Q8... --store sqlite:///usage.db
    """
    with open_store(store) as metering:
        return _show(metering.meters.deactivate(meter_id), as_json)


@meters.command("reactivate")
@click.argument("meter_id", metavar="ID")
@store_option
@json_option
def reactivate(meter_id: str, store: str, as_json: bool) -> int:
    """Let a deactivated meter accept events again.

    \b
    Example:
      meterlib meters reactivate mtr_test_61Q8... --store sqlite:///usage.db
    """
    with open_store(store) as metering:
        return _show(metering.meters.reactivate(meter_id), as_json)
