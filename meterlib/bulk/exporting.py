"""Export: stored events out in the import formats, streamed a page at a time.

An export holds what summaries read: each event's identifier, timestamp, event name, and its
customer and value under its meter's own payload keys, in order of receipt. Importing it into
a fresh store (with a clock within 35 days of the events) reproduces every summary: the order
of receipt decides ``last`` and pre-aggregation, and it is kept.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from meterlib import validation as rules
from meterlib.bulk.formats import (
    CANCELLED,
    EVENT_NAME,
    IDENTIFIER,
    PAYLOAD_PREFIX,
    TIMESTAMP,
    Format,
    format_from_name,
    validate_format,
)
from meterlib.bulk.sources import open_output, unreadable
from meterlib.context import Context
from meterlib.errors import InvalidRequestError, describe
from meterlib.model import Meter
from meterlib.services.meters import retrieve_meter
from meterlib.storage.base import StoredEvent
from meterlib.timeutil import to_unix_seconds
from meterlib.validation import fail

PAGE = 1_000
"""Events per `Storage.list_events` call: each is one short read, under the lock."""
COMPRESSIONS = ("gzip",)


def _all_meters(context: Context) -> list[Meter]:
    """Every meter, oldest first (pages of 100 under the lock)."""
    meters: list[Meter] = []
    after: str | None = None
    while True:
        with context.lock:
            page = context.storage.list_meters(status=None, limit=100, starting_after=after)
        assert page is not None  # the cursor is a meter just listed; meters are never deleted
        found, more = page
        meters.extend(found)
        if not more or not found:
            return meters[::-1]
        after = found[-1].id


def _time(value: object, param: str) -> int | None:
    return None if value is None else to_unix_seconds(value, param)


class Selection:
    """Which stored events an export (or ``meterlib usage``) reads, its filters checked."""

    def __init__(
        self,
        context: Context,
        *,
        meter: object = None,
        customer: object = None,
        start: object = None,
        end: object = None,
        include_cancelled: object = False,
    ) -> None:
        self.context = context
        self.meter = None if meter is None else retrieve_meter(context, meter)
        self.customer = None if customer is None else rules.validate_customer(customer)
        self.start = _time(start, "start")
        self.end = _time(end, "end")
        if self.start is not None and self.end is not None and self.end <= self.start:
            fail("end must be after start", code="parameter_invalid_range", param="end")
        if type(include_cancelled) is not bool:
            fail(
                f"include_cancelled must be True or False; got {describe(include_cancelled)}",
                code="parameter_invalid_type",
                param="include_cancelled",
            )
        self.include_cancelled = include_cancelled

    def meters(self) -> list[Meter]:
        """The meters whose events it may hold, oldest first."""
        return [self.meter] if self.meter is not None else _all_meters(self.context)

    def events(self) -> Iterator[StoredEvent]:
        """The selected events in order of receipt, read a page at a time.

        Events received while it runs may or may not be among them.
        """
        after: int | None = None
        storage = self.context.storage
        while True:
            with self.context.lock:
                page = storage.list_events(
                    limit=PAGE,
                    after=after,
                    meter_id=None if self.meter is None else self.meter.id,
                    customer=self.customer,
                    start=self.start,
                    end=self.end,
                    include_cancelled=self.include_cancelled,
                )
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1].seq


def _payload_keys(meters: list[Meter]) -> list[str]:
    """The payload keys of these meters' customers and values, in order, each once."""
    keys: dict[str, None] = {}
    for meter in meters:
        keys[meter.customer_mapping.event_payload_key] = None
        keys[meter.value_settings.event_payload_key] = None
    return list(keys)


