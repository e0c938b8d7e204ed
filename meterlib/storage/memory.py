"""In-process storage: dicts and sorted lists, nothing survives the process. ``memory://``.

Each (meter, customer) has a `_Stream` of its live (non-cancelled) events, sorted by
``(timestamp, seq)``, plus what makes summaries cheap:

* pre-aggregated meters: the survivor (latest received live event) of each window, replaced by
  every newer event and recomputed from the window's events when it is cancelled;
* an hourly rollup: the formula's state of each hour of the events that count (every live event,
  or the survivors), built a UTC day at a time by the first query that reads that day, kept up
  to date by events appended in time order, and dropped for a day that gets a late event, a
  pre-aggregation survivor or a cancel (the next query rebuilds it); past `ROLLUP_DAYS`
  (stream, day) rollups, the streams least recently read lose theirs.

Memory is under 400 bytes an event, half of it the identifier string and the `Decimal` value
(plus, once queried, a rollup of about 250 bytes a day and a state per non-empty hour):
events are columns indexed by seq, and a stream sorts one int per event, its key
``timestamp << 32 | seq``, which orders as ``(timestamp, seq)`` does; the identifier index and
the seq column point at that same int object.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sortedcontainers import SortedList

from meterlib.aggregation import Aggregation
from meterlib.errors import ConfigurationError, StorageError
from meterlib.model import Meter
from meterlib.storage.base import EventRecord, NewEvent, Point, Storage
from meterlib.timeutil import DAY, HOUR, WINDOW_SECONDS, window_start

_UNTOUCHED = object()
"""The state of a summary window (or rollup hour) no event has reached (yet)."""
_ROLLUP_DENSITY = 0.5
"""Read hourly rollups once a range holds at least this many events per hour; fold sparser ones.
Folding an event costs about what reading three hours does (callgrind), and the first read of a
day folds its events anyway."""
ROLLUP_DAYS = 32_768
"""How many (stream, day) rollups the store keeps by default; the least recently read streams
lose theirs first.

A day of 24 hourly states takes up to ~2.7 KB for the built-in formulas (~2 KB for a sum meter
at 1.4 events an hour), so rollups stay under ~90 MB: the 30-day months of ~1,000 customers,
which a 1,000-customer sweep then reads 7x faster than it folds their events. Set it with
``memory://?rollup_days=N``; 0 keeps none. A sweep over more days than the budget rebuilds them
every time, at about the cost of folding."""
_SEQ_BITS = 32
_SEQ_MASK = (1 << _SEQ_BITS) - 1
_MAX_EVENTS = 1 << _SEQ_BITS
"""Seqs must fit below the timestamp in a stream key: 4.3 billion events, far beyond RAM."""


def _first_key(timestamp: int) -> int:
    """The smallest stream key at second `timestamp`: key ranges are time ranges."""
    return timestamp << _SEQ_BITS


class _Rollup:
    """One formula's state of each hour, for the UTC days queries have read."""

    __slots__ = ("aggregation", "days", "initial")

    def __init__(self, aggregation: Aggregation[Any]) -> None:
        self.aggregation = aggregation
        self.initial = aggregation.initial()  # shared by every hour without events
        self.days: dict[int, list[Any]] = {}  # day start -> its 24 hours' states, up to date


