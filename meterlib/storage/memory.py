"""In-process storage: dicts and sorted containers, nothing survives the process. ``memory://``.

Each (meter, customer) has a `_Stream` that keeps its live (non-cancelled) events three ways, so
a summary never walks events outside its range, and mostly not even those inside it:

* ``points``: every live event, sorted by ``(timestamp, seq)``: ranges at any second;
* ``hours``: for raw meters, the live events per UTC hour, with each formula's folded state of
  that hour cached until an event of the hour arrives or is cancelled (an hourly rollup);
* ``windows``: for pre-aggregated meters, the live events per pre-aggregation window in order
  of receipt, so the survivor of a window is simply its last entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sortedcontainers import SortedDict, SortedList

from meterlib.aggregation import Aggregation
from meterlib.model import Meter
from meterlib.storage.base import EventRecord, NewEvent, Point, Storage
from meterlib.timeutil import HOUR, WINDOW_SECONDS, window_start

_NOT_CACHED = object()
_Record = tuple[str, str, str, str, int, int]
"""``(meter_id, event_name, customer, identifier, timestamp, created)`` of one event."""


class _Hour:
    """The live events of one UTC hour of a raw stream, and the formulas' cached states."""

    __slots__ = ("live", "states")

    def __init__(self) -> None:
        self.live = 0
        self.states: dict[str, Any] = {}


class _Stream:
    """The live events of one meter and customer."""

    __slots__ = ("customer", "hours", "points", "window", "windows")

    def __init__(self, customer: str, window: int | None) -> None:
        self.customer = customer
        self.points = SortedList()
        self.window = window
        self.hours: SortedDict = SortedDict()
        self.windows: SortedDict = SortedDict()

    def add(self, point: Point) -> None:
        self.points.add(point)
        if self.window is None:
            hour = self.hours.get(point[0] - point[0] % HOUR)
            if hour is None:
                hour = self.hours[point[0] - point[0] % HOUR] = _Hour()
            hour.live += 1
            hour.states.clear()
        else:
            bucket = window_start(point[0], self.window)
            self.windows.setdefault(bucket, []).append(point)

    def remove(self, point: Point) -> None:
        self.points.remove(point)
        if self.window is None:
            start = point[0] - point[0] % HOUR
            hour = self.hours[start]
            hour.live -= 1
            hour.states.clear()
            if not hour.live:
                del self.hours[start]
        else:
            bucket = window_start(point[0], self.window)
            received = self.windows[bucket]
            received.remove(point)
            if not received:
                del self.windows[bucket]

    def hourly_state(self, start: int, hour: _Hour, aggregation: Aggregation[Any]) -> Any:
        """The formula's state over one hour, folded once and then served from the cache."""
        state = hour.states.get(aggregation.name, _NOT_CACHED)
        if state is _NOT_CACHED:
            state = aggregation.initial()
            for timestamp, seq, value in self.points.irange((start,), (start + HOUR,)):
                state = aggregation.add(state, timestamp, seq, value)
            hour.states[aggregation.name] = state
        return state

    def survivors(self, start: int, end: int) -> Iterable[Point]:
        """The latest received live event of each pre-aggregation window, within the range."""
        assert self.window is not None
        first = window_start(start, self.window)
        for bucket in self.windows.irange(first, end, inclusive=(True, False)):
            survivor = self.windows[bucket][-1]
            if start <= survivor[0] < end:
                yield survivor


class MemoryStorage(Storage):
    """Meters in dicts; events per (meter, customer) stream with hourly rollups."""

    def __init__(self, url: str = "memory://") -> None:
        self._meters: dict[str, Meter] = {}
        self._meter_order: list[str] = []
        self._meter_by_event_name: dict[str, str] = {}
        self._records: list[_Record] = []
        self._points: list[Point] = []
        self._cancelled: set[int] = set()
        self._by_identifier: dict[str, int] = {}
        self._streams: dict[tuple[str, str], _Stream] = {}

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

    def _stream(self, meter_id: str, customer: str) -> _Stream:
        stream = self._streams.get((meter_id, customer))
        if stream is None:
            window = self._meters[meter_id].event_time_window
            stream = _Stream(customer, None if window is None else WINDOW_SECONDS[window])
            self._streams[(meter_id, customer)] = stream
        return stream

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Store the event unless its identifier is still taken. O(log n)."""
        previous = self._by_identifier.get(event.identifier)
        if previous is not None and self._records[previous][5] > duplicate_after:
            return None
        stream = self._stream(event.meter_id, event.customer)
        seq = len(self._records)
        point = (event.timestamp, seq, event.value)
        self._records.append(
            (
                event.meter_id,
                event.event_name,
                stream.customer,
                event.identifier,
                event.timestamp,
                event.created,
            )
        )
        self._points.append(point)
        self._by_identifier[event.identifier] = seq
        stream.add(point)
        return seq

    def find_event(self, identifier: str) -> EventRecord | None:
        """The latest event received with this identifier. O(1)."""
        seq = self._by_identifier.get(identifier)
        if seq is None:
            return None
        meter_id, event_name, customer, _, timestamp, created = self._records[seq]
        return EventRecord(
            seq=seq,
            meter_id=meter_id,
            event_name=event_name,
            customer=customer,
            identifier=identifier,
            timestamp=timestamp,
            created=created,
            cancelled=seq in self._cancelled,
        )

    def cancel_event(self, seq: int) -> bool:
        """Mark cancelled and drop from its stream. O(log n)."""
        if seq in self._cancelled:
            return False
        self._cancelled.add(seq)
        meter_id, _, customer, *_ = self._records[seq]
        self._streams[(meter_id, customer)].remove(self._points[seq])
        return True

    def scan_points(self, meter_id: str, customer: str, start: int, end: int) -> Iterable[Point]:
        """Points with ``start <= timestamp < end`` in order. O(log n + k)."""
        stream = self._streams.get((meter_id, customer))
        if stream is None:
            return ()
        points: Iterable[Point] = stream.points.irange((start,), (end,), inclusive=(True, False))
        return points

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
        """Windows from the stream's indexes; only ranges cutting through hours scan events.

        Pre-aggregated: O(log n + pre-aggregation windows in range). Raw, hour-aligned:
        O(log n + non-empty hours in range), each hour folded once until it changes.
        """
        stream = self._streams.get((meter.id, customer))
        end = start + step * count
        if stream is None:
            return [aggregation.result(aggregation.initial())] * count
        states = [aggregation.initial() for _ in range(count)]
        if stream.window is not None:
            for timestamp, seq, value in stream.survivors(start, end):
                index = (timestamp - start) // step
                states[index] = aggregation.add(states[index], timestamp, seq, value)
        elif start % HOUR == 0 and step % HOUR == 0:
            for hour_start in stream.hours.irange(start, end, inclusive=(True, False)):
                index = (hour_start - start) // step
                hourly = stream.hourly_state(hour_start, stream.hours[hour_start], aggregation)
                states[index] = aggregation.combine(states[index], hourly)
        else:
            return super().summarize(
                meter, aggregation, customer=customer, start=start, step=step, count=count
            )
        return [aggregation.result(state) for state in states]
