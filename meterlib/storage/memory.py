"""In-process storage: dicts and sorted lists, nothing survives the process. URL ``memory://``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sortedcontainers import SortedList

from meterlib.model import Meter
from meterlib.storage.base import EventRecord, NewEvent, Point, Storage

_Event = tuple[NewEvent, Point]


class MemoryStorage(Storage):
    """Meters in dicts; events per (meter, customer) in a `SortedList` of points.

    Cancelled events leave their sorted list, so summaries never look at them.
    """

    def __init__(self, url: str = "memory://") -> None:
        self._meters: dict[str, Meter] = {}
        self._meter_order: list[str] = []
        self._meter_by_event_name: dict[str, str] = {}
        self._events: list[_Event] = []
        self._cancelled: set[int] = set()
        self._by_identifier: dict[str, int] = {}
        self._streams: dict[tuple[str, str], SortedList] = {}

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

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Store the event unless its identifier is still taken. O(log n)."""
        previous = self._by_identifier.get(event.identifier)
        if previous is not None and self._events[previous][0].created > duplicate_after:
            return None
        seq = len(self._events)
        point = (event.timestamp, seq, event.value)
        self._events.append((event, point))
        self._by_identifier[event.identifier] = seq
        key = (event.meter_id, event.customer)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = SortedList()
        stream.add(point)
        return seq

    def find_event(self, identifier: str) -> EventRecord | None:
        """The latest event received with this identifier. O(1)."""
        seq = self._by_identifier.get(identifier)
        if seq is None:
            return None
        event = self._events[seq][0]
        return EventRecord(
            seq=seq,
            meter_id=event.meter_id,
            event_name=event.event_name,
            customer=event.customer,
            identifier=event.identifier,
            timestamp=event.timestamp,
            created=event.created,
            cancelled=seq in self._cancelled,
        )

    def cancel_event(self, seq: int) -> bool:
        """Mark cancelled and drop from its stream. O(log n)."""
        if seq in self._cancelled:
            return False
        self._cancelled.add(seq)
        event, point = self._events[seq]
        self._streams[(event.meter_id, event.customer)].remove(point)
        return True

    def scan_points(self, meter_id: str, customer: str, start: int, end: int) -> Iterable[Point]:
        """Points with ``start <= timestamp < end`` in order. O(log n + k)."""
        stream = self._streams.get((meter_id, customer))
        if stream is None:
            return ()
        points: Iterable[Point] = stream.irange((start,), (end,), inclusive=(True, False))
        return points
