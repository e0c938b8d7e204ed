"""Stripe-shaped value objects: frozen, no I/O, attribute names as in Stripe's v1 API.

Timestamps are integer Unix seconds; values are `decimal.Decimal`. ``to_dict()`` gives Stripe's
v1 JSON shape, where numbers become JSON numbers only at that boundary.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from itertools import repeat
from types import MappingProxyType
from typing import Any, Generic, Literal, NamedTuple, Protocol, TypeVar, overload

import attrs

from meterlib.errors import InvalidRequestError
from meterlib.model import display

Formula = str
"""A formula name: ``"sum"``, ``"count"``, ``"last"`` or one registered by the user."""
EventTimeWindow = Literal["hour", "day"]
MeterStatus = Literal["active", "inactive"]


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only view; a copy unless it is already one (meterlib's own, never mutated)."""
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class CustomerMapping:
    """Which payload key holds the customer id (``type`` is always ``"by_id"``)."""

    event_payload_key: str = "stripe_customer_id"
    type: Literal["by_id"] = "by_id"


@attrs.frozen(kw_only=True)
class AggregationSettings:
    """The meter's formula."""

    formula: Formula


@attrs.frozen(kw_only=True)
class ValueSettings:
    """Which payload key holds the numeric value."""

    event_payload_key: str = "value"


@attrs.frozen(kw_only=True)
class StatusTransitions:
    """When the meter was last deactivated (``None`` while active)."""

    deactivated_at: int | None = None


@attrs.frozen(kw_only=True)
class Meter:
    """A ``billing.meter``: how events named `event_name` aggregate into usage."""

    id: str
    created: int
    updated: int
    display_name: str
    event_name: str
    default_aggregation: AggregationSettings
    customer_mapping: CustomerMapping
    value_settings: ValueSettings
    event_time_window: EventTimeWindow | None
    status: MeterStatus
    status_transitions: StatusTransitions
    livemode: bool
    object: Literal["billing.meter"] = "billing.meter"

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v1 JSON shape of this meter."""
        return attrs.asdict(self, recurse=True)

    def __repr__(self) -> str:
        return (
            f"Meter({self.id}, {self.display_name!r}, {self.default_aggregation.formula} of "
            f"{self.event_name!r}, {display.window_text(self.event_time_window)}, {self.status})"
        )

    def _repr_html_(self) -> str:
        """A one-row table, as Jupyter shows the meter."""
        return display.table(display.METER_COLUMNS, [display.meter_row(self)])


@attrs.frozen(kw_only=True)
class MeterEvent:
    """A ``billing.meter_event`` as accepted: the payload keeps the strings given."""

    event_name: str
    identifier: str
    payload: Mapping[str, str] = attrs.field(converter=_frozen_mapping)
    timestamp: int
    created: int
    livemode: bool
    object: Literal["billing.meter_event"] = "billing.meter_event"

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v1 JSON shape of this event."""
        return {
            "object": self.object,
            "created": self.created,
            "event_name": self.event_name,
            "identifier": self.identifier,
            "livemode": self.livemode,
            "payload": dict(self.payload),
            "timestamp": self.timestamp,
        }

    def __repr__(self) -> str:
        return (
            f"MeterEvent({self.event_name!r}, {self.identifier!r}, "
            f"{display.utc_text(self.timestamp)}, {dict(self.payload)!r})"
        )


@attrs.frozen(kw_only=True)
class CancelSettings:
    """The identifier of the event an adjustment cancels."""

    identifier: str | None


@attrs.frozen(kw_only=True)
class MeterEventAdjustment:
    """A ``billing.meter_event_adjustment``; in process it is applied at once (``complete``)."""

    event_name: str
    type: Literal["cancel"]
    cancel: CancelSettings | None
    status: Literal["complete", "pending"]
    livemode: bool
    object: Literal["billing.meter_event_adjustment"] = "billing.meter_event_adjustment"

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v1 JSON shape of this adjustment."""
        return attrs.asdict(self, recurse=True)

    def __repr__(self) -> str:
        target = None if self.cancel is None else self.cancel.identifier
        return f"MeterEventAdjustment({self.type} {target!r} of {self.event_name!r}, {self.status})"


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: an int when integral, else the nearest float."""
    return int(value) if value == value.to_integral_value() else float(value)