def _rows(selection: Selection) -> Iterator[dict[str, Any]]:
    """Each selected event as an export row: the import format's fields."""
    keys: dict[str, tuple[str, str]] = {}
    for event in selection.events():
        meter_keys = keys.get(event.meter_id)
        if meter_keys is None:
            meter = selection.context.storage.get_meter(event.meter_id)
            assert meter is not None  # meters are never deleted
            meter_keys = keys[event.meter_id] = (
                meter.customer_mapping.event_payload_key,
                meter.value_settings.event_payload_key,
            )
        customer_key, value_key = meter_keys
        row: dict[str, Any] = {
            IDENTIFIER: event.identifier,
            TIMESTAMP: event.timestamp,
            EVENT_NAME: event.event_name,
            PAYLOAD_PREFIX + customer_key: event.customer,
        }
        if event.value is not None:
            row[PAYLOAD_PREFIX + value_key] = str(event.value)
        if selection.include_cancelled:
            row[CANCELLED] = event.cancelled
        yield row


def _write(text: IO[str], kind: Format, selection: Selection) -> int:
    written = 0
    if kind == "csv":
        columns = [IDENTIFIER, TIMESTAMP, EVENT_NAME]
        columns += [PAYLOAD_PREFIX + key for key in _payload_keys(selection.meters())]
        if selection.include_cancelled:
            columns.append(CANCELLED)
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        for row in _rows(selection):
            if CANCELLED in row:
                row[CANCELLED] = "true" if row[CANCELLED] else "false"
            writer.writerow([row.get(column, "") for column in columns])
            written += 1
        return written
    separator = "[\n" if kind == "json" else ""
    for row in _rows(selection):
        text.write(separator + json.dumps(row, ensure_ascii=False))
        separator = ",\n" if kind == "json" else "\n"
        written += 1
    if kind == "json":
        text.write("[]\n" if not written else "\n]\n")
    elif written:
        text.write("\n")
    return written


def export_events(
    context: Context,
    target: object,
    *,
    format: object = None,
    compression: object = None,
    meter: object = None,
    customer: object = None,
    start: object = None,
    end: object = None,
    include_cancelled: object = False,
) -> int:
    """Write the selected events to `target`; how many. See `Metering.export_events`."""
    name = os.fspath(target) if isinstance(target, str | os.PathLike) else None
    if name is not None and not isinstance(name, str):
        fail("target paths must be text", code="parameter_invalid_type", param="target")
    named, gzipped = format_from_name(name or str(getattr(target, "name", "")))
    if format is None and named is None:
        fail(
            "format is required when the target's name does not say it (.csv, .json, .jsonl)",
            code="parameter_missing",
            param="format",
        )
    kind = validate_format(format) if format is not None else named
    assert kind is not None
    if compression is not None and compression not in COMPRESSIONS:
        fail(
            f"compression must be gzip or None; got {describe(compression)}",
            code="parameter_invalid_enum",
            param="compression",
        )
    compress = compression == "gzip" or (compression is None and gzipped and name is not None)
    selection = Selection(
        context,
        meter=meter,
        customer=customer,
        start=start,
        end=end,
        include_cancelled=include_cancelled,
    )
    if name is None:
        return _export_to_file(target, kind, selection, compress=compress)
    path = Path(name)
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 -- renamed into place below
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        )
    except OSError as error:
        raise unreadable(f"the file {describe(name)}", error, param="target") from error
    try:
        with handle:
            written = _export_to_file(handle, kind, selection, compress=compress)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return written


def _export_to_file(target: object, kind: Format, selection: Selection, *, compress: bool) -> int:
    text, compressor = open_output(target, compress=compress)
    try:
        written = _write(text, kind, selection)
        text.flush()
        if compressor is not None:
            compressor.close()  # writes the gzip trailer; the caller's file stays open
    except OSError as error:
        raise InvalidRequestError(
            f"the export could not be written: {error.strerror or error}",
            code="file_unwritable",
            param="target",
        ) from error
    finally:
        if isinstance(text, io.TextIOWrapper) and text is not target:
            with contextlib.suppress(ValueError):  # closed with the compressor above
                text.detach()  # leaves the caller's file open
    return written
