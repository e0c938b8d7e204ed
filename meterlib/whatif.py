"""What-if replay: the same recorded usage under other meter configurations, side by side.

`replay` loads recorded events (from a `Metering`, an export file or a frame of
``events_frame``) into fresh in-memory stores, one per meter configuration, in their order of
receipt, so ``sum`` against ``last``, or raw against hourly pre-aggregation, can be compared on
real usage. Each store gets every event through the ordinary pipeline (every rule applies), on
a `ManualClock` that follows the events: set to each event's original receipt time when the
source knows it (a store, or a frame with a ``received`` column), else to the latest timestamp
so far. Cancelled events are left out: they count in no summary.

This module never imports pandas; only `Replay.totals` and `Replay.series` need it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from meterlib.bulk.exporting import Selection
from meterlib.errors import InvalidRequestError, describe
from meterlib.metering import Metering
from meterlib.model import Meter
from meterlib.model.display import window_text
from meterlib.timeutil import ManualClock, to_unix_seconds
from meterlib.validation import fail
from meterlib.validation.series import day_start

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Recorded", "Replay", "ReplayRun", "replay"]

BATCH = 1_000
"""Events per ``create_many`` call while replaying."""
_CONFIG_KEYS = frozenset(
    {
        "display_name",
        "event_name",
        "default_aggregation",
        "customer_mapping",
        "value_settings",
        "event_time_window",
    }
)


class Recorded(NamedTuple):
    """One recorded event as a replay reads it.

    A store or a frame gives `customer` and `value`, which each configuration's meter puts
    under its own payload keys; a file gives the row's `payload`, which each meter reads with
    its own keys, as an import would.
    """

    identifier: str | None
    timestamp: int
    received: int | None
    customer: str | None = None
    value: Decimal | None = None
    payload: Mapping[str, str] | None = None

    def item(self, meter: Meter) -> dict[str, object]:
        """The ``create_many`` item recording this event for `meter`."""
        if self.payload is not None:
            payload: dict[str, object] = dict(self.payload)
        else:
            payload = {meter.customer_mapping.event_payload_key: self.customer}
            if self.value is not None:
                payload[meter.value_settings.event_payload_key] = self.value
        item: dict[str, object] = {
            "event_name": meter.event_name,
            "payload": payload,
            "timestamp": self.timestamp,
        }
        if self.identifier is not None:
            item["identifier"] = self.identifier
        return item


@attrs.frozen(kw_only=True)
class ReplayRun:
    """One configuration's fresh store: its `label`, its `Metering` and the `meter` in it."""

    label: str
    metering: Metering = attrs.field(repr=False)
    meter: Meter

    def usage(self, customer: str, start: object, end: object) -> Decimal:
        """The customer's usage in ``[start, end)`` under this configuration (``m.usage``).

        `start` and `end` take what ``m.usage`` takes, and dates (their UTC midnight).
        """
        return self.metering.usage(
            self.meter.id, customer, day_start(start, None), day_start(end, None)
        )