@attrs.frozen(kw_only=True)
class MeterEventSummary:
    """A ``billing.meter_event_summary``: one meter, one customer, ``[start_time, end_time)``."""

    id: str
    meter: str
    start_time: int
    end_time: int
    aggregated_value: Decimal
    livemode: bool
    object: Literal["billing.meter_event_summary"] = "billing.meter_event_summary"

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v1 JSON shape; ``aggregated_value`` becomes a JSON number."""
        return {
            "id": self.id,
            "object": self.object,
            "aggregated_value": json_number(self.aggregated_value),
            "end_time": self.end_time,
            "livemode": self.livemode,
            "meter": self.meter,
            "start_time": self.start_time,
        }

    def __repr__(self) -> str:
        return (
            f"MeterEventSummary({display.utc_text(self.start_time)} to "
            f"{display.utc_text(self.end_time)}: {display.value_text(self.aggregated_value)})"
        )


class NewEvent(NamedTuple):
    """An event that passed every rule, as the core hands it to storage.

    A named tuple rather than an attrs class: it is built once per ingested event and never
    leaves meterlib, so it is kept as cheap as Python allows.
    """

    meter_id: str
    event_name: str
    customer: str
    identifier: str
    timestamp: int
    created: int
    value: Decimal | None
    payload: dict[str, str]


class NewEvents(Sequence[NewEvent]):
    """A batch's accepted events as columns, all received at `created`; a `NewEvent` sequence.

    The ingest pipeline appends to the columns (no object per event); `Storage.add_events`
    may read them directly (the memory store does), or read the events, which are built at
    the first read and kept. A payload of exactly its meter's customer key and then value key,
    both strings, is kept as its raw value string, and rebuilt from `payload_keys` when read:
    no copy per event, and no dict the caller could change afterwards.

    >>> events = NewEvents(created=100)
    >>> events.append(NewEvent("mtr_1", "api", "cus_1", "req_1", 90, 100, None, {}))
    >>> len(events), events[0].identifier, events.customers
    (1, 'req_1', ['cus_1'])
    """

    __slots__ = (
        "_events",
        "created",
        "customers",
        "event_names",
        "identifiers",
        "meter_ids",
        "payload_keys",
        "payloads",
        "timestamps",
        "values",
    )

    def __init__(self, created: int) -> None:
        self.created = created
        self.meter_ids: list[str] = []
        self.event_names: list[str] = []
        self.customers: list[str] = []
        self.identifiers: list[str] = []
        self.timestamps: list[int] = []
        self.values: list[Decimal | None] = []
        self.payloads: list[dict[str, str] | str] = []
        """Each event's payload, or (see above) the raw value string of a two-key payload."""
        self.payload_keys: dict[str, tuple[str, str]] = {}
        """The customer and value keys of the meters whose payloads `payloads` holds as str."""
        self._events: list[NewEvent] = []

    @classmethod
    def of(cls, events: Iterable[NewEvent], created: int) -> NewEvents:
        """The columns of `events`, each received at `created`. O(k)."""
        columns = cls(created)
        for event in events:
            columns.append(event)
        return columns

    def append(self, event: NewEvent) -> None:
        """Add one event at the end; it must have been received at `created`. O(1)."""
        if event.created != self.created:
            raise ValueError(f"the batch's events are received at {self.created}")
        self.meter_ids.append(event.meter_id)
        self.event_names.append(event.event_name)
        self.customers.append(event.customer)
        self.identifiers.append(event.identifier)
        self.timestamps.append(event.timestamp)
        self.values.append(event.value)
        self.payloads.append(event.payload)

    def _built(self) -> list[NewEvent]:
        events = self._events
        if len(events) != len(self.identifiers):  # built in C: no Python frame per event
            events[:] = map(
                _tuple_new,
                repeat(NewEvent),
                zip(
                    self.meter_ids,
                    self.event_names,
                    self.customers,
                    self.identifiers,
                    self.timestamps,
                    repeat(self.created),
                    self.values,
                    self._payload_dicts(),
                ),
            )
        return events

    def _payload_dicts(self) -> list[dict[str, str]]:
        payloads: list[dict[str, str]] = []
        keys_of = self.payload_keys
        for meter_id, customer, payload in zip(
            self.meter_ids, self.customers, self.payloads, strict=True
        ):
            if isinstance(payload, str):
                customer_key, value_key = keys_of[meter_id]
                payloads.append({customer_key: customer, value_key: payload})
            else:
                payloads.append(payload)
        return payloads

    def __len__(self) -> int:
        return len(self.identifiers)

    @overload
    def __getitem__(self, index: int) -> NewEvent: ...

    @overload
    def __getitem__(self, index: slice) -> list[NewEvent]: ...

    def __getitem__(self, index: int | slice) -> NewEvent | list[NewEvent]:
        return self._built()[index]

    def __iter__(self) -> Iterator[NewEvent]:
        return iter(self._built())

    def __repr__(self) -> str:
        return f"NewEvents({len(self)} events, created={self.created})"


