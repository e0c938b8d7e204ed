"""The `Metering` facade: Stripe's meter resources as plain Python services over a storage."""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import attrs

from meterlib import validation as rules
from meterlib.aggregation import Aggregation
from meterlib.errors import ConfigurationError, InvalidRequestError, describe
from meterlib.model import (
    CancelSettings,
    ListObject,
    Meter,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventResults,
    MeterEventSummary,
    NewEvent,
    StatusTransitions,
    accepted_event,
    window_summaries,
)
from meterlib.storage import Storage, SummaryQuery, storage_from_url
from meterlib.timeutil import Clock, SystemClock, now_seconds

T = TypeVar("T", Meter, MeterEventSummary)
_WINDOW_START_HEX = re.compile(r"0|[1-9a-f][0-9a-f]{0,15}", re.ASCII)
"""How a summary id spells its window's start: `format(start, "x")` of a start in 0..2**64."""
_Accepting = dict[str, tuple[Meter, Aggregation[Any]]]
"""Event names mapped to the active meter and aggregation that accept their events."""


class Metering:
    """Usage metering with Stripe Billing Meter semantics, in your process.

    >>> from datetime import datetime, timezone
    >>> from meterlib import ManualClock
    >>> m = Metering(clock=ManualClock(datetime(2026, 3, 10, tzinfo=timezone.utc)))
    >>> meter = m.meters.create(display_name="Search API Calls", event_name="ai_search_api",
    ...                         default_aggregation={"formula": "sum"})
    >>> _ = m.record("ai_search_api", customer="cus_1", value="25")
    >>> m.usage(meter.id, "cus_1", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")
    Decimal('25')

    A `Metering` is safe to share between threads; use it as a context manager to close it.

    Args:
        storage: a storage URL (``"memory://"``, ``"sqlite:///usage.db"``) or a `Storage`.
        clock: anything with ``now()``; every time rule reads it. Defaults to the system clock.
        livemode: the ``livemode`` flag every object carries.

    """

    def __init__(
        self,
        storage: str | Storage = "memory://",
        *,
        clock: Clock | None = None,
        livemode: bool = False,
    ) -> None:
        if clock is not None and not isinstance(clock, Clock):
            raise ConfigurationError(
                "clock must have a now() method returning an aware datetime; "
                f"got {describe(clock)}",
                code="clock_invalid",
                param="clock",
            )
        if not isinstance(livemode, bool):
            raise ConfigurationError(
                f"livemode must be True or False; got {describe(livemode)}",
                code="parameter_invalid_type",
                param="livemode",
            )
        self.storage = storage if isinstance(storage, Storage) else storage_from_url(storage)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.livemode = livemode
        self._lock = threading.RLock()
        self.meters = Meters(self)
        self.meter_events = MeterEvents(self)
        self.meter_event_adjustments = MeterEventAdjustments(self)

    def _now(self) -> int:
        return now_seconds(self.clock)

    def _id(self, prefix: str, entropy: str) -> str:
        return f"{prefix}_{'' if self.livemode else 'test_'}{entropy}"

    def record(
        self,
        event_name: str,
        *,
        customer: str,
        value: object = None,
        timestamp: object = None,
        identifier: str | None = None,
    ) -> MeterEvent:
        """Record usage without knowing the meter's payload keys.

        >>> # m.record("ai_search_api", customer="cus_1", value=3)
        """
        with self._lock:
            name = rules.validate_event_name(event_name)
            meter = rules.check_meter_accepts_events(
                self.storage.get_meter_by_event_name(name), name
            )
            payload: dict[str, object] = {meter.customer_mapping.event_payload_key: customer}
            if value is not None:
                payload[meter.value_settings.event_payload_key] = value
            return self.meter_events._create(
                name,
                payload,
                identifier,
                timestamp,
                accepting={name: (meter, rules.aggregation_for(meter))},
            )

    def usage(self, meter_id: str, customer: str, start: object, end: object) -> Decimal:
        """The aggregated value of one customer's usage in ``[start, end)``, to the second."""
        with self._lock:
            meter = self.meters.retrieve(meter_id)
            who = rules.validate_customer(customer)
            begin, finish = rules.validate_usage_range(start, end)
            (value,) = self.storage.summarize(
                SummaryQuery(meter=meter, customer=who, start=begin, step=finish - begin, count=1),
                rules.aggregation_for(meter),
            )
            return value

    def usage_series(
        self,
        meter_id: str,
        customer: str,
        start_time: object,
        end_time: object,
        *,
        value_grouping_window: str | None = None,
    ) -> list[tuple[int, Decimal]]:
        """Every window's value in one call: ``(window_start, value)`` pairs for a chart.

        The same windows and values ``meters.list_event_summaries`` pages through, with the same
        rules and errors, without summary objects or pages: 720 hourly values cost about what a
        single page of summaries does.

        >>> # m.usage_series(meter.id, "cus_1", day_start, day_end, value_grouping_window="hour")
        >>> # [(1773100800, Decimal('25')), (1773104400, Decimal('0')), ...]
        """
        query = rules.validate_summary_params(
            customer=customer,
            start_time=start_time,
            end_time=end_time,
            value_grouping_window=value_grouping_window,
        )
        count = rules.check_series_length(query)
        with self._lock:
            meter = self.meters.retrieve(meter_id)
            values = self.storage.summarize(
                SummaryQuery(
                    meter=meter,
                    customer=query.customer,
                    start=query.start_time,
                    step=query.window,
                    count=count,
                ),
                rules.aggregation_for(meter),
            )
        starts = range(query.start_time, query.end_time, query.window)
        return list(zip(starts, values, strict=False))

    def close(self) -> None:
        """Close the storage; the instance is unusable afterwards."""
        with self._lock:
            self.storage.close()

    def __enter__(self) -> Metering:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _page(
    found: tuple[Sequence[T], bool] | None,
    *,
    starting_after: str | None,
    ending_before: str | None,
    url: str,
    fetch: Callable[[str | None, str | None], ListObject[T]],
) -> ListObject[T]:
    """The list object of a storage page (in list order, with its has_more) and its next page.

    None from storage means the cursor is not in the list: ``resource_missing`` on its param.
    """
    if found is None:
        if starting_after is not None:
            rules.cursor_missing(starting_after, "starting_after")
        rules.cursor_missing(str(ending_before), "ending_before")
    items, has_more = found
    if ending_before is not None:
        return ListObject(
            data=tuple(items),
            has_more=has_more,
            url=url,
            next_page=lambda page: fetch(None, page.data[0].id),
            backward=True,
        )
    return ListObject(
        data=tuple(items),
        has_more=has_more,
        url=url,
        next_page=lambda page: fetch(page.data[-1].id, None),
    )


