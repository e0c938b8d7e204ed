"""The one ingest pipeline: resolve the meter, validate, dedupe, store, and say what happened.

Every way an event comes in (v1 ``create``, ``create_many``, ``record``, and the entry points
that follow them) is an adapter over `Ingest`; no rule is written twice. Rules live in
`meterlib.validation`, storage only stores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from meterlib import validation as rules
from meterlib.aggregation import BUILTIN_FORMULAS, Aggregation
from meterlib.context import Context
from meterlib.errors import InvalidRequestError
from meterlib.model import ItemColumns, Meter, NewEvent, NewEvents, Outcomes
from meterlib.storage.base import MeterInactive

_tuple_new = tuple.__new__

Accepting = dict[str, tuple[Meter, Aggregation[Any]]]
"""Event names mapped to the active meter and aggregation that accept their events."""
Outcome = NewEvent | InvalidRequestError
"""What became of one event: stored as this `NewEvent`, or rejected with this error."""


class Batch(NamedTuple):
    """What became of a batch: one outcome per item, and the items that broke a rule."""

    outcomes: Outcomes
    invalid: list[int]
    """Indexes of the items rejected by a rule (not the duplicates), in order."""


class Ingest:
    """Events in, stored events (or errors) out, for one `Context`.

    >>> from meterlib import Metering
    >>> m = Metering()
    >>> _ = m.meters.create(display_name="API", event_name="api",
    ...                     default_aggregation={"formula": "count"})
    >>> ingest = Ingest(m.context)
    >>> ingest.record("api", customer="cus_1").customer
    'cus_1'
    >>> [type(outcome).__name__ for outcome in ingest.create_many([{"event_name": "nope"}])]
    ['InvalidRequestError']
    """

    def __init__(self, context: Context) -> None:
        self._context = context
        self._kept: Accepting = {}
        """Meters of built-in formulas found to accept events, kept between calls while
        `Storage.meters_generation` stays `_kept_generation` (built-ins are never replaced)."""
        self._kept_generation: int | None = None

    @property
    def preferred_batch(self) -> int:
        """Events a batch best holds on this storage (`Storage.preferred_batch`)."""
        return self._context.storage.preferred_batch

    def create(
        self,
        event_name: object,
        payload: object,
        identifier: object,
        timestamp: object,
        accepting: Accepting | None = None,
    ) -> NewEvent:
        """Store one event, or raise the first rule it breaks (nothing stored).

        `accepting` holds meters the caller already found to accept their event names.
        """
        context = self._context
        with context.lock:
            now = context.now()
            known = None  # `_accepting_meter`'s first look, without its call: the hot path
            if (
                type(event_name) is str
                and context.storage.meters_generation == self._kept_generation
            ):
                known = self._kept.get(event_name)
            if known is None:
                known = self._accepting_meter(event_name, accepting)
            meter, aggregation = known
            fields = rules.common_fields(meter, payload, identifier, timestamp, now)
            if fields is None:  # not the common shape: every rule, one by one
                event = rules.validate_event(
                    meter,
                    aggregation,
                    payload=payload,
                    identifier=identifier,
                    timestamp=timestamp,
                    now=now,
                )
            else:  # `validation.common_event`, without its call: the hot path
                customer, value, _, when = fields
                event = _tuple_new(
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
                )
            cutoff = now - rules.IDENTIFIER_WINDOW  # an identifier received after it is taken
            try:
                seq = context.storage.add_event(event, duplicate_after=cutoff)
            except MeterInactive:  # storage's kept copy of the meter went stale
                seq = self._store_again(event, cutoff)
            if seq is None:  # the identifier was received less than 24 hours ago
                rules.duplicate_identifier(event.identifier)
        return event

    def record(
        self,
        event_name: object,
        *,
        customer: object,
        value: object = None,
        timestamp: object = None,
        identifier: object = None,
    ) -> NewEvent:
        """`create` with the payload built from the meter's own customer and value keys."""
        with self._context.lock:
            accepting: Accepting = {}
            meter, _ = self._accepting_meter(event_name, accepting)
            payload: dict[str, object] = {meter.customer_mapping.event_payload_key: customer}
            if value is not None:
                payload[meter.value_settings.event_payload_key] = value
            return self.create(meter.event_name, payload, identifier, timestamp, accepting)

    def create_many(self, events: object) -> Outcomes:
        """Judge each item of a batch on its own; store the accepted ones in one storage call.

        Each item holds ``create``'s arguments as a mapping. One outcome per item, in order;
        an identifier repeated within the batch is a duplicate of the earlier item.
        """
        return self.create_batch(events).outcomes

    def create_batch(self, events: object) -> Batch:
        """`create_many`, and which items broke a rule (duplicates aside), for error reports."""
        items = rules.validate_batch(events)
        invalid: list[int] = []
        errors: dict[int, InvalidRequestError] = {}
        accepting: Accepting = {}
        common_items: Callable[[Any, int, Accepting, NewEvents], int] = (
            rules.common_columns if type(items) is ItemColumns else rules.common_items
        )
        count = len(items)
        context = self._context
        with context.lock:
            now = context.now()
            accepted = NewEvents(now)
            index = common_items(items, 0, accepting, accepted)
            while index < count:  # the item's first event name, or not the common shape
                try:
                    arguments = rules.event_arguments(items[index], index)
                    event = self._validate(*arguments, now=now, accepting=accepting)
                except InvalidRequestError as error:
                    invalid.append(index)
                    errors[index] = error
                else:
                    accepted.append(event)
                index = common_items(items, index + 1, accepting, accepted)
            outcomes = Outcomes(count, accepted, errors=errors, absent=invalid)
            stored = self._store_batch(outcomes, now)
        if None in stored:
            _reject_duplicates(outcomes, stored)
        return Batch(outcomes, invalid)

    def cancel(self, event_name: object, type: object, cancel: object) -> tuple[str, str]:
        """Cancel the event an adjustment names; its event name and identifier.

        Raises what `validation.check_cancellable` raises, and changes nothing then.
        """
        name, identifier = rules.validate_cancel_params(event_name, type, cancel)
        context = self._context
        with context.lock:
            now = context.now()
            record = context.storage.find_event(identifier)
            rules.check_cancellable(
                identifier=identifier,
                event_name=name,
                found_event_name=None if record is None else record.event_name,
                received=None if record is None else record.created,
                cancelled=record is not None and record.cancelled,
                now=now,
            )
            assert record is not None
            if not context.storage.cancel_event(record.seq):  # cancelled since: say so
                rules.check_cancellable(
                    identifier=identifier,
                    event_name=name,
                    found_event_name=record.event_name,
                    received=record.created,
                    cancelled=True,
                    now=now,
                )
        return name, identifier

    def _store_again(self, event: NewEvent, cutoff: int) -> int | None:
        """`Storage.add_event` after storage refused it (`MeterInactive`), with the meter fresh.

        The meter came from `Storage.cached_meter_by_event_name`, which may be a copy kept
        from before another process deactivated it. Read fresh: still inactive,
        ``archived_meter``; reactivated since, the event is stored after all (refused again,
        the meter is taken as inactive).
        """
        storage = self._context.storage
        self._kept.pop(event.event_name, None)
        for _ in range(_STORE_ATTEMPTS - 1):
            fresh = storage.get_meter_by_event_name(event.event_name)
            rules.check_meter_accepts_events(fresh, event.event_name)
            try:
                return storage.add_event(event, duplicate_after=cutoff)
            except MeterInactive:
                pass
        rules.meter_inactive(event.meter_id, event.event_name)

    def _store_batch(self, outcomes: Outcomes, now: int) -> Sequence[int | None]:
        """`Storage.add_events`; events of meters found no longer active become their errors.

        As in `_store_again`: storage that refused the batch (`MeterInactive`, nothing stored) names
        the meters; each is read fresh, the events of those still inactive (or refused twice)
        turn into ``archived_meter`` outcomes and join the absent items, and the rest is stored
        again. Each round drops a meter or counts one of its refusals, so the rounds are bounded.
        """
        storage = self._context.storage
        cutoff = now - rules.IDENTIFIER_WINDOW
        refusals: Counter[str] | None = None  # made on a first refusal: most batches have none
        while True:
            accepted = outcomes.events
            try:
                return storage.add_events(accepted, duplicate_after=cutoff)
            except MeterInactive as refused:
                if refused.meter_ids.isdisjoint(accepted.meter_ids):
                    raise  # not about this batch's meters: a storage fault, not a rule
                refusals = Counter() if refusals is None else refusals
                refusals.update(refused.meter_ids)
                inactive = {
                    meter_id
                    for meter_id in refused.meter_ids
                    if refusals[meter_id] >= _STORE_ATTEMPTS
                    or not _accepts(storage.get_meter(meter_id))
                }
                kept = NewEvents(accepted.created)
                for index, event in zip(outcomes.stored_indexes(), accepted, strict=True):
                    if event.meter_id not in inactive:
                        kept.append(event)
                        continue
                    try:
                        rules.meter_inactive(event.meter_id, event.event_name)
                    except InvalidRequestError as error:
                        outcomes.errors[index] = error
                        outcomes.absent.append(index)
                outcomes.absent.sort()
                outcomes.events = kept

    def _accepting_meter(
        self, event_name: object, accepting: Accepting | None
    ) -> tuple[Meter, Aggregation[Any]]:
        """`_resolve`, through the meters kept between calls while storage's stay unchanged."""
        generation = self._context.storage.meters_generation
        if generation != self._kept_generation:
            self._kept, self._kept_generation = {}, generation
        known = self._kept.get(event_name) if type(event_name) is str else None
        if known is None:
            known = self._resolve(event_name, accepting)
            meter = known[0]
            if generation is not None and meter.default_aggregation.formula in BUILTIN_FORMULAS:
                self._kept[meter.event_name] = known
        return known

    def _resolve(self, event_name: object, accepting: Accepting | None) -> tuple[Meter, Any]:
        """The active meter (and its aggregation) that accepts `event_name`, or its rule's error.

        `accepting` caches, across a batch, the meters found to accept an event name. The
        meter may be storage's kept copy (`Storage.cached_meter_by_event_name`): storage
        refuses the write if it was deactivated since, and `_store_again` reads it again.
        """
        if accepting is not None and type(event_name) is str:
            known = accepting.get(event_name)
            if known is not None:
                return known
        lookup = self._context.storage.cached_meter_by_event_name
        meter = lookup(event_name) if rules.is_plain_name(event_name) else None
        if meter is None:  # a found meter's name was valid when it was created; else check it
            name = rules.validate_event_name(event_name)
            meter = lookup(name)
        else:
            name = meter.event_name
        meter = rules.check_meter_accepts_events(meter, name)
        known = meter, rules.aggregation_for(meter)
        if accepting is not None:
            accepting[name] = known
        return known

    def _validate(
        self,
        event_name: object,
        payload: object,
        identifier: object,
        timestamp: object,
        *,
        now: int,
        accepting: Accepting | None,
    ) -> NewEvent:
        """Every rule but the identifier's uniqueness, which storage checks as it stores."""
        meter, aggregation = self._resolve(event_name, accepting)
        event = rules.common_event(meter, payload, identifier, timestamp, now)
        if event is None:  # not the common shape: every rule, one by one
            event = rules.validate_event(
                meter,
                aggregation,
                payload=payload,
                identifier=identifier,
                timestamp=timestamp,
                now=now,
            )
        return event


_STORE_ATTEMPTS = 2
"""Writes tried before a meter that storage keeps finding inactive is taken as inactive."""


def _accepts(meter: Meter | None) -> bool:
    """Whether `meter` (read fresh) exists and is active."""
    return meter is not None and meter.status == "active"


def _reject_duplicates(outcomes: Outcomes, stored: Sequence[int | None]) -> None:
    """Turn the outcomes of events storage found duplicate (None) into their errors."""
    identifiers = outcomes.events.identifiers
    for index, identifier, seq in zip(outcomes.stored_indexes(), identifiers, stored, strict=True):
        if seq is None:
            outcomes.errors[index] = rules.duplicate_error(identifier)