_tuple_new = tuple.__new__


class ItemColumns(Sequence[dict[str, object]]):
    """``create_many`` items of one shape as columns: a file reader's rows without a dict each.

    Every item has an event name, a payload of the two `payload_keys` (in that order) with a
    value each, an identifier and a timestamp. Read one, and it is the dict ``create_many``
    takes, built then; the ingest pipeline reads the columns (`common_columns`).

    >>> items = ItemColumns(("stripe_customer_id", "value"))
    >>> items.add(ItemColumns.of(("stripe_customer_id", "value"), [("api", "req_1", 90, "c", "2")]))
    >>> items[0]["payload"], len(items)
    ({'stripe_customer_id': 'c', 'value': '2'}, 1)
    """

    __slots__ = ("event_names", "firsts", "identifiers", "payload_keys", "seconds", "timestamps")

    def __init__(self, payload_keys: tuple[str, str]) -> None:
        self.payload_keys = payload_keys
        self.event_names: list[str] = []
        self.identifiers: list[str] = []
        self.timestamps: list[object] = []
        self.firsts: list[str] = []
        """Each item's value of the first payload key."""
        self.seconds: list[str] = []

    @classmethod
    def of(
        cls, payload_keys: tuple[str, str], rows: Iterable[tuple[str, str, object, str, str]]
    ) -> ItemColumns:
        """Items of (event name, identifier, timestamp, first and second payload value) rows."""
        items = cls(payload_keys)
        for name, identifier, timestamp, first, second in rows:
            items.event_names.append(name)
            items.identifiers.append(identifier)
            items.timestamps.append(timestamp)
            items.firsts.append(first)
            items.seconds.append(second)
        return items

    def add(self, other: ItemColumns) -> None:
        """Append `other`'s items, which have the same payload keys. O(len(other))."""
        if other.payload_keys != self.payload_keys:
            raise ValueError(f"the items' payload keys are {self.payload_keys}")
        self.event_names += other.event_names
        self.identifiers += other.identifiers
        self.timestamps += other.timestamps
        self.firsts += other.firsts
        self.seconds += other.seconds

    def __len__(self) -> int:
        return len(self.event_names)

    @overload
    def __getitem__(self, index: int) -> dict[str, object]: ...

    @overload
    def __getitem__(self, index: slice) -> ItemColumns: ...

    def __getitem__(self, index: int | slice) -> dict[str, object] | ItemColumns:
        if isinstance(index, slice):
            part = ItemColumns(self.payload_keys)
            part.event_names = self.event_names[index]
            part.identifiers = self.identifiers[index]
            part.timestamps = self.timestamps[index]
            part.firsts = self.firsts[index]
            part.seconds = self.seconds[index]
            return part
        first_key, second_key = self.payload_keys
        return {
            "event_name": self.event_names[index],
            "payload": {first_key: self.firsts[index], second_key: self.seconds[index]},
            "identifier": self.identifiers[index],
            "timestamp": self.timestamps[index],
        }

    def __repr__(self) -> str:
        return f"ItemColumns({len(self)} items, payload keys {self.payload_keys})"


