"""Backend mutants: the memory and SQLite storages with one semantic bug each.

Most are subclasses of `MemoryStorage` that change one answer of the `Storage` interface (the
identifier window, a receipt time, a summary's range ends, windows or survivors, a formula);
`Folding` first folds summaries in plain Python, one method per rule, so that each summary
mutant overrides exactly one rule. The cache mutants edit a copy of the backend's own source
(`mutated_copy`): a rollup day a late event or a cancel leaves stale, a survivor not brought
back. Every one runs under `MeteringStateMachine` exactly as docs/testing.md tells a backend
author to: `make_storage` returns it, the doc's settings run it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from meterlib.aggregation import Aggregation, Count, Last, Sum
from meterlib.storage import Storage
from meterlib.storage.base import EventRecord, NewEvent, Point, SummaryQuery
from meterlib.storage.memory import MemoryStorage
from meterlib.testing import MeteringStateMachine
from meterlib.timeutil import DAY, HOUR, MINUTE, window_start
from meterlib.validation import PAST_LIMIT
from tests.mutants.harness import MACHINE_SETTINGS, Mutant, mutated_copy

# --- the state machine, as a backend author runs it ------------------------------------------


class Runs:
    """How many state machine runs the mutants have started (reset before each mutant)."""

    count = 0


def machine_on(make: Callable[[], Storage]) -> type[MeteringStateMachine]:
    """`MeteringStateMachine` subclassed as docs/testing.md says, on the storages `make` makes."""

    class BackendMachine(MeteringStateMachine):
        def make_storage(self) -> Storage:
            Runs.count += 1
            return make()

    return BackendMachine


def run_machine(make: Callable[[], Storage], phases: Sequence[Phase], seed: int | None) -> None:
    """Run the machine on the storage under the doc's settings; raises if it finds a bug."""
    machine = machine_on(make)
    budget = settings(MACHINE_SETTINGS, phases=phases)
    if seed is not None:  # Hypothesis reads a seed off the machine class, as @seed sets it
        machine._hypothesis_internal_use_seed = seed
        budget = settings(budget, derandomize=False)
    run_state_machine_as_test(machine, settings=budget)


# --- subclass mutants -------------------------------------------------------------------------


