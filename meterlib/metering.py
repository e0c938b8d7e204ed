"""The `Metering` facade: one storage, clock and lock, with Stripe's resources mounted on it.

The services live in `meterlib.services` and the event pipeline in `meterlib.ingest`; this
module only wires them together.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from meterlib.bulk import exporting, importing
from meterlib.bulk.report import ImportReport
from meterlib.context import Context
from meterlib.errors import ConfigurationError, describe
from meterlib.ingest import Ingest
from meterlib.model import MeterEvent, UsageSeries, accepted_event
from meterlib.services import usage
from meterlib.services.event_log import EventLog
from meterlib.services.events import MeterEventAdjustments, MeterEvents
from meterlib.services.idempotency import IdempotencyKeys
from meterlib.services.meters import Meters
from meterlib.services.v2 import V2
from meterlib.storage import Storage, storage_from_url
from meterlib.timeutil import Clock, SystemClock

if TYPE_CHECKING:
    import pandas as pd


class Metering:
    """Usage metering with Stripe Billing Meter semantics, in your process.

    >>> from datetime import datetime, timezone
    >>> from meterlib import ManualClock
    >>> m = Metering(clock=ManualClock(datetime(2026, 3, 10, tzinfo=timezone.utc)))
    >>> meter = m.meters.create(display_name="Search API Calls", event_name="ai_search_api",
    ...                         default_aggregation={"formula": "sum"})
    >>> _ = m.record("ai_search_api", customer="cus_1", value="25")
    >>> m.usage(meter.id, "cus_1", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")
    Decimal('25')

    A `Metering` is safe to share between threads; use it as a context manager to close it.

    Args:
        storage: a storage URL (``"memory://"``, ``"sqlite:///usage.db"``) or a `Storage`.
        clock: anything with ``now()``; every time rule reads it. Defaults to the system clock.
        livemode: the ``livemode`` flag every object carries.

    """

    def __init__(
        self,
        storage: str | Storage = "memory://",
        *,
        clock: Clock | None = None,
        livemode: bool = False,
    ) -> None:
        if clock is not None and not isinstance(clock, Clock):
            raise ConfigurationError(
                "clock must have a now() method returning an aware datetime; "
                f"got {describe(clock)}",
                code="clock_invalid",
                param="clock",
            )
        if not isinstance(livemode, bool):
            raise ConfigurationError(
                f"livemode must be True or False; got {describe(livemode)}",
                code="parameter_invalid_type",
                param="livemode",
            )
        self.context = Context(
            storage=storage if isinstance(storage, Storage) else storage_from_url(storage),
            clock=clock if clock is not None else SystemClock(),
            livemode=livemode,
        )
        """What every service shares: storage, clock, livemode and the lock of this instance."""
        self._ingest = Ingest(self.context)
        events = EventLog(self.context)
        self.meters = Meters(self.context, events)
        self.meter_events = MeterEvents(self.context, self._ingest)
        self.meter_event_adjustments = MeterEventAdjustments(self.context, self._ingest)
        self.v2 = V2(self.context, self._ingest, events)
        """Stripe's v2 API: ``v2.billing.meter_events``, ``.meter_event_adjustments``,
        ``.meter_event_session``, ``.meter_event_stream``, and ``v2.core.events``."""
        self.idempotency_keys = IdempotencyKeys(self.context)
        """Stripe's ``Idempotency-Key``: one answer per key for 24 hours (``meterlib.server``)."""

    @property
    def storage(self) -> Storage:
        """The storage every call reads and writes."""
        return self.context.storage

    @property
    def clock(self) -> Clock:
        """The clock every time rule reads."""
        return self.context.clock

    @property
    def livemode(self) -> bool:
        """The ``livemode`` flag every object carries."""
        return self.context.livemode

    def record(
        self,
        event_name: str,
        *,
        customer: str,
        value: object = None,
        timestamp: object = None,
        identifier: str | None = None,
    ) -> MeterEvent:
        """Record usage without knowing the meter's payload keys.

        The meter's own customer and value keys make the payload; the errors name them.

        >>> m = Metering()
        >>> _ = m.meters.create(display_name="Search", event_name="ai_search_api",
        ...                     default_aggregation={"formula": "sum"},
        ...                     customer_mapping={"type": "by_id", "event_payload_key": "user"})
        >>> dict(m.record("ai_search_api", customer="cus_1", value=3).payload)
        {'user': 'cus_1', 'value': '3'}
        """
        event = self._ingest.record(
            event_name, customer=customer, value=value, timestamp=timestamp, identifier=identifier
        )
        return accepted_event(event, self.livemode)

    def usage(self, meter_id: str, customer: str, start: object, end: object) -> Decimal:
        """The aggregated value of one customer's usage in ``[start, end)``, to the second."""
        return usage.usage(self.context, meter_id, customer, start, end)

    def usage_series(
        self,
        meter_id: str,
        customer: str,
        start_time: object,
        end_time: object,
        *,
        value_grouping_window: str | None = None,
        timezone: str | ZoneInfo | None = None,
    ) -> UsageSeries:
        """Every window's value in one call: a `UsageSeries` of ``(window_start, value)`` pairs.

        The same windows and values ``meters.list_event_summaries`` pages through, with the same
        rules and errors, without summary objects or pages: 720 hourly values cost about what a
        single page of summaries does. The series reads as a list of pairs (and equals one);
        its ``starts`` and ``values`` are the two columns, for a chart.

        Beyond Stripe's summaries, as its meter usage analytics groups: `value_grouping_window`
        may also be ``"week"`` (ISO weeks, from Monday) or ``"month"``, and `timezone` (an IANA
        name such as ``"Europe/Paris"``) puts hours, days, weeks and months on that zone's wall
        clock, daylight-saving changes included: each window starts at the first instant the
        zone's clock reads its start (``docs/notebooks.md``). Both ends of the range must then
        start a window in that zone; without a zone, week and month windows are UTC ones.

        >>> from meterlib import ManualClock
        >>> m = Metering(clock=ManualClock("2026-03-10T12:30:00Z"))
        >>> meter = m.meters.create(display_name="API", event_name="api",
        ...                         default_aggregation={"formula": "sum"})
        >>> _ = m.record("api", customer="cus_1", value=25)
        >>> m.usage_series(meter.id, "cus_1", "2026-03-10T11:00:00Z", "2026-03-10T13:00:00Z",
        ...                value_grouping_window="hour")
        [(1773140400, Decimal('0')), (1773144000, Decimal('25'))]
        >>> days = m.usage_series(meter.id, "cus_1", "2026-03-08T00:00:00-05:00",
        ...     "2026-03-10T00:00:00-04:00", value_grouping_window="day",
        ...     timezone="America/New_York")
        >>> [(end - start) // 3600 for (start, _), (end, _) in zip(days, days[1:])]  # DST: 23 hours
        [23]
        """
        return usage.usage_series(
            self.context,
            meter_id,
            customer,
            start_time,
            end_time,
            value_grouping_window=value_grouping_window,
            timezone=timezone,
        )

    def usage_frame(
        self,
        meter_id: str,
        start: object,
        end: object,
        window: str | None = "day",
        customers: Iterable[str] | None = None,
        *,
        timezone: str | ZoneInfo | None = None,
        as_float: bool = False,
    ) -> pd.DataFrame:
        """A pandas frame of usage: one row per window, one column per customer.

        Built from the store's own summaries (``usage_series`` per customer), never from
        events loaded into pandas; `window` and `timezone` as ``usage_series`` takes them
        (``"hour"``, ``"day"``, ``"week"``, ``"month"``, or None for the whole range).
        `customers` defaults to every customer with an event in the range. Values are
        `Decimal` unless `as_float`. Needs ``meterlib[notebook]`` (`meterlib.notebook`).

        Raises:
            NotebookExtraMissing: pandas is not installed.
            InvalidRequestError: as ``usage_series`` does.

        """
        from meterlib import notebook  # noqa: PLC0415 -- the optional extra, only when asked

        return notebook.usage_frame(
            self,
            meter_id,
            start,
            end,
            window,
            customers=customers,
            timezone=timezone,
            as_float=as_float,
        )

    def events_frame(
        self,
        meter_id: str,
        customer: str | None = None,
        start: object = None,
        end: object = None,
        include_cancelled: bool = False,
        *,
        as_float: bool = False,
    ) -> pd.DataFrame:
        """A pandas frame of the meter's stored events, one row each, in order of receipt.

        Columns ``timestamp``, ``received`` (tz-aware UTC), ``identifier``, ``customer``,
        ``value`` and ``cancelled``; filters as ``export_events`` takes them. Needs
        ``meterlib[notebook]`` (`meterlib.notebook.events_frame`).
        """
        from meterlib import notebook  # noqa: PLC0415 -- the optional extra, only when asked

        return notebook.events_frame(
            self,
            meter_id,
            customer,
            start,
            end,
            include_cancelled=include_cancelled,
            as_float=as_float,
        )

    def import_events(
        self,
        source: object,
        *,
        format: str | None = None,
        on_error: str = "report",
        batch_size: int | None = None,
        max_rejections: int = importing.DEFAULT_MAX_REJECTIONS,
        progress: importing.Progress | None = None,
    ) -> ImportReport:
        r"""Record the meter events of a file in Stripe's bulk formats; what became of each row.

        `source` is a path or an open file (binary or text): CSV with a header, a JSON array
        of objects, or JSON Lines, gzip-compressed or not, with the fields ``identifier``
        (optional), ``timestamp`` (Unix seconds, a date such as ``2024-09-25`` for its UTC
        midnight, or ISO-8601 with an offset), ``event_name`` and ``payload_<key>``. The format
        comes from `format`, else the file's name, else its first bytes. The file is streamed:
        memory stays flat whatever its size. Every row goes through the same pipeline as
        ``meter_events.create_many``, `batch_size` rows a call (one transaction each on a
        durable store; by default the store's `Storage.preferred_batch`: 2,000 in memory,
        10,000 on SQL stores). A row without an identifier gets one derived from the row and its
        place in the file, so re-running an interrupted import within 24 hours records every
        row exactly once (``docs/files.md``).

        With ``on_error="report"`` bad rows are counted in the report (the first
        `max_rejections` kept, with their lines) and the good ones recorded; with ``"raise"``
        the first bad row raises its `InvalidRequestError`. `progress` is called after each
        batch with the report so far and the bytes read.

        >>> import io
        >>> from meterlib import ManualClock
        >>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
        >>> _ = m.meters.create(display_name="API", event_name="api",
        ...                     default_aggregation={"formula": "sum"})
        >>> report = m.import_events(io.StringIO(
        ...     "timestamp,event_name,payload_stripe_customer_id,payload_value\n"
        ...     "2026-03-10,api,cus_1,5\n"
        ...     "2026-03-10,api,cus_1,five\n"))
        >>> report.recorded, report.rejected
        (1, 1)
        >>> print(report.rejections[0])
        line 3, column 4 (payload_value): payload[value] must be a finite decimal number; got 'five'

        Raises:
            InvalidRequestError: a bad parameter; a file that cannot be read on (its message
                names the line and column); with ``on_error="raise"``, the first bad row.

        """
        return importing.import_events(
            self._ingest,
            source,
            format=format,
            on_error=on_error,
            batch_size=batch_size,
            max_rejections=max_rejections,
            progress=progress,
        )

    def export_events(
        self,
        target: object,
        *,
        format: str | None = None,
        compression: str | None = None,
        meter: str | None = None,
        customer: str | None = None,
        start: object = None,
        end: object = None,
        include_cancelled: bool = False,
    ) -> int:
        """Write stored events to a file in the import formats; how many were written.

        `target` is a path (written to a temporary file renamed into place, gzip-compressed
        if it ends in ``.gz``) or an open file. `format` is ``csv``, ``json`` or ``jsonl``
        (from the path's name when not given). Only events of `meter`, of `customer` and with
        ``start <= timestamp < end``, as far as given; cancelled ones only with
        `include_cancelled`, marked in a ``cancelled`` column that import skips. Events are in
        order of receipt, so importing the file into a fresh store reproduces every summary.

        >>> import io
        >>> from meterlib import ManualClock
        >>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
        >>> _ = m.meters.create(display_name="API", event_name="api",
        ...                     default_aggregation={"formula": "sum"})
        >>> _ = m.record("api", customer="cus_1", value=5, identifier="req_1")
        >>> out = io.StringIO()
        >>> m.export_events(out, format="csv")
        1
        >>> print(out.getvalue(), end="")
        identifier,timestamp,event_name,payload_stripe_customer_id,payload_value
        req_1,1773144000,api,cus_1,5
        """
        return exporting.export_events(
            self.context,
            target,
            format=format,
            compression=compression,
            meter=meter,
            customer=customer,
            start=start,
            end=end,
            include_cancelled=include_cancelled,
        )

    def close(self) -> None:
        """Close the storage; the instance is unusable afterwards."""
        with self.context.lock:
            self.storage.close()

    def __enter__(self) -> Metering:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