class Outcomes(Sequence[NewEvent | InvalidRequestError]):
    """What became of each item of a batch: its `NewEvent` (one of `events`) or its error.

    The accepted items' events stay in the batch's columns; an item's event is built when read.
    `errors` maps item indexes to errors; `absent` lists, in order, those whose items never
    reached storage (rejected by a rule), so item ``i`` holds event ``i - (absent before i)``.
    Built and completed by the ingest pipeline; read-only once it returns.

    >>> events = NewEvents(created=100)
    >>> events.append(NewEvent("mtr_1", "api", "cus_1", "req_1", 90, 100, None, {}))
    >>> error = InvalidRequestError("no", code="no_meter", param="event_name")
    >>> outcomes = Outcomes(2, events, errors={0: error}, absent=[0])
    >>> [type(outcome).__name__ for outcome in outcomes]
    ['InvalidRequestError', 'NewEvent']
    """

    __slots__ = ("_count", "absent", "errors", "events")

    def __init__(
        self,
        count: int,
        events: NewEvents,
        *,
        errors: dict[int, InvalidRequestError],
        absent: list[int],
    ) -> None:
        self._count = count
        self.events = events
        self.errors = errors
        self.absent = absent

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> NewEvent | InvalidRequestError: ...

    @overload
    def __getitem__(self, index: slice) -> list[NewEvent | InvalidRequestError]: ...

    def __getitem__(
        self, index: int | slice
    ) -> NewEvent | InvalidRequestError | list[NewEvent | InvalidRequestError]:
        if isinstance(index, slice):
            return [self._outcome(item) for item in range(self._count)[index]]
        return self._outcome(range(self._count)[index])  # negative indexes and IndexError

    def _outcome(self, index: int) -> NewEvent | InvalidRequestError:
        error = self.errors.get(index)
        if error is not None:
            return error
        return self.events[index - bisect_left(self.absent, index)]

    def stored_indexes(self) -> Iterator[int]:
        """The indexes of the items whose events reached storage (`events`' items), in order."""
        absent = set(self.absent)
        return (index for index in range(self._count) if index not in absent)

    def __repr__(self) -> str:
        return f"Outcomes({self._count} items, {len(self.errors)} rejected)"


@attrs.frozen(kw_only=True)
class MeterEventResult:
    """The outcome of one event of ``create_many``: the accepted `event` or the `error`."""

    index: int
    event: MeterEvent | None = None
    error: InvalidRequestError | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        """Whether the event was accepted and stored."""
        return self.error is None


# --- hot-path construction ------------------------------------------------------------------
# attrs' frozen __init__ sets every field through object.__setattr__ (and runs converters):
# ~2 µs an object here. Ingest and summary listings build one object per event or window from
# values meterlib has already checked, so they set the slots directly, at about a third of the
# cost. tests/test_model.py pins that the results equal the classes' own construction.

_new = object.__new__


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    setter: Callable[[object, object], None] = getattr(cls, name).__set__
    return setter


_EVENT_SETTERS = tuple(_slot_setter(MeterEvent, field.name) for field in attrs.fields(MeterEvent))
_SUMMARY_SETTERS = tuple(
    _slot_setter(MeterEventSummary, field.name) for field in attrs.fields(MeterEventSummary)
)


def accepted_event(event: NewEvent, livemode: bool) -> MeterEvent:
    """The ``MeterEvent`` of an event that passed every rule."""
    accepted: MeterEvent = _new(MeterEvent)
    name_, identifier_, payload_, timestamp_, created_, livemode_, object_ = _EVENT_SETTERS
    name_(accepted, event.event_name)
    identifier_(accepted, event.identifier)
    payload_(accepted, MappingProxyType(event.payload))  # a view: nothing writes to it afterwards
    timestamp_(accepted, event.timestamp)
    created_(accepted, event.created)
    livemode_(accepted, livemode)
    object_(accepted, "billing.meter_event")
    return accepted


