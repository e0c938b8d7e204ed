"""``m.v2.core.events``: the event log of error reports and meter changes, and its subscribers.

Entries live in the storage (so every process on a durable store reads the same log), newest
first, for `LOG_RETENTION` (30 days, as Stripe keeps events); older ones are purged as new ones
are written.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence

import attrs

from meterlib import validation as rules
from meterlib.context import Context
from meterlib.model.v2 import V1Event, V2Event, V2ListObject, logged_event_from_dict
from meterlib.storage import LogRecord
from meterlib.timeutil import to_unix_seconds

LoggedEvent = V2Event | V1Event
Callback = Callable[[LoggedEvent], object]
_log = logging.getLogger("meterlib.events")
_LIST_PATH = "/v2/core/events"


class EventLog:
    """Write, list, retrieve and subscribe to logged events.

    >>> from meterlib import Metering
    >>> m = Metering()
    >>> seen = []
    >>> unsubscribe = m.v2.core.events.subscribe(seen.append)
    >>> meter = m.meters.create(display_name="API", event_name="api",
    ...                         default_aggregation={"formula": "count"})
    >>> [event.type for event in seen], m.v2.core.events.list().data[0].type
    (['billing.meter.created'], 'billing.meter.created')
    """

    def __init__(self, context: Context) -> None:
        self._context = context
        self._subscribers: list[tuple[Callback, frozenset[str] | None]] = []
        self._subscribers_lock = threading.Lock()

    def new_id(self) -> str:
        """A fresh event id: ``evt_test_...`` in test mode, ``evt_...`` in live mode."""
        return self._context.object_id("evt", uuid.uuid4().hex[:24])

    def publish(self, events: Sequence[LoggedEvent]) -> None:
        """Store the events (newest last), then call each subscriber that wants them.

        Entries older than the retention go first. A subscriber that raises is logged on the
        ``meterlib.events`` logger and skipped: the log and the change it reports are stored.
        A change that is stored with its events in one write (a meter's) calls `purge`, writes
        `records_of(events)` itself, and calls `notify` after the commit.
        """
        if not events:
            return
        records = records_of(events)
        with self._context.lock:
            self.purge()
            self._context.storage.add_log_events(records)
        self.notify(events)

    def purge(self) -> None:
        """Delete the entries older than `LOG_RETENTION` (a write of its own)."""
        context = self._context
        with context.lock:
            context.storage.purge_log_events(created_before=context.now() - rules.LOG_RETENTION)

    def notify(self, events: Sequence[LoggedEvent]) -> None:
        """Call each subscriber that wants them with the stored events, in order."""
        with self._subscribers_lock:
            subscribers = list(self._subscribers)
        for event in events:
            for callback, types in subscribers:
                if types is None or event.type in types:
                    try:
                        callback(event)
                    except Exception:  # a subscriber's bug must never break ingest
                        _log.exception("event subscriber %r failed on %s", callback, event.id)

    def subscribe(
        self, callback: Callback, *, types: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call `callback(event)` for each new event (of these types), after it is stored.

        Returns a function that unsubscribes. Callbacks run in the thread that made the change.
        """
        rules.validate_callback(callback)
        wanted = rules.validate_event_types(types)
        entry = (callback, wanted)
        with self._subscribers_lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._subscribers_lock:  # by identity: callbacks' own __eq__ never runs
                self._subscribers = [kept for kept in self._subscribers if kept is not entry]

        return unsubscribe

    def list(
        self,
        *,
        limit: int | None = None,
        types: Iterable[str] | None = None,
        page: str | None = None,
    ) -> V2ListObject[LoggedEvent]:
        """Logged events newest first (``limit``, default 10), optionally only these types.

        Paged as Stripe's v2 lists are: pass a page's ``next_page_url`` or ``previous_page_url``
        token back as ``page`` (or walk `V2ListObject.auto_paging_iter`).
        """
        return self._page(rules.validate_log_query(limit, types, page))

    def _page(self, query: rules.LogQuery) -> V2ListObject[LoggedEvent]:
        with self._context.lock:
            found = self._context.storage.list_log_events(
                limit=query.limit,
                starting_after=query.starting_after,
                ending_before=query.ending_before,
                types=query.types,
            )
        if found is None:  # the cursor's entry has been purged since the token was made
            rules.cursor_missing(str(query.starting_after or query.ending_before), "page", "event")
        records, has_more = found
        events = tuple(_event(record) for record in records)
        backward = query.ending_before is not None
        cursor_given = backward or query.starting_after is not None
        more_after = has_more if not backward else True
        more_before = has_more if backward else cursor_given
        return V2ListObject(
            data=events,
            next_page_url=_page_url(query, after=events[-1].id) if events and more_after else None,
            previous_page_url=(
                _page_url(query, before=events[0].id) if events and more_before else None
            ),
            fetch=lambda url: self.list(page=_page_of(url)),
        )

    def retrieve(self, id: str) -> LoggedEvent:
        """The logged event with this id; ``resource_missing`` (404) on ``id`` if none."""
        event_id = rules.validate_event_id(id)
        with self._context.lock:
            record = self._context.storage.get_log_event(event_id)
        if record is None:
            rules.event_missing(event_id)
        return _event(record)


def _page_url(query: rules.LogQuery, *, after: str | None = None, before: str | None = None) -> str:
    token = rules.page_token(attrs.evolve(query, starting_after=after, ending_before=before))
    return f"{_LIST_PATH}?page={token}"


def _page_of(url: str) -> str:
    return url.removeprefix(f"{_LIST_PATH}?page=")


def records_of(events: Sequence[LoggedEvent]) -> list[LogRecord]:
    """The log records that store these events: id, type, created and the object's JSON."""
    return [
        LogRecord(
            id=event.id,
            type=event.type,
            created=_created(event),
            body=json.dumps(event.to_dict(), separators=(",", ":")),
        )
        for event in events
    ]


def _created(event: LoggedEvent) -> int:
    if isinstance(event, V1Event):
        return event.created
    return to_unix_seconds(event.created, "created")


def _event(record: LogRecord) -> LoggedEvent:
    return logged_event_from_dict(json.loads(record.body))