class Replay:
    """The runs of a `replay`, in the order of their configurations; index by position or label.

    >>> from meterlib import ManualClock, Metering
    >>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
    >>> meter = m.meters.create(display_name="GPU", event_name="gpu",
    ...                         default_aggregation={"formula": "sum"})
    >>> for value in (3, 5):
    ...     _ = m.record("gpu", customer="cus_1", value=value)
    >>> runs = replay(m, meters=[{"default_aggregation": {"formula": "sum"}},
    ...                          {"default_aggregation": {"formula": "last"}}])
    >>> runs.usage("cus_1", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")
    {'sum, raw': Decimal('8'), 'last, raw': Decimal('5')}
    """

    def __init__(self, runs: Sequence[ReplayRun], customers: Iterable[str]) -> None:
        self.runs = tuple(runs)
        self.customers = tuple(sorted(set(customers)))
        """Every customer replayed, sorted."""

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[ReplayRun]:
        return iter(self.runs)

    def __getitem__(self, key: int | str) -> ReplayRun:
        if isinstance(key, str):
            for run in self.runs:
                if run.label == key:
                    return run
            raise KeyError(key)
        return self.runs[key]

    def __repr__(self) -> str:
        labels = ", ".join(repr(run.label) for run in self.runs)
        return f"Replay({labels}; {len(self.customers)} customers)"

    @property
    def labels(self) -> list[str]:
        """The runs' labels, in order."""
        return [run.label for run in self.runs]

    def usage(self, customer: str, start: object, end: object) -> dict[str, Decimal]:
        """The customer's usage in ``[start, end)`` under each configuration, by label."""
        return {run.label: run.usage(customer, start, end) for run in self.runs}

    def totals(
        self,
        start: object,
        end: object,
        *,
        customers: Iterable[str] | None = None,
        as_float: bool = False,
    ) -> pd.DataFrame:
        """A frame of usage in ``[start, end)``: one row per customer, one column per run.

        Multiply it by a unit price to price each configuration. Needs ``meterlib[notebook]``.
        """
        from meterlib import notebook  # noqa: PLC0415 -- the optional extra, only when asked

        pd = notebook.pandas
        who = list(self.customers if customers is None else customers)
        columns = {
            run.label: [run.usage(customer, start, end) for customer in who] for run in self.runs
        }
        frame = pd.DataFrame(
            {
                label: pd.Series(
                    [float(value) for value in values] if as_float else values,
                    dtype="float64" if as_float else "object",
                ).to_numpy()
                for label, values in columns.items()
            },
            index=pd.Index(who, name="customer", dtype="object"),
        )
        frame.columns = pd.Index(list(columns), name="configuration", dtype="object")
        return frame

    def series(
        self,
        customer: str,
        start: object,
        end: object,
        window: str | None = "day",
        *,
        timezone: str | None = None,
        as_float: bool = False,
    ) -> pd.DataFrame:
        """One customer's usage per window (rows) under each configuration (columns).

        Windows as ``Metering.usage_series`` takes them. Needs ``meterlib[notebook]``.
        """
        from meterlib import notebook  # noqa: PLC0415 -- the optional extra, only when asked

        pd = notebook.pandas
        frames = [
            run.metering.usage_frame(
                run.meter.id,
                start,
                end,
                window,
                [customer],
                timezone=timezone,
                as_float=as_float,
            )[customer].rename(run.label)
            for run in self.runs
        ]
        frame = pd.concat(frames, axis=1)
        frame.columns = pd.Index(self.labels, name="configuration", dtype="object")
        return frame


def replay(
    events: object,
    *,
    meters: Sequence[Mapping[str, Any]],
    meter_id: str | None = None,
) -> Replay:
    """Replay recorded events into one fresh in-memory store per meter configuration.

    Args:
        events: a `Metering` (the live events of `meter_id`, or of its only meter), a frame
            from ``events_frame`` (columns ``timestamp`` and ``customer``; ``value``,
            ``identifier``, ``received`` and ``cancelled`` if present; rows in order of
            receipt), or an export file (a path or an open file in the import formats, as
            ``export_events`` writes them).
        meters: the configurations, each what ``meters.create`` takes; ``display_name``
            (the run's label) and ``event_name`` may be left out. A file's rows are read
            with each meter's own payload keys (Stripe's defaults unless given).
        meter_id: which meter's events a `Metering` gives.

    Returns:
        A `Replay`: its runs by position or label, their usage side by side.

    Raises:
        InvalidRequestError: a bad configuration; an event a configuration's rules refuse
            (a ``sum`` meter given events without values), naming the run and the event.

    """
    if isinstance(meters, Mapping) or not isinstance(meters, Sequence) or not meters:
        fail(
            f"meters must be a non-empty list of meter configurations; got {describe(meters)}",
            code="parameter_invalid_type",
            param="meters",
        )
    recorded, event_name = _read(events, meter_id)
    configs = [_config(config, index, event_name) for index, config in enumerate(meters)]
    labels = [config["display_name"] for config in configs]
    for index, label in enumerate(labels):
        if label in labels[:index]:
            fail(
                f"two configurations are labelled {label!r}; give each its own display_name",
                code="resource_already_exists",
                param=f"meters[{index}][display_name]",
            )
    runs = [_run(config, recorded) for config in configs]
    customers = {event.customer for event in recorded if event.customer is not None}
    if any(event.customer is None for event in recorded):  # a file's: each meter reads its own
        for run in runs:
            customers.update(_customers(run))
    return Replay(runs, customers)


