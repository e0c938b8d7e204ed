"""``meterlib check``: is a store healthy? Schema version, counts, integrity, invariants.

For an SQLite file it first looks without opening the store (which would migrate an older
schema): the file must exist, pass ``PRAGMA integrity_check`` and carry this meterlib's schema
version. Then it opens the store and reads every event once (`Storage.list_events`), checking
meterlib's own invariants: each event's meter exists under the same event name, events come
in increasing order of receipt, every value obeys the value rules, and for every meter and
customer the store's own summary of all its events equals the plain fold of their points
(`meterlib.summaries.summarize_points`), the reference every backend's summary path must match.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from meterlib import validation as rules
from meterlib.bulk.exporting import Selection
from meterlib.cli.app import (
    OK,
    PROBLEMS,
    console,
    json_option,
    open_store,
    print_json,
    store_option,
)
from meterlib.errors import InvalidRequestError, StorageError
from meterlib.metering import Metering
from meterlib.storage import SummaryQuery
from meterlib.summaries import summarize_points
from meterlib.timeutil import DAY, window_start

SHOWN_PROBLEMS = 20
"""Problems listed (all are counted)."""


@dataclass
class Health:
    """What the check found."""

    store: str
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, text: str) -> None:
        """Note a problem (the first `SHOWN_PROBLEMS` are kept)."""
        self.problem_count += 1
        if len(self.problems) < SHOWN_PROBLEMS:
            self.problems.append(text)

    @property
    def healthy(self) -> bool:
        """Whether no problem was found."""
        return self.problem_count == 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the store, healthy, the facts and the problems."""
        return {
            "store": self.store,
            "healthy": self.healthy,
            **self.facts,
            "problem_count": self.problem_count,
            "problems": self.problems,
        }


def _sqlite_file(url: str) -> Path | None:
    """The file of an ``sqlite://`` URL (None for another scheme or an in-memory database)."""
    if not url.startswith("sqlite:"):
        return None
    from meterlib.storage.sqlite import parse_sqlite_url  # noqa: PLC0415 -- SQLite stores only

    path, _ = parse_sqlite_url(url)
    return None if path == ":memory:" else Path(path)


def _look_at_file(path: Path, health: Health) -> bool:
    """Integrity and schema version, read-only; whether the store can be opened as it is."""
    from meterlib.storage.sqlite import SCHEMA_VERSION  # noqa: PLC0415 -- SQLite stores only

    if not path.is_file():
        raise StorageError(f"no store at {str(path)!r}", code="storage_unavailable")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            integrity = [row[0] for row in db.execute("PRAGMA integrity_check")]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            version = (
                db.execute("SELECT version FROM meterlib_schema").fetchone()
                if "meterlib_schema" in tables
                else None
            )
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        health.facts["integrity"] = f"unreadable: {error}"
        health.problem(f"SQLite cannot read the file: {error}")
        return False
    health.facts["integrity"] = "ok" if integrity == ["ok"] else "; ".join(integrity[:5])
    if integrity != ["ok"]:
        health.problem(f"PRAGMA integrity_check: {'; '.join(integrity[:5])}")
    if version is None:
        health.problem("not a meterlib store (no meterlib_schema table)")
        return False
    health.facts["schema_version"] = version[0]
    if version[0] != SCHEMA_VERSION:
        health.problem(
            f"schema version {version[0]}; this meterlib has {SCHEMA_VERSION} "
            "(opening the store with it would migrate it)"
            if version[0] < SCHEMA_VERSION
            else f"schema version {version[0]} is newer than this meterlib's {SCHEMA_VERSION}"
        )
        return False
    return integrity == ["ok"]


def _check_events(metering: Metering, health: Health) -> None:
    """Count the meters and events and check each event; then every stream's summary."""
    selection = Selection(metering.context, include_cancelled=True)
    meters = {meter.id: meter for meter in selection.meters()}
    health.facts["meters"] = len(meters)
    health.facts["active_meters"] = sum(meter.status == "active" for meter in meters.values())
    events = cancelled = 0
    previous = None
    spans: dict[tuple[str, str], list[int]] = {}
    for event in selection.events():
        events += 1
        cancelled += event.cancelled
        where = f"event {event.identifier!r} (seq {event.seq})"
        meter = meters.get(event.meter_id)
        if meter is None:
            health.problem(f"{where}: its meter {event.meter_id} does not exist")
        elif meter.event_name != event.event_name:
            health.problem(
                f"{where}: event name {event.event_name!r}, its meter's is {meter.event_name!r}"
            )
        if previous is not None and event.seq <= previous:
            health.problem(f"{where}: listed after seq {previous}")
        previous = event.seq
        if event.value is not None:
            try:
                rules.parse_value(event.value, "value")
            except InvalidRequestError as error:
                health.problem(f"{where}: {error.message}")
        if not event.cancelled and meter is not None:
            span = spans.setdefault((event.meter_id, event.customer), [event.timestamp] * 2)
            span[0], span[1] = min(span[0], event.timestamp), max(span[1], event.timestamp)
    health.facts["events"] = events
    health.facts["cancelled_events"] = cancelled
    health.facts["customers"] = len({customer for _, customer in spans})
    storage = metering.storage
    for (meter_id, customer), (low, high) in spans.items():
        meter = meters[meter_id]
        start = window_start(low, DAY)
        query = SummaryQuery(
            meter=meter,
            customer=customer,
            start=start,
            step=window_start(high, DAY) + DAY - start,
            count=1,
        )
        aggregation = rules.aggregation_for(meter)
        stored: list[Decimal] = storage.summarize(query, aggregation)
        folded = summarize_points(storage.scan_points, query, aggregation)
        if stored != folded:
            health.problem(
                f"meter {meter_id}, customer {customer!r}: the store's summary is {stored[0]}, "
                f"its events fold to {folded[0]}"
            )


def _print(health: Health) -> None:
    table = Table(title=f"meterlib check: {health.store}", show_header=False)
    table.add_column("what")
    table.add_column("found")
    for name, value in health.facts.items():
        table.add_row(
            name.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value)
        )
    table.add_row("healthy", "yes" if health.healthy else f"no: {health.problem_count:,} problems")
    out = console()
    out.print(table)
    for problem in health.problems:
        out.print(f"problem: {problem}", markup=False, highlight=False)


@click.command("check")
@store_option
@json_option
def check(store: str, as_json: bool) -> int:
    """Check a store: schema version, counts, SQLite integrity and meterlib's invariants.

    Exit status 0 only when the store is healthy, 1 when a problem was found.

    \b
    Example:
      meterlib check --store sqlite:///usage.db
    """
    health = Health(store)
    path = _sqlite_file(store)
    if path is None or _look_at_file(path, health):
        with open_store(store) as metering:
            _check_events(metering, health)
    if as_json:
        print_json(health.to_dict())
    else:
        _print(health)
    return OK if health.healthy else PROBLEMS