class Recording(MemoryStorage):
    """The memory storage, also keeping each stored event (by seq) and the cancelled seqs."""

    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[int, NewEvent] = {}
        self.cancelled: set[int] = set()

    def store(self, events: Sequence[NewEvent], duplicate_after: int) -> list[int | None]:
        """What `add_events` stores: the events as given (mutants change them)."""
        return super().add_events(events, duplicate_after=duplicate_after)

    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Store the event (as a batch of one) and remember it if stored."""
        return self.add_events([event], duplicate_after=duplicate_after)[0]

    def add_events(self, events: Sequence[NewEvent], *, duplicate_after: int) -> list[int | None]:
        """Store the events and remember the ones stored."""
        seqs = self.store(events, duplicate_after)
        for event, seq in zip(events, seqs, strict=True):
            if seq is not None:
                self.stored[seq] = event
        return seqs

    def cancel_event(self, seq: int) -> bool:
        """Cancel, and remember the seq."""
        done = super().cancel_event(seq)
        if done:
            self.cancelled.add(seq)
        return done


class IdentifierWindow23Hours(Recording):
    """An identifier is free again 23 hours after its event, not 24."""

    def store(self, events: Sequence[NewEvent], duplicate_after: int) -> list[int | None]:
        """Take identifiers as free an hour early."""
        return super().store(events, duplicate_after + HOUR)


class IdentifierWindowInclusive(Recording):
    """An identifier is still taken at exactly 24 hours after its event (one second too long)."""

    def store(self, events: Sequence[NewEvent], duplicate_after: int) -> list[int | None]:
        """Take identifiers as free one second late."""
        return super().store(events, duplicate_after - 1)


class IdentifierWindow25Hours(Recording):
    """An identifier stays taken for 25 hours."""

    def store(self, events: Sequence[NewEvent], duplicate_after: int) -> list[int | None]:
        """Take identifiers as free an hour late."""
        return super().store(events, duplicate_after - HOUR)


class ReceiptTimeShifted(Recording):
    """Receipt times are read back an hour late: cancels are allowed for 25 hours."""

    shift = HOUR

    def find_event(self, identifier: str) -> EventRecord | None:
        """The record, with ``created`` shifted."""
        record = super().find_event(identifier)
        return None if record is None else attrs.evolve(record, created=record.created + self.shift)


class CancelWindowInclusive(ReceiptTimeShifted):
    """An event can still be cancelled at exactly 24 hours after its receipt."""

    shift = 1


class CancelFindsTheFirstEvent(Recording):
    """After an identifier is reused, a cancel finds the first event that had it, not the latest."""

    def find_event(self, identifier: str) -> EventRecord | None:
        """The earliest stored event with this identifier."""
        latest = super().find_event(identifier)
        seqs = [seq for seq, event in self.stored.items() if event.identifier == identifier]
        if latest is None or not seqs:
            return latest
        first = self.stored[min(seqs)]
        return attrs.evolve(
            latest,
            seq=min(seqs),
            meter_id=first.meter_id,
            event_name=first.event_name,
            customer=first.customer,
            timestamp=first.timestamp,
            created=first.created,
            cancelled=min(seqs) in self.cancelled,
        )


class IgnoresCancels(Recording):
    """A cancel is acknowledged, but the event keeps counting."""

    def cancel_event(self, seq: int) -> bool:
        """Pretend to cancel: remember the seq, keep the event."""
        if seq in self.cancelled:
            return False
        self.cancelled.add(seq)
        return True


class StoredChanged(Recording):
    """Stores each event changed by `change` (a value or a timestamp written wrongly)."""

    def change(self, event: NewEvent) -> NewEvent:
        """The event as this storage writes it."""
        return event

    def store(self, events: Sequence[NewEvent], duplicate_after: int) -> list[int | None]:
        """Store the changed events."""
        return super().store([self.change(event) for event in events], duplicate_after)


class TimestampsFlooredToMinutes(StoredChanged):
    """Timestamps are stored to the minute (a per-minute index), losing their seconds."""

    def change(self, event: NewEvent) -> NewEvent:
        """Floor the timestamp to its minute."""
        return event._replace(timestamp=window_start(event.timestamp, MINUTE))


class FutureTimestampsClamped(StoredChanged):
    """A timestamp ahead of the receipt time (up to 300 s is allowed) is stored as the receipt."""

    def change(self, event: NewEvent) -> NewEvent:
        """Clamp the timestamp to the receipt time."""
        return event._replace(timestamp=min(event.timestamp, event.created))


class NegativeValuesStoredPositive(StoredChanged):
    """Values are stored unsigned: a negative correction counts as positive usage."""

    def change(self, event: NewEvent) -> NewEvent:
        """Drop the value's sign."""
        return event if event.value is None else event._replace(value=abs(event.value))


class Folding(Recording):
    """Summaries folded in plain Python from `scan_points`, one method per rule to mutate.

    Unmutated it answers as every backend must (a control test checks it passes the machine).
    """

    def points(self, query: SummaryQuery) -> list[Point]:
        """The live points a summary reads: its range, widened to whole pre-aggregation windows."""
        low, high = query.scan_range
        return list(self.scan_points(query.meter.id, query.customer, low, high))

    def bucket(self, timestamp: int, size: int, query: SummaryQuery) -> int:
        """The pre-aggregation window of a timestamp: its UTC hour or day."""
        return window_start(timestamp, size)

    def survivors(self, points: list[Point], size: int, query: SummaryQuery) -> list[Point]:
        """Per pre-aggregation window, the point received last."""
        latest: dict[int, Point] = {}
        for point in points:
            bucket = self.bucket(point[0], size, query)
            if bucket not in latest or self.later(point, latest[bucket]):
                latest[bucket] = point
        return list(latest.values())

    def later(self, point: Point, kept: Point) -> bool:
        """Whether `point` replaces `kept` as its window's survivor: received later."""
        return point[1] > kept[1]

    def window(self, timestamp: int, query: SummaryQuery) -> int | None:
        """The index of the summary window holding the timestamp, or None outside the range."""
        if query.start <= timestamp < query.end:
            return (timestamp - query.start) // query.step
        return None

    def order(self, points: list[Point], aggregation: Aggregation[Any]) -> list[Point]:
        """The order formulas fold points in: by timestamp, then receipt."""
        return sorted(points, key=lambda point: (point[0], point[1]))

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """Pre-aggregate, then fold each window's points."""
        points = self.points(query)
        size = query.pre_aggregation_window
        if size is not None:
            points = self.survivors(points, size, query)
        states = [aggregation.initial() for _ in range(query.count)]
        for timestamp, seq, value in self.order(points, aggregation):
            index = self.window(timestamp, query)
            if index is not None:
                states[index] = aggregation.add(states[index], timestamp, seq, value)
        return [aggregation.result(state) for state in states]


