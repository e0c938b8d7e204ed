"""In-process storage: dicts and sorted lists, nothing survives the process. ``memory://``.

Each (meter, customer) has a `_Stream` of its live (non-cancelled) events, sorted by
``(timestamp, seq)``, plus what makes summaries cheap:

* pre-aggregated meters: the survivor (latest received live event) of each window, replaced by
  every newer event and recomputed from the window's events when it is cancelled;
* an hourly rollup: the formula's state of each hour of the events that count (every live event,
  or the survivors), built a UTC day at a time by the first query that reads that day (days
  without events are skipped, never kept, so a query's cost follows its events, not its
  length), kept up to date by events appended in time order, and dropped for a day that gets a
  late event, a pre-aggregation survivor or a cancel (the next query rebuilds it); past
  `ROLLUP_DAYS` (stream, day) rollups, the streams least recently read lose theirs.

Memory is under 400 bytes an event, half of it the identifier string and the `Decimal` value
(plus, once queried, a rollup of about 250 bytes a day and a state per non-empty hour):
events are columns indexed by seq, and a stream sorts one int per event, its key
``timestamp << 32 | seq``, which orders as ``(timestamp, seq)`` does; the identifier index and
the seq column point at that same int object.

The v2 records: sessions in a dict by token, with their expiry times sorted for purging; the
event log as a dict of entries by receipt seq, sorted seqs (all of them, and per type) for
paging, and sorted ``created << 64 | seq`` keys for retention. See `MemoryStorage`.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import groupby, islice
from operator import attrgetter
from typing import Any
from urllib.parse import parse_qs

from sortedcontainers import SortedList

from meterlib.aggregation import Aggregation
from meterlib.errors import ConfigurationError, StorageError, describe
from meterlib.model import Meter, NewEvents
from meterlib.storage import split_storage_url
from meterlib.storage.base import (
    EventRecord,
    IdempotencyRecord,
    LogRecord,
    NewEvent,
    Point,
    SessionRecord,
    Storage,
    StoredEvent,
    SummaryQuery,
)
from meterlib.timeutil import DAY, HOUR, WINDOW_SECONDS, window_start

_created_of = attrgetter("created")

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
_LOG_SEQ_BITS = 64
"""A log entry's retention key is ``created << 64 | seq``: it sorts as ``(created, seq)``."""


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

    __slots__ = ("customer", "keys", "meter_id", "rollup", "survivors", "tail", "values", "window")

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
        self.tail: list[int] | None = None
        """The keys list while a key later than its last one may simply be appended: keys in
        time order, no event time window to pick survivors in, no rollup to fold into."""
        self._set_tail()

    def _set_tail(self) -> None:
        keys = self.keys
        plain = type(keys) is list and self.window is None and self.rollup is None
        self.tail = keys if plain else None

    def set_rollup(self, rollup: _Rollup | None) -> None:
        """Keep (or drop, with None) the rollup that `add` must fold later events into."""
        self.rollup = rollup
        self._set_tail()

    def _sorted(self) -> SortedList:
        if type(self.keys) is list:
            self.keys = SortedList(self.keys)
            self.tail = None
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
        self._forget(key)

    def _forget(self, key: int) -> None:
        """After `key` left the keys: drop its rollup day, pick its window's survivor again."""
        timestamp = key >> _SEQ_BITS
        if self.rollup is not None:
            self.rollup.days.pop(timestamp - timestamp % DAY, None)
        if self.window is None:
            return
        bucket = window_start(timestamp, self.window)
        if self.survivors.get(bucket) == key:
            received = self.key_range(bucket, bucket + self.window)
            latest = max(received, key=lambda other: other & _SEQ_MASK, default=None)
            if latest is None:
                del self.survivors[bucket]
            else:
                self.survivors[bucket] = latest

    def discard(self, key: int) -> None:
        """`remove` the key if the stream holds it: the undo of an `add` that may not have run.

        Keys stay a plain list (the undo of an append deletes the last one). O(log n).
        """
        keys = self.keys
        position = bisect_left(keys, key) if isinstance(keys, list) else keys.bisect_left(key)
        if position < len(keys) and keys[position] == key:
            del keys[position]
            self._forget(key)

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

        Only days with events are read (`_hour_runs`), folded first if the rollup lacks them:
        once built, O(days with events in the range + windows), however long the range.
        """
        rollup = self.rollup
        if rollup is None or rollup.aggregation is not aggregation:
            rollup = _Rollup(aggregation)
            self.set_rollup(rollup)
        initial, result = rollup.initial, aggregation.result
        runs = self._hour_runs(rollup, start, start + step * count)
        if step == HOUR:  # one result call per hour, the rest in C
            if len(runs) == 1 and runs[0][0] == start and len(runs[0][1]) == count:
                return list(map(result, runs[0][1]))  # events every day: the usual query
            values = [result(initial)] * count
            for first, hours in runs:
                index = (first - start) // HOUR
                values[index : index + len(hours)] = map(result, hours)
            return values
        combine, per_window = aggregation.combine, step // HOUR
        states = [initial] * count
        for first, hours in runs:
            index, before = divmod((first - start) // HOUR, per_window)
            state = states[index]  # a window may begin in an earlier run: its fold goes on
            folded, low = [], 0  # the states of the windows this run reaches
            # where each window's hours end in the run: the first window may start before it
            for high in range(per_window - before, len(hours) + per_window, per_window):
                for hourly in hours[low:high]:
                    if hourly is not initial:  # initial() is neutral for combine: skip empty hours
                        state = hourly if state is initial else combine(state, hourly)
                folded.append(state)
                state, low = initial, high
            states[index : index + len(folded)] = folded
        return list(map(result, states))

    def _hour_runs(self, rollup: _Rollup, start: int, end: int) -> list[tuple[int, list[Any]]]:
        """``(first hour, states)`` of each run of consecutive days with events in the range.

        Runs are in time order, cut to ``[start, end)`` (hour-aligned), and cover every event
        that counts in the range; the hours between runs have none. A day the rollup lacks is
        folded and kept, unless it has no events: then the run ends there, and the next one
        starts at the day of the next event (one bisection), so empty days cost nothing.
        O(days with events in the range, plus log n for each gap and each day folded).
        """
        keys, days = self.keys, rollup.days
        runs: list[tuple[int, list[Any]]] = []
        if not keys:
            return runs
        first, last = keys[0] >> _SEQ_BITS, keys[-1] >> _SEQ_BITS  # (min/max calls cost more)
        day = start if start > first else first
        last = end - 1 if end <= last else last
        day, stop = day - day % DAY, last - last % DAY + 1  # the days from first to last event
        add, initial = rollup.aggregation.add, rollup.initial
        hours: list[Any] = []
        while True:
            run_start = day
            for day in range(run_start, stop, DAY):
                states = days.get(day)
                if states is None:
                    # the first event from this day on (there is one: the last is not before)
                    following = keys[self._position(day)] >> _SEQ_BITS
                    if following >= day + DAY:  # no events this day: the run ends here
                        break
                    states = days[day] = [initial] * (DAY // HOUR)
                    for timestamp, seq, value in self.counted(day, day + DAY):
                        hour = timestamp % DAY // HOUR
                        states[hour] = add(states[hour], timestamp, seq, value)
                hours += states
            else:
                if hours:
                    runs.append(_cut(run_start, hours, start, end))
                return runs
            if hours:
                runs.append(_cut(run_start, hours, start, end))
                hours = []
            day = following - following % DAY


def _cut(first: int, hours: list[Any], start: int, end: int) -> tuple[int, list[Any]]:
    """The hours of a run that starts at `first`, cut in place to ``[start, end)``."""
    if first < start:
        del hours[: (start - first) // HOUR]
        first = start
    del hours[(end - first) // HOUR :]
    return first, hours


class MemoryStorage(Storage):
    """Meters in dicts; events per (meter, customer) stream with hourly rollups.

    Sessions: a dict by token, a set of ids and a `SortedList` of ``(expires_at, token)``.
    The event log: a dict of entries by receipt seq (seqs are never reused), a dict from id to
    seq, a `SortedList` of every seq and one per type, and a `SortedList` of retention keys
    ``created << 64 | seq``. An entry costs its record and strings plus about 190 bytes of
    index (measured at 100,000 entries); purged entries are deleted from every one of them, and
    the dicts are rebuilt once they hold less than half their peak, so memory follows what the
    log holds.
    """

    meters_generation: int  # only this object changes its meters

    preferred_batch = 2_000
    """A batch's columns then stay in the CPU's caches: a 1M-row CSV import took 3.43 µs a
    row in batches of 2,000 against 3.68 in batches of 10,000 (1,000: no faster)."""

    def __init__(self, url: str = "memory://") -> None:
        self._rollup_days_max = _rollup_days_option(url)
        # streams with rollups, least recently read first, each with its days when last read
        self._rollup_days: OrderedDict[_Stream, int] = OrderedDict()
        self._rollup_days_total = 0
        self._meters: dict[str, Meter] = {}
        self.meters_generation = 0
        self._meter_order: list[str] = []  # ids, oldest first
        self._meter_position: dict[str, int] = {}  # id -> its index in _meter_order
        # status -> the _meter_order indexes of the meters of that status
        self._meter_positions_of: dict[str, SortedList] = {}
        self._meter_by_event_name: dict[str, str] = {}
        # one entry per event, indexed by seq: columns, not objects, to keep memory small
        self._stream_of: list[_Stream] = []
        # each event's stream key; the identifier index holds the same int objects
        self._keys: list[int] = []
        self._by_identifier: dict[str, int] = {}  # identifier -> stream key of its latest event
        # each event's `created`: a list of shared ints (8 bytes an event, as an int64 array
        # takes, but a fifth of an array's cost to append: no conversion per event). A batch
        # shares one int; `SystemClock` and `ManualClock` give one int object per second
        self._created: list[int] = []
        # each event's identifier (the index's own key objects), for list_events
        self._identifiers: list[str] = []
        self._values: list[Decimal | None] = []
        self._cancelled: set[int] = set()
        self._streams: dict[str, dict[str, _Stream]] = {}
        # v2 sessions: by token, their ids, and (expires_at, token) sorted for purging
        self._sessions: dict[str, SessionRecord] = {}
        self._session_ids: set[str] = set()
        self._session_expiry = SortedList()
        # v2 event log: entries by receipt seq (never reused), and what finds them
        self._log: dict[int, LogRecord] = {}
        self._log_seq_of: dict[str, int] = {}  # id -> seq
        self._log_seqs = SortedList()  # every seq
        self._log_seqs_of: dict[str, SortedList] = {}  # type -> its seqs; no empty lists
        self._log_retention = SortedList()  # created << 64 | seq
        self._log_next_seq = 0
        self._log_peak = 0  # the most entries the log's dicts held since they were built
        # idempotency keys: records by key, and (created, key) sorted for purging
        self._idempotency: dict[str, IdempotencyRecord] = {}
        self._idempotency_order = SortedList()

    def add_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> bool:
        """Store a new meter and its log records unless its event name is taken. O(log n).

        All or nothing: the log's ids are checked before anything is written, and a log
        append that still fails takes the meter out again.
        """
        if meter.event_name in self._meter_by_event_name:
            return False
        self._check_log_ids(log)
        position = len(self._meter_order)
        self._meter_positions_of.setdefault(meter.status, SortedList()).add(position)
        self._meters[meter.id] = meter
        self._meter_order.append(meter.id)
        self._meter_position[meter.id] = position
        self._meter_by_event_name[meter.event_name] = meter.id
        try:
            self._append_log(log)
        except BaseException:
            self._meter_positions_of[meter.status].remove(position)
            del self._meters[meter.id], self._meter_position[meter.id]
            del self._meter_by_event_name[meter.event_name]
            self._meter_order.pop()
            raise
        return True

    def replace_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> None:
        """Overwrite a stored meter and append its log records, all or nothing.

        O(1), O(log n) when its status changes, + O(k log n) for k records.
        """
        self._check_log_ids(log)
        old = self._meters[meter.id]
        self._set_meter(meter)
        try:
            self._append_log(log)
        except BaseException:
            self._set_meter(old)
            raise

    def _set_meter(self, meter: Meter) -> None:
        """Overwrite the stored meter with the same id, moving it between status lists."""
        old_status = self._meters[meter.id].status
        self.meters_generation += 1
        if meter.status != old_status:
            position = self._meter_position[meter.id]
            self._meter_positions_of.setdefault(meter.status, SortedList()).add(position)
            self._meter_positions_of[old_status].remove(position)
        self._meters[meter.id] = meter

    def get_meter(self, meter_id: str) -> Meter | None:
        """The meter with this id. O(1)."""
        return self._meters.get(meter_id)

    def get_meter_by_event_name(self, event_name: str) -> Meter | None:
        """The meter owning this event name. O(1)."""
        meter_id = self._meter_by_event_name.get(event_name)
        return None if meter_id is None else self._meters[meter_id]

    cached_meter_by_event_name = get_meter_by_event_name  # the store itself: nothing goes stale

    def list_meters(
        self,
        *,
        status: str | None,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> tuple[Sequence[Meter], bool] | None:
        """One page of meters, newest first; None if the cursor is not among them.

        The cursor is found in O(1) (O(log n) with a status filter: each status keeps its
        meters' positions in a sorted list), and the page is read from there: O(log n + limit)
        with or without a filter.
        """
        order, backward = self._meter_order, starting_after is None and ending_before is not None
        positions: Sequence[int] = (
            range(len(order)) if status is None else self._meter_positions_of.get(status, ())
        )
        total = len(positions)
        cursor = starting_after if starting_after is not None else ending_before
        if cursor is None:
            first, stop = 0, min(limit, total)  # list indexes: 0 is the newest
        else:
            position = self._meter_position.get(cursor)
            if position is None or (status is not None and self._meters[cursor].status != status):
                return None
            index = total - 1 - (position if status is None else positions.index(position))
            if backward:
                first, stop = max(0, index - limit), index
            else:
                first, stop = index + 1, min(index + 1 + limit, total)
        meters, ids = self._meters, positions[total - stop : total - first]
        page = [meters[order[at]] for at in reversed(ids)]
        return page, (first > 0 if backward else stop < total)

    def _new_stream(self, meter_id: str, customer: str) -> _Stream:
        window = self._meters[meter_id].event_time_window
        stream = _Stream(
            meter_id, customer, None if window is None else WINDOW_SECONDS[window], self._values
        )
        customers = self._streams.get(meter_id)
        if customers is None:
            self._streams[meter_id] = {customer: stream}
        else:
            customers[customer] = stream
        return stream

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Store the event unless its identifier is still taken. O(log n).

        `add_events`' store step for one event, without its batch loop and lists (the
        per-event ingest path); all or nothing in the same way.
        """
        meter_id, _, customer, identifier, timestamp, created, value, _ = event
        by_identifier, values = self._by_identifier, self._values
        previous = by_identifier.get(identifier)
        if previous is not None and self._created[previous & _SEQ_MASK] > duplicate_after:
            return None
        customers = self._streams.get(meter_id)
        stream = None if customers is None else customers.get(customer)
        seq = len(values)
        if stream is None or seq >= _MAX_EVENTS:  # the batch path's checks and undo, rarely
            return self.add_events((event,), duplicate_after=duplicate_after)[0]
        key = timestamp << _SEQ_BITS | seq
        try:
            self._created.append(created)
            values.append(value)
            self._keys.append(key)
            self._identifiers.append(identifier)
            self._stream_of.append(stream)
            by_identifier[identifier] = key
            tail = stream.tail
            if tail and key > tail[-1]:  # `_Stream.add` of a latest key, without the call
                tail.append(key)
            else:
                stream.add(key)
        except BaseException:
            replaced = [] if previous is None else [(identifier, previous)]
            self._undo_events(seq, [identifier], replaced, [])
            raise
        return seq

    def add_events(self, events: Sequence[NewEvent], *, duplicate_after: int) -> list[int | None]:
        """Store each event whose identifier is free (None for the others). O(k log n).

        All or nothing: a batch that would not fit is refused whole, and if anything raises part
        way (a timestamp that is not an int, an identifier that cannot be hashed, a failing
        formula), what the batch did is undone before the exception propagates. `NewEvents`
        (the ingest pipeline's batches) are stored from their columns in one loop, no call or
        object per event; any other sequence as its runs of events received at once.
        """
        if len(self._values) + len(events) > _MAX_EVENTS:
            raise StorageError(
                f"the memory store holds at most {_MAX_EVENTS} events", code="storage_full"
            )
        stored = len(self._values)
        replaced: list[tuple[str, int]] = []  # reused identifiers, with what they pointed at
        new_streams: list[_Stream] = []
        try:
            if type(events) is NewEvents:
                return self._add_columns(events, duplicate_after, replaced, new_streams)
            seqs: list[int | None] = []
            for created, run in groupby(events, key=_created_of):
                columns = NewEvents.of(run, created)
                seqs += self._add_columns(columns, duplicate_after, replaced, new_streams)
            return seqs
        except BaseException:
            tried = (
                events.identifiers
                if type(events) is NewEvents
                else [event.identifier for event in events]
            )
            self._undo_events(stored, tried, replaced, new_streams)
            raise

    def _add_columns(
        self,
        events: NewEvents,
        duplicate_after: int,
        replaced: list[tuple[str, int]],
        new_streams: list[_Stream],
    ) -> list[int | None]:
        """`add_events`' loop over a batch's columns; the caller undoes it if it raises.

        Appends to `replaced` the identifiers it reuses (with what they pointed at) and to
        `new_streams` the streams it starts.
        """
        values, keys, created_column = self._values, self._keys, self._created
        add_identifier, add_stream = self._identifiers.append, self._stream_of.append
        add_value, add_key = values.append, keys.append
        by_identifier, streams = self._by_identifier, self._streams
        stored = len(values)
        # the created column for the whole batch at once: all its events have one `created`,
        # so the slots left unused by duplicates are cut after
        created_column.extend([events.created] * len(events))
        duplicates: list[int] = []  # where in `events` those not stored are
        columns = events.meter_ids, events.customers, events.identifiers, events.timestamps
        for meter_id, customer, identifier, timestamp, value in zip(
            *columns, events.values, strict=True
        ):
            # each event's reads and arithmetic first, then its writes
            previous = by_identifier.get(identifier)
            if previous is not None:
                if created_column[previous & _SEQ_MASK] > duplicate_after:
                    duplicates.append(len(values) - stored + len(duplicates))
                    continue
                replaced.append((identifier, previous))
            customers = streams.get(meter_id)
            stream = None if customers is None else customers.get(customer)
            seq = len(values)
            key = timestamp << _SEQ_BITS | seq
            add_value(value)
            add_key(key)
            add_identifier(identifier)
            if stream is None:
                stream = self._new_stream(meter_id, customer)
                new_streams.append(stream)
            add_stream(stream)
            by_identifier[identifier] = key
            tail = stream.tail
            if tail and key > tail[-1]:  # as in `add_event`
                tail.append(key)
            else:
                stream.add(key)
        seqs = range(stored, len(values))
        if not duplicates:
            return list(seqs)
        del created_column[len(values) :]
        taken, stored_seqs = set(duplicates), iter(seqs)
        return [None if index in taken else next(stored_seqs) for index in range(len(events))]

    def _undo_events(
        self,
        stored: int,
        tried: list[str],
        replaced: list[tuple[str, int]],
        new_streams: list[_Stream],
    ) -> None:
        """Put the store back as it was with `stored` events, before a batch's failed `add_events`.

        Newest first: the batch's keys leave their streams (survivors recomputed, rollup days
        dropped for the next query to rebuild), its new streams go, the identifiers it `tried`
        that now name one of its events are released and the `replaced` ones point where they
        did, and every column is cut back to `stored` events.
        """
        keys, stream_of = self._keys, self._stream_of
        for seq in reversed(range(stored, len(stream_of))):
            stream_of[seq].discard(keys[seq])
        for stream in reversed(new_streams):
            customers = self._streams[stream.meter_id]
            del customers[stream.customer]
            if not customers:
                del self._streams[stream.meter_id]
        by_identifier = self._by_identifier
        for identifier in tried:
            try:
                key = by_identifier.get(identifier)
            except Exception:  # an identifier that cannot be hashed was never stored
                continue
            if key is not None and key & _SEQ_MASK >= stored:
                del by_identifier[identifier]
        for identifier, previous in reversed(replaced):
            by_identifier[identifier] = previous
        del self._values[stored:], keys[stored:], self._created[stored:], stream_of[stored:]
        del self._identifiers[stored:]

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
        """Drop the event from its stream, then mark it cancelled. O(log n).

        A seq no event has (negative ones included) is False, as SQL backends' updates are, and
        changes nothing.
        """
        if seq in self._cancelled or not 0 <= seq < len(self._keys):
            return False
        self._stream_of[seq].remove(self._keys[seq])
        self._cancelled.add(seq)
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
            dropped.set_rollup(None)

    def _find_stream(self, meter_id: str, customer: str) -> _Stream | None:
        customers = self._streams.get(meter_id)
        return None if customers is None else customers.get(customer)

    def scan_points(self, meter_id: str, customer: str, start: int, end: int) -> Iterable[Point]:
        """Points with ``start <= timestamp < end`` in order. O(log n + k)."""
        stream = self._find_stream(meter_id, customer)
        return () if stream is None else stream.between(start, end)

    def list_events(
        self,
        *,
        limit: int,
        after: int | None = None,
        meter_id: str | None = None,
        customer: str | None = None,
        start: int | None = None,
        end: int | None = None,
        include_cancelled: bool = False,
    ) -> Sequence[StoredEvent]:
        """Events after seq `after`, in seq order, read off the columns. O(events scanned)."""
        keys, stream_of, cancelled = self._keys, self._stream_of, self._cancelled
        low = -(1 << 62) if start is None else start
        high = 1 << 62 if end is None else end
        rows: list[StoredEvent] = []
        for seq in range(0 if after is None else max(after + 1, 0), len(keys)):
            stream = stream_of[seq]
            timestamp = keys[seq] >> _SEQ_BITS
            dropped = seq in cancelled
            if (
                (meter_id is not None and stream.meter_id != meter_id)
                or (customer is not None and stream.customer != customer)
                or not low <= timestamp < high
                or (dropped and not include_cancelled)
            ):
                continue
            rows.append(
                StoredEvent(
                    seq,
                    stream.meter_id,
                    self._meters[stream.meter_id].event_name,
                    stream.customer,
                    self._identifiers[seq],
                    timestamp,
                    self._created[seq],
                    self._values[seq],
                    dropped,
                )
            )
            if len(rows) >= limit:
                break
        return rows

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """Windows from whichever is smaller: the events in the range, or its hours.

        Hour-aligned ranges with enough events read the hourly rollup: O(days + hours in range)
        once built. Others fold their events (or a pre-aggregated meter's survivors):
        O(log n + events in range).
        """
        start, step, count, end = query.start, query.step, query.count, query.end
        if count == 0:
            return []
        empty = aggregation.result(aggregation.initial())
        stream = self._find_stream(query.meter.id, query.customer)
        if stream is None:
            return [empty] * count
        low, high = query.scan_range
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
        touched: list[int] = []  # the windows with events, so the empty ones cost no call
        if stream.window is None:  # a raw range folded event by event
            add, initial, event_values = aggregation.add, aggregation.initial, stream.values
            for key in stream.key_range(start, end):
                timestamp = key >> _SEQ_BITS
                seq = key & _SEQ_MASK
                index = (timestamp - start) // step
                state = states[index]
                if state is _UNTOUCHED:
                    state = initial()
                    touched.append(index)
                states[index] = add(state, timestamp, seq, event_values[seq])
        else:
            for timestamp, seq, value in stream.counted(low, high):
                if start <= timestamp < end:
                    index = (timestamp - start) // step
                    state = states[index]
                    if state is _UNTOUCHED:
                        state = aggregation.initial()
                        touched.append(index)
                    states[index] = aggregation.add(state, timestamp, seq, value)
        windows = [empty] * count
        result = aggregation.result
        for index in touched:
            windows[index] = result(states[index])
        return windows

    # --- v2 meter event sessions -----------------------------------------------------------

    def add_session(self, session: SessionRecord) -> None:
        """Store the session unless its token or id is taken (``storage_conflict``). O(log n).

        >>> storage = MemoryStorage()
        >>> storage.add_session(SessionRecord(id="mes_1", token="t", created=0, expires_at=900))
        >>> storage.find_session("t").id
        'mes_1'
        """
        token, session_id = session.token, session.id
        if token in self._sessions or session_id in self._session_ids:
            raise StorageError(
                "a session with this token or id is stored already", code="storage_conflict"
            )
        # the sorted insert first: its comparisons are all that can raise, before any write
        self._session_expiry.add((session.expires_at, token))
        self._sessions[token] = session
        self._session_ids.add(session_id)

    def find_session(self, token: str) -> SessionRecord | None:
        """The session with this token, expired or not. O(1)."""
        return self._sessions.get(token)

    def purge_sessions(self, *, expired_by: int) -> int:
        """Delete the sessions with ``expires_at <= expired_by``. O(k log n).

        They are the first k of the ``(expires_at, token)`` list: those below
        ``(expired_by + 1,)``.
        """
        expiry = self._session_expiry
        count: int = expiry.bisect_left((expired_by + 1,))
        sessions, ids = self._sessions, self._session_ids
        for _, token in expiry[:count]:
            ids.discard(sessions.pop(token).id)
        del expiry[:count]
        return count

    # --- v2 event log ------------------------------------------------------------------------

    def add_log_events(self, records: Sequence[LogRecord]) -> None:
        """Append the records in order, all or none. O(k log n).

        Every check and every key is made before the first write, so a duplicate id (stored
        already, or twice in the batch) or a ``created`` that is not an int changes nothing;
        anything raising later still has the batch's writes undone.

        >>> storage = MemoryStorage()
        >>> storage.add_log_events([LogRecord(id="evt_1", type="a", created=5, body="{}")])
        >>> storage.get_log_event("evt_1").created
        5
        """
        self._check_log_ids(records)
        self._append_log(records)

    def _check_log_ids(self, records: Sequence[LogRecord]) -> None:
        """Raise ``storage_conflict`` if an id is stored already or twice in `records`."""
        seq_of = self._log_seq_of
        ids = [record.id for record in records]
        if len(set(ids)) != len(ids) or any(record_id in seq_of for record_id in ids):
            raise StorageError(
                "an event log entry with this id is stored already", code="storage_conflict"
            )

    def _append_log(self, records: Sequence[LogRecord]) -> None:
        """Append records `_check_log_ids` passed; anything raising undoes the batch's writes."""
        if not records:
            return
        first = self._log_next_seq
        keys = [record.created << _LOG_SEQ_BITS | seq for seq, record in enumerate(records, first)]
        log, seqs, seqs_of, seq_of = self._log, self._log_seqs, self._log_seqs_of, self._log_seq_of
        seq = first
        try:
            for record, key in zip(records, keys, strict=True):
                seqs.add(seq)
                typed = seqs_of.get(record.type)
                if typed is None:
                    typed = seqs_of[record.type] = SortedList()
                typed.add(seq)
                self._log_retention.add(key)
                log[seq] = record
                seq_of[record.id] = seq
                seq += 1
        except BaseException:
            for undone, record in zip(range(first, seq + 1), records, strict=False):
                self._drop_log_entry(undone, record, undone_key=keys[undone - first])
            raise
        self._log_next_seq = seq
        self._log_peak = max(self._log_peak, len(log))

    def _drop_log_entry(self, seq: int, record: LogRecord, *, undone_key: int | None) -> None:
        """Take the entry out of every index that holds it (all, or some: a failed append's).

        The retention key goes too when `undone_key` names it; a purge cuts those in one slice.
        O(log n).
        """
        self._log_seqs.discard(seq)
        typed = self._log_seqs_of.get(record.type)
        if typed is not None:
            typed.discard(seq)
            if not typed:
                del self._log_seqs_of[record.type]
        if undone_key is not None:
            self._log_retention.discard(undone_key)
        self._log.pop(seq, None)
        if self._log_seq_of.get(record.id) == seq:
            del self._log_seq_of[record.id]

    def list_log_events(
        self,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        types: frozenset[str] | None = None,
    ) -> tuple[Sequence[LogRecord], bool] | None:
        """One page of the log, newest first; None if the cursor is not among the entries.

        Each list to read (every seq, or each requested type's) is entered at the cursor by
        bisection and read lazily from there; `heapq.merge` interleaves them by seq and stops
        one entry past the page: O(log n + limit) unfiltered, O(t log n + limit log t) for t
        types.

        >>> storage = MemoryStorage()
        >>> storage.add_log_events(
        ...     [LogRecord(id=f"evt_{i}", type="a", created=i, body="{}") for i in range(3)]
        ... )
        >>> page, has_more = storage.list_log_events(limit=1, starting_after="evt_2")
        >>> [record.id for record in page], has_more
        (['evt_1'], True)
        """
        backward = starting_after is None and ending_before is not None
        cursor = ending_before if backward else starting_after
        lists: list[SortedList]
        if types is None:
            lists = [self._log_seqs]
        else:
            seqs_of = self._log_seqs_of
            lists = [seqs_of[kind] for kind in types if kind in seqs_of]
        if cursor is None:
            runs: list[Iterator[int]] = [reversed(seqs) for seqs in lists]
        else:
            seq = self._log_seq_of.get(cursor)
            if seq is None or (types is not None and self._log[seq].type not in types):
                return None
            runs = [
                seqs.irange(minimum=seq, inclusive=(False, False))
                if backward
                else seqs.irange(maximum=seq, inclusive=(False, False), reverse=True)
                for seqs in lists
            ]
        merged = runs[0] if len(runs) == 1 else heapq.merge(*runs, reverse=not backward)
        nearest = list(islice(merged, limit + 1))  # nearest the cursor first
        log = self._log
        page = [log[seq] for seq in nearest[:limit]]
        if backward:
            page.reverse()
        return page, len(nearest) > limit

    def get_log_event(self, event_id: str) -> LogRecord | None:
        """The entry with this id. O(1)."""
        seq = self._log_seq_of.get(event_id)
        return None if seq is None else self._log[seq]

    def purge_log_events(self, *, created_before: int) -> int:
        """Delete the entries with ``created < created_before``, releasing them. O(k log n).

        They are the first k retention keys, those below ``created_before << 64``. When the log
        falls under half the entries its dicts held at their peak, the dicts are rebuilt at
        their new size (Python's never shrink on their own): O(n), but only after at least n
        deletions, so O(1) amortized per entry.
        """
        retention = self._log_retention
        count: int = retention.bisect_left(created_before << _LOG_SEQ_BITS)
        log, mask = self._log, (1 << _LOG_SEQ_BITS) - 1
        for key in retention[:count]:
            seq = key & mask
            self._drop_log_entry(seq, log[seq], undone_key=None)
        del retention[:count]
        if len(log) * 2 < self._log_peak:
            self._log, self._log_seq_of = dict(log), dict(self._log_seq_of)
            self._log_peak = len(self._log)
        return count

    # --- idempotency keys ---------------------------------------------------------------------

    def claim_idempotency_key(
        self, claim: IdempotencyRecord, *, answered_after: int, pending_after: int
    ) -> IdempotencyRecord | None:
        """Store the claim unless the key's record still holds (then return it). O(log n).

        >>> storage = MemoryStorage()
        >>> claim = IdempotencyRecord(key="k", fingerprint="f", created=10)
        >>> storage.claim_idempotency_key(claim, answered_after=0, pending_after=0) is None
        True
        >>> storage.claim_idempotency_key(claim, answered_after=0, pending_after=0).created
        10
        """
        found = self._idempotency.get(claim.key)
        if found is not None:
            cutoff = pending_after if found.status is None else answered_after
            if found.created > cutoff:
                return found
        order = self._idempotency_order
        order.add((claim.created, claim.key))  # the sorted insert first: all that can raise
        if found is not None:
            order.discard((found.created, found.key))
        self._idempotency[claim.key] = claim
        return None

    def _pending_claim(self, claim: IdempotencyRecord) -> IdempotencyRecord | None:
        found = self._idempotency.get(claim.key)
        if found is None or found.status is not None or found.created != claim.created:
            return None
        return found

    def answer_idempotency_key(self, answer: IdempotencyRecord) -> bool:
        """Replace the pending claim by its answer; False if that claim is gone. O(1)."""
        if self._pending_claim(answer) is None:
            return False
        self._idempotency[answer.key] = answer  # same (created, key): the order stands
        return True

    def release_idempotency_key(self, claim: IdempotencyRecord) -> bool:
        """Delete the pending claim; False if it is gone. O(log n)."""
        found = self._pending_claim(claim)
        if found is None:
            return False
        self._idempotency_order.discard((found.created, found.key))
        del self._idempotency[found.key]
        return True

    def purge_idempotency_keys(self, *, created_before: int) -> int:
        """Delete the records with ``created < created_before``: the first k sorted. O(k log n)."""
        order = self._idempotency_order
        count: int = order.bisect_left((created_before,))
        records = self._idempotency
        for _, key in order[:count]:
            del records[key]
        del order[:count]
        if count and len(records) * 2 < count:  # dicts never shrink on their own
            self._idempotency = dict(records)
        return count

    def _check_records(self) -> None:
        """Assert that the session and event log indexes agree with each other. O(n log n).

        For tests, after each mutation: every index holds exactly the stored records.
        """
        sessions = self._sessions
        assert self._session_ids == {session.id for session in sessions.values()}
        assert len(self._session_ids) == len(sessions)
        assert list(self._session_expiry) == sorted(
            (session.expires_at, token) for token, session in sessions.items()
        )
        assert all(session.token == token for token, session in sessions.items())
        log = self._log
        assert self._log_seq_of == {record.id: seq for seq, record in log.items()}
        assert list(self._log_seqs) == sorted(log)
        assert all(seq < self._log_next_seq for seq in log)
        by_type: dict[str, list[int]] = {}
        for seq in sorted(log):
            by_type.setdefault(log[seq].type, []).append(seq)
        assert {kind: list(seqs) for kind, seqs in self._log_seqs_of.items()} == by_type
        assert list(self._log_retention) == sorted(
            record.created << _LOG_SEQ_BITS | seq for seq, record in log.items()
        )
        assert len(log) <= self._log_peak
        records = self._idempotency
        assert list(self._idempotency_order) == sorted(
            (record.created, key) for key, record in records.items()
        )
        assert all(record.key == key for key, record in records.items())


_ROLLUP_DAYS_DIGITS = 12


def _rollup_days_option(url: str) -> int:
    """The ``rollup_days`` option of a ``memory://`` URL (`ROLLUP_DAYS` if absent)."""
    options = parse_qs(split_storage_url(url).query, keep_blank_values=True)
    unknown = set(options) - {"rollup_days"}
    if unknown:
        raise ConfigurationError(
            f"unknown memory URL option(s): {', '.join(sorted(unknown))}",
            code="storage_url_invalid",
            param="storage",
        )
    text = options.get("rollup_days", [str(ROLLUP_DAYS)])[-1]
    if not (text.isascii() and text.isdecimal() and len(text) <= _ROLLUP_DAYS_DIGITS):
        raise ConfigurationError(
            "rollup_days must be a whole number of days (at most "
            f"{_ROLLUP_DAYS_DIGITS} digits), 0 for no rollups; got {describe(text)}",
            code="storage_url_invalid",
            param="storage",
        )
    return int(text)
