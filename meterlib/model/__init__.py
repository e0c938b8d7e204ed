"""Stripe-shaped value objects: frozen, no I/O; `v1` holds the v1 API's objects.

Every name is re-exported here, so ``from meterlib.model import Meter`` reads the same whatever
module defines it.
"""

from meterlib.model.v1 import (
    AggregationSettings,
    CancelSettings,
    CustomerMapping,
    EventTimeWindow,
    Formula,
    ListObject,
    Meter,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventResult,
    MeterEventResults,
    MeterEventSummary,
    MeterStatus,
    NewEvent,
    StatusTransitions,
    ValueSettings,
    accepted_event,
    json_number,
    window_summaries,
)

__all__ = [
    "AggregationSettings",
    "CancelSettings",
    "CustomerMapping",
    "EventTimeWindow",
    "Formula",
    "ListObject",
    "Meter",
    "MeterEvent",
    "MeterEventAdjustment",
    "MeterEventResult",
    "MeterEventResults",
    "MeterEventSummary",
    "MeterStatus",
    "NewEvent",
    "StatusTransitions",
    "ValueSettings",
    "accepted_event",
    "json_number",
    "window_summaries",
]