def window_summaries(
    id_prefix: str, meter: str, start: int, step: int, values: Sequence[Decimal], *, livemode: bool
) -> tuple[MeterEventSummary, ...]:
    """``MeterEventSummary`` objects of consecutive windows from `start`, one per value.

    Each id is `id_prefix` plus the window's start in hex (``%x`` of a prefix template: half
    the cost of an f-string's format spec); a window's end is the next one's start object.
    """
    id_, meter_, start_, end_, value_, livemode_, object_ = _SUMMARY_SETTERS
    template = id_prefix.replace("%", "%%") + "%x"
    summaries: list[MeterEventSummary] = []
    append = summaries.append
    window_start = start
    for value in values:
        window_end = window_start + step
        summary = _new(MeterEventSummary)
        id_(summary, template % window_start)
        meter_(summary, meter)
        start_(summary, window_start)
        end_(summary, window_end)
        value_(summary, value)
        livemode_(summary, livemode)
        object_(summary, "billing.meter_event_summary")
        append(summary)
        window_start = window_end
    return tuple(summaries)


class MeterEventResults(Sequence[MeterEventResult]):
    """What ``create_many`` returns: one `MeterEventResult` per item, in order.

    Results are built when read, so a large batch whose events were all accepted costs no
    objects; ``ok`` and ``errors`` answer the usual question without building the rest.

    >>> from meterlib import Metering
    >>> m = Metering()
    >>> _ = m.meters.create(display_name="API", event_name="api",
    ...                     default_aggregation={"formula": "count"})
    >>> results = m.meter_events.create_many(
    ...     [{"event_name": "api", "payload": {"stripe_customer_id": "c"}}, {"event_name": "x"}])
    >>> results.ok, [(r.index, r.error.code) for r in results.errors if r.error]
    (False, [(1, 'no_meter')])
    """

    __slots__ = ("_errors", "_livemode", "_outcomes")

    def __init__(
        self, outcomes: Sequence[NewEvent | InvalidRequestError], *, livemode: bool
    ) -> None:
        if type(outcomes) is Outcomes:  # the ingest pipeline's, read-only: no copy
            self._outcomes: Sequence[NewEvent | InvalidRequestError] = outcomes
            errors = outcomes.errors
        else:
            self._outcomes = tuple(outcomes)
            errors = {
                index: outcome
                for index, outcome in enumerate(self._outcomes)
                if isinstance(outcome, InvalidRequestError)
            }
        self._errors = sorted(errors.items())
        self._livemode = livemode

    def __len__(self) -> int:
        return len(self._outcomes)

    @overload
    def __getitem__(self, index: int) -> MeterEventResult: ...

    @overload
    def __getitem__(self, index: slice) -> list[MeterEventResult]: ...

    def __getitem__(self, index: int | slice) -> MeterEventResult | list[MeterEventResult]:
        if isinstance(index, slice):
            return [self._result(item) for item in range(len(self))[index]]
        return self._result(range(len(self))[index])  # negative indexes and IndexError as list

    def _result(self, index: int) -> MeterEventResult:
        outcome = self._outcomes[index]
        if isinstance(outcome, InvalidRequestError):
            return MeterEventResult(index=index, error=outcome)
        return MeterEventResult(index=index, event=accepted_event(outcome, self._livemode))

    @property
    def ok(self) -> bool:
        """Whether every item was accepted and stored."""
        return not self._errors

    @property
    def errors(self) -> list[MeterEventResult]:
        """The rejected items' results, in order."""
        return [MeterEventResult(index=index, error=error) for index, error in self._errors]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MeterEventResults | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, so unhashable like them

    def __repr__(self) -> str:
        return f"MeterEventResults({len(self)} items, {len(self.errors)} rejected)"


class Listable(Protocol):
    """What a list page holds: objects with an ``id`` and a JSON shape (v1 or v2)."""

    @property
    def id(self) -> str:
        """The object's id, the cursor of the page after or before it."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The object's Stripe JSON shape."""
        ...


T = TypeVar("T", bound=Listable)


