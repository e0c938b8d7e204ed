"""In-process storage: dicts and sorted lists, nothing survives the process. ``memory://``.

Each (meter, customer) has a `_Stream` of its live (non-cancelled) events, sorted by
``(timestamp, seq)``, plus what makes summaries cheap:

* raw meters: an hourly rollup, each formula's folded state of an hour, filled by the first
  query that needs it and dropped when an event of that hour arrives or is cancelled;
* pre-aggregated meters: the survivor (latest received live event) of each window, replaced by
  every newer event and recomputed from the window's events when it is cancelled.

Memory is a few hundred bytes an event: events are kept as columns and points, not objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sortedcontainers import SortedList

from meterlib.aggregation import Aggregation
from meterlib.model import Meter
from meterlib.storage.base import EventRecord, NewEvent, Point, Storage
from meterlib.timeutil import HOUR, WINDOW_SECONDS, window_start

_NOT_CACHED = object()
_ROLLUP_DENSITY = 4
"""Use hourly rollups once a range holds more than this many events per hour."""


class _Stream:
    """The live events of one meter and customer."""

    __slots__ = ("customer", "points", "rollups", "survivors", "window")

    def __init__(self, customer: str, window: int | None) -> None:
        self.customer = customer
        self.points = SortedList()
        self.window = window
        self.rollups: dict[int, dict[str, Any]] = {}
        self.survivors: dict[int, Point] = {}

    def add(self, point: Point) -> None:
        self.points.add(point)
        if self.window is None:
            self.rollups.pop(point[0] - point[0] % HOUR, None)
        else:
            self.survivors[window_start(point[0], self.window)] = point  # newest seq wins

    def remove(self, point: Point) -> None:
        self.points.remove(point)
        if self.window is None:
            self.rollups.pop(point[0] - point[0] % HOUR, None)
            return
        bucket = window_start(point[0], self.window)
        if self.survivors[bucket] is point:
            received = self.points.irange((bucket,), (bucket + self.window,))
            latest = max(received, key=lambda other: other[1], default=None)
            if latest is None:
                del self.survivors[bucket]
            else:
                self.survivors[bucket] = latest

    def span(self, start: int, end: int, size: int) -> range:
        """Starts of the `size`-second windows that overlap both the range and the events."""
        if not self.points:
            return range(0)
        first = window_start(max(start, self.points[0][0]), size)
        return range(first, min(end, self.points[-1][0] + 1), size)

    def hourly_state(self, start: int, aggregation: Aggregation[Any]) -> Any:
        """The formula's state over one hour, folded once and then served from the cache."""
        cached = self.rollups.setdefault(start, {})
        state = cached.get(aggregation.name, _NOT_CACHED)
        if state is _NOT_CACHED:
            state = aggregation.initial()
            for timestamp, seq, value in self.points.irange((start,), (start + HOUR,)):
                state = aggregation.add(state, timestamp, seq, value)
            cached[aggregation.name] = state
        return state


class MemoryStorage(Storage):
    """Meters in dicts; events per (meter, customer) stream with hourly rollups."""

    def __init__(self, url: str = "memory://") -> None:
        self._meters: dict[str, Meter] = {}
        self._meter_order: list[str] = []
        self._meter_by_event_name: dict[str, str] = {}
        # one entry per event, indexed by seq: columns, not objects, to keep memory small
        self._meter_ids: list[str] = []
        self._customers: list[str] = []
        self._created: list[int] = []
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
        if previous is not None and self._created[previous] > duplicate_after:
            return None
        stream = self._stream(event.meter_id, event.customer)
        seq = len(self._points)
        point = (event.timestamp, seq, event.value)
        self._meter_ids.append(event.meter_id)
        self._customers.append(stream.customer)
        self._created.append(event.created)
        self._points.append(point)
        self._by_identifier[event.identifier] = seq
        stream.add(point)
        return seq

    def find_event(self, identifier: str) -> EventRecord | None:
        """The latest event received with this identifier. O(1)."""
        seq = self._by_identifier.get(identifier)
        if seq is None:
            return None
        meter_id = self._meter_ids[seq]
        return EventRecord(
            seq=seq,
            meter_id=meter_id,
            event_name=self._meters[meter_id].event_name,
            customer=self._customers[seq],
            identifier=identifier,
            timestamp=self._points[seq][0],
            created=self._created[seq],
            cancelled=seq in self._cancelled,
        )

    def cancel_event(self, seq: int) -> bool:
        """Mark cancelled and drop from its stream. O(log n)."""
        if seq in self._cancelled:
            return False
        self._cancelled.add(seq)
        self._streams[(self._meter_ids[seq], self._customers[seq])].remove(self._points[seq])
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
        """Windows from whichever is smaller: the events in the range, or its windows.

        Sparse ranges fold their events: O(log n + events in range). Dense raw ranges that are
        hour-aligned combine hourly rollups, each folded once and cached until it changes:
        O(log n + hours in range). Pre-aggregated ranges read each window's survivor.
        """
        stream = self._streams.get((meter.id, customer))
        end = start + step * count
        if stream is None:
            return [aggregation.result(aggregation.initial())] * count
        states = [aggregation.initial() for _ in range(count)]
        size = HOUR if stream.window is None else stream.window
        low = start if stream.window is None else window_start(start, size)
        high = end if stream.window is None else window_start(end - 1, size) + size
        events = stream.points.bisect_left((high,)) - stream.points.bisect_left((low,))
        windows = stream.span(start, end, size)
        aligned = start % HOUR == 0 and step % HOUR == 0
        if stream.window is None and aligned and events > _ROLLUP_DENSITY * len(windows):
            for hour_start in windows:
                index = (hour_start - start) // step
                hourly = stream.hourly_state(hour_start, aggregation)
                states[index] = aggregation.combine(states[index], hourly)
        else:
            if stream.window is None:
                points: Iterable[Point] = stream.points.irange((start,), (end,), (True, False))
            elif events < len(windows):
                points = (
                    point
                    for point in stream.points.irange((low,), (high,), (True, False))
                    if stream.survivors[window_start(point[0], size)] is point
                )
            else:
                points = filter(None, map(stream.survivors.get, windows))
            for timestamp, seq, value in points:
                if start <= timestamp < end:
                    index = (timestamp - start) // step
                    states[index] = aggregation.add(states[index], timestamp, seq, value)
        return [aggregation.result(state) for state in states]
