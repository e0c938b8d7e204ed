"""Meter event rules: the batch and its items, the meter, payload, identifier and timestamp."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any, NoReturn, TypeGuard

from meterlib.aggregation import Aggregation
from meterlib.errors import InvalidRequestError, describe
from meterlib.model import ItemColumns, Meter, NewEvent, NewEvents
from meterlib.timeutil import to_unix_seconds
from meterlib.validation.limits import (
    FUTURE_LIMIT,
    MAX_BATCH,
    MAX_NAME,
    MAX_PAYLOAD_ENTRIES,
    MAX_PAYLOAD_STRING,
    MAX_SIGNIFICANT_DIGITS,
    PAST_LIMIT,
)
from meterlib.validation.params import (
    check_text,
    entries,
    fail,
    require_string,
    settings_hash,
)
from meterlib.validation.values import SHORT_VALUES, parse_value, payload_string

EVENT_ARGUMENTS = ("event_name", "payload", "identifier", "timestamp")


_EVENT_ARGUMENT_SET = frozenset(EVENT_ARGUMENTS)


def event_arguments(item: object, index: int) -> tuple[object, object, object, object]:
    """Item `index` of a batch, a mapping of ``meter_events.create``'s keyword arguments.

    Returns them in `EVENT_ARGUMENTS` order, None where absent.
    """
    if type(item) is not dict and not isinstance(item, Mapping):  # a dict skips the ABC check
        fail(
            f"events[{index}] must be a mapping of event_name, payload, identifier, timestamp; "
            f"got {type(item).__name__}",
            code="parameter_invalid_type",
            param=f"events[{index}]",
        )
    arguments = settings_hash(item, f"events[{index}]", EVENT_ARGUMENTS)
    get = arguments.get
    return get("event_name"), get("payload"), get("identifier"), get("timestamp")


def validate_batch(events: object) -> Sequence[object]:
    """The items of a ``create_many`` batch, at most `MAX_BATCH` of them.

    A list, tuple or other iterable; not a string, bytes or a mapping, which are single values.
    `ItemColumns` stay as they are.
    """
    items: Sequence[object]
    if type(events) is list or type(events) is ItemColumns:  # first: no ABC checks for them
        items = events
    elif isinstance(events, str | bytes | bytearray | Mapping) or not isinstance(events, Iterable):
        fail(
            f"events must be a list of events; got {describe(events)}",
            code="parameter_invalid_type",
            param="events",
        )
    elif type(events) is tuple:
        items = list(events)
    else:
        try:
            items = list(islice(events, MAX_BATCH + 1))
        except Exception as error:  # the caller's own iterable failed to give its items
            raise InvalidRequestError(
                f"events could not be iterated: {type(error).__name__}",
                code="parameter_invalid_type",
                param="events",
            ) from error
    if len(items) > MAX_BATCH:
        fail(
            f"events must hold at most {MAX_BATCH} items per call",
            code="parameter_invalid_length",
            param="events",
        )
    return items


def is_plain_name(value: object) -> TypeGuard[str]:
    """Whether `value` is a plain, printable str of at most `MAX_NAME` characters.

    Such a string (no NUL, no lone surrogate) is safe to look up in any backend before the full
    string rules run.
    """
    return type(value) is str and len(value) <= MAX_NAME and value.isprintable()


def validate_event_name(value: object) -> str:
    """``event_name`` of an event or adjustment."""
    return require_string(value, "event_name")


def check_meter_accepts_events(meter: Meter | None, event_name: str) -> Meter:
    """``no_meter`` when nothing meters `event_name`; ``archived_meter`` when it is inactive."""
    if meter is None:
        fail(
            f"No meter was found matching event_name {event_name!r}",
            code="no_meter",
            param="event_name",
        )
    if meter.status != "active":
        meter_inactive(meter.id, event_name)
    return meter


def meter_inactive(meter_id: str, event_name: str) -> NoReturn:
    """``archived_meter``: the meter of `event_name` does not accept events while inactive."""
    fail(
        f"the meter {meter_id} for event_name {event_name!r} must be active to accept events",
        code="archived_meter",
        param="event_name",
    )


def _payload_key(key: object) -> str:
    """A payload key: a plain string of at most `MAX_NAME` characters that backends can store."""
    if type(key) is not str:
        if not isinstance(key, str):
            fail(
                f"payload keys must be strings; got {describe(key)}",
                code="parameter_invalid_type",
                param="payload",
            )
        key = str.__str__(key)
    if len(key) > MAX_NAME:
        fail(
            f"payload keys must be at most {MAX_NAME} characters; got {describe(key)}",
            code="parameter_invalid_string_length",
            param="payload",
        )
    return check_text(key, "payload")


def validate_event(
    meter: Meter,
    aggregation: Aggregation[Any],
    *,
    payload: object,
    identifier: object,
    timestamp: object,
    now: int,
) -> NewEvent:
    """Check a meter event against its (active) meter and the clock's `now`, rule by rule.

    Any input, with the precise error of the first rule it breaks. The ingest pipeline tries
    `common_fields` (`common_event`) first, which accepts the common shape faster.
    """
    if payload is None:
        fail("missing required param: payload", code="parameter_missing", param="payload")
    pairs = entries(payload, "payload", limit=MAX_PAYLOAD_ENTRIES)
    if len(pairs) > MAX_PAYLOAD_ENTRIES:
        fail(
            f"payload must have at most {MAX_PAYLOAD_ENTRIES} entries",
            code="parameter_invalid_length",
            param="payload",
        )
    customer_key = meter.customer_mapping.event_payload_key
    value_key = meter.value_settings.event_payload_key
    stored: dict[str, str] = {}
    value: Decimal | None = None
    for raw_key, raw in pairs:
        key = _payload_key(raw_key)
        param = f"payload[{key}]"
        if key == value_key and raw is not None:
            value, stored[key] = parse_value(raw, param)
        elif raw is not None:
            stored[key] = payload_string(raw, param)
    customer = stored.get(customer_key)
    if customer is None or not customer.strip():
        fail(
            f"Customer mapping key {customer_key} not found in payload.",
            code="payload_no_customer_defined",
            param=f"payload[{customer_key}]",
        )
    if value_key not in stored and aggregation.requires_value:
        fail(
            f"Value key {value_key} not found in payload.",
            code="payload_no_value_defined",
            param=f"payload[{value_key}]",
        )
    if identifier is None:
        ident = f"mtrid_{uuid.uuid4().hex}"
    else:
        ident = require_string(identifier, "identifier")
    when = now if timestamp is None else to_unix_seconds(timestamp, "timestamp")
    check_event_timestamp(when, now)
    return NewEvent(
        meter_id=meter.id,
        event_name=meter.event_name,
        customer=customer,
        identifier=ident,
        timestamp=when,
        created=now,
        value=value,
        payload=stored,
    )


_tuple_new = tuple.__new__
_FUTURE_MARGIN = -FUTURE_LIMIT


def common_fields(
    meter: Meter, payload: object, identifier: object, timestamp: object, now: int
) -> tuple[str, Decimal, str, int] | None:
    """The customer, value, raw value string and timestamp of a common event obeying every rule.

    The common shape: a dict of exactly the customer and a short plain decimal string, a string
    identifier and int (or no) timestamp. This only accepts, never rejects (None): anything else
    goes through `validate_event`'s rule-by-rule checks, which give the precise error. A property
    test pins that both agree. The fast paths of `common_event` and `common_items`.
    """
    customer_key = meter.customer_mapping.event_payload_key
    value_key = meter.value_settings.event_payload_key
    if not (type(payload) is dict and len(payload) == 2 and customer_key != value_key):
        return None
    customer = payload.get(customer_key)
    raw = payload.get(value_key)
    if not (
        type(customer) is str
        and len(customer) <= MAX_PAYLOAD_STRING
        and customer.isprintable()  # so neither NUL nor a lone surrogate (see check_text)
        and customer.strip()
        and type(raw) is str
    ):
        return None
    value = SHORT_VALUES.get(raw)
    if value is None:
        # an optional minus, ASCII digits and at most one point ("5.", ".5" too, as the full
        # rules allow), short enough for the digit and range rules; str methods check it in a
        # quarter of a regex's time
        if not (
            len(raw) <= MAX_SIGNIFICANT_DIGITS
            and raw.isascii()
            and raw.removeprefix("-").replace(".", "", 1).isdecimal()
        ):
            return None
        value = Decimal(raw)
    if not (
        type(identifier) is str
        and len(identifier) <= MAX_NAME
        and identifier.isprintable()
        and identifier.strip()
    ):
        return None
    if timestamp is None:
        timestamp = now
    # `check_event_timestamp`'s bounds, with one subtraction of the (multi-digit) ints
    elif not (type(timestamp) is int and _FUTURE_MARGIN <= now - timestamp <= PAST_LIMIT):
        return None
    return customer, value, raw, timestamp


def common_event(
    meter: Meter, payload: object, identifier: object, timestamp: object, now: int
) -> NewEvent | None:
    """The event, with a copy of the payload, if `common_fields` accepts it; else None.

    On None the caller checks the event rule by rule.
    """
    fields = common_fields(meter, payload, identifier, timestamp, now)
    if fields is None:
        return None
    customer, value, _, when = fields
    event: NewEvent = _tuple_new(
        NewEvent,
        (
            meter.id,
            meter.event_name,
            customer,
            identifier,
            when,
            now,
            value,
            payload.copy(),  # type: ignore[attr-defined]  # a dict
        ),
    )  # NewEvent(...) without the named tuple's Python-level __new__
    return event


def common_items(
    items: Sequence[object],
    start: int,
    accepting: Mapping[str, tuple[Meter, object]],
    events: NewEvents,
) -> int:
    """Append to `events` the batch's items from `start` on while each is a common event.

    That is: a dict of no more than ``create``'s arguments, whose event name `accepting` maps to
    its meter, and whose arguments `common_fields` accepts, received at ``events.created``.
    Returns the index of the first item that is not (``len(items)`` if none): the caller checks
    that one rule by rule, and calls again from the next. This only accepts, never rejects: no
    call per item but `common_fields`, and no object per event (they go into columns): a
    payload of the meter's customer key then value key goes in as its raw value string.
    """
    now = events.created
    keys_of, last_meter, customer_key = events.payload_keys, None, ""
    add_meter_id, add_name = events.meter_ids.append, events.event_names.append
    add_customer, add_identifier = events.customers.append, events.identifiers.append
    add_timestamp, add_value = events.timestamps.append, events.values.append
    add_payload = events.payloads.append
    for index in range(start, len(items)):
        item = items[index]
        if type(item) is not dict or not _EVENT_ARGUMENT_SET.issuperset(item):
            return index
        name = item.get("event_name")
        known = accepting.get(name) if type(name) is str else None
        if known is None:
            return index
        meter, payload, identifier = known[0], item.get("payload"), item.get("identifier")
        fields = common_fields(meter, payload, identifier, item.get("timestamp"), now)
        if fields is None:
            return index
        customer, value, raw, timestamp = fields
        if meter is not last_meter:
            last_meter, customer_key = meter, meter.customer_mapping.event_payload_key
            keys_of[meter.id] = customer_key, meter.value_settings.event_payload_key
        add_meter_id(meter.id)
        add_name(meter.event_name)
        add_customer(customer)
        add_identifier(identifier)  # type: ignore[arg-type]  # a str, as `common_fields` checked
        add_timestamp(timestamp)
        add_value(value)
        # a dict, as `common_fields` checked; copied if its keys come the other way round, so
        # that it reads back as it came
        first_key = next(iter(payload))  # type: ignore[arg-type]
        add_payload(raw if first_key == customer_key else payload.copy())  # type: ignore[union-attr]
    return len(items)


def common_columns(
    items: ItemColumns,
    start: int,
    accepting: Mapping[str, tuple[Meter, object]],
    events: NewEvents,
) -> int:
    """`common_items` for items held as columns: the same rules, with no dict read per item.

    Each item's payload is written into one dict for `common_fields` (which only reads it),
    and kept, as a copy, only if its keys come the meter's other way round; else it goes in
    as its raw value string.
    """
    now = events.created
    first_key, second_key = items.payload_keys
    names, identifiers, timestamps = items.event_names, items.identifiers, items.timestamps
    firsts, seconds = items.firsts, items.seconds
    keys_of, last_meter, customer_first = events.payload_keys, None, True
    add_meter_id, add_name = events.meter_ids.append, events.event_names.append
    add_customer, add_identifier = events.customers.append, events.identifiers.append
    add_timestamp, add_value = events.timestamps.append, events.values.append
    add_payload = events.payloads.append
    payload = {first_key: "", second_key: ""}  # no dict made and freed per item
    for index in range(start, len(names)):
        known = accepting.get(names[index])
        if known is None:
            return index
        meter, identifier = known[0], identifiers[index]
        payload[first_key] = firsts[index]
        payload[second_key] = seconds[index]
        fields = common_fields(meter, payload, identifier, timestamps[index], now)
        if fields is None:
            return index
        customer, value, raw, timestamp = fields
        if meter is not last_meter:
            last_meter, customer_key = meter, meter.customer_mapping.event_payload_key
            keys_of[meter.id] = customer_key, meter.value_settings.event_payload_key
            customer_first = customer_key == first_key
        add_meter_id(meter.id)
        add_name(meter.event_name)
        add_customer(customer)
        add_identifier(identifier)
        add_timestamp(timestamp)
        add_value(value)
        add_payload(raw if customer_first else payload.copy())
    return len(names)


def check_event_timestamp(timestamp: int, now: int) -> None:
    """At most 35 days in the past and 5 minutes in the future, both bounds inclusive."""
    if timestamp < now - PAST_LIMIT:
        fail(
            "timestamp must be within the past 35 days",
            code="timestamp_too_far_in_past",
            param="timestamp",
        )
    if timestamp > now + FUTURE_LIMIT:
        fail(
            "timestamp must not be more than 5 minutes in the future",
            code="timestamp_in_future",
            param="timestamp",
        )


def duplicate_identifier(identifier: str) -> NoReturn:
    """``duplicate_meter_event``: the identifier was received less than 24 hours ago."""
    raise duplicate_error(identifier)


def duplicate_error(identifier: str) -> InvalidRequestError:
    """`duplicate_identifier`'s error, not raised: for a batch's outcomes (half the cost)."""
    return InvalidRequestError(
        f"An event already exists with identifier {identifier}",
        code="duplicate_meter_event",
        param="identifier",
    )
