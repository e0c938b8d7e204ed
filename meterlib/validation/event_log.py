"""Event log rules: which events a listing filters on, its page tokens, who may subscribe.

A v2 list names its next and previous pages by an opaque ``page`` token that carries the whole
query (page size, type filter, cursor), as Stripe's do: base64url of a small JSON object. Both
directions of that format live here, `page_token` and `validate_log_query`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import NoReturn

import attrs

from meterlib.errors import InvalidRequestError
from meterlib.validation.limits import MAX_EVENT_TYPES, MAX_ID, MAX_PAGE_TOKEN
from meterlib.validation.params import (
    fail,
    require_string,
    resource_missing,
    validate_page_params,
)

DEFAULT_LOG_LIMIT = 10


@attrs.frozen
class LogQuery:
    """One event log page to read: its size, the type filter, and the cursor it starts at."""

    limit: int
    types: frozenset[str] | None
    starting_after: str | None = None
    ending_before: str | None = None


def page_token(query: LogQuery) -> str:
    """The ``page`` token naming this query: `validate_log_query` reads it back.

    >>> token = page_token(LogQuery(limit=5, types=None, starting_after="evt_1"))
    >>> validate_log_query(None, None, token)
    LogQuery(limit=5, types=None, starting_after='evt_1', ending_before=None)
    """
    fields: dict[str, object] = {
        "l": query.limit,
        "t": None if query.types is None else sorted(query.types),
    }
    if query.starting_after is not None:
        fields["a"] = query.starting_after
    if query.ending_before is not None:
        fields["b"] = query.ending_before
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def validate_log_query(limit: object, types: object, page: object) -> LogQuery:
    """A listing's parameters: ``limit`` (1..100, default 10), ``types``, or a ``page`` token.

    A token carries its query: ``limit`` beside it sets a new page size, and ``types`` beside it
    must be the token's own (the SDK may send both).
    """
    if page is None:
        size = DEFAULT_LOG_LIMIT if limit is None else validate_page_params(limit, None, None)[0]
        return LogQuery(limit=size, types=validate_event_types(types))
    query = _decode_page_token(require_string(page, "page", max_length=MAX_PAGE_TOKEN))
    if types is not None and validate_event_types(types) != query.types:
        fail(
            "types must be those of the page token's query, or left out",
            code="parameter_invalid_string",
            param="types",
        )
    if limit is not None:
        query = attrs.evolve(query, limit=validate_page_params(limit, None, None)[0])
    return query


def _decode_page_token(token: str) -> LogQuery:
    try:
        fields = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        fields = None
    if not isinstance(fields, dict) or not {"l", "t"} <= fields.keys() <= {"l", "t", "a", "b"}:
        fail(
            "page must be a page token from this list's next_page_url or previous_page_url",
            code="parameter_invalid_string",
            param="page",
        )
    size, after, before = validate_page_params(fields["l"], fields.get("a"), fields.get("b"))
    kinds = fields["t"]
    return LogQuery(
        limit=size,
        types=None if kinds is None else validate_event_types(kinds),
        starting_after=after,
        ending_before=before,
    )


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
