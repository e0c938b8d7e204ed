"""The storage interface: the fewest operations the domain core needs, nothing more.

Storage stores and queries; every rule lives in `meterlib.validation`. The one conditional write,
`add_event`'s identifier check, is there so a database can make "check then insert" atomic.
Besides meters and events, storage keeps two kinds of records for Stripe's v2 API: meter event
sessions (`SessionRecord`) and the event log (`LogRecord`).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple, Protocol, TypeVar

import attrs

from meterlib.aggregation import Aggregation
from meterlib.errors import StorageError
from meterlib.model import Meter, NewEvent
from meterlib.summaries import SummaryQuery, summarize_points

__all__ = [
    "EventRecord",
    "IdempotencyRecord",
    "LogRecord",
    "MeterInactive",
    "NewEvent",
    "Point",
    "SessionRecord",
    "Storage",
    "StoredEvent",
    "SummaryQuery",
    "page_of",
]

Point = tuple[int, int, Decimal | None]
"""``(timestamp, seq, value)`` of a surviving event; ``seq`` is the order of receipt."""


class MeterInactive(StorageError):
    """A write refused because an event's meter is no longer active: re-resolve the meter.

    Only a backend that answers `Storage.cached_meter_by_event_name` from a cache raises it, from
    `Storage.add_event` or `Storage.add_events`, having stored nothing. The ingest pipeline
    catches it, reads the meters fresh and then stores the events (a meter reactivated since)
    or rejects them with ``archived_meter``; it never reaches a caller of the public API.
    """

    def __init__(self, meter_ids: Iterable[str]) -> None:
        self.meter_ids = frozenset(meter_ids)
        super().__init__(
            f"meter no longer active: {', '.join(sorted(self.meter_ids))}",
            code="storage_meter_inactive",
        )


@attrs.frozen(kw_only=True)
class EventRecord:
    """What storage knows of an event when asked by identifier."""

    seq: int
    meter_id: str
    event_name: str
    customer: str
    identifier: str
    timestamp: int
    created: int
    cancelled: bool


class StoredEvent(NamedTuple):
    """One stored event as `Storage.list_events` returns it: what an export writes.

    A named tuple, as `NewEvent` is: an export builds one per event.
    """

    seq: int
    """The order of receipt."""
    meter_id: str
    event_name: str
    customer: str
    identifier: str
    timestamp: int
    created: int
    value: Decimal | None
    cancelled: bool


@attrs.frozen(kw_only=True)
class SessionRecord:
    """A v2 meter event session: its token authenticates stream calls until expires_at.

    >>> SessionRecord(id="mes_1", token="tok_1", created=100, expires_at=1_000).expires_at
    1000
    """

    id: str
    token: str
    created: int
    """Unix seconds."""
    expires_at: int
    """Unix seconds."""


@attrs.frozen(kw_only=True)
class LogRecord:
    """One entry of the event log (``/v2/core/events``): an event object's JSON, by id and type.

    >>> LogRecord(id="evt_1", type="billing.meter.created", created=100, body="{}").type
    'billing.meter.created'
    """

    id: str
    type: str
    """E.g. ``"v1.billing.meter.error_report_triggered"``, ``"billing.meter.created"``."""
    created: int
    """Unix seconds."""
    body: str
    """The object's JSON text, stored and returned as given."""


@attrs.frozen(kw_only=True)
class IdempotencyRecord:
    """What an ``Idempotency-Key`` holds: the request it was first used for, and its answer.

    A claim (``status`` None) marks the first request as running; an answer carries the
    response to replay. ``key`` and ``created`` together name one claim.

    >>> IdempotencyRecord(key="k", fingerprint="f", created=100).status is None
    True
    """

    key: str
    fingerprint: str
    """A digest of the request (method, path, parameters) the key was first used for."""
    created: int
    """Unix seconds, when the key was claimed."""
    status: int | None = None
    """The HTTP status of the answer; None while the claim's request runs."""
    response: str | None = None
    """The answer to replay, as the caller wrote it (opaque text); None while pending."""


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T", bound=_HasId)