def _config(config: object, index: int, event_name: str) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        fail(
            f"meters[{index}] must be a mapping of meters.create's params; got {describe(config)}",
            code="parameter_invalid_type",
            param=f"meters[{index}]",
        )
    unknown = sorted(str(key) for key in config if key not in _CONFIG_KEYS)
    if unknown:
        fail(
            f"unknown param: meters[{index}][{unknown[0]}]",
            code="parameter_unknown",
            param=f"meters[{index}][{unknown[0]}]",
        )
    settings = dict(config)
    settings.setdefault("event_name", event_name)
    if "display_name" not in settings:
        formula = settings.get("default_aggregation", {})
        name = formula.get("formula") if isinstance(formula, Mapping) else None
        settings["display_name"] = f"{name}, {window_text(settings.get('event_time_window'))}"
    return settings


def _run(config: dict[str, Any], recorded: Sequence[Recorded]) -> ReplayRun:
    first = recorded[0] if recorded else None
    clock = ManualClock(
        0 if first is None else first.timestamp if first.received is None else first.received
    )
    m = Metering(clock=clock)
    try:
        meter = m.meters.create(**config)
    except InvalidRequestError as error:
        raise InvalidRequestError(
            f"configuration {config['display_name']!r}: {error.message}",
            code=error.code,
            param=error.param,
        ) from error
    now = None
    batch: list[Recorded] = []
    for event in recorded:
        moment = event.received if event.received is not None else event.timestamp
        moment = moment if now is None else max(now, moment)
        if batch and (moment != now or len(batch) == BATCH):
            _record(m, meter, batch, clock=clock, now=now, label=config["display_name"])
            batch = []
        batch.append(event)
        now = moment
    if batch:
        _record(m, meter, batch, clock=clock, now=now, label=config["display_name"])
    return ReplayRun(label=config["display_name"], metering=m, meter=meter)


def _record(
    m: Metering,
    meter: Meter,
    batch: Sequence[Recorded],
    *,
    clock: ManualClock,
    now: int | None,
    label: str,
) -> None:
    """Record a batch at `now`; the first event refused raises, naming the run and the event."""
    assert now is not None  # a batch is never empty
    clock.set(now)
    results = m.meter_events.create_many([event.item(meter) for event in batch])
    for result in results.errors:
        error = result.error
        assert error is not None
        event = batch[result.index]
        raise InvalidRequestError(
            f"configuration {label!r} refused the event "
            f"{event.identifier or ''!r} at {event.timestamp}: {error.message}",
            code=error.code,
            param=error.param,
        )


def _customers(run: ReplayRun) -> set[str]:
    """The customers a run's store holds (a file's are known only once read by a meter)."""
    return {row.customer for row in Selection(run.metering.context, meter=run.meter.id).events()}


def _read(events: object, meter_id: str | None) -> tuple[list[Recorded], str]:
    """The source's live events in order of receipt, and the event name a run's meter takes."""
    if isinstance(events, Metering):
        return _from_store(events, meter_id)
    if meter_id is not None:
        fail(
            "meter_id picks a meter of a Metering; a frame or a file has no meters",
            code="parameter_unknown",
            param="meter_id",
        )
    if hasattr(events, "columns") and callable(getattr(events, "to_dict", None)):
        return _from_frame(events), "replay"
    if isinstance(events, str | os.PathLike) or callable(getattr(events, "read", None)):
        return _from_file(events)
    fail(
        "events must be a Metering, a frame of events_frame or an export file; "
        f"got {describe(events)}",
        code="parameter_invalid_type",
        param="events",
    )


