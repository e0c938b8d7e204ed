"""``m.v2``: Stripe's v2 Billing Meters API, mounted as the stripe SDK mounts it.

``m.v2.billing.meter_events`` and ``meter_event_adjustments`` validate synchronously (v2's
codes, shared with v1); ``meter_event_session`` issues 15-minute tokens kept in the storage;
``meter_event_stream`` takes up to 100 events a call with such a token, records the valid ones
and reports the others in the event log (``m.v2.core.events``) instead of raising.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from meterlib import validation as rules
from meterlib.context import Context
from meterlib.errors import NO_METER_FOUND, InvalidRequestError, error_report
from meterlib.ingest import Ingest, Outcome
from meterlib.model import CancelSettings, NewEvent
from meterlib.model.v2 import (
    MeterErrorReason,
    MeterErrorReport,
    MeterErrorRequest,
    MeterErrorType,
    MeterEventSession,
    MeterSampleError,
    V2Event,
    V2MeterEvent,
    V2MeterEventAdjustment,
    V2RelatedObject,
)
from meterlib.services.event_log import EventLog
from meterlib.storage import SessionRecord
from meterlib.timeutil import from_unix_seconds
from meterlib.validation.sessions import check_session, check_stream_length, validate_token


def v2_event(event: NewEvent, *, livemode: bool) -> V2MeterEvent:
    """The ``v2.billing.meter_event`` of a stored event."""
    return V2MeterEvent(
        event_name=event.event_name,
        identifier=event.identifier,
        payload=event.payload,
        timestamp=from_unix_seconds(event.timestamp),
        created=from_unix_seconds(event.created),
        livemode=livemode,
    )


class V2MeterEvents:
    """``m.v2.billing.meter_events``: one event, validated synchronously."""

    def __init__(self, context: Context, ingest: Ingest) -> None:
        self._context = context
        self._ingest = ingest

    def create(
        self,
        *,
        event_name: str,
        payload: Mapping[str, object],
        identifier: str | None = None,
        timestamp: object = None,
    ) -> V2MeterEvent:
        """Record one event; the v1 rules and codes, a v2 object back.

        >>> from meterlib import ManualClock, Metering
        >>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
        >>> _ = m.meters.create(display_name="Search", event_name="ai_search_api",
        ...                     default_aggregation={"formula": "sum"})
        >>> event = m.v2.billing.meter_events.create(event_name="ai_search_api",
        ...     payload={"stripe_customer_id": "cus_1", "value": "25"}, identifier="req_1",
        ...     timestamp="2026-03-10T11:59:30.750Z")
        >>> event.to_dict()["timestamp"], event.to_dict()["created"]
        ('2026-03-10T11:59:30.000Z', '2026-03-10T12:00:00.000Z')
        """
        event = self._ingest.create(event_name, payload, identifier, timestamp)
        return v2_event(event, livemode=self._context.livemode)


class V2MeterEventAdjustments:
    """``m.v2.billing.meter_event_adjustments``: cancel an event, whichever API recorded it."""

    def __init__(self, context: Context, ingest: Ingest) -> None:
        self._context = context
        self._ingest = ingest

    def create(
        self, *, event_name: str, type: str, cancel: Mapping[str, str] | CancelSettings
    ) -> V2MeterEventAdjustment:
        """Cancel one event by identifier, as v1 does; the v2 adjustment has an id and created.

        >>> from meterlib import Metering
        >>> m = Metering()
        >>> _ = m.meters.create(display_name="API", event_name="api",
        ...                     default_aggregation={"formula": "count"})
        >>> _ = m.record("api", customer="cus_1", identifier="req_1")
        >>> adjustment = m.v2.billing.meter_event_adjustments.create(
        ...     event_name="api", type="cancel", cancel={"identifier": "req_1"})
        >>> adjustment.id.startswith("mtradj_test_"), adjustment.status
        (True, 'complete')
        """
        context = self._context
        with context.lock:
            name, identifier = self._ingest.cancel(event_name, type, cancel)
            created = context.now()
        return V2MeterEventAdjustment(
            id=context.object_id("mtradj", uuid.uuid4().hex[:24]),
            event_name=name,
            type="cancel",
            cancel=CancelSettings(identifier=identifier),
            status="complete",
            created=from_unix_seconds(created),
            livemode=context.livemode,
        )


class MeterEventSessions:
    """``m.v2.billing.meter_event_session``: short-lived tokens for the stream."""

    def __init__(self, context: Context) -> None:
        self._context = context

    def create(self) -> MeterEventSession:
        """A new session: a random token that authenticates stream calls for 15 minutes.

        The token is kept in the storage, so any process on the same durable store accepts
        it; expired sessions are purged as new ones are made.

        >>> from meterlib import ManualClock, Metering
        >>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
        >>> session = m.v2.billing.meter_event_session.create()
        >>> session.to_dict()["expires_at"]
        '2026-03-10T12:15:00.000Z'
        """
        context = self._context
        with context.lock:
            now = context.now()
            record = SessionRecord(
                id=context.object_id("mtrses", uuid.uuid4().hex[:24]),
                token=f"mtrtok_{secrets.token_urlsafe(32)}",
                created=now,
                expires_at=now + rules.SESSION_LIFETIME,
            )
            context.storage.purge_sessions(expired_by=now)
            context.storage.add_session(record)
        return MeterEventSession(
            id=record.id,
            authentication_token=record.token,
            created=from_unix_seconds(record.created),
            expires_at=from_unix_seconds(record.expires_at),
            livemode=context.livemode,
        )


class MeterEventStream:
    """``m.v2.billing.meter_event_stream``: the high-throughput path, validated afterwards."""

    def __init__(self, context: Context, ingest: Ingest, log: EventLog) -> None:
        self._context = context
        self._ingest = ingest
        self._log = log
        self._sessions: dict[str, SessionRecord] = {}
        """Sessions found in the storage, by token: a session never changes, and leaves the
        storage only once expired, so it is read once, not on every call (a query each on
        the SQL backends: on PostgreSQL a round trip). `check_session` still judges expiry."""

    def create(self, *, events: Sequence[Mapping[str, Any]], authentication_token: str) -> None:
        """Record up to 100 events with a session's token; report the bad ones, raise nothing.

        An unknown or expired token is `AuthenticationError` and more than 100 events
        ``parameter_invalid_length``; both record nothing. Otherwise the valid events are
        stored in one storage call and each rejected one is counted (with up to 5 samples per
        code) in an error report of this call in the event log (``docs/semantics.md``).

        >>> from meterlib import Metering
        >>> m = Metering()
        >>> _ = m.meters.create(display_name="API", event_name="api",
        ...                     default_aggregation={"formula": "sum"})
        >>> token = m.v2.billing.meter_event_session.create().authentication_token
        >>> m.v2.billing.meter_event_stream.create(authentication_token=token, events=[
        ...     {"event_name": "api", "payload": {"stripe_customer_id": "c", "value": "2"}},
        ...     {"event_name": "nope", "payload": {"stripe_customer_id": "c", "value": "1"}}])
        >>> m.v2.core.events.list().data[0].data.reason.error_types[0].code
        'no_meter'
        """
        context = self._context
        with context.lock:
            check_session(self._session(validate_token(authentication_token)), context.now())
            items = rules.validate_batch(events)
            check_stream_length(items)
            batch = self._ingest.create_batch(items)
            if not batch.invalid:  # the usual call: nothing to report
                return
            reports = self._reports(items, batch.outcomes, batch.invalid)
        self._log.publish(reports)

    def _session(self, token: str) -> SessionRecord | None:
        """The session of `token` (kept, or read from the storage and kept), or None."""
        session = self._sessions.get(token)
        if session is None:
            session = self._context.storage.find_session(token)
            if session is not None:
                if len(self._sessions) >= _KEPT_SESSIONS:
                    self._sessions.clear()
                self._sessions[token] = session
        return session

    def _reports(
        self, items: Sequence[object], outcomes: Sequence[Outcome], invalid: Sequence[int]
    ) -> list[V2Event]:
        """One error report per kind (no meter found, or one meter) of this call's rejects."""
        context = self._context
        groups: dict[tuple[str, str | None], dict[str, list[MeterSampleError]]] = {}
        for index in invalid:
            item, outcome = items[index], outcomes[index]
            if not isinstance(outcome, InvalidRequestError) or outcome.code is None:
                continue
            reported = error_report(outcome.code, outcome.param)
            if reported is None:  # a duplicate: absorbed, as Stripe does
                continue
            name = item.get("event_name") if type(item) is dict else None
            meter = (
                context.storage.get_meter_by_event_name(name) if rules.is_plain_name(name) else None
            )
            kind = NO_METER_FOUND if meter is None else reported.event_type
            identifier = item.get("identifier") if type(item) is dict else None
            sample = MeterSampleError(
                error_message=outcome.message,
                request=MeterErrorRequest(
                    identifier=identifier if rules.is_plain_name(identifier) else ""
                ),
            )
            codes = groups.setdefault((kind, None if meter is None else meter.id), {})
            codes.setdefault(reported.code, []).append(sample)
        if not groups:
            return []
        now = from_unix_seconds(context.now())
        return [
            _report(self._log.new_id(), kind, meter_id, codes, now, livemode=context.livemode)
            for (kind, meter_id), codes in groups.items()
        ]