def page_of(
    items: Sequence[_T],
    *,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> tuple[Sequence[_T], bool] | None:
    """A `Storage.list_meters` (or `list_log_events`) page of `items`, already in list order.

    Stripe's cursor rules, for a backend that lists every item anyway: O(len(items)).
    ``starting_after`` pages towards the end of the list, ``ending_before`` towards its start;
    the page itself is always in list order, with whether items lie beyond it in the paging
    direction. None if the cursor is not one of the items.

    >>> from types import SimpleNamespace as Item
    >>> page_of([Item(id="c"), Item(id="b"), Item(id="a")], limit=1, starting_after="c")
    ([namespace(id='b')], True)
    """
    ids = [item.id for item in items]
    cursor = starting_after if starting_after is not None else ending_before
    if cursor is not None and cursor not in ids:
        return None
    if starting_after is None and ending_before is not None:
        stop = ids.index(ending_before)
        first = max(0, stop - limit)
        return items[first:stop], first > 0
    first = 0 if starting_after is None else ids.index(starting_after) + 1
    return items[first : first + limit], first + limit < len(items)


class Storage(abc.ABC):
    """Abstract storage; a backend implements these and passes the conformance suite.

    Methods are called under the `Metering` lock of one process; a backend shared between
    processes must still make `add_meter`, `add_event` and `cancel_event` atomic on its own.
    A meter write and the event log entries that report it are one write (`add_meter` and
    `replace_meter` take them), so no failure leaves a changed meter without its entry.
    """

    meters_generation: int | None = None
    """A number that changes whenever a meter stored here changes, or None (this default).

    A backend that alone changes its meters (an in-process store) counts its `replace_meter`
    calls here, so the ingest keeps the meters it found between calls until the count moves.
    With None, the ingest asks `cached_meter_by_event_name` on every call.
    """

    preferred_batch: int = 10_000
    """Events a batch best holds here: what a file import hands `add_events` at a time when
    its caller does not say. On SQL backends, where each batch is a transaction, 10,000."""

    # --- meters ---------------------------------------------------------------------------

    @abc.abstractmethod
    def add_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> bool:
        """Store a new meter and append `log` to the event log, in one atomic write.

        False, and nothing stored (neither the meter nor `log`), if its event name is taken.
        The log records are `add_log_events`' and follow its rules; if they cannot be stored
        the meter is not stored either. O(1) + O(k log n) for k records.

        Raises:
            StorageError: ``storage_conflict`` (nothing stored) if a log id is stored already
                or appears twice in `log`.

        """

    @abc.abstractmethod
    def replace_meter(self, meter: Meter, *, log: Sequence[LogRecord] = ()) -> None:
        """Overwrite the stored meter with the same id and append `log`, in one atomic write.

        Either both land or neither does: a log that cannot be stored (as in `add_meter`)
        leaves the stored meter as it was. O(1) + O(k log n) for k records.
        """

    @abc.abstractmethod
    def get_meter(self, meter_id: str) -> Meter | None:
        """The meter with this id, or None. O(1)."""

    @abc.abstractmethod
    def get_meter_by_event_name(self, event_name: str) -> Meter | None:
        """The meter that owns this event name, active or not, or None. O(1)."""

    def cached_meter(self, meter_id: str) -> Meter | None:
        """`get_meter`, or a copy of it kept from earlier: for what reads only its definition.

        A meter's ``id``, ``event_name``, mappings, aggregation and event time window never
        change and meters are never deleted, so summaries may use a kept copy; its
        ``status``, ``display_name`` and ``updated`` may be stale, so nothing shown to a user
        comes from here. A miss is read fresh (a meter created since is found). This default
        reads fresh every time; a backend a round trip away keeps copies. O(1).
        """
        return self.get_meter(meter_id)

    def cached_meter_by_event_name(self, event_name: str) -> Meter | None:
        """`get_meter_by_event_name`, or a kept copy of a meter seen active: for the ingest.

        A backend that answers from copies keeps only meters it saw active, reads a miss
        fresh, and must make `add_event` and `add_events` refuse (raising `MeterInactive`,
        storing nothing) an event whose meter is not active when the write happens, since
        another process may have deactivated it since. This default reads fresh every time
        and such a backend never refuses. O(1).
        """
        return self.get_meter_by_event_name(event_name)

    @abc.abstractmethod
    def list_meters(
        self,
        *,
        status: str | None,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> tuple[Sequence[Meter], bool] | None:
        """One page of the meters (of this status, if given) in list order, newest first.

        Without a cursor, the first `limit` meters; with ``starting_after``, the `limit` after
        that meter; with ``ending_before`` (at most one cursor), the `limit` just before it.
        Returns the page, still newest first, and whether more meters lie beyond it in the
        direction of paging (after it; before it for ``ending_before``), or None if the cursor
        is not a meter of the list (with the status filter applied). O(log n + limit): walking
        every meter page by page costs O(n). `page_of` pages a whole list, for small backends.
        """

    # --- events ---------------------------------------------------------------------------

    @abc.abstractmethod
    def add_event(self, event: NewEvent, *, duplicate_after: int) -> int | None:
        """Store the event and return its receipt sequence number (unique, increasing).

        If an event with the same identifier was received (``created``) after `duplicate_after`,
        store nothing and return None. Atomic. O(log n).

        Raises:
            MeterInactive: (only from a backend whose `cached_meter_by_event_name` keeps
                copies) the event's meter is not active now; nothing stored.

        """

    def add_events(self, events: Sequence[NewEvent], *, duplicate_after: int) -> list[int | None]:
        """`add_event` for each event in order, per-event atomic; backends may batch. O(k log n).

        A backend that raises `MeterInactive` overrides this to raise it before storing any
        of the events (this default, one `add_event` at a time, could stop halfway).
        """
        return [self.add_event(event, duplicate_after=duplicate_after) for event in events]

    @abc.abstractmethod
    def find_event(self, identifier: str) -> EventRecord | None:
        """The most recently received event with this identifier, or None. O(log n)."""

    @abc.abstractmethod
    def cancel_event(self, seq: int) -> bool:
        """Mark the event cancelled; False if it already was. Atomic. O(log n)."""

    @abc.abstractmethod
    def scan_points(self, meter_id: str, customer: str, start: int, end: int) -> Iterable[Point]:
        """Points of the non-cancelled events of one meter and customer in a range.

        Only ``start <= timestamp < end``, ordered by ``(timestamp, seq)``. O(log n + k).
        """

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
        """Up to `limit` stored events with a seq above `after`, in order of receipt (seq).

        Only those of this meter and customer, with ``start <= timestamp < end`` and not
        cancelled, as far as each filter is given. Paging by seq (the last row's seq is the
        next call's `after`) walks every event once, each page a short read of its own:
        O(log n + events scanned), the filters being checked row by row. Exports read the
        store this way. Not abstract, so a backend written before exports existed still loads;
        this default raises ``storage_unsupported``.
        """
        raise StorageError(
            f"{type(self).__name__} cannot list its events (Storage.list_events)",
            code="storage_unsupported",
        )

    # --- summaries ------------------------------------------------------------------------

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """Aggregated values of the query's `count` windows of `step` seconds from `start`.

        `count` may be 0 (a page past the last window): then ``[]``, whatever the storage holds.
        The list is new, the caller's to keep. The default folds `scan_points` in Python; SQL
        backends push the formula down.
        O(log n + events in the range).
        """
        return summarize_points(self.scan_points, query, aggregation)

    # --- v2 meter event sessions -------------------------------------------------------------

    @abc.abstractmethod
    def add_session(self, session: SessionRecord) -> None:
        """Store a new session. Atomic. O(log n).

        Raises:
            StorageError: ``storage_conflict`` (nothing stored) if a session with its token or
                its id is stored already; tokens are random, so in practice this never happens.

        """

    @abc.abstractmethod
    def find_session(self, token: str) -> SessionRecord | None:
        """The stored session with this token, expired or not (the caller decides), or None.

        Any process on the same durable store finds the sessions another one added. O(log n).
        """

    @abc.abstractmethod
    def purge_sessions(self, *, expired_by: int) -> int:
        """Delete every session with ``expires_at <= expired_by``; return how many. Atomic.

        O(k log n) for k sessions deleted.
        """

    # --- v2 event log ---------------------------------------------------------------------

    @abc.abstractmethod
    def add_log_events(self, records: Sequence[LogRecord]) -> None:
        """Append the records to the event log, in order: all of them or none. Atomic.

        Their order of receipt is the list's order, after every entry stored before.
        O(k log n) for k records.

        Raises:
            StorageError: ``storage_conflict`` (nothing stored) if an id is stored already or
                appears twice in `records`.

        """

    @abc.abstractmethod
    def list_log_events(
        self,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        types: frozenset[str] | None = None,
    ) -> tuple[Sequence[LogRecord], bool] | None:
        """One page of the event log, newest received first; only these `types`, if given.

        The page and cursor rules are `list_meters`': the first `limit` entries, the `limit`
        after ``starting_after`` or the `limit` just before ``ending_before``; the page in list
        order and whether entries lie beyond it in the paging direction, or None if the cursor
        is not an entry of this (filtered) list. O(log n + limit) without a filter, and at
        most O(t (log n + limit)) with t types (a run per type, each read only as far as the
        page needs). `page_of` pages a whole list, for small backends.
        """

    @abc.abstractmethod
    def get_log_event(self, event_id: str) -> LogRecord | None:
        """The log entry with this id, or None. O(log n)."""

    @abc.abstractmethod
    def purge_log_events(self, *, created_before: int) -> int:
        """Delete every log entry with ``created < created_before``; return how many. Atomic.

        For retention: the entries are gone, their memory released. O(k log n) for k entries.
        """

    # --- idempotency keys ---------------------------------------------------------------------

    @abc.abstractmethod
    def claim_idempotency_key(
        self, claim: IdempotencyRecord, *, answered_after: int, pending_after: int
    ) -> IdempotencyRecord | None:
        """Store `claim` (``status`` None) for its key, unless the key's record still holds.

        A stored record holds if it is answered and was created after `answered_after`, or is
        pending and was created after `pending_after`: then it is returned and nothing is
        stored. Otherwise the claim replaces any record of the key and None is returned.
        Atomic (check and write in one step, across processes on a shared store). O(log n).
        """

    @abc.abstractmethod
    def answer_idempotency_key(self, answer: IdempotencyRecord) -> bool:
        """Give the pending claim of ``answer.key`` made at ``answer.created`` its answer.

        `answer` carries ``status`` and ``response``. False, and nothing changed, when no such
        pending claim is stored (it was replaced after going stale). Atomic. O(log n).
        """

    @abc.abstractmethod
    def release_idempotency_key(self, claim: IdempotencyRecord) -> bool:
        """Delete the pending claim of ``claim.key`` made at ``claim.created``.

        False, and nothing changed, when no such pending claim is stored. Atomic. O(log n).
        """

    @abc.abstractmethod
    def purge_idempotency_keys(self, *, created_before: int) -> int:
        """Delete every record with ``created < created_before``; return how many. Atomic.

        For retention: the records are gone, their memory released. O(k log n) for k records.
        """

    def close(self) -> None:  # noqa: B027 -- optional hook; in-memory stores hold nothing to release
        """Release connections and files; the storage is unusable afterwards."""
