"""The `Metering` facade: one storage, clock and lock, with Stripe's resources mounted on it.

The services live in `meterlib.services` and the event pipeline in `meterlib.ingest`; this
module only wires them together.
"""

from __future__ import annotations

from decimal import Decimal
from types import TracebackType

from meterlib.context import Context
from meterlib.errors import ConfigurationError, describe
from meterlib.ingest import Ingest
from meterlib.model import MeterEvent, accepted_event
from meterlib.services import usage
from meterlib.services.event_log import EventLog
from meterlib.services.events import MeterEventAdjustments, MeterEvents
from meterlib.services.meters import Meters
from meterlib.services.v2 import V2
from meterlib.storage import Storage, storage_from_url
from meterlib.timeutil import Clock, SystemClock


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
    ) -> list[tuple[int, Decimal]]:
        """Every window's value in one call: ``(window_start, value)`` pairs for a chart.

        The same windows and values ``meters.list_event_summaries`` pages through, with the same
        rules and errors, without summary objects or pages: 720 hourly values cost about what a
        single page of summaries does.

        >>> from meterlib import ManualClock
        >>> m = Metering(clock=ManualClock("2026-03-10T12:30:00Z"))
        >>> meter = m.meters.create(display_name="API", event_name="api",
        ...                         default_aggregation={"formula": "sum"})
        >>> _ = m.record("api", customer="cus_1", value=25)
        >>> m.usage_series(meter.id, "cus_1", "2026-03-10T11:00:00Z", "2026-03-10T13:00:00Z",
        ...                value_grouping_window="hour")
        [(1773140400, Decimal('0')), (1773144000, Decimal('25'))]
        """
        return usage.usage_series(
            self.context,
            meter_id,
            customer,
            start_time,
            end_time,
            value_grouping_window=value_grouping_window,
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