_KEPT_SESSIONS = 1_000
"""Sessions a stream keeps found at most; past that it forgets them all and reads again."""


def _report(
    event_id: str,
    kind: str,
    meter_id: str | None,
    codes: Mapping[str, list[MeterSampleError]],
    now: Any,
    *,
    livemode: bool,
) -> V2Event:
    reason = MeterErrorReason.of(
        MeterErrorType(
            code=code,
            error_count=len(samples),
            sample_errors=samples[: rules.MAX_REPORT_SAMPLES],
        )
        for code, samples in codes.items()
    )
    about = "no meter" if meter_id is None else f"meter {meter_id}"
    return V2Event(
        id=event_id,
        type=kind,  # type: ignore[arg-type]  # one of the two report types
        created=now,
        livemode=livemode,
        related_object=None if meter_id is None else V2RelatedObject.meter(meter_id),
        data=MeterErrorReport(
            developer_message_summary=(
                f"{reason.error_count} invalid usage event(s) for {about} in a stream call"
            ),
            reason=reason,
            validation_start=now,
            validation_end=now,
        ),
    )


class Billing:
    """``m.v2.billing``: meter events, adjustments, sessions and the stream."""

    def __init__(self, context: Context, ingest: Ingest, log: EventLog) -> None:
        self.meter_events = V2MeterEvents(context, ingest)
        self.meter_event_adjustments = V2MeterEventAdjustments(context, ingest)
        self.meter_event_session = MeterEventSessions(context)
        self.meter_event_stream = MeterEventStream(context, ingest, log)


class Core:
    """``m.v2.core``: the event log."""

    def __init__(self, log: EventLog) -> None:
        self.events = log


class V2:
    """``m.v2``: ``billing`` and ``core``, as ``StripeClient.v2`` has them."""

    def __init__(self, context: Context, ingest: Ingest, log: EventLog) -> None:
        self.billing = Billing(context, ingest, log)
        self.core = Core(log)