def _from_store(m: Metering, meter_id: str | None) -> tuple[list[Recorded], str]:
    if meter_id is None:
        listed = m.meters.list(limit=2)
        if len(listed) != 1:
            fail(
                f"this Metering has {'no meters' if not listed else 'several meters'}: "
                "name the one to replay with meter_id",
                code="parameter_missing",
                param="meter_id",
            )
        meter_id = listed.data[0].id
    selection = Selection(m.context, meter=meter_id)
    assert selection.meter is not None  # just retrieved
    recorded = [
        Recorded(
            identifier=row.identifier,
            timestamp=row.timestamp,
            received=row.created,
            customer=row.customer,
            value=row.value,
        )
        for row in selection.events()
    ]
    return recorded, selection.meter.event_name


def _missing_value(value: object) -> bool:
    """None, NaN (a float frame's missing value) or NaT (a time column's)."""
    return (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or type(value).__name__ == "NaTType"
    )


def _from_frame(frame: Any) -> list[Recorded]:
    columns = {str(column) for column in frame.columns}
    for required in ("timestamp", "customer"):
        if required not in columns:
            fail(
                f"a frame of events needs a {required!r} column (as events_frame gives)",
                code="parameter_missing",
                param=f"events[{required}]",
            )
    recorded = []
    for row in frame.to_dict("records"):
        if row.get("cancelled") is True or row.get("cancelled") == 1:
            continue
        value = row.get("value")
        received = row.get("received")
        identifier = row.get("identifier")
        recorded.append(
            Recorded(
                identifier=None if _missing_value(identifier) else str(identifier),
                timestamp=_seconds(row["timestamp"], "timestamp"),
                received=None if _missing_value(received) else _seconds(received, "received"),
                customer=str(row["customer"]),
                value=None if _missing_value(value) else _decimal(value),
            )
        )
    return recorded


def _seconds(value: object, param: str) -> int:
    if _missing_value(value):
        fail(f"events[{param}] must not be missing", code="parameter_missing", param=param)
    return to_unix_seconds(value, param)  # a pandas Timestamp is an aware datetime


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def _file_text(source: object) -> str:
    """A path's or an open file's text, gunzipped if it is gzip-compressed."""
    raw: object
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as file:
                raw = file.read()
        except OSError as error:
            fail(
                f"cannot read {os.fspath(source)!r}: {error.strerror or error}",
                code="file_unreadable",
                param="events",
            )
    else:
        raw = source.read()  # type: ignore[attr-defined]  # _read checked it is callable
    if isinstance(raw, bytes):
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        raw = raw.decode("utf-8-sig")
    return str(raw)


def _file_rows(text: str) -> Iterable[Mapping[str, Any]]:
    """The rows of a CSV file with a header, a JSON array or JSON Lines (sniffed)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        rows: list[Mapping[str, Any]] = json.loads(text, parse_float=Decimal)
        return rows
    if stripped.startswith("{"):
        return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]
    return csv.DictReader(io.StringIO(text))


def _from_file(source: object) -> tuple[list[Recorded], str]:
    """The live rows of an export file, and their event name (a file must hold one)."""
    recorded = []
    names: dict[str, None] = {}
    for row in _file_rows(_file_text(source)):
        if str(row.get("cancelled", "")).lower() in ("true", "1"):
            continue
        name = row.get("event_name")
        if isinstance(name, str):
            names[name] = None
        timestamp = row.get("timestamp")
        if isinstance(timestamp, str) and timestamp.strip().lstrip("-").isdigit():
            timestamp = int(timestamp)
        payload = {
            str(key).removeprefix("payload_"): str(value)
            for key, value in row.items()
            if str(key).startswith("payload_") and value not in (None, "")
        }
        recorded.append(
            Recorded(
                identifier=row.get("identifier") or None,
                timestamp=to_unix_seconds(timestamp, "timestamp"),
                received=None,
                payload=payload,
            )
        )
    if len(names) > 1:
        fail(
            f"the file holds events of {len(names)} names ({', '.join(names)}); "
            "export one meter's events to replay them",
            code="parameter_invalid_type",
            param="events",
        )
    return recorded, next(iter(names), "replay")
