"""`ReferenceModel`: the simplest obviously-correct model of meterlib's semantics, as an oracle.

Run it beside a `Metering` (or beside your own code built on one), give both the same calls and
the same clock, and their answers must agree. The model keeps every accepted event in one list
and answers each question by looping over all of it (each customer's surviving events are
remembered until the next change): no indexes, no rollups, no sorted containers, and no code
shared with ``meterlib.summaries`` or the storage backends, so a bug there cannot hide in here
as well. It re-checks every rule of ``docs/semantics.md`` on its own, in the same order as
`Metering`, and raises `InvalidRequestError` with the same ``code``.

It is slow on purpose (the first query after each change loops over every event it holds, and
each window over its events); keep the runs you feed it small.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, Inexact, InvalidOperation
from typing import NoReturn

import attrs

from meterlib.aggregation import aggregate, get_aggregation
from meterlib.errors import InvalidRequestError
from meterlib.model import Meter
from meterlib.timeutil import Clock

DAY = 86_400
EVENT_MAX_AGE = 35 * DAY
EVENT_MAX_AHEAD = 300
WINDOW_LENGTH = {"hour": 3_600, "day": DAY}
VALUE_CHARACTERS = frozenset("0123456789+-.eE")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXACT = Context(prec=1_000, traps=[Inexact, InvalidOperation])


class ModelMismatch(AssertionError):
    """The system under test answered differently from the `ReferenceModel`."""


@attrs.define(kw_only=True)
class ModelMeter:
    """What the model needs to know of a meter."""

    id: str
    event_name: str
    formula: str
    event_time_window: str | None
    customer_key: str
    value_key: str
    active: bool = True


@attrs.define(kw_only=True)
class ModelEvent:
    """An accepted event; ``seq`` is its place in the order of receipt."""

    seq: int
    meter_id: str
    event_name: str
    customer: str
    identifier: str
    payload: dict[str, str]
    value: Decimal | None
    timestamp: int
    created: int
    cancelled: bool = False


def _fail(code: str, param: str) -> NoReturn:
    raise InvalidRequestError(f"rejected by the reference model: {code}", code=code, param=param)


def _string(value: object, param: str, max_length: int = 100) -> str:
    if value is None:
        _fail("parameter_missing", param)
    if not isinstance(value, str):
        _fail("parameter_invalid_type", param)
    if value == "":
        _fail("parameter_invalid_string_empty", param)
    if value.strip() == "":
        _fail("parameter_invalid_string_blank", param)
    if len(value) > max_length:
        _fail("parameter_invalid_string_length", param)
    return value


def _seconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)


def _timestamp(value: object) -> int:
    """Unix seconds from an int, an aware datetime or an ISO-8601 string, floored."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            _fail("parameter_invalid_timestamp", "timestamp")
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return _seconds(value)
    _fail("parameter_invalid_timestamp", "timestamp")


def _value(raw: object, param: str) -> tuple[Decimal, str]:
    """The exact value of a payload value and the text the payload keeps."""
    if isinstance(raw, str):
        if raw == "" or any(character not in VALUE_CHARACTERS for character in raw):
            _fail("payload_invalid_value", param)
        try:
            value = Decimal(raw)
        except InvalidOperation:
            _fail("payload_invalid_value", param)
        text = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = Decimal(raw)
        text = str(value)  # str() of a huge int would raise; a Decimal prints any size
    elif isinstance(raw, float) and math.isfinite(raw):
        value, text = Decimal(repr(raw)), repr(raw)
    elif isinstance(raw, Decimal) and raw.is_finite():
        value, text = raw, str(raw)
    else:
        _fail("payload_invalid_value", param)
    digits = "".join(str(digit) for digit in value.as_tuple().digits)
    significant = digits.strip("0")
    if len(significant) > 15:
        _fail("meter_event_value_too_many_digits", param)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    lowest_digit = exponent  # the place of the lowest non-zero digit; of zero, its exponent
    if significant:
        lowest_digit += len(digits) - len(digits.rstrip("0"))
    if lowest_digit < -40 or value.adjusted() > 40:
        _fail("payload_invalid_value", param)
    return value, text


def _read_payload(
    meter: ModelMeter, payload: Mapping[object, object]
) -> tuple[dict[str, str], Decimal | None]:
    """The payload as the strings kept, and the parsed value (None when absent)."""
    kept: dict[str, str] = {}
    value = None
    for key, raw in payload.items():
        if not isinstance(key, str):
            _fail("parameter_invalid_type", "payload")
        if raw is None:
            continue  # a key given as None counts as absent
        if key == meter.value_key:
            value, kept[key] = _value(raw, f"payload[{key}]")
        elif isinstance(raw, str):
            kept[key] = raw
        elif isinstance(raw, int | Decimal) and not isinstance(raw, bool):
            kept[key] = str(Decimal(raw))
        else:
            _fail("parameter_invalid_type", f"payload[{key}]")
    return kept, value