class SummaryEndInclusive(Folding):
    """A summary (and ``usage``) range includes events at exactly its end."""

    def points(self, query: SummaryQuery) -> list[Point]:
        """Read one second past the end."""
        low, high = query.scan_range
        return list(self.scan_points(query.meter.id, query.customer, low, high + 1))

    def window(self, timestamp: int, query: SummaryQuery) -> int | None:
        """An event at the end goes into the last window."""
        if timestamp == query.end:
            return query.count - 1
        return super().window(timestamp, query)


class SummaryStartExclusive(Folding):
    """A summary (and ``usage``) range leaves out events at exactly its start."""

    def window(self, timestamp: int, query: SummaryQuery) -> int | None:
        """Nothing at the start."""
        return None if timestamp == query.start else super().window(timestamp, query)


class DayWindowsAnHourLate(Folding):
    """Summaries by day use UTC+1 days (a server's local midnight): each starts an hour late."""

    def points(self, query: SummaryQuery) -> list[Point]:
        """Read the shifted days."""
        if query.step != DAY:
            return super().points(query)
        low, high = query.scan_range
        return list(self.scan_points(query.meter.id, query.customer, low + HOUR, high + HOUR))

    def window(self, timestamp: int, query: SummaryQuery) -> int | None:
        """Day windows from an hour after each UTC midnight."""
        if query.step != DAY:
            return super().window(timestamp, query)
        if query.start + HOUR <= timestamp < query.end + HOUR:
            return (timestamp - query.start - HOUR) // DAY
        return None


class PreAggregationByRange(Folding):
    """Pre-aggregation windows are counted from the summary range's start, not UTC."""

    def bucket(self, timestamp: int, size: int, query: SummaryQuery) -> int:
        """The window from the range's start."""
        return (timestamp - query.start) // size


class PreAggregationInsideTheRange(Folding):
    """Survivors are picked among the range's events only, not among their whole windows'."""

    def points(self, query: SummaryQuery) -> list[Point]:
        """Read the range itself, not whole windows."""
        return list(self.scan_points(query.meter.id, query.customer, query.start, query.end))


class FirstReceivedSurvives(Folding):
    """In a pre-aggregation window the first received event survives, not the last."""

    def later(self, point: Point, kept: Point) -> bool:
        """Keep the earliest received."""
        return point[1] < kept[1]


class LatestTimestampSurvives(Folding):
    """In a pre-aggregation window the latest timestamp survives, not the latest received."""

    def later(self, point: Point, kept: Point) -> bool:
        """Keep the latest timestamp."""
        return (point[0], point[1]) > (kept[0], kept[1])


class LastIsLatestReceived(Folding):
    """``last`` is the value of the event received last, not of the latest timestamp."""

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """For ``last``, take each window's last received point."""
        if not isinstance(aggregation, Last):
            return super().summarize(query, aggregation)
        points = self.points(query)
        size = query.pre_aggregation_window
        if size is not None:
            points = self.survivors(points, size, query)
        values = [Decimal(0)] * query.count
        for timestamp, _, value in sorted(points, key=lambda point: point[1]):
            index = self.window(timestamp, query)
            if index is not None and value is not None:
                values[index] = value
        return values


class LastTieGoesToTheFirstReceived(Folding):
    """For ``last``, of events with the same timestamp the first received wins."""

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """Fold ``last`` with receipt order reversed within a second."""
        if not isinstance(aggregation, Last):
            return super().summarize(query, aggregation)
        points = self.points(query)
        size = query.pre_aggregation_window
        if size is not None:
            points = self.survivors(points, size, query)
        reversed_ties = [(timestamp, -seq, value) for timestamp, seq, value in points]
        states = [aggregation.initial() for _ in range(query.count)]
        for timestamp, seq, value in sorted(reversed_ties, key=lambda point: point[:2]):
            index = self.window(timestamp, query)
            if index is not None:
                states[index] = aggregation.add(states[index], timestamp, seq, value)
        return [aggregation.result(state) for state in states]