class Meters:
    """``m.meters``: create, retrieve, update, deactivate, reactivate, list, summaries."""

    def __init__(self, metering: Metering) -> None:
        self._m = metering

    def create(
        self,
        *,
        display_name: str,
        event_name: str,
        default_aggregation: Mapping[str, str] | Any,
        customer_mapping: Mapping[str, str] | Any = None,
        value_settings: Mapping[str, str] | Any = None,
        event_time_window: str | None = None,
    ) -> Meter:
        """Create a meter; its event name is reserved for it for ever.

        >>> # m.meters.create(display_name="Search", event_name="search",
        >>> #                 default_aggregation={"formula": "sum"})
        """
        params = rules.validate_meter_params(
            display_name=display_name,
            event_name=event_name,
            default_aggregation=default_aggregation,
            customer_mapping=customer_mapping,
            value_settings=value_settings,
            event_time_window=event_time_window,
        )
        with self._m._lock:
            now = self._m._now()
            meter = Meter(
                id=self._m._id("mtr", uuid.uuid4().hex[:24]),
                created=now,
                updated=now,
                display_name=params.display_name,
                event_name=params.event_name,
                default_aggregation=params.default_aggregation,
                customer_mapping=params.customer_mapping,
                value_settings=params.value_settings,
                event_time_window=params.event_time_window,
                status="active",
                status_transitions=StatusTransitions(),
                livemode=self._m.livemode,
            )
            if not self._m.storage.add_meter(meter):
                rules.event_name_taken(params.event_name)
            return meter

    def retrieve(self, id: str) -> Meter:
        """The meter with this id; ``resource_missing`` if there is none."""
        meter_id = rules.validate_meter_id(id)
        with self._m._lock:
            meter = self._m.storage.get_meter(meter_id)
        if meter is None:
            rules.meter_missing(meter_id)
        return meter

    def _change(self, id: str, change: Callable[[Meter, int], Meter | None]) -> Meter:
        with self._m._lock:
            meter = self.retrieve(id)
            changed = change(meter, self._m._now())
            if changed is None:
                return meter
            self._m.storage.replace_meter(changed)
            return changed

    def update(self, id: str, *, display_name: str | None = None) -> Meter:
        """Rename a meter: ``display_name`` is the only field that can change."""
        name = None if display_name is None else rules.validate_display_name(display_name)
        return self._change(
            id,
            lambda meter, now: (
                None if name is None else attrs.evolve(meter, display_name=name, updated=now)
            ),
        )

    def deactivate(self, id: str) -> Meter:
        """Stop accepting events (``archived_meter``); data and summaries stay."""
        return self._change(
            id,
            lambda meter, now: (
                None
                if meter.status == "inactive"
                else attrs.evolve(
                    meter,
                    status="inactive",
                    status_transitions=StatusTransitions(deactivated_at=now),
                    updated=now,
                )
            ),
        )

    def reactivate(self, id: str) -> Meter:
        """Accept events again; ``deactivated_at`` returns to None."""
        return self._change(
            id,
            lambda meter, now: (
                None
                if meter.status == "active"
                else attrs.evolve(
                    meter, status="active", status_transitions=StatusTransitions(), updated=now
                )
            ),
        )

    def list(
        self,
        *,
        status: str | None = None,
        limit: int = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> ListObject[Meter]:
        """Meters newest first, optionally only ``active`` or ``inactive`` ones."""
        wanted = rules.validate_status_filter(status)
        size, after, before = rules.validate_page_params(limit, starting_after, ending_before)
        with self._m._lock:
            found = self._m.storage.list_meters(
                status=wanted, limit=size, starting_after=after, ending_before=before
            )
        return _page(
            found,
            starting_after=after,
            ending_before=before,
            url="/v1/billing/meters",
            fetch=lambda a, b: self.list(
                status=wanted, limit=size, starting_after=a, ending_before=b
            ),
        )

    def list_event_summaries(
        self,
        id: str,
        *,
        customer: str,
        start_time: object,
        end_time: object,
        value_grouping_window: str | None = None,
        limit: int = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> ListObject[MeterEventSummary]:
        """One customer's usage in ``[start_time, end_time)``, one summary per window.

        >>> # m.meters.list_event_summaries(meter.id, customer="cus_1",
        >>> #     start_time=day_start, end_time=day_end, value_grouping_window="hour")
        """
        query = rules.validate_summary_params(
            customer=customer,
            start_time=start_time,
            end_time=end_time,
            value_grouping_window=value_grouping_window,
        )
        size, after, before = rules.validate_page_params(limit, starting_after, ending_before)
        with self._m._lock:
            meter = self.retrieve(id)
            total = rules.window_count(query)
            if after is not None:
                first = self._window_index(meter, query, after, "starting_after") + 1
                stop = min(total, first + size)
            elif before is not None:
                stop = self._window_index(meter, query, before, "ending_before")
                first = max(0, stop - size)
            else:
                first, stop = 0, min(total, size)
            start = query.start_time + first * query.window
            values = (
                self._m.storage.summarize(
                    SummaryQuery(
                        meter=meter,
                        customer=query.customer,
                        start=start,
                        step=query.window,
                        count=stop - first,
                    ),
                    rules.aggregation_for(meter),
                )
                if stop > first
                else []
            )
        prefix = self._summary_id_prefix(meter, query.customer, query.window)
        return ListObject(
            data=window_summaries(
                prefix, meter.id, start, query.window, values, livemode=self._m.livemode
            ),
            has_more=first > 0 if before is not None else stop < total,
            url=f"/v1/billing/meters/{meter.id}/event_summaries",
            next_page=lambda page: self.list_event_summaries(
                meter.id,
                customer=query.customer,
                start_time=query.start_time,
                end_time=query.end_time,
                value_grouping_window=value_grouping_window,
                limit=size,
                starting_after=None if before is not None else page.data[-1].id,
                ending_before=page.data[0].id if before is not None else None,
            ),
            backward=before is not None,
        )

    def _summary_id_prefix(self, meter: Meter, customer: str, step: int) -> str:
        """Summary ids are this prefix plus the window start in hex: deterministic, decodable."""
        digest = hashlib.blake2b(
            f"{meter.id}\x00{customer}\x00{step}".encode(), digest_size=8
        ).hexdigest()
        return self._m._id("mtrusg", digest)

    def _window_index(
        self, meter: Meter, query: rules.SummaryParams, cursor: str, param: str
    ) -> int:
        """The index of the window a summary id names within this query, or resource_missing."""
        prefix = self._summary_id_prefix(meter, query.customer, query.window)
        start_hex = cursor.removeprefix(prefix) if cursor.startswith(prefix) else ""
        # only the canonical spelling an id is made with: lowercase hex without leading zeros
        start = int(start_hex, 16) if _WINDOW_START_HEX.fullmatch(start_hex) else -1
        index, offset = divmod(start - query.start_time, query.window)
        if offset or not 0 <= index < rules.window_count(query):
            rules.cursor_missing(cursor, param, "summary in this range")
        return index


class MeterEvents:
    """``m.meter_events``: record usage events."""

    def __init__(self, metering: Metering) -> None:
        self._m = metering

    def create(
        self,
        *,
        event_name: str,
        payload: Mapping[str, object],
        identifier: str | None = None,
        timestamp: object = None,
    ) -> MeterEvent:
        """Record one event; every rule is checked before anything is stored.

        >>> # m.meter_events.create(event_name="ai_search_api",
        >>> #     payload={"stripe_customer_id": "cus_1", "value": "25"})
        """
        return self._create(event_name, payload, identifier, timestamp)

    def _create(
        self,
        event_name: object,
        payload: object,
        identifier: object,
        timestamp: object,
        *,
        accepting: _Accepting | None = None,
    ) -> MeterEvent:
        """`create`, with meters the caller already checked (see `_validate`)."""
        metering = self._m
        with metering._lock:
            now = now_seconds(metering.clock)
            event = self._validate(
                event_name, payload, identifier, timestamp, now=now, accepting=accepting
            )
            cutoff = rules.duplicate_cutoff(now)
            if metering.storage.add_event(event, duplicate_after=cutoff) is None:
                rules.duplicate_identifier(event.identifier)
        return accepted_event(event, metering.livemode)

    def create_many(self, events: Iterable[Mapping[str, Any]]) -> MeterEventResults:
        """Record a batch: each event is accepted or rejected on its own, never half-stored.

        Each item holds ``create``'s keyword arguments. The accepted events are stored in one
        storage call (one transaction on SQL backends). Returns one result per item, in order.

        >>> # results = m.meter_events.create_many([{"event_name": "api", "payload": {...}}])
        >>> # rejected = [(r.index, r.error.code) for r in results.errors]
        """
        items = rules.validate_batch(events)
        outcomes: list[NewEvent | InvalidRequestError] = []
        valid: list[NewEvent] = []
        accepting: _Accepting = {}
        common_item = rules.common_item
        with self._m._lock:
            now = self._m._now()
            for index, item in enumerate(items):
                event = common_item(item, accepting, now)
                if event is None:  # the item's first event name, or not the common shape
                    try:
                        arguments = rules.event_arguments(item, index)
                        event = self._validate(*arguments, now=now, accepting=accepting)
                    except InvalidRequestError as error:
                        outcomes.append(error)
                        continue
                outcomes.append(event)
                valid.append(event)
            stored = self._m.storage.add_events(valid, duplicate_after=rules.duplicate_cutoff(now))
        if None in stored:
            seqs = iter(stored)
            for index, outcome in enumerate(outcomes):
                if type(outcome) is NewEvent and next(seqs) is None:
                    try:
                        rules.duplicate_identifier(outcome.identifier)
                    except InvalidRequestError as error:
                        outcomes[index] = error
        return MeterEventResults(outcomes, livemode=self._m.livemode)

    def _validate(
        self,
        event_name: object,
        payload: object,
        identifier: object,
        timestamp: object,
        *,
        now: int,
        accepting: _Accepting | None = None,
    ) -> NewEvent:
        """Every rule but the identifier's.

        `accepting` caches, across a batch, the meters found to accept an event name.
        """
        known = None
        if rules.is_plain_name(event_name):  # safe to look up; a meter's name is valid
            known = None if accepting is None else accepting.get(event_name)
            if known is None:
                meter = self._m.storage.get_meter_by_event_name(event_name)
                if meter is not None and meter.status == "active":
                    known = meter, rules.aggregation_for(meter)
                    if accepting is not None:
                        accepting[event_name] = known
        if known is None:  # every rule in order, for the precise error
            name = rules.validate_event_name(event_name)
            meter = rules.check_meter_accepts_events(
                self._m.storage.get_meter_by_event_name(name), name
            )
            known = meter, rules.aggregation_for(meter)
        meter, aggregation = known
        return rules.validate_event(
            meter,
            aggregation,
            payload=payload,
            identifier=identifier,
            timestamp=timestamp,
            now=now,
        )


class MeterEventAdjustments:
    """``m.meter_event_adjustments``: cancel events received in the last 24 hours."""

    def __init__(self, metering: Metering) -> None:
        self._m = metering

    def create(
        self,
        *,
        event_name: str,
        type: str,
        cancel: Mapping[str, str] | CancelSettings | None = None,
    ) -> MeterEventAdjustment:
        """Cancel one event by identifier; it leaves every summary at once.

        >>> # m.meter_event_adjustments.create(event_name="ai_search_api", type="cancel",
        >>> #     cancel={"identifier": "req_123"})
        """
        name, identifier = rules.validate_cancel_params(event_name, type, cancel)
        with self._m._lock:
            now = self._m._now()
            record = self._m.storage.find_event(identifier)
            rules.check_cancellable(
                identifier=identifier,
                event_name=name,
                found_event_name=None if record is None else record.event_name,
                received=None if record is None else record.created,
                cancelled=record is not None and record.cancelled,
                now=now,
            )
            assert record is not None
            if not self._m.storage.cancel_event(record.seq):
                rules.check_cancellable(
                    identifier=identifier,
                    event_name=name,
                    found_event_name=record.event_name,
                    received=record.created,
                    cancelled=True,
                    now=now,
                )
        return MeterEventAdjustment(
            event_name=name,
            type="cancel",
            cancel=CancelSettings(identifier=identifier),
            status="complete",
            livemode=self._m.livemode,
        )