@attrs.frozen(kw_only=True)
class ListObject(Generic[T]):
    """A Stripe list page: ``data``, ``has_more``, ``url``; iterate it or walk every page.

    >>> from meterlib import Metering
    >>> m = Metering()
    >>> for name in ("a", "b", "c"):
    ...     _ = m.meters.create(display_name=name, event_name=name,
    ...                         default_aggregation={"formula": "count"})
    >>> page = m.meters.list(limit=2)
    >>> [meter.event_name for meter in page], page.has_more
    (['c', 'b'], True)
    >>> [meter.event_name for meter in page.auto_paging_iter()]
    ['c', 'b', 'a']
    """

    data: tuple[T, ...]
    has_more: bool
    url: str
    _next_page: Callable[[ListObject[T]], ListObject[T]] | None = attrs.field(
        default=None, eq=False, repr=False, alias="next_page"
    )
    _backward: bool = attrs.field(default=False, eq=False, repr=False, alias="backward")
    object: Literal["list"] = "list"

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def auto_paging_iter(self) -> Iterator[T]:
        """Yield every item of this page and of every page after it.

        A page fetched with ``ending_before`` walks backwards, as in stripe-python: each page
        is yielded in reverse, so items come in the opposite of list order.
        """
        page: ListObject[T] = self
        while True:
            yield from reversed(page.data) if page._backward else page.data
            if not page.has_more or page._next_page is None or not page.data:
                return
            page = page._next_page(page)

    def to_dict(self) -> dict[str, Any]:
        """Stripe's list envelope with each item in its own JSON shape."""
        return {
            "object": self.object,
            "data": [item.to_dict() for item in self.data],
            "has_more": self.has_more,
            "url": self.url,
        }

    def __repr__(self) -> str:
        kinds = ", ".join(sorted({type(item).__name__ for item in self.data}))
        items = f"{len(self.data)} {'item' if len(self.data) == 1 else 'items'}"
        return f"ListObject({items}{': ' if kinds else ''}{kinds}, has_more={self.has_more})"

    def _repr_html_(self) -> str:
        """A compact table of this page's meters or summaries, as Jupyter shows the list."""
        more = " (more pages follow)" if self.has_more else ""
        caption = f"{len(self.data)} on this page{more}"
        if self.data and all(isinstance(item, Meter) for item in self.data):
            rows = [display.meter_row(item) for item in self.data]
            return display.table(display.METER_COLUMNS, rows, caption=caption)
        if self.data and all(isinstance(item, MeterEventSummary) for item in self.data):
            rows = [display.summary_row(item) for item in self.data]
            return display.table(display.SUMMARY_COLUMNS, rows, caption=caption)
        rows = [(item.id, type(item).__name__) for item in self.data]
        return display.table(("id", "object"), rows, caption=caption)

    def to_frame(self, *, all_pages: bool = True, as_float: bool = False) -> Any:
        """A pandas ``DataFrame`` of the meters or summaries listed (needs ``meterlib[notebook]``).

        Summaries are indexed by window start (tz-aware UTC), meters by id. With `all_pages`
        (the default) every item of this page and of the pages after it, as
        `auto_paging_iter` walks them; else this page only. Values are `Decimal` unless
        `as_float`. See `meterlib.notebook.list_frame`.
        """
        from meterlib import notebook  # noqa: PLC0415 -- the optional extra, only when asked

        items = list(self.auto_paging_iter()) if all_pages else list(self.data)
        return notebook.list_frame(items, as_float=as_float)

    def plot(self, *, all_pages: bool = True, ax: Any = None, label: str | None = None) -> Any:
        """Chart a summary list's values over time with matplotlib; the ``Axes`` drawn on.

        One step line (each window's value held across the window), labelled with `label` or
        the meter id. See `meterlib.plot.summaries`; needs ``meterlib[notebook]``.
        """
        from meterlib.plot import summaries  # noqa: PLC0415 -- the optional extra, when asked

        items = list(self.auto_paging_iter()) if all_pages else list(self.data)
        return summaries(items, ax=ax, label=label)  # type: ignore[arg-type]  # summaries