class CountCountsCancelled(Folding):
    """``count`` still counts cancelled events (the other formulas leave them out)."""

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """Count the live events and the cancelled ones."""
        values = super().summarize(query, aggregation)
        if not isinstance(aggregation, Count):
            return values
        for seq in self.cancelled:
            event = self.stored[seq]
            if event.meter_id == query.meter.id and event.customer == query.customer:
                index = self.window(event.timestamp, query)
                if index is not None:
                    values[index] += 1
        return values


class SumInFloatingPoint(Folding):
    """``sum`` adds in floating point (a REAL column's SUM), so 0.1 + 0.2 is 0.30000000000000004."""

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """Sum each window's values as floats."""
        if not isinstance(aggregation, Sum):
            return super().summarize(query, aggregation)
        points = self.points(query)
        size = query.pre_aggregation_window
        if size is not None:
            points = self.survivors(points, size, query)
        totals = [0.0] * query.count
        for timestamp, _, value in points:
            index = self.window(timestamp, query)
            if index is not None and value is not None:
                totals[index] += float(value)
        return [Decimal(repr(total)) for total in totals]


class SummariesByReceiptTime(Folding):
    """Summaries bucket events by when they were received, not by their timestamp."""

    def points(self, query: SummaryQuery) -> list[Point]:
        """The live points, timed by receipt."""
        low, high = query.scan_range
        live = {seq for _, seq, _ in self.scan_points(query.meter.id, query.customer, 0, 2**40)}
        return [
            (event.created, seq, event.value)
            for seq, event in self.stored.items()
            if seq in live and low <= event.created < high
        ]


class EventsExpireAfter35Days(Folding):
    """Summaries drop events received 35 days before the newest (a TTL from the 35-day limit)."""

    def points(self, query: SummaryQuery) -> list[Point]:
        """Only the events within the TTL."""
        newest = max((event.created for event in self.stored.values()), default=0)
        return [
            point
            for point in super().points(query)
            if self.stored[point[1]].created >= newest - PAST_LIMIT
        ]


# --- source mutants of the backends' own code ------------------------------------------------


def memory_mutant(*replacements: tuple[str, str]) -> Callable[[], Storage]:
    """A factory of the memory storage from a copy of its source with `replacements` made."""
    module = mutated_copy("meterlib.storage.memory", tuple(replacements))
    storage_class: type[Storage] = module.MemoryStorage
    return storage_class


def sqlite_mutant(*replacements: tuple[str, str]) -> Callable[[], Storage]:
    """A factory of in-memory SQLite storages from a copy of its source with `replacements`."""
    module = mutated_copy("meterlib.storage.sqlite", tuple(replacements))
    storage_class: Callable[[str], Storage] = module.SQLiteStorage
    return lambda: storage_class("sqlite://")


ROLLUP_KEPT_AFTER_LATE_EVENT = (
    "        else:\n            del rollup.days[day]\n",
    "        else:\n            pass\n",
)
ROLLUP_KEPT_AFTER_CANCEL = (
    "            self.rollup.days.pop(timestamp - timestamp % DAY, None)\n",
    "            pass\n",
)
SURVIVOR_KEPT_AFTER_CANCEL = (
    "        if self.survivors.get(bucket) == key:\n",
    "        if self.survivors.get(bucket) == key and not self.survivors:\n",
)
FIRST_SURVIVOR_BROUGHT_BACK = (
    "            latest = max(received, key=lambda other: other & _SEQ_MASK, default=None)\n",
    "            latest = min(received, key=lambda other: other & _SEQ_MASK, default=None)\n",
)
ROLLUP_FOR_UNALIGNED_RANGES = (
    "        aligned = start % HOUR == 0 and step % HOUR == 0\n",
    "        aligned = step % HOUR == 0\n",
)
SQLITE_SINGLE_WINDOW_BY_RANGE = (
    "        single = size == step and low == start\n",
    "        single = size == step\n",
)
_EVERY_ROW = "{source.replace('cancelled = 0', 'cancelled IN (0, 1)')}"
SQLITE_COUNT_COUNTS_CANCELLED = (
    (  # a count of several windows, folded in Python
        '        columns = {"count": "", "sum": ", units, places"}[formula]\n',
        '        columns = {"count": "", "sum": ", units, places"}[formula]\n'
        '        if formula == "count":\n'
        '            source = source.replace("cancelled = 0", "cancelled IN (0, 1)")\n',
    ),
    (  # a whole range
        '            "count": f"SELECT 0, COUNT(*) {source}",\n',
        f'            "count": f"SELECT 0, COUNT(*) {_EVERY_ROW}",\n',
    ),
    (  # several windows past the fold's limit
        '        "count": f"SELECT {bucket}, COUNT(*) {source} GROUP BY bucket",\n',
        f'        "count": f"SELECT {{bucket}}, COUNT(*) {_EVERY_ROW} GROUP BY bucket",\n',
    ),
)


