"""``m.meter_events`` and ``m.meter_event_adjustments``: v1 adapters over the ingest pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from meterlib.context import Context
from meterlib.ingest import Ingest
from meterlib.model import (
    CancelSettings,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventResults,
    accepted_event,
)


class MeterEvents:
    """``m.meter_events``: record usage events."""

    def __init__(self, context: Context, ingest: Ingest) -> None:
        self._context = context
        self._ingest = ingest

    def create(
        self,
        *,
        event_name: str,
        payload: Mapping[str, object],
        identifier: str | None = None,
        timestamp: object = None,
    ) -> MeterEvent:
        """Record one event; every rule is checked before anything is stored.

        >>> from meterlib import Metering
        >>> m = Metering()
        >>> _ = m.meters.create(display_name="Search", event_name="ai_search_api",
        ...                     default_aggregation={"formula": "sum"})
        >>> event = m.meter_events.create(event_name="ai_search_api",
        ...     payload={"stripe_customer_id": "cus_1", "value": "25"}, identifier="req_1")
        >>> event.identifier, dict(event.payload)
        ('req_1', {'stripe_customer_id': 'cus_1', 'value': '25'})
        """
        event = self._ingest.create(event_name, payload, identifier, timestamp)
        return accepted_event(event, self._context.livemode)

    def create_many(self, events: Iterable[Mapping[str, Any]]) -> MeterEventResults:
        """Record a batch: each event is accepted or rejected on its own, never half-stored.

        Each item holds ``create``'s keyword arguments. The accepted events are stored in one
        storage call (one transaction on SQL backends). Returns one result per item, in order.

        >>> from meterlib import Metering
        >>> m = Metering()
        >>> _ = m.meters.create(display_name="API", event_name="api",
        ...                     default_aggregation={"formula": "sum"})
        >>> results = m.meter_events.create_many([
        ...     {"event_name": "api", "payload": {"stripe_customer_id": "c", "value": "1"}},
        ...     {"event_name": "api", "payload": {"stripe_customer_id": "c"}},
        ... ])
        >>> [(result.index, result.error.code) for result in results.errors if result.error]
        [(1, 'payload_no_value_defined')]
        """
        return MeterEventResults(self._ingest.create_many(events), livemode=self._context.livemode)


class MeterEventAdjustments:
    """``m.meter_event_adjustments``: cancel events received in the last 24 hours."""

    def __init__(self, context: Context, ingest: Ingest) -> None:
        self._context = context
        self._ingest = ingest

    def create(
        self,
        *,
        event_name: str,
        type: str,
        cancel: Mapping[str, str] | CancelSettings | None = None,
    ) -> MeterEventAdjustment:
        """Cancel one event by identifier; it leaves every summary at once.

        >>> from meterlib import Metering
        >>> m = Metering()
        >>> _ = m.meters.create(display_name="API", event_name="api",
        ...                     default_aggregation={"formula": "count"})
        >>> _ = m.record("api", customer="cus_1", identifier="req_123")
        >>> m.meter_event_adjustments.create(
        ...     event_name="api", type="cancel", cancel={"identifier": "req_123"}).status
        'complete'
        """
        name, identifier = self._ingest.cancel(event_name, type, cancel)
        return MeterEventAdjustment(
            event_name=name,
            type="cancel",
            cancel=CancelSettings(identifier=identifier),
            status="complete",
            livemode=self._context.livemode,
        )
