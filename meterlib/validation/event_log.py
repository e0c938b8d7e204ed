"""Event log rules: which events a listing filters on, who may subscribe, which id exists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import NoReturn

from meterlib.errors import InvalidRequestError
from meterlib.validation.limits import MAX_EVENT_TYPES, MAX_ID
from meterlib.validation.params import fail, require_string, resource_missing


def validate_event_types(types: object) -> frozenset[str] | None:
    """A ``types`` filter: up to `MAX_EVENT_TYPES` type strings; a single string is one type."""
    if types is None:
        return None
    if isinstance(types, str):
        types = (types,)
    if isinstance(types, Mapping) or not isinstance(types, Iterable):
        fail("types must be a list of event types", code="parameter_invalid_type", param="types")
    try:
        items = list(islice(types, MAX_EVENT_TYPES + 1))
    except Exception as error:  # the caller's own iterable failed to give its items
        raise InvalidRequestError(
            "types could not be iterated", code="parameter_invalid_type", param="types"
        ) from error
    if len(items) > MAX_EVENT_TYPES:
        fail(
            f"types holds at most {MAX_EVENT_TYPES} event types",
            code="parameter_invalid_length",
            param="types",
        )
    return frozenset(require_string(kind, "types") for kind in items)


def validate_callback(callback: object) -> None:
    """A subscriber: anything callable with one event."""
    if not callable(callback):
        fail(
            "callback must be callable with one event",
            code="parameter_invalid_type",
            param="callback",
        )


def validate_event_id(event_id: object) -> str:
    """An event id to retrieve: a string of at most `MAX_ID` characters."""
    return require_string(event_id, "id", max_length=MAX_ID)


def event_missing(event_id: str) -> NoReturn:
    """``resource_missing`` (404) on ``id``: the log holds no event with this id."""
    resource_missing("event", event_id)
