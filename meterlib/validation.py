"""Every Stripe rule meterlib enforces, as pure functions that raise `InvalidRequestError`.

Nothing here does I/O: callers pass in what the rule needs (the meter, the clock's now, the
previous event). The rules and their codes are listed in ``docs/semantics.md``.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from itertools import islice
from types import MappingProxyType
from typing import Any, NoReturn, TypeGuard

import attrs

from meterlib.aggregation import Aggregation, formula_names, get_aggregation
from meterlib.errors import InvalidRequestError, describe
from meterlib.model import (
    AggregationSettings,
    CancelSettings,
    CustomerMapping,
    EventTimeWindow,
    Meter,
    NewEvent,
    ValueSettings,
)
from meterlib.timeutil import DAY, MINUTE, WINDOW_SECONDS, to_unix_seconds

MAX_DISPLAY_NAME = 250
MAX_NAME = 100
"""Event names, identifiers and payload keys (Stripe's request limit)."""
MAX_ID = 5_000
"""Ids, cursors and a summary's ``customer`` (Stripe's limit for ids in paths and queries)."""
MAX_PAYLOAD_STRING = 100
"""Each payload value, the customer and the value included (Stripe's response schema caps them)."""
MAX_PAYLOAD_ENTRIES = 100
"""Entries in one payload: more is refused before any is read."""
MAX_BATCH = 100_000
"""Items in one ``create_many`` call."""
MAX_WINDOWS = 100_000
"""Windows in one ``usage_series`` call (11 years of hours)."""
MAX_SIGNIFICANT_DIGITS = 15
VALUE_EXPONENT_RANGE = 40
"""Values must not need digits beyond 10**±40, which keeps every sum exact (see aggregation)."""
PAST_LIMIT = 35 * DAY
FUTURE_LIMIT = 5 * MINUTE
IDENTIFIER_WINDOW = DAY
CANCEL_WINDOW = DAY
MAX_LIMIT = 100


def fail(message: str, *, code: str, param: str, http_status: int | None = None) -> NoReturn:
    """Raise the `InvalidRequestError` every rule uses."""
    raise InvalidRequestError(message, code=code, param=param, http_status=http_status)


def require_string(value: object, param: str, *, max_length: int = MAX_NAME) -> str:
    """A required, non-empty string of at most `max_length` characters, as a plain `str`.

    A `str` subclass is copied into a plain `str`, so no caller code (``__hash__``, ``__eq__``)
    runs later; text no backend can store (`check_text`) is refused.
    """
    if value is None:
        fail(f"missing required param: {param}", code="parameter_missing", param=param)
    if type(value) is not str:
        if not isinstance(value, str):
            fail(
                f"{param} must be a string, got {type(value).__name__}",
                code="parameter_invalid_type",
                param=param,
            )
        value = str.__str__(value)
    if not value:
        fail(f"{param} must not be empty", code="parameter_invalid_string_empty", param=param)
    if not value.strip():
        fail(f"{param} must not be blank", code="parameter_invalid_string_blank", param=param)
    if len(value) > max_length:
        fail(
            f"{param} must be at most {max_length} characters, got {len(value)}",
            code="parameter_invalid_string_length",
            param=param,
        )
    return check_text(value, param)


def check_text(value: str, param: str) -> str:
    """`value`, if every backend can store it: no NUL character and no lone surrogate.

    Such strings cannot be encoded as UTF-8 (surrogates) or stored as text by PostgreSQL (NUL),
    so they are ``parameter_invalid_string`` on every backend alike.
    """
    if "\x00" in value:
        fail(
            f"{param} must not contain NUL characters",
            code="parameter_invalid_string",
            param=param,
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            fail(
                f"{param} must be valid Unicode text; it holds a lone surrogate",
                code="parameter_invalid_string",
                param=param,
            )
    return value


_SETTINGS_CLASSES = (AggregationSettings, CustomerMapping, ValueSettings, CancelSettings)


def entries(value: object, param: str, *, limit: int) -> list[tuple[object, object]]:
    """The first ``limit + 1`` ``(key, value)`` pairs of a caller's mapping (more means too many).

    A mapping that is not a dict is the caller's own code: one that fails to give its items is
    ``parameter_invalid_type``, as a value that is no mapping at all is.
    """
    if type(value) is dict or type(value) is MappingProxyType:
        return list(islice(value.items(), limit + 1))
    if not isinstance(value, Mapping):
        fail(
            f"{param} must be a mapping, got {type(value).__name__}",
            code="parameter_invalid_type",
            param=param,
        )
    try:
        pairs = list(islice(value.items(), limit + 1))
    except Exception as error:  # the caller's own mapping failed to give its items
        raise InvalidRequestError(
            f"{param} could not be read as a mapping: {type(error).__name__}",
            code="parameter_invalid_type",
            param=param,
        ) from error
    return pairs


def _key(key: object, param: str) -> str:
    """A mapping key as a plain str; anything else is an unknown param."""
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    fail(
        f"unknown param: {param}[{describe(key)}] (keys are strings)",
        code="parameter_unknown",
        param=param,
    )


def _settings(value: object, param: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """A nested settings hash given as a mapping or as our own settings object, as a dict."""
    if isinstance(value, _SETTINGS_CLASSES):
        value = attrs.asdict(value)
    settings: dict[str, Any] = {}
    for raw_key, item in entries(value, param, limit=len(allowed)):
        key = _key(raw_key, param)
        if key not in allowed:
            shown = f"{param}[{key if len(key) <= MAX_NAME else key[:MAX_NAME] + '...'}]"
            fail(f"unknown param: {shown}", code="parameter_unknown", param=shown)
        settings[key] = item
    return settings


def _enum(value: object, param: str, allowed: tuple[str, ...]) -> str:
    text = str.__str__(value) if isinstance(value, str) else None
    if text is None or text not in allowed:
        fail(
            f"{param} must be one of {', '.join(allowed)}; got {describe(value)}",
            code="parameter_invalid_enum",
            param=param,
        )
    return text


@attrs.frozen(kw_only=True)
class MeterParams:
    """The validated, normalised parameters of ``meters.create``."""

    display_name: str
    event_name: str
    default_aggregation: AggregationSettings
    customer_mapping: CustomerMapping
    value_settings: ValueSettings
    event_time_window: EventTimeWindow | None


def validate_meter_params(
    *,
    display_name: object,
    event_name: object,
    default_aggregation: object,
    customer_mapping: object,
    value_settings: object,
    event_time_window: object,
) -> MeterParams:
    """Check ``meters.create`` parameters and fill Stripe's defaults."""
    name = validate_display_name(display_name)
    event = require_string(event_name, "event_name")
    if default_aggregation is None:
        fail(
            "missing required param: default_aggregation",
            code="parameter_missing",
            param="default_aggregation",
        )
    aggregation = _settings(default_aggregation, "default_aggregation", ("formula",))
    formula = aggregation.get("formula")
    if formula is None:
        fail(
            "missing required param: default_aggregation[formula]",
            code="parameter_missing",
            param="default_aggregation[formula]",
        )
    _enum(formula, "default_aggregation[formula]", tuple(formula_names()))

    mapping = CustomerMapping()
    if customer_mapping is not None:
        raw = _settings(customer_mapping, "customer_mapping", ("type", "event_payload_key"))
        if raw.get("type") is None:
            fail(
                "missing required param: customer_mapping[type]",
                code="parameter_missing",
                param="customer_mapping[type]",
            )
        _enum(raw["type"], "customer_mapping[type]", ("by_id",))
        key = require_string(raw.get("event_payload_key"), "customer_mapping[event_payload_key]")
        mapping = CustomerMapping(event_payload_key=key)

    value = ValueSettings()
    if value_settings is not None:
        raw = _settings(value_settings, "value_settings", ("event_payload_key",))
        key = require_string(raw.get("event_payload_key"), "value_settings[event_payload_key]")
        value = ValueSettings(event_payload_key=key)

    window: EventTimeWindow | None = None
    if event_time_window is not None:
        window = _enum(event_time_window, "event_time_window", ("hour", "day"))  # type: ignore[assignment]
    return MeterParams(
        display_name=name,
        event_name=event,
        default_aggregation=AggregationSettings(formula=formula),
        customer_mapping=mapping,
        value_settings=value,
        event_time_window=window,
    )


def validate_display_name(value: object) -> str:
    """``display_name``: required, non-empty, at most 250 characters."""
    return require_string(value, "display_name", max_length=MAX_DISPLAY_NAME)


def validate_meter_id(value: object, param: str = "id") -> str:
    """A meter id: a non-empty string."""
    return require_string(value, param, max_length=MAX_ID)


def validate_status_filter(value: object) -> str | None:
    """The ``status`` filter of ``meters.list``."""
    return None if value is None else _enum(value, "status", ("active", "inactive"))


def validate_page_params(
    limit: object, starting_after: object, ending_before: object
) -> tuple[int, str | None, str | None]:
    """``limit`` in 1..100 and at most one cursor."""
    size = None if isinstance(limit, bool) or not isinstance(limit, int) else int.__int__(limit)
    if size is None or not 1 <= size <= MAX_LIMIT:
        fail(
            f"limit must be an integer from 1 to {MAX_LIMIT}; got {describe(limit)}",
            code="parameter_invalid_integer",
            param="limit",
        )
    if starting_after is not None and ending_before is not None:
        fail(
            "starting_after and ending_before cannot both be given",
            code="parameters_exclusive",
            param="ending_before",
        )
    after = (
        None
        if starting_after is None
        else require_string(starting_after, "starting_after", max_length=MAX_ID)
    )
    before = (
        None
        if ending_before is None
        else require_string(ending_before, "ending_before", max_length=MAX_ID)
    )
    return size, after, before


# --- values -------------------------------------------------------------------------------

_SHORT_VALUES: dict[str, Decimal] = {}
"""Parsed short values, shared: usage repeats a few values, and a Decimal is immutable."""
_SHORT_VALUES_MAX = 4_096
_PLAIN_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
_DECIMAL_STRING = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_value(raw: object, param: str) -> tuple[Decimal, str]:
    """Parse a usage value to an exact Decimal, and the string form the payload keeps.

    Accepts decimal strings, ints, Decimals and finite floats (through their shortest repr).
    Raises ``payload_invalid_value`` or ``meter_event_value_too_many_digits``.

    >>> parse_value("0.10", "payload[value]")
    (Decimal('0.10'), '0.10')
    """
    if type(raw) is str and len(raw) <= MAX_SIGNIFICANT_DIGITS:
        value = _SHORT_VALUES.get(raw)
        if value is not None:
            return value, raw
        if _PLAIN_DECIMAL.fullmatch(raw):  # too short to break the digit or range rules
            value = Decimal(raw)
            if len(_SHORT_VALUES) < _SHORT_VALUES_MAX:
                _SHORT_VALUES[raw] = value
            return value, raw
    return _parse_any_value(raw, param)


_MAX_VALUE_BITS = (10 ** (VALUE_EXPONENT_RANGE + 1)).bit_length()
"""An int of more bits is at least 10**41, out of range: refused before any conversion."""


def _parse_any_value(raw: object, param: str) -> tuple[Decimal, str]:
    """`parse_value` for any input: the digit and range rules on its exact `Decimal`."""
    value, text = _decimal_and_text(raw, param)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite by now
    all_digits = "".join(map(str, digits)).lstrip("0")
    significant = all_digits.rstrip("0")
    if len(significant) > MAX_SIGNIFICANT_DIGITS:
        fail(
            f"{param} has more than {MAX_SIGNIFICANT_DIGITS} significant digits: {describe(text)}",
            code="meter_event_value_too_many_digits",
            param=param,
        )
    lowest_digit = exponent + len(all_digits) - len(significant)
    if not (lowest_digit >= -VALUE_EXPONENT_RANGE and value.adjusted() <= VALUE_EXPONENT_RANGE):
        _out_of_range(describe(text), param)
    return value, text


def _decimal_and_text(raw: object, param: str) -> tuple[Decimal, str]:
    """A value input as an exact `Decimal` and its payload string; sizes are checked first."""
    if isinstance(raw, str):
        text = str.__str__(raw)
        if len(text) > MAX_PAYLOAD_STRING:
            _value_too_long(text, param)
        if not _DECIMAL_STRING.fullmatch(text):
            _invalid_value(raw, param)
        try:
            return Decimal(text), text
        except InvalidOperation:  # an exponent beyond what `decimal` can represent
            _invalid_value(raw, param)
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = int.__int__(raw)
        if number.bit_length() > _MAX_VALUE_BITS:
            _out_of_range(describe(number), param)
        exact = Decimal(number)
        return exact, str(exact)
    if isinstance(raw, float) and math.isfinite(raw):
        text = float.__repr__(raw)
        return Decimal(text), text
    copied = Decimal(raw) if isinstance(raw, Decimal) else None  # a plain copy of a subclass
    if copied is not None and copied.is_finite():
        text = str(copied)
        if len(text) > MAX_PAYLOAD_STRING:
            _value_too_long(text, param)
        return copied, text
    _invalid_value(raw, param)


def _value_too_long(text: str, param: str) -> NoReturn:
    fail(
        f"{param} must be at most {MAX_PAYLOAD_STRING} characters, got {len(text)}",
        code="payload_invalid_value",
        param=param,
    )


def _out_of_range(shown: str, param: str) -> NoReturn:
    fail(
        f"{param} is out of range (digits must lie within 10**±{VALUE_EXPONENT_RANGE}): {shown}",
        code="payload_invalid_value",
        param=param,
    )


def _invalid_value(raw: object, param: str) -> NoReturn:
    fail(
        f"{param} must be a finite decimal number; got {describe(raw)}",
        code="payload_invalid_value",
        param=param,
    )


_MAX_PAYLOAD_INT_BITS = (10**MAX_PAYLOAD_STRING).bit_length()
"""An int of more bits has over `MAX_PAYLOAD_STRING` digits: refused before stringifying it."""


def payload_string(raw: object, param: str) -> str:
    """A payload entry as the plain string Stripe keeps (ints and Decimals stringified).

    At most `MAX_PAYLOAD_STRING` characters, checked before an int is stringified.
    """
    if isinstance(raw, str):
        text = str.__str__(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        number = int.__int__(raw)
        if number.bit_length() > _MAX_PAYLOAD_INT_BITS:
            _payload_string_too_long(param)
        text = str(Decimal(number))  # not str(raw): an int subclass may print itself
    elif isinstance(raw, Decimal):
        text = Decimal.__str__(raw)
    else:
        fail(
            f"{param} must be a string (or an int or Decimal); got {type(raw).__name__}",
            code="parameter_invalid_type",
            param=param,
        )
    if len(text) > MAX_PAYLOAD_STRING:
        _payload_string_too_long(param)
    return check_text(text, param)


def _payload_string_too_long(param: str) -> NoReturn:
    fail(
        f"{param} must be at most {MAX_PAYLOAD_STRING} characters",
        code="parameter_invalid_string_length",
        param=param,
    )


# --- events -------------------------------------------------------------------------------


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
    arguments = _settings(item, f"events[{index}]", EVENT_ARGUMENTS)
    get = arguments.get
    return get("event_name"), get("payload"), get("identifier"), get("timestamp")


def validate_batch(events: object) -> list[object]:
    """The items of a ``create_many`` batch, at most `MAX_BATCH` of them.

    A list, tuple or other iterable; not a string, bytes or a mapping, which are single values.
    """
    if isinstance(events, str | bytes | bytearray | Mapping) or not isinstance(events, Iterable):
        fail(
            f"events must be a list of events; got {describe(events)}",
            code="parameter_invalid_type",
            param="events",
        )
    if type(events) is list or type(events) is tuple:
        items: list[object] = events if type(events) is list else list(events)
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
        fail(
            f"the meter {meter.id} for event_name {event_name!r} must be active to accept events",
            code="archived_meter",
            param="event_name",
        )
    return meter


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
    """Check a meter event against its (active) meter and the clock's `now`."""
    event = _common_event(meter, payload, identifier, timestamp, now)
    if event is not None:
        return event
    return _any_event(
        meter, aggregation, payload=payload, identifier=identifier, timestamp=timestamp, now=now
    )


def _any_event(
    meter: Meter,
    aggregation: Aggregation[Any],
    *,
    payload: object,
    identifier: object,
    timestamp: object,
    now: int,
) -> NewEvent:
    """`validate_event` for any input: every rule checked one by one."""
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


def _common_event(
    meter: Meter, payload: object, identifier: object, timestamp: object, now: int
) -> NewEvent | None:
    """The event, if it has the common shape and obeys every rule; else None.

    The common shape: a dict of exactly the customer and a short plain decimal string, a string
    identifier and int (or no) timestamp. This only accepts, never rejects: anything else goes
    through `_any_event`'s rule-by-rule checks, which give the precise error. A property test
    pins that both agree.
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
    value = _SHORT_VALUES.get(raw)
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
    elif not (type(timestamp) is int and now - PAST_LIMIT <= timestamp <= now + FUTURE_LIMIT):
        return None
    event: NewEvent = _tuple_new(
        NewEvent,
        (meter.id, meter.event_name, customer, identifier, timestamp, now, value, dict(payload)),
    )  # NewEvent(...) without the named tuple's Python-level __new__
    return event


def common_item(
    item: object, accepting: Mapping[str, tuple[Meter, object]], now: int
) -> NewEvent | None:
    """A batch item's event, if `accepting` has its meter and `_common_event` accepts it.

    This only accepts, never rejects (the caller then checks the item rule by rule): one call
    per item of the common shape instead of `event_arguments` and `validate_event`.
    """
    if type(item) is not dict or not _EVENT_ARGUMENT_SET.issuperset(item):
        return None
    name = item.get("event_name")
    known = accepting.get(name) if type(name) is str else None
    if known is None:
        return None
    get = item.get
    return _common_event(known[0], get("payload"), get("identifier"), get("timestamp"), now)


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


def duplicate_cutoff(now: int) -> int:
    """An identifier received strictly after this moment is still taken."""
    return now - IDENTIFIER_WINDOW


def duplicate_identifier(identifier: str) -> NoReturn:
    """``duplicate_meter_event``: the identifier was received less than 24 hours ago."""
    fail(
        f"An event already exists with identifier {identifier}",
        code="duplicate_meter_event",
        param="identifier",
    )


# --- adjustments ----------------------------------------------------------------------------


def validate_cancel_params(event_name: object, type: object, cancel: object) -> tuple[str, str]:
    """``event_name``, ``type="cancel"`` and ``cancel[identifier]`` of an adjustment."""
    name = validate_event_name(event_name)
    if type is None:
        fail("missing required param: type", code="parameter_missing", param="type")
    _enum(type, "type", ("cancel",))
    if cancel is None:
        fail("missing required param: cancel", code="parameter_missing", param="cancel")
    settings = _settings(cancel, "cancel", ("identifier",))
    identifier = require_string(settings.get("identifier"), "cancel[identifier]")
    return name, identifier


def check_cancellable(
    *,
    identifier: str,
    event_name: str,
    found_event_name: str | None,
    received: int | None,
    cancelled: bool,
    now: int,
) -> None:
    """Cancel only a known event, under its own name, within 24 h of receipt, and only once."""
    param = "cancel[identifier]"
    if found_event_name is None or received is None:
        fail(
            f"No meter event with identifier {identifier!r}",
            code="resource_missing",
            param=param,
            http_status=404,
        )
    if found_event_name != event_name:
        fail(
            f"the event {identifier!r} belongs to event_name {found_event_name!r}, "
            f"not {event_name!r}",
            code="invalid_cancel_configuration",
            param="event_name",
        )
    if now - received >= CANCEL_WINDOW:
        fail(
            f"the event {identifier!r} was received 24 hours ago or more "
            "and can no longer be cancelled",
            code="invalid_cancel_configuration",
            param=param,
        )
    if cancelled:
        fail(
            f"the event {identifier!r} is already cancelled",
            code="invalid_cancel_configuration",
            param=param,
        )


# --- summaries -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SummaryParams:
    """A validated summary query: ``[start_time, end_time)`` split into `window`-second steps."""

    customer: str
    start_time: int
    end_time: int
    window: int
    """Length of one summary in seconds; the whole range when no grouping window is given."""


def validate_summary_params(
    *, customer: object, start_time: object, end_time: object, value_grouping_window: object
) -> SummaryParams:
    """Check the range: both ends given, aligned, ordered; hour/day grouping aligned to it."""
    who = validate_customer(customer)
    bounds = []
    for param, raw in (("start_time", start_time), ("end_time", end_time)):
        if raw is None:
            fail(f"missing required param: {param}", code="parameter_missing", param=param)
        moment = to_unix_seconds(raw, param)
        if moment < 0:
            fail(
                f"{param} must not be before 1970", code="parameter_invalid_timestamp", param=param
            )
        bounds.append(moment)
    start, end = bounds
    if end <= start:
        fail("end_time must be after start_time", code="parameter_invalid_range", param="end_time")
    step = MINUTE
    grouping = None
    if value_grouping_window is not None:
        grouping = _enum(value_grouping_window, "value_grouping_window", ("hour", "day"))
        step = WINDOW_SECONDS[grouping]
    for param, moment in (("start_time", start), ("end_time", end)):
        if moment % step:
            unit = {MINUTE: "a minute", 3600: "an hour", DAY: "a day (UTC midnight)"}[step]
            fail(
                f"{param} must be aligned to {unit} boundary; got {moment}",
                code="timestamp_not_aligned",
                param=param,
            )
    return SummaryParams(
        customer=who,
        start_time=start,
        end_time=end,
        window=step if grouping is not None else end - start,
    )


def validate_customer(value: object, param: str = "customer") -> str:
    """The customer a summary or usage query is about: a string of at most `MAX_ID` characters.

    Longer than any stored customer can be (`MAX_PAYLOAD_STRING`) is allowed, as Stripe allows
    it: such a customer simply has no usage.
    """
    return require_string(value, param, max_length=MAX_ID)


def window_count(query: SummaryParams) -> int:
    """How many summaries the query has."""
    return (query.end_time - query.start_time) // query.window


def check_series_length(query: SummaryParams) -> int:
    """The number of windows of a ``usage_series`` call: at most `MAX_WINDOWS`."""
    count = window_count(query)
    if count > MAX_WINDOWS:
        fail(
            f"a series holds at most {MAX_WINDOWS} windows; this range has {count}: "
            "split it, or use a longer value_grouping_window",
            code="parameter_invalid_range",
            param="end_time",
        )
    return count


def aggregation_for(meter: Meter) -> Aggregation[Any]:
    """The meter's registered aggregation; ``aggregation_missing`` if it was unregistered."""
    aggregation = get_aggregation(meter.default_aggregation.formula)
    if aggregation is None:
        fail(
            f"the formula {meter.default_aggregation.formula!r} of meter {meter.id} "
            "is not registered",
            code="aggregation_missing",
            param="default_aggregation[formula]",
        )
    return aggregation