class _Stream:
    """The live events of one meter and customer, as sorted keys.

    The keys are a plain list while events arrive in time order, as live traffic does (appending
    costs a tenth of a sorted insert), and become a `SortedList` at the first event that arrives
    out of order or is cancelled.
    """

    __slots__ = ("customer", "keys", "meter_id", "rollup", "survivors", "values", "window")

    def __init__(
        self, meter_id: str, customer: str, window: int | None, values: list[Decimal | None]
    ) -> None:
        self.meter_id = meter_id
        self.customer = customer
        self.keys: list[int] | SortedList = []
        self.window = window
        self.values = values  # the store's value column, indexed by seq
        self.rollup: _Rollup | None = None
        self.survivors: dict[int, int] = {}

    def _sorted(self) -> SortedList:
        if type(self.keys) is list:
            self.keys = SortedList(self.keys)
        return self.keys

    def add(self, key: int) -> None:
        keys = self.keys
        latest = not keys or key > keys[-1]
        if latest and type(keys) is list:
            keys.append(key)
        else:
            self._sorted().add(key)
        timestamp = key >> _SEQ_BITS
        if self.window is not None:
            self.survivors[timestamp - timestamp % self.window] = key  # newest seq wins
        rollup = self.rollup
        if rollup is None:
            return
        day = timestamp - timestamp % DAY
        hours = rollup.days.get(day)
        if hours is None:
            return
        if latest and self.window is None:  # the latest event of its hour: fold it in
            hour, seq = timestamp % DAY // HOUR, key & _SEQ_MASK
            hours[hour] = rollup.aggregation.add(hours[hour], timestamp, seq, self.values[seq])
        else:
            del rollup.days[day]

    def remove(self, key: int) -> None:
        self._sorted().remove(key)
        timestamp = key >> _SEQ_BITS
        if self.rollup is not None:
            self.rollup.days.pop(timestamp - timestamp % DAY, None)
        if self.window is None:
            return
        bucket = window_start(timestamp, self.window)
        if self.survivors[bucket] == key:
            received = self.key_range(bucket, bucket + self.window)
            latest = max(received, key=lambda other: other & _SEQ_MASK, default=None)
            if latest is None:
                del self.survivors[bucket]
            else:
                self.survivors[bucket] = latest

    def _position(self, timestamp: int) -> int:
        """How many keys lie before second `timestamp`. O(log n)."""
        keys, key = self.keys, _first_key(timestamp)
        position: int = bisect_left(keys, key) if isinstance(keys, list) else keys.bisect_left(key)
        return position

    def count(self, start: int, end: int) -> int:
        """How many events have ``start <= timestamp < end``. O(log n)."""
        return self._position(end) - self._position(start)

    def key_range(self, start: int, end: int) -> Iterable[int]:
        """Keys of the events with ``start <= timestamp < end``, in order. O(log n + k)."""
        keys = self.keys
        if isinstance(keys, list):
            return keys[self._position(start) : self._position(end)]
        found: Iterable[int] = keys.irange(_first_key(start), _first_key(end), (True, False))
        return found

    def points(self, keys: Iterable[int]) -> Iterator[Point]:
        """``(timestamp, seq, value)`` of each key."""
        values = self.values
        for key in keys:
            seq = key & _SEQ_MASK
            yield key >> _SEQ_BITS, seq, values[seq]

    def between(self, start: int, end: int) -> Iterator[Point]:
        """Points with ``start <= timestamp < end``, in order. O(log n + k)."""
        return self.points(self.key_range(start, end))

    def span(self, start: int, end: int, size: int) -> range:
        """Starts of the `size`-second windows that overlap both the range and the events."""
        if not self.keys:
            return range(0)
        first = window_start(max(start, self.keys[0] >> _SEQ_BITS), size)
        return range(first, min(end, (self.keys[-1] >> _SEQ_BITS) + 1), size)

    def counted(self, start: int, end: int) -> Iterator[Point]:
        """The points a summary folds with ``start <= timestamp < end``, in order.

        Every live event of a raw meter; the survivors of a pre-aggregated one, where `start`
        and `end` are window boundaries.
        """
        window = self.window
        if window is None:
            return self.between(start, end)
        windows = range(start, end, window)
        if self.count(start, end) < len(windows):  # sparse: pick the survivors among the events
            survivors = self.survivors
            keys: Iterable[int] = (
                key
                for key in self.key_range(start, end)
                if survivors[window_start(key >> _SEQ_BITS, window)] == key
            )
        else:
            keys = (key for key in map(self.survivors.get, windows) if key is not None)
        return self.points(keys)

    def rollup_windows(
        self, aggregation: Aggregation[Any], start: int, step: int, count: int
    ) -> list[Decimal]:
        """The windows of an hour-aligned range, from the states of its hours in the rollup.

        Days the rollup lacks are folded first, one pass each. O(days + hours in range) once built.
        """
        rollup = self.rollup
        if rollup is None or rollup.aggregation is not aggregation:
            rollup = self.rollup = _Rollup(aggregation)
        days, add, initial = rollup.days, aggregation.add, rollup.initial
        end, first_day = start + step * count, start - start % DAY
        first_event, last_event = self.keys[0] >> _SEQ_BITS, self.keys[-1] >> _SEQ_BITS
        no_events = [initial] * (DAY // HOUR)
        hours: list[Any] = []
        for day in range(first_day, end, DAY):
            states = days.get(day)
            if states is None and (day + DAY <= first_event or day > last_event):
                states = no_events  # outside the stream's events: nothing worth keeping
            elif states is None:
                states = days[day] = [initial] * (DAY // HOUR)
                for timestamp, seq, value in self.counted(day, day + DAY):
                    hour = timestamp % DAY // HOUR
                    states[hour] = add(states[hour], timestamp, seq, value)
            hours += states
        del hours[: (start - first_day) // HOUR]
        del hours[(end - start) // HOUR :]
        result = aggregation.result
        if step == HOUR:  # one result call per hour, the rest in C
            return list(map(result, hours))
        combine, per_window = aggregation.combine, step // HOUR
        values = []
        for first in range(0, len(hours), per_window):
            state = initial
            for hourly in hours[first : first + per_window]:
                if hourly is not initial:  # initial() is neutral for combine: skip empty hours
                    state = hourly if state is initial else combine(state, hourly)
            values.append(result(state))
        return values


class MemoryStorage(Storage):
    """Meters in dicts; events per (meter, customer) stream with hourly rollups."""

    def __init__(self, url: str = "memory://") -> None:
        self._rollup_days_max = _rollup_days_option(url)
        # streams with rollups, least recently read first, each with its days when last read
        self._rollup_days: OrderedDict[_Stream, int] = OrderedDict()
        self._rollup_days_total = 0
        self._meters: dict[str, Meter] = {}
        self._meter_order: list[str] = []
        self._meter_by_event_name: dict[str, str] = {}
        # one entry per event, indexed by seq: columns, not objects, to keep memory small
        self._stream_of: list[_Stream] = []
        # each event's stream key; the identifier index holds the same int objects
        self._keys: list[int] = []
        self._by_identifier: dict[str, int] = {}  # identifier -> stream key of its latest event
        self._created = array("q")
        self._values: list[Decimal | None] = []
        self._cancelled: set[int] = set()
        self._streams: dict[str, dict[str, _Stream]] = {}

    def add_meter(self, meter: Meter) -> bool:
        """Store a new meter unless its event name is taken. O(1)."""
        if meter.event_name in self._meter_by_event_name:
            return False
        self._meters[meter.id] = meter
        self._meter_order.append(meter.id)
        self._meter_by_event_name[meter.event_name] = meter.id
        return True

    def replace_meter(self, meter: Meter) -> None:
        """Overwrite a stored meter. O(1)."""
        self._meters[meter.id] = meter

    def get_meter(self, meter_id: str) -> Meter | None:
        """The meter with this id. O(1)."""
        return self._meters.get(meter_id)

    def get_meter_by_event_name(self, event_name: str) -> Meter | None:
        """The meter owning this event name. O(1)."""
        meter_id = self._meter_by_event_name.get(event_name)
        return None if meter_id is None else self._meters[meter_id]

    def list_meters(self, *, status: str | None) -> Sequence[Meter]:
        """Meters newest first, optionally of one status. O(meters)."""
        newest_first = (self._meters[meter_id] for meter_id in reversed(self._meter_order))
        return [meter for meter in newest_first if status is None or meter.status == status]

    def _new_stream(self, meter_id: str, customer: str) -> _Stream:
        window = self._meters[meter_id].event_time_window
        stream = _Stream(
            meter_id, customer, None if window is None else WINDOW_SECONDS[window], self._values
        )
        self._streams.setdefault(meter_id, {})[customer] = stream
        return stream

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Store the event unless its identifier is still taken. O(log n)."""
        return self.add_events((event,), duplicate_after=duplicate_after)[0]

    def add_events(self, events: Sequence[NewEvent], *, duplicate_after: int) -> list[int | None]:
        """Store each event whose identifier is free (None for the others). O(k log n).

        A batch that would not fit is refused whole. One loop, no call per event: this is the
        bulk ingest path (and `add_event`'s, for a batch of one).
        """
        values, keys, created_column = self._values, self._keys, self._created
        stream_of, by_identifier, streams = self._stream_of, self._by_identifier, self._streams
        if len(values) + len(events) > _MAX_EVENTS:
            raise StorageError(
                f"the memory store holds at most {_MAX_EVENTS} events", code="storage_full"
            )
        results: list[int | None] = []
        for meter_id, _, customer, identifier, timestamp, created, value, _ in events:
            previous = by_identifier.get(identifier)
            if previous is not None and created_column[previous & _SEQ_MASK] > duplicate_after:
                results.append(None)
                continue
            customers = streams.get(meter_id)
            stream = None if customers is None else customers.get(customer)
            if stream is None:
                stream = self._new_stream(meter_id, customer)
            seq = len(values)
            key = timestamp << _SEQ_BITS | seq
            values.append(value)
            keys.append(key)
            created_column.append(created)
            stream_of.append(stream)
            by_identifier[identifier] = key
            stream.add(key)
            results.append(seq)
        return results

    def find_event(self, identifier: str) -> EventRecord | None:
        """The latest event received with this identifier. O(1)."""
        key = self._by_identifier.get(identifier)
        if key is None:
            return None
        seq = key & _SEQ_MASK
        stream = self._stream_of[seq]
        return EventRecord(
            seq=seq,
            meter_id=stream.meter_id,
            event_name=self._meters[stream.meter_id].event_name,
            customer=stream.customer,
            identifier=identifier,
            timestamp=key >> _SEQ_BITS,
            created=self._created[seq],
            cancelled=seq in self._cancelled,
        )

    def cancel_event(self, seq: int) -> bool:
        """Mark cancelled and drop from its stream. O(log n)."""
        if seq in self._cancelled:
            return False
        self._cancelled.add(seq)
        self._stream_of[seq].remove(self._keys[seq])
        return True

    def _mark_read(self, stream: _Stream) -> None:
        """Note the stream's rollup as just read; drop the least recently read ones past the budget.

        The next query that reads a dropped rollup rebuilds what it needs. Each stream counts
        the days it had when last read: days dropped since by a late event or a cancel still
        count until then, so the total may run high, never low.
        """
        assert stream.rollup is not None
        kept, days = self._rollup_days, len(stream.rollup.days)
        self._rollup_days_total += days - kept.get(stream, 0)
        kept[stream] = days
        kept.move_to_end(stream)
        while self._rollup_days_total > self._rollup_days_max:
            dropped, days = kept.popitem(last=False)
            self._rollup_days_total -= days
            dropped.rollup = None

    def _find_stream(self, meter_id: str, customer: str) -> _Stream | None:
        customers = self._streams.get(meter_id)
        return None if customers is None else customers.get(customer)

    def scan_points(self, meter_id: str, customer: str, start: int, end: int) -> Iterable[Point]:
        """Points with ``start <= timestamp < end`` in order. O(log n + k)."""
        stream = self._find_stream(meter_id, customer)
        return () if stream is None else stream.between(start, end)

    def summarize(
        self,
        meter: Meter,
        aggregation: Aggregation[Any],
        *,
        customer: str,
        start: int,
        step: int,
        count: int,
    ) -> list[Decimal]:
        """Windows from whichever is smaller: the events in the range, or its hours.

        Hour-aligned ranges with enough events read the hourly rollup: O(days + hours in range)
        once built. Others fold their events (or a pre-aggregated meter's survivors):
        O(log n + events in range).
        """
        empty = aggregation.result(aggregation.initial())
        stream = self._find_stream(meter.id, customer)
        if stream is None:
            return [empty] * count
        end = start + step * count
        size = HOUR if stream.window is None else stream.window
        low = start if stream.window is None else window_start(start, size)
        high = end if stream.window is None else window_start(end - 1, size) + size
        events = stream.count(low, high)
        aligned = start % HOUR == 0 and step % HOUR == 0
        if (
            aligned
            and events
            and self._rollup_days_max
            and events >= _ROLLUP_DENSITY * len(stream.span(start, end, HOUR))
        ):
            windows = stream.rollup_windows(aggregation, start, step, count)
            self._mark_read(stream)
            return windows
        states: list[Any] = [_UNTOUCHED] * count  # each window's state, once it has events
        if stream.window is None:  # a raw range folded event by event
            add, initial, event_values = aggregation.add, aggregation.initial, stream.values
            for key in stream.key_range(start, end):
                timestamp = key >> _SEQ_BITS
                seq = key & _SEQ_MASK
                index = (timestamp - start) // step
                state = states[index]
                if state is _UNTOUCHED:
                    state = initial()
                states[index] = add(state, timestamp, seq, event_values[seq])
        else:
            for timestamp, seq, value in stream.counted(low, high):
                if start <= timestamp < end:
                    index = (timestamp - start) // step
                    state = states[index]
                    if state is _UNTOUCHED:
                        state = aggregation.initial()
                    states[index] = aggregation.add(state, timestamp, seq, value)
        result = aggregation.result
        return [empty if state is _UNTOUCHED else result(state) for state in states]


def _rollup_days_option(url: str) -> int:
    """The ``rollup_days`` option of a ``memory://`` URL (`ROLLUP_DAYS` if absent)."""
    options = parse_qs(urlsplit(url).query, keep_blank_values=True)
    unknown = set(options) - {"rollup_days"}
    if unknown:
        raise ConfigurationError(
            f"unknown memory URL option(s): {', '.join(sorted(unknown))}",
            code="storage_url_invalid",
            param="storage",
        )
    text = options.get("rollup_days", [str(ROLLUP_DAYS)])[-1]
    if not (text.isascii() and text.isdecimal()):
        raise ConfigurationError(
            f"rollup_days must be a whole number of days, 0 for no rollups; got {text!r}",
            code="storage_url_invalid",
            param="storage",
        )
    return int(text)
