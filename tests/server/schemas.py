"""JSON Schemas of Stripe's v1 Billing Meters objects and lists (``stripe-meters.md`` section 2).

Written by hand from the published OpenAPI spec as that section restates it: every property
listed, the required ones required, no others allowed. The v2 objects, the event log and the
error envelopes are `tests.v2.schemas`' (re-exported here).
"""

from __future__ import annotations

from tests.v2.schemas import (
    BILLING_METER,
    BOOLEAN,
    ERROR_REPORT_TRIGGERED_EVENT,
    NO_METER_FOUND_EVENT,
    STRING,
    V1_ERROR,
    V2_ERROR,
    V2_METER_EVENT,
    V2_METER_EVENT_ADJUSTMENT,
    V2_METER_EVENT_SESSION,
    V2_SESSION_EXPIRED_ERROR,
    Schema,
    check,
    closed,
    const,
    snapshot_event,
    v2_list,
)

__all__ = [
    "BILLING_METER",
    "ERROR_REPORT_TRIGGERED_EVENT",
    "METER_EVENT",
    "METER_EVENT_ADJUSTMENT",
    "METER_EVENT_SUMMARY",
    "NO_METER_FOUND_EVENT",
    "V1_ERROR",
    "V2_ERROR",
    "V2_METER_EVENT",
    "V2_METER_EVENT_ADJUSTMENT",
    "V2_METER_EVENT_SESSION",
    "V2_SESSION_EXPIRED_ERROR",
    "check",
    "snapshot_event",
    "v1_list",
    "v2_list",
]

INTEGER: Schema = {"type": "integer"}
SHORT_STRING: Schema = {"type": "string", "maxLength": 100}

METER_EVENT = closed(
    {
        "object": const("billing.meter_event"),
        "created": INTEGER,
        "event_name": SHORT_STRING,
        "identifier": STRING,
        "livemode": BOOLEAN,
        "payload": {"type": "object", "additionalProperties": SHORT_STRING},
        "timestamp": INTEGER,
    }
)
"""``billing.meter_event`` (2.2): no ``id``; payload values at most 100 characters."""
METER_EVENT_ADJUSTMENT = closed(
    {
        "object": const("billing.meter_event_adjustment"),
        "cancel": {
            "oneOf": [
                {"type": "null"},
                closed({"identifier": {"type": ["string", "null"]}}),
            ]
        },
        "event_name": SHORT_STRING,
        "livemode": BOOLEAN,
        "status": {"enum": ["complete", "pending"]},
        "type": {"enum": ["cancel"]},
    },
    optional=("cancel",),
)
"""``billing.meter_event_adjustment`` (2.3): no ``id``, no ``created``."""
METER_EVENT_SUMMARY = closed(
    {
        "id": {"type": "string", "pattern": "^mtrusg_"},
        "object": const("billing.meter_event_summary"),
        "aggregated_value": {"type": "number"},
        "end_time": INTEGER,
        "livemode": BOOLEAN,
        "meter": STRING,
        "start_time": INTEGER,
    }
)
"""``billing.meter_event_summary`` (2.4): ``mtrusg_`` ids, a JSON number value."""


def v1_list(item: Schema, path: str) -> Schema:
    """A v1 list envelope of `item`s whose ``url`` is the path `path` (never an absolute URL)."""
    return closed(
        {
            "object": const("list"),
            "data": {"type": "array", "items": item},
            "has_more": BOOLEAN,
            "url": {"type": "string", "pattern": f"^{path}$"},
        }
    )