class ReferenceModel:
    """An oracle for meterlib's semantics: feed it what you feed `Metering`, compare answers.

    Give it the same clock as the `Metering` beside it, mirror each meter with `add_meter`,
    then send both the same events and cancellations; where `Metering` raises, the model raises
    the same ``code``, and every summary the model computes must equal meterlib's.

    >>> from meterlib import Metering
    >>> from meterlib.testing import ReferenceModel, frozen_time
    >>> clock = frozen_time("2026-03-10T12:00:00Z")
    >>> m, model = Metering(clock=clock), ReferenceModel(clock)
    >>> meter = m.meters.create(display_name="Calls", event_name="calls",
    ...                         default_aggregation={"formula": "sum"})
    >>> model.add_meter(meter)
    >>> event = {"event_name": "calls", "payload": {"stripe_customer_id": "cus_1", "value": "2"}}
    >>> _ = m.meter_events.create(**event, identifier="e1")
    >>> _ = model.create_event(**event, identifier="e1")
    >>> start, end = 1773100800, 1773187200
    >>> model.usage(meter.id, "cus_1", start, end) == m.usage(meter.id, "cus_1", start, end)
    True
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.meters: list[ModelMeter] = []
        self.events: list[ModelEvent] = []
        """Every accepted event, in the order received (cancelled ones included)."""
        self._latest: dict[str, ModelEvent] = {}
        """Each identifier's most recently received event: the one a duplicate or cancel meets."""
        self._survivors_of: dict[tuple[str, str], list[ModelEvent]] = {}
        """`_survivors` by (meter id, customer), forgotten at every change of the events."""

    def now(self) -> int:
        """The clock's now in whole Unix seconds (floored)."""
        return _seconds(self.clock.now())

    # --- meters ---------------------------------------------------------------------------

    def meter(self, meter_id: str) -> ModelMeter:
        """The meter with this id; ``resource_missing`` if the model has none."""
        for meter in self.meters:
            if meter.id == meter_id:
                return meter
        _fail("resource_missing", "id")

    def meter_named(self, event_name: str) -> ModelMeter | None:
        """The meter that owns `event_name` (active or not), or None."""
        for meter in self.meters:
            if meter.event_name == event_name:
                return meter
        return None

    def add_meter(self, meter: Meter) -> None:
        """Mirror a meter created in meterlib; ``resource_already_exists`` if its name is taken."""
        if self.meter_named(meter.event_name) is not None:
            _fail("resource_already_exists", "event_name")
        self.meters.append(
            ModelMeter(
                id=meter.id,
                event_name=meter.event_name,
                formula=meter.default_aggregation.formula,
                event_time_window=meter.event_time_window,
                customer_key=meter.customer_mapping.event_payload_key,
                value_key=meter.value_settings.event_payload_key,
            )
        )

    def deactivate(self, meter_id: str) -> None:
        """Stop the meter accepting events."""
        self.meter(meter_id).active = False

    def reactivate(self, meter_id: str) -> None:
        """Let the meter accept events again."""
        self.meter(meter_id).active = True

    # --- events ---------------------------------------------------------------------------

    def create_event(
        self,
        *,
        event_name: object,
        payload: object,
        identifier: object = None,
        timestamp: object = None,
    ) -> ModelEvent:
        """Accept an event as ``meter_events.create`` would, or raise its error code.

        Without an identifier the model makes up a fresh one; pass the identifier `Metering`
        generated instead when you mirror an event it accepted.
        """
        now = self.now()
        name = _string(event_name, "event_name")
        meter = self.meter_named(name)
        if meter is None:
            _fail("no_meter", "event_name")
        if not meter.active:
            _fail("archived_meter", "event_name")
        if payload is None:
            _fail("parameter_missing", "payload")
        if not isinstance(payload, Mapping):
            _fail("parameter_invalid_type", "payload")
        kept, value = _read_payload(meter, payload)
        customer = kept.get(meter.customer_key, "")
        if customer.strip() == "":
            _fail("payload_no_customer_defined", f"payload[{meter.customer_key}]")
        if value is None and self._requires_value(meter.formula):
            _fail("payload_no_value_defined", f"payload[{meter.value_key}]")
        if identifier is None:
            identifier = f"model_{uuid.uuid4().hex}"
        ident = _string(identifier, "identifier")
        when = now if timestamp is None else _timestamp(timestamp)
        if when < now - EVENT_MAX_AGE:
            _fail("timestamp_too_far_in_past", "timestamp")
        if when > now + EVENT_MAX_AHEAD:
            _fail("timestamp_in_future", "timestamp")
        earlier = self._latest.get(ident)
        if earlier is not None and now - earlier.created < DAY:
            _fail("duplicate_meter_event", "identifier")
        event = ModelEvent(
            seq=len(self.events),
            meter_id=meter.id,
            event_name=name,
            customer=customer,
            identifier=ident,
            payload=kept,
            value=value,
            timestamp=when,
            created=now,
        )
        self.events.append(event)
        self._latest[ident] = event
        self._survivors_of.clear()
        return event

    def cancel_event(self, *, event_name: object, identifier: object) -> ModelEvent:
        """Cancel the latest event with this identifier as an adjustment would, or raise."""
        now = self.now()
        name = _string(event_name, "event_name")
        ident = _string(identifier, "cancel[identifier]")
        found = self._latest.get(ident)
        if found is None:
            _fail("resource_missing", "cancel[identifier]")
        if found.event_name != name:
            _fail("invalid_cancel_configuration", "event_name")
        if now - found.created >= DAY:
            _fail("invalid_cancel_configuration", "cancel[identifier]")
        if found.cancelled:
            _fail("invalid_cancel_configuration", "cancel[identifier]")
        found.cancelled = True
        self._survivors_of.clear()
        return found

    # --- summaries ------------------------------------------------------------------------

    def summaries(
        self,
        meter_id: str,
        customer: str,
        *,
        start_time: int,
        end_time: int,
        value_grouping_window: str | None = None,
    ) -> list[Decimal]:
        """The aggregated value of each window of ``[start_time, end_time)``, in order.

        Mirrors ``meters.list_event_summaries`` (every window, empty ones as 0) but takes only
        Unix seconds and does not check alignment.
        """
        meter = self.meter(meter_id)
        step = end_time - start_time
        if value_grouping_window is not None:
            step = WINDOW_LENGTH[value_grouping_window]
        windows: list[list[ModelEvent]] = [[] for _ in range(start_time, end_time, step)]
        for event in self._survivors(meter, customer):
            index = (event.timestamp - start_time) // step
            if event.timestamp >= start_time and index < len(windows):
                windows[index].append(event)
        return [self._aggregate(meter.formula, inside) for inside in windows]

    def usage(self, meter_id: str, customer: str, start: int, end: int) -> Decimal:
        """One customer's aggregated usage in ``[start, end)`` (Unix seconds), like ``m.usage``."""
        (value,) = self.summaries(meter_id, customer, start_time=start, end_time=end)
        return value

    def _survivors(self, meter: ModelMeter, customer: str) -> list[ModelEvent]:
        """The customer's live events; one per window (the latest received) if pre-aggregated."""
        known = self._survivors_of.get((meter.id, customer))
        if known is None:
            known = self._survivors_of[meter.id, customer] = self._find_survivors(meter, customer)
        return known

    def _find_survivors(self, meter: ModelMeter, customer: str) -> list[ModelEvent]:
        live = [
            event
            for event in self.events
            if event.meter_id == meter.id and event.customer == customer and not event.cancelled
        ]
        if meter.event_time_window is None:
            return live
        length = WINDOW_LENGTH[meter.event_time_window]
        latest: dict[int, ModelEvent] = {}
        for event in live:  # in order of receipt, so a later event replaces an earlier one
            latest[event.timestamp // length] = event
        return list(latest.values())

    @staticmethod
    def _requires_value(formula: str) -> bool:
        if formula in ("sum", "last"):
            return True
        if formula == "count":
            return False
        registered = get_aggregation(formula)
        return registered is None or registered.requires_value

    @staticmethod
    def _aggregate(formula: str, events: list[ModelEvent]) -> Decimal:
        """Apply a formula to events; an empty list gives 0 for every formula."""
        values = [event.value for event in events if event.value is not None]
        if formula == "count":
            return Decimal(len(events))
        if formula == "sum":
            total = Decimal(0)
            for value in values:
                total = _EXACT.add(total, value)
            return total
        if formula == "last":
            latest = None
            for event in events:
                if event.value is not None and (
                    latest is None or (event.timestamp, event.seq) > (latest.timestamp, latest.seq)
                ):
                    latest = event
            return Decimal(0) if latest is None or latest.value is None else latest.value
        registered = get_aggregation(formula)
        if registered is None:
            _fail("aggregation_missing", "default_aggregation[formula]")
        ordered: Iterable[tuple[int, int, Decimal | None]] = sorted(
            (event.timestamp, event.seq, event.value) for event in events
        )
        return aggregate(registered, ordered)