# --- the list -------------------------------------------------------------------------------


def _subclass(storage: type[Storage]) -> Callable[[Sequence[Phase], int | None], None]:
    return lambda phases, seed: run_machine(storage, phases, seed)


def _source(
    make: Callable[[], Callable[[], Storage]],
) -> Callable[[Sequence[Phase], int | None], None]:
    return lambda phases, seed: run_machine(make(), phases, seed)


def _mutant(storage: type[Storage], *, sample: bool = False) -> Mutant:
    name = "".join(f"_{c.lower()}" if c.isupper() else c for c in storage.__name__).lstrip("_")
    bug = " ".join((storage.__doc__ or "").split())
    return Mutant(name=name, bug=bug, kind="backend", run=_subclass(storage), sample=sample)


def _source_mutant(
    name: str, bug: str, make: Callable[[], Callable[[], Storage]], *, sample: bool = False
) -> Mutant:
    return Mutant(
        name=name, bug=bug, kind="backend", run=_source(make), sample=sample, prepare=make
    )


BACKEND_MUTANTS: list[Mutant] = [
    _mutant(IdentifierWindow23Hours, sample=True),
    _mutant(IdentifierWindowInclusive),
    _mutant(IdentifierWindow25Hours),
    _mutant(ReceiptTimeShifted),
    _mutant(CancelWindowInclusive, sample=True),
    _mutant(CancelFindsTheFirstEvent),
    _mutant(IgnoresCancels),
    _mutant(TimestampsFlooredToMinutes),
    _mutant(FutureTimestampsClamped),
    _mutant(NegativeValuesStoredPositive),
    _mutant(SummaryEndInclusive, sample=True),
    _mutant(SummaryStartExclusive),
    _mutant(DayWindowsAnHourLate, sample=True),
    _mutant(PreAggregationByRange),
    _mutant(PreAggregationInsideTheRange),
    _mutant(FirstReceivedSurvives),
    _mutant(LatestTimestampSurvives),
    _mutant(LastIsLatestReceived),
    _mutant(LastTieGoesToTheFirstReceived),
    _mutant(CountCountsCancelled, sample=True),
    _mutant(SumInFloatingPoint),
    _mutant(SummariesByReceiptTime),
    _mutant(EventsExpireAfter35Days),
    _source_mutant(
        "rollup_kept_after_late_event",
        "memory: an hourly rollup day is not dropped when a late (out-of-order) event arrives",
        lambda: memory_mutant(ROLLUP_KEPT_AFTER_LATE_EVENT),
        sample=True,
    ),
    _source_mutant(
        "rollup_kept_after_cancel",
        "memory: an hourly rollup day is not dropped when one of its events is cancelled",
        lambda: memory_mutant(ROLLUP_KEPT_AFTER_CANCEL),
        sample=True,
    ),
    _source_mutant(
        "survivor_kept_after_cancel",
        "memory: a cancelled pre-aggregation survivor stays its window's survivor",
        lambda: memory_mutant(SURVIVOR_KEPT_AFTER_CANCEL),
    ),
    _source_mutant(
        "first_survivor_brought_back",
        "memory: cancelling a window's survivor brings back the first event received in the "
        "window, not the one received just before it",
        lambda: memory_mutant(FIRST_SURVIVOR_BROUGHT_BACK),
    ),
    _source_mutant(
        "rollup_for_unaligned_ranges",
        "memory: a range of whole hours that starts mid-hour is read from the hourly rollup",
        lambda: memory_mutant(ROLLUP_FOR_UNALIGNED_RANGES),
    ),
    _source_mutant(
        "sqlite_single_window_by_range",
        "SQLite: a one-window range as long as the pre-aggregation window is taken as that "
        "window even when it does not start on one (survivors picked by the range)",
        lambda: sqlite_mutant(SQLITE_SINGLE_WINDOW_BY_RANGE),
    ),
    _source_mutant(
        "sqlite_count_counts_cancelled",
        "SQLite: count's query reads cancelled events too",
        lambda: sqlite_mutant(*SQLITE_COUNT_COUNTS_CANCELLED),
        sample=True,
    ),
]
"""Every backend mutant, in the order ``make mutants`` prints them."""
