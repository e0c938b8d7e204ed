"""JSON Schemas of Stripe's v2 objects, event log objects and error envelopes, written by hand.

Sources: ``shared/reference/stripe-v2-shapes.md`` (Stripe's OpenAPI spec), the SDK's classes
(``stripe/v2/billing/*``, ``stripe/v2/core/_event.py``, ``stripe/events/_v1_billing_meter_*``,
``stripe/_event.py``) and ``stripe-sdk.md`` section 7 for the envelopes. Every object schema
lists every property as required and forbids any other (``additionalProperties: false``): the
objects must give exactly Stripe's fields, no more and no fewer.
"""

from __future__ import annotations

from typing import Any

import jsonschema

Schema = dict[str, Any]

DATE_TIME: Schema = {
    "type": "string",
    "pattern": (
        r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
        r"T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$"
    ),
}
"""RFC 3339 in UTC with milliseconds and ``Z``: ``2024-06-01T12:00:00.000Z``."""
STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
BOOLEAN: Schema = {"type": "boolean"}
COUNT: Schema = {"type": "integer", "minimum": 0}


def closed(properties: Schema, *, optional: tuple[str, ...] = ()) -> Schema:
    """An object with exactly these properties, all required but the `optional` ones."""
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def const(value: str) -> Schema:
    """A string that must be `value`."""
    return {"const": value}


V2_METER_EVENT = closed(
    {
        "object": const("v2.billing.meter_event"),
        "created": DATE_TIME,
        "event_name": STRING,
        "identifier": STRING,
        "livemode": BOOLEAN,
        "payload": {"type": "object", "additionalProperties": STRING},
        "timestamp": DATE_TIME,
    }
)
V2_METER_EVENT_ADJUSTMENT = closed(
    {
        "id": STRING,
        "object": const("v2.billing.meter_event_adjustment"),
        "cancel": closed({"identifier": STRING}),
        "created": DATE_TIME,
        "event_name": STRING,
        "livemode": BOOLEAN,
        "status": {"enum": ["complete", "pending"]},
        "type": {"enum": ["cancel"]},
    }
)
V2_METER_EVENT_SESSION = closed(
    {
        "id": STRING,
        "object": const("v2.billing.meter_event_session"),
        "authentication_token": STRING,
        "created": DATE_TIME,
        "expires_at": DATE_TIME,
        "livemode": BOOLEAN,
    }
)

RELATED_METER = closed(
    {
        "id": STRING,
        "type": const("billing.meter"),
        "url": {"type": "string", "pattern": r"^/v1/billing/meters/"},
    }
)
REASON: Schema = {
    "oneOf": [
        {"type": "null"},
        closed(
            {
                "request": {
                    "oneOf": [
                        {"type": "null"},
                        closed({"id": STRING, "idempotency_key": STRING}),
                    ]
                },
                "type": {"enum": ["request"]},
            }
        ),
    ]
}
ERROR_REPORT_DATA = closed(
    {
        "developer_message_summary": STRING,
        "reason": closed(
            {
                "error_count": COUNT,
                "error_types": {
                    "type": "array",
                    "items": closed(
                        {
                            "code": STRING,
                            "error_count": COUNT,
                            "sample_errors": {
                                "type": "array",
                                "items": closed(
                                    {
                                        "error_message": STRING,
                                        "request": closed({"identifier": STRING}),
                                    }
                                ),
                            },
                        }
                    ),
                },
            }
        ),
        "validation_end": DATE_TIME,
        "validation_start": DATE_TIME,
    }
)
_THIN_EVENT: Schema = {
    "id": STRING,
    "object": const("v2.core.event"),
    "changes": {"type": "null"},
    "context": NULLABLE_STRING,
    "created": DATE_TIME,
    "data": ERROR_REPORT_DATA,
    "livemode": BOOLEAN,
    "reason": REASON,
}
ERROR_REPORT_TRIGGERED_EVENT = closed(
    {
        **_THIN_EVENT,
        "related_object": RELATED_METER,
        "type": const("v1.billing.meter.error_report_triggered"),
    }
)
NO_METER_FOUND_EVENT = closed({**_THIN_EVENT, "type": const("v1.billing.meter.no_meter_found")})

BILLING_METER = closed(
    {
        "id": STRING,
        "object": const("billing.meter"),
        "created": {"type": "integer"},
        "customer_mapping": closed({"event_payload_key": STRING, "type": const("by_id")}),
        "default_aggregation": closed({"formula": STRING}),
        "display_name": STRING,
        "event_name": STRING,
        "event_time_window": {"enum": ["hour", "day", None]},
        "livemode": BOOLEAN,
        "status": {"enum": ["active", "inactive"]},
        "status_transitions": closed({"deactivated_at": {"type": ["integer", "null"]}}),
        "updated": {"type": "integer"},
        "value_settings": closed({"event_payload_key": STRING}),
    }
)


def snapshot_event(event_type: str) -> Schema:
    """A v1 ``event`` about a meter; ``data.previous_attributes`` exactly for ``.updated``."""
    data = {"object": BILLING_METER}
    if event_type == "billing.meter.updated":
        data["previous_attributes"] = {"type": "object"}
    return closed(
        {
            "id": STRING,
            "object": const("event"),
            "api_version": NULLABLE_STRING,
            "created": {"type": "integer"},
            "data": closed(data),
            "livemode": BOOLEAN,
            "pending_webhooks": COUNT,
            "request": {
                "oneOf": [
                    {"type": "null"},
                    closed({"id": NULLABLE_STRING, "idempotency_key": NULLABLE_STRING}),
                ]
            },
            "type": const(event_type),
        }
    )


def v2_list(item: Schema) -> Schema:
    """A v2 list page of `item`s: ``next_page_url``/``previous_page_url`` paths or null."""
    url: Schema = {"oneOf": [{"type": "null"}, {"type": "string", "pattern": "^/v2/"}]}
    return closed(
        {
            "data": {"type": "array", "items": item},
            "next_page_url": url,
            "previous_page_url": url,
        }
    )


# --- error envelopes ----------------------------------------------------------------------------

V1_ERROR = closed(
    {
        "error": closed(
            {
                "code": STRING,
                "doc_url": {"type": "string", "pattern": r"^https://"},
                "message": STRING,
                "param": STRING,
                "type": {
                    "enum": [
                        "api_error",
                        "card_error",
                        "idempotency_error",
                        "invalid_request_error",
                    ]
                },
            },
            optional=("code", "doc_url", "param"),
        )
    }
)
"""Stripe's v1 ``error``: ``type`` from the v1 set; ``message`` always sent; the rest if set."""
V2_ERROR = closed(
    {
        "error": closed(
            {
                "code": STRING,
                "doc_url": {"type": "string", "pattern": r"^https://"},
                "message": STRING,
                "type": STRING,
                "user_message": STRING,
            },
            optional=("doc_url", "type", "user_message"),
        )
    }
)
"""Stripe's generic ``v2.error``: ``code`` and ``message`` required, no ``param``."""
V2_SESSION_EXPIRED_ERROR = closed(
    {
        "error": closed(
            {
                "code": {"enum": ["billing_meter_event_session_expired"]},
                "doc_url": {"type": "string", "pattern": r"^https://"},
                "message": STRING,
                "type": {"enum": ["temporary_session_expired"]},
            }
        )
    }
)
"""``v2.error.billing_meter_event_session_expired``: all four fields required."""


def check(instance: object, schema: Schema) -> None:
    """Raise `jsonschema.ValidationError` unless `instance` matches `schema`."""
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(instance)
