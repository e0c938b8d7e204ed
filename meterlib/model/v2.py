"""Stripe-shaped value objects of the v2 API and of the event log: frozen, no I/O.

Times are aware UTC datetimes, floored to whole milliseconds on the way in (Stripe's v2 times
carry milliseconds, so an object equals the one its JSON describes); ``to_dict()`` gives
Stripe's JSON, v2 times as RFC 3339 strings such as ``2024-06-01T12:00:00.000Z``
(`meterlib.timeutil.to_rfc3339`).

The v2 pair of `MeterEvent` / `MeterEventAdjustment` is `V2MeterEvent` /
`V2MeterEventAdjustment`: the prefix reads as Stripe's object tag does
(``v2.billing.meter_event``) and as the SDK names versioned classes
(``V1BillingMeterErrorReportTriggeredEvent``). Sessions exist only in v2: `MeterEventSession`.

The event log has Stripe's two shapes. `V2Event` is a thin event as ``/v2/core/events``
returns it (``object: "v2.core.event"``), for the asynchronous error reports
``v1.billing.meter.error_report_triggered`` and ``v1.billing.meter.no_meter_found``, whose
``data`` is a `MeterErrorReport`. `V1Event` is a v1 snapshot event (``object: "event"``), the
shape Stripe sends for the meter lifecycle events ``billing.meter.created``, ``.updated``,
``.deactivated`` and ``.reactivated``: these are v1 webhook events whose ``data.object`` is the
whole `Meter` and whose ``data.previous_attributes`` (``.updated`` only) holds the changed
fields' old values.

The event log stores each event as the JSON text of its ``to_dict()``; `logged_event_from_dict`
and each class's ``from_dict`` give the typed object back (`meter_from_dict` the `Meter` of a
snapshot event). They read only JSON meterlib wrote, so they check little: a malformed dict
raises `KeyError`, `ValueError` or `TypeError`, whichever Python meets first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Generic, Literal, Protocol, Self, TypeVar, get_args

import attrs

from meterlib.errors import describe
from meterlib.model.v1 import (
    AggregationSettings,
    CancelSettings,
    CustomerMapping,
    Meter,
    StatusTransitions,
    ValueSettings,
)
from meterlib.timeutil import to_rfc3339

V2EventType = Literal["v1.billing.meter.error_report_triggered", "v1.billing.meter.no_meter_found"]
"""The thin event types meterlib writes: its asynchronous error reports."""
MeterLifecycleEventType = Literal[
    "billing.meter.created",
    "billing.meter.updated",
    "billing.meter.deactivated",
    "billing.meter.reactivated",
]
"""The v1 snapshot event types of a meter's life."""
METER_ERROR_CODES = (
    "archived_meter",
    "meter_event_customer_not_found",
    "meter_event_dimension_count_too_high",
    "meter_event_invalid_value",
    "meter_event_no_customer_defined",
    "meter_event_value_too_many_digits",
    "missing_dimension_payload_keys",
    "no_meter",
    "timestamp_in_future",
    "timestamp_too_far_in_past",
)
"""The codes Stripe's SDK lists for ``error_types[].code``, an open enum.

Stripe's docs also name ``meter_event_value_not_found``, and meterlib reports the rules Stripe
has no code for under their own codes (see `meterlib.errors.ERROR_REPORT_CODES`).
"""


def _utc_milliseconds(moment: datetime) -> datetime:
    """An aware datetime in UTC, floored to the millisecond; a naive one is a `ValueError`."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required; got {describe(moment)}")
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond - utc.microsecond % 1000)


def _from_rfc3339(text: str) -> datetime:
    """The aware datetime of an RFC 3339 string as `to_rfc3339` writes it."""
    return datetime.fromisoformat(text)


def _check_object(data: Mapping[str, Any], tag: str) -> None:
    """Refuse (`ValueError`) a dict whose ``object`` is not `tag`; no ``object`` is a `KeyError`."""
    if data["object"] != tag:
        raise ValueError(f"expected object {tag!r}; got {describe(data['object'])}")


def _frozen_strings(value: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of a payload (always a copy: a caller's view may front a live dict)."""
    return MappingProxyType(dict(value))


def _frozen_attributes(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A read-only copy of ``previous_attributes``, or None."""
    return None if value is None else MappingProxyType(dict(value))


# --- v2 resources -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class V2MeterEvent:
    """A ``v2.billing.meter_event``: as its v1 pair, with RFC 3339 times and no ``id``."""

    event_name: str
    identifier: str
    payload: Mapping[str, str] = attrs.field(converter=_frozen_strings)
    timestamp: datetime = attrs.field(converter=_utc_milliseconds)
    created: datetime = attrs.field(converter=_utc_milliseconds)
    livemode: bool
    object: Literal["v2.billing.meter_event"] = "v2.billing.meter_event"

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v2 JSON shape of this event: exactly its seven fields.

        >>> event = V2MeterEvent(
        ...     event_name="ai_search_api",
        ...     identifier="idmp_12345678",
        ...     payload={"stripe_customer_id": "cus_12345678", "value": "25"},
        ...     timestamp=datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
        ...     created=datetime(2024, 6, 1, 12, 10, tzinfo=UTC),
        ...     livemode=False,
        ... )
        >>> event.to_dict()["timestamp"], event.to_dict()["created"]
        ('2024-06-01T12:00:00.000Z', '2024-06-01T12:10:00.000Z')
        """
        return {
            "object": self.object,
            "created": to_rfc3339(self.created),
            "event_name": self.event_name,
            "identifier": self.identifier,
            "livemode": self.livemode,
            "payload": dict(self.payload),
            "timestamp": to_rfc3339(self.timestamp),
        }


def _require_identifier(
    instance: object, attribute: attrs.Attribute[CancelSettings], cancel: CancelSettings
) -> None:
    if cancel.identifier is None:
        raise ValueError("a v2 adjustment cancels an identifier: cancel.identifier is required")


@attrs.frozen(kw_only=True)
class V2MeterEventAdjustment:
    """A ``v2.billing.meter_event_adjustment``: unlike v1 it has an ``id`` and ``created``.

    ``cancel.identifier`` is required (a `CancelSettings` whose identifier is None is a
    `ValueError`). meterlib applies adjustments at once, so its own have ``status`` complete.
    """

    id: str
    event_name: str
    type: Literal["cancel"]
    cancel: CancelSettings = attrs.field(validator=_require_identifier)
    status: Literal["complete", "pending"]
    created: datetime = attrs.field(converter=_utc_milliseconds)
    livemode: bool
    object: Literal["v2.billing.meter_event_adjustment"] = "v2.billing.meter_event_adjustment"

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v2 JSON shape of this adjustment: exactly its eight fields."""
        return {
            "id": self.id,
            "object": self.object,
            "cancel": {"identifier": self.cancel.identifier},
            "created": to_rfc3339(self.created),
            "event_name": self.event_name,
            "livemode": self.livemode,
            "status": self.status,
            "type": self.type,
        }


@attrs.frozen(kw_only=True)
class MeterEventSession:
    """A ``v2.billing.meter_event_session``: a token that authenticates stream calls.

    The token is a bearer credential, so it is left out of ``repr()``. ``expires_at`` before
    ``created`` is a `ValueError`.
    """

    id: str
    authentication_token: str = attrs.field(repr=False)
    created: datetime = attrs.field(converter=_utc_milliseconds)
    expires_at: datetime = attrs.field(converter=_utc_milliseconds)
    livemode: bool
    object: Literal["v2.billing.meter_event_session"] = "v2.billing.meter_event_session"

    def __attrs_post_init__(self) -> None:
        if self.expires_at < self.created:
            raise ValueError("a session cannot expire before it is created")

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v2 JSON shape of this session: exactly its six fields."""
        return {
            "id": self.id,
            "object": self.object,
            "authentication_token": self.authentication_token,
            "created": to_rfc3339(self.created),
            "expires_at": to_rfc3339(self.expires_at),
            "livemode": self.livemode,
        }


# --- v2 lists -------------------------------------------------------------------------------


class _V2Listable(Protocol):
    @property
    def id(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=_V2Listable)


@attrs.frozen
class V2ListObject(Generic[T]):
    """A v2 list page as Stripe sends it: ``data``, ``next_page_url``, ``previous_page_url``.

    The urls are paths whose ``page`` token carries the whole query, so the next page is one
    ``GET`` of ``next_page_url`` (as stripe-python's v2 ``auto_paging_iter`` does); both are
    None where no page lies that way.

    >>> from meterlib import Metering
    >>> m = Metering()
    >>> for name in ("a", "b", "c"):
    ...     _ = m.meters.create(display_name=name, event_name=name,
    ...                         default_aggregation={"formula": "count"})
    >>> page = m.v2.core.events.list(limit=2)
    >>> len(page), page.next_page_url.startswith("/v2/core/events?page="), page.previous_page_url
    (2, True, None)
    >>> [event.data.object.event_name for event in page.auto_paging_iter()]
    ['c', 'b', 'a']
    """

    data: tuple[T, ...]
    next_page_url: str | None
    previous_page_url: str | None
    _fetch: Callable[[str], V2ListObject[T]] | None = attrs.field(
        default=None, eq=False, repr=False, alias="fetch"
    )
    """Gets the page a url of this list names."""

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def auto_paging_iter(self) -> Iterator[T]:
        """Yield every item of this page and of every page after it."""
        page: V2ListObject[T] = self
        while True:
            yield from page.data
            if page.next_page_url is None or page._fetch is None:
                return
            page = page._fetch(page.next_page_url)

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v2 list JSON, each item in its own shape."""
        return {
            "data": [item.to_dict() for item in self.data],
            "next_page_url": self.next_page_url,
            "previous_page_url": self.previous_page_url,
        }


# --- thin events (/v2/core/events) ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class V2RelatedObject:
    """A thin event's reference to the API resource it is about."""

    id: str
    type: str
    url: str

    @classmethod
    def meter(cls, meter_id: str) -> V2RelatedObject:
        """The reference to a meter, as an error report has it.

        >>> V2RelatedObject.meter("mtr_1").url
        '/v1/billing/meters/mtr_1'
        """
        return cls(id=meter_id, type="billing.meter", url=f"/v1/billing/meters/{meter_id}")

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``id``, ``type``, ``url``."""
        return {"id": self.id, "type": self.type, "url": self.url}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The reference `to_dict` gave `data`.

        >>> related = V2RelatedObject.meter("mtr_1")
        >>> V2RelatedObject.from_dict(related.to_dict()) == related
        True
        """
        return cls(id=data["id"], type=data["type"], url=data["url"])


@attrs.frozen(kw_only=True)
class V2EventRequest:
    """The API request that caused a thin event."""

    id: str
    idempotency_key: str

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``id``, ``idempotency_key``."""
        return {"id": self.id, "idempotency_key": self.idempotency_key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The request `to_dict` gave `data`.

        >>> request = V2EventRequest(id="req_1", idempotency_key="key_1")
        >>> V2EventRequest.from_dict(request.to_dict()) == request
        True
        """
        return cls(id=data["id"], idempotency_key=data["idempotency_key"])


@attrs.frozen(kw_only=True)
class V2EventReason:
    """Why a thin event happened; ``type`` is always ``request``."""

    request: V2EventRequest | None = None
    type: Literal["request"] = "request"

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``request`` (or null) and ``type``."""
        return {
            "request": None if self.request is None else self.request.to_dict(),
            "type": self.type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The reason `to_dict` gave `data`.

        >>> reason = V2EventReason(request=V2EventRequest(id="req_1", idempotency_key="key_1"))
        >>> V2EventReason.from_dict(reason.to_dict()) == reason
        True
        """
        request = data["request"]
        return cls(
            request=None if request is None else V2EventRequest.from_dict(request),
            type=data["type"],
        )


@attrs.frozen(kw_only=True)
class MeterErrorRequest:
    """The event a sample error came from, by its ``identifier``."""

    identifier: str

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``identifier``."""
        return {"identifier": self.identifier}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The request `to_dict` gave `data`.

        >>> request = MeterErrorRequest(identifier="idmp_1")
        >>> MeterErrorRequest.from_dict(request.to_dict()) == request
        True
        """
        return cls(identifier=data["identifier"])


@attrs.frozen(kw_only=True)
class MeterSampleError:
    """One sample of an error type: the message and the event's request."""

    error_message: str
    request: MeterErrorRequest

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``error_message``, ``request``."""
        return {"error_message": self.error_message, "request": self.request.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The sample `to_dict` gave `data`.

        >>> sample = MeterSampleError(
        ...     error_message="No customer.", request=MeterErrorRequest(identifier="idmp_1")
        ... )
        >>> MeterSampleError.from_dict(sample.to_dict()) == sample
        True
        """
        return cls(
            error_message=data["error_message"],
            request=MeterErrorRequest.from_dict(data["request"]),
        )


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative; got {value}")


def _samples(samples: Iterable[MeterSampleError]) -> tuple[MeterSampleError, ...]:
    return tuple(samples)


@attrs.frozen(kw_only=True)
class MeterErrorType:
    """The errors of one ``code`` in a report: how many, and some samples.

    ``code`` is an open enum (`METER_ERROR_CODES`); fewer errors than samples is a `ValueError`.
    """

    code: str
    error_count: int = attrs.field(validator=_non_negative)
    sample_errors: tuple[MeterSampleError, ...] = attrs.field(converter=_samples)

    def __attrs_post_init__(self) -> None:
        if self.error_count < len(self.sample_errors):
            raise ValueError("an error type has at least as many errors as samples")

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``code``, ``error_count``, ``sample_errors``."""
        return {
            "code": self.code,
            "error_count": self.error_count,
            "sample_errors": [sample.to_dict() for sample in self.sample_errors],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The error type `to_dict` gave `data`, its counts checked again.

        >>> sample = MeterSampleError(
        ...     error_message="No meter.", request=MeterErrorRequest(identifier="idmp_1")
        ... )
        >>> kind = MeterErrorType(code="no_meter", error_count=2, sample_errors=[sample])
        >>> MeterErrorType.from_dict(kind.to_dict()) == kind
        True
        """
        return cls(
            code=data["code"],
            error_count=data["error_count"],
            sample_errors=[MeterSampleError.from_dict(sample) for sample in data["sample_errors"]],
        )


def _error_types(kinds: Iterable[MeterErrorType]) -> tuple[MeterErrorType, ...]:
    return tuple(kinds)


@attrs.frozen(kw_only=True)
class MeterErrorReason:
    """A report's errors: the total and the breakdown by code.

    ``error_count`` is the total of the types' counts; any other total is a `ValueError`.
    """

    error_count: int = attrs.field(validator=_non_negative)
    error_types: tuple[MeterErrorType, ...] = attrs.field(converter=_error_types)

    def __attrs_post_init__(self) -> None:
        if self.error_count != sum(kind.error_count for kind in self.error_types):
            raise ValueError("error_count must be the total of the error types' counts")

    @classmethod
    def of(cls, error_types: Iterable[MeterErrorType]) -> MeterErrorReason:
        """The reason of these error types, with their total as ``error_count``."""
        kinds = tuple(error_types)
        return cls(error_count=sum(kind.error_count for kind in kinds), error_types=kinds)

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``error_count``, ``error_types``."""
        return {
            "error_count": self.error_count,
            "error_types": [kind.to_dict() for kind in self.error_types],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The reason `to_dict` gave `data`, its total checked again.

        >>> reason = MeterErrorReason.of(
        ...     [MeterErrorType(code="no_meter", error_count=2, sample_errors=[])]
        ... )
        >>> MeterErrorReason.from_dict(reason.to_dict()) == reason
        True
        """
        return cls(
            error_count=data["error_count"],
            error_types=[MeterErrorType.from_dict(kind) for kind in data["error_types"]],
        )


@attrs.frozen(kw_only=True)
class MeterErrorReport:
    """The ``data`` of an error report event: the errors of one validation window.

    Both ``v1.billing.meter.error_report_triggered`` and ``v1.billing.meter.no_meter_found``
    have this shape (the SDK declares the same fields for each). ``validation_end`` before
    ``validation_start`` is a `ValueError`.
    """

    developer_message_summary: str
    reason: MeterErrorReason
    validation_start: datetime = attrs.field(converter=_utc_milliseconds)
    validation_end: datetime = attrs.field(converter=_utc_milliseconds)

    def __attrs_post_init__(self) -> None:
        if self.validation_end < self.validation_start:
            raise ValueError("validation_end must not be before validation_start")

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape, times as RFC 3339 strings."""
        return {
            "developer_message_summary": self.developer_message_summary,
            "reason": self.reason.to_dict(),
            "validation_end": to_rfc3339(self.validation_end),
            "validation_start": to_rfc3339(self.validation_start),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The report `to_dict` gave `data`, its RFC 3339 times parsed back.

        >>> report = MeterErrorReport(
        ...     developer_message_summary="There is 1 invalid event",
        ...     reason=MeterErrorReason.of([]),
        ...     validation_start=datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
        ...     validation_end=datetime(2024, 6, 1, 12, 0, 10, tzinfo=UTC),
        ... )
        >>> MeterErrorReport.from_dict(report.to_dict()) == report
        True
        """
        return cls(
            developer_message_summary=data["developer_message_summary"],
            reason=MeterErrorReason.from_dict(data["reason"]),
            validation_start=_from_rfc3339(data["validation_start"]),
            validation_end=_from_rfc3339(data["validation_end"]),
        )


_HAS_RELATED_OBJECT: dict[str, bool] = {
    "v1.billing.meter.error_report_triggered": True,
    "v1.billing.meter.no_meter_found": False,
}
"""Whether each thin event type refers to a meter."""


@attrs.frozen(kw_only=True)
class V2Event:
    """A ``v2.core.event`` as ``/v2/core/events/{id}`` returns it, with its ``data``.

    An ``error_report_triggered`` event refers to its meter (``related_object``, see
    `V2RelatedObject.meter`); a ``no_meter_found`` event has none (Stripe's SDK declares no
    ``related_object`` for it, and ``to_dict`` leaves the key out). Anything else is a
    `ValueError`. ``context`` (the account context) and ``reason`` are null unless given, and
    ``changes`` is always null: these event types track no changes of the related object.
    """

    id: str
    type: V2EventType
    created: datetime = attrs.field(converter=_utc_milliseconds)
    livemode: bool
    data: MeterErrorReport
    related_object: V2RelatedObject | None = None
    context: str | None = None
    reason: V2EventReason | None = None
    object: Literal["v2.core.event"] = "v2.core.event"

    def __attrs_post_init__(self) -> None:
        has = _HAS_RELATED_OBJECT.get(self.type)
        if has is None:
            raise ValueError(f"unknown event type {self.type!r}")
        if has != (self.related_object is not None):
            raise ValueError(
                f"a {self.type} event {'needs' if has else 'has no'} related_object (its meter)"
            )

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape of the fetched event."""
        event: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "changes": None,
            "context": self.context,
            "created": to_rfc3339(self.created),
            "data": self.data.to_dict(),
            "livemode": self.livemode,
            "reason": None if self.reason is None else self.reason.to_dict(),
        }
        if self.related_object is not None:
            event["related_object"] = self.related_object.to_dict()
        event["type"] = self.type
        return event

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The thin event `to_dict` gave `data` (as read back from the event log's JSON).

        Only JSON meterlib wrote is expected: a malformed dict, or one whose ``object`` is not
        ``v2.core.event``, raises `KeyError`, `ValueError` or `TypeError`.

        >>> import json
        >>> event = V2Event(
        ...     id="evt_1",
        ...     type="v1.billing.meter.error_report_triggered",
        ...     created=datetime(2024, 6, 1, 12, 0, 11, tzinfo=UTC),
        ...     livemode=False,
        ...     data=MeterErrorReport(
        ...         developer_message_summary="There are 0 invalid events",
        ...         reason=MeterErrorReason.of([]),
        ...         validation_start=datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
        ...         validation_end=datetime(2024, 6, 1, 12, 0, 10, tzinfo=UTC),
        ...     ),
        ...     related_object=V2RelatedObject.meter("mtr_1"),
        ... )
        >>> V2Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event
        True
        """
        _check_object(data, "v2.core.event")
        related = data.get("related_object")  # left out of no_meter_found events
        reason = data["reason"]
        return cls(
            id=data["id"],
            type=data["type"],
            created=_from_rfc3339(data["created"]),
            livemode=data["livemode"],
            data=MeterErrorReport.from_dict(data["data"]),
            related_object=None if related is None else V2RelatedObject.from_dict(related),
            context=data["context"],
            reason=None if reason is None else V2EventReason.from_dict(reason),
        )


# --- v1 snapshot events (webhooks) --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class V1EventRequest:
    """The API request that caused a snapshot event; both null for an automatic event."""

    id: str | None = None
    idempotency_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape: ``id``, ``idempotency_key``, each possibly null."""
        return {"id": self.id, "idempotency_key": self.idempotency_key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The request `to_dict` gave `data`, nulls kept.

        >>> request = V1EventRequest(id="req_1", idempotency_key=None)
        >>> V1EventRequest.from_dict(request.to_dict()) == request
        True
        """
        return cls(id=data["id"], idempotency_key=data["idempotency_key"])


@attrs.frozen(kw_only=True)
class V1EventData:
    """A snapshot event's ``data``: the whole meter; for an update, the old changed values."""

    object: Meter
    previous_attributes: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_frozen_attributes
    )

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON shape; ``previous_attributes`` only when there are some."""
        data: dict[str, Any] = {"object": self.object.to_dict()}
        if self.previous_attributes is not None:
            data["previous_attributes"] = dict(self.previous_attributes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The data `to_dict` gave `data`: the meter rebuilt, old values as given.

        >>> from meterlib import Metering
        >>> meter = Metering().meters.create(
        ...     display_name="API", event_name="api", default_aggregation={"formula": "count"}
        ... )
        >>> data = V1EventData(object=meter, previous_attributes={"display_name": "Old"})
        >>> V1EventData.from_dict(data.to_dict()) == data
        True
        """
        return cls(
            object=meter_from_dict(data["object"]),
            previous_attributes=data.get("previous_attributes"),  # only in .updated events
        )


_METER_LIFECYCLE_TYPES = frozenset(get_args(MeterLifecycleEventType))


@attrs.frozen(kw_only=True)
class V1Event:
    """A v1 snapshot ``event`` about a meter: created, updated, deactivated or reactivated.

    ``data.previous_attributes`` is given for ``billing.meter.updated`` and only for it (Stripe
    includes it in ``*.updated`` events only), and ``livemode`` is the meter's; anything else is
    a `ValueError`. ``pending_webhooks`` is 0 by default: in process nobody awaits delivery.
    Connect's ``account`` and ``context`` are left out, as Stripe leaves them out of an
    account's own events.
    """

    id: str
    type: MeterLifecycleEventType
    created: int
    livemode: bool
    data: V1EventData
    api_version: str | None
    pending_webhooks: int = attrs.field(default=0, validator=_non_negative)
    request: V1EventRequest | None = attrs.field(factory=V1EventRequest)
    object: Literal["event"] = "event"

    def __attrs_post_init__(self) -> None:
        if self.type not in _METER_LIFECYCLE_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        updated = self.type == "billing.meter.updated"
        if updated != (self.data.previous_attributes is not None):
            raise ValueError("previous_attributes belongs to billing.meter.updated events only")
        if self.data.object.livemode != self.livemode:
            raise ValueError("an event's livemode is its meter's")

    def to_dict(self) -> dict[str, Any]:
        """Stripe's v1 JSON shape of the event, the meter in its own v1 shape."""
        return {
            "id": self.id,
            "object": self.object,
            "api_version": self.api_version,
            "created": self.created,
            "data": self.data.to_dict(),
            "livemode": self.livemode,
            "pending_webhooks": self.pending_webhooks,
            "request": None if self.request is None else self.request.to_dict(),
            "type": self.type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The snapshot event `to_dict` gave `data` (as read back from the event log's JSON).

        Only JSON meterlib wrote is expected: a malformed dict, or one whose ``object`` is not
        ``event``, raises `KeyError`, `ValueError` or `TypeError`.

        >>> import json
        >>> from meterlib import Metering
        >>> meter = Metering().meters.create(
        ...     display_name="API", event_name="api", default_aggregation={"formula": "count"}
        ... )
        >>> event = V1Event(
        ...     id="evt_1",
        ...     type="billing.meter.created",
        ...     created=meter.created,
        ...     livemode=meter.livemode,
        ...     data=V1EventData(object=meter),
        ...     api_version=None,
        ... )
        >>> V1Event.from_dict(json.loads(json.dumps(event.to_dict()))) == event
        True
        """
        _check_object(data, "event")
        request = data["request"]
        return cls(
            id=data["id"],
            type=data["type"],
            created=data["created"],
            livemode=data["livemode"],
            data=V1EventData.from_dict(data["data"]),
            api_version=data["api_version"],
            pending_webhooks=data["pending_webhooks"],
            request=None if request is None else V1EventRequest.from_dict(request),
        )


def meter_from_dict(data: Mapping[str, Any]) -> Meter:
    """The `Meter` whose v1 shape (``Meter.to_dict()``) is `data`, its settings rebuilt.

    Only JSON meterlib wrote is expected: a malformed dict, or one whose ``object`` is not
    ``billing.meter``, raises `KeyError`, `ValueError` or `TypeError`.

    >>> from meterlib import Metering
    >>> meter = Metering().meters.create(
    ...     display_name="API", event_name="api", default_aggregation={"formula": "count"}
    ... )
    >>> meter_from_dict(meter.to_dict()) == meter
    True
    """
    _check_object(data, "billing.meter")
    customer_mapping = data["customer_mapping"]
    return Meter(
        id=data["id"],
        created=data["created"],
        updated=data["updated"],
        display_name=data["display_name"],
        event_name=data["event_name"],
        default_aggregation=AggregationSettings(formula=data["default_aggregation"]["formula"]),
        customer_mapping=CustomerMapping(
            event_payload_key=customer_mapping["event_payload_key"], type=customer_mapping["type"]
        ),
        value_settings=ValueSettings(event_payload_key=data["value_settings"]["event_payload_key"]),
        event_time_window=data["event_time_window"],
        status=data["status"],
        status_transitions=StatusTransitions(
            deactivated_at=data["status_transitions"]["deactivated_at"]
        ),
        livemode=data["livemode"],
    )


def logged_event_from_dict(data: Mapping[str, Any]) -> V2Event | V1Event:
    """The event log's event whose ``to_dict()`` is `data`, chosen by its ``object``.

    ``v2.core.event`` gives a `V2Event`, ``event`` a `V1Event`; any other ``object`` is a
    `ValueError`, and a malformed dict raises `KeyError`, `ValueError` or `TypeError`.

    >>> import json
    >>> from meterlib import Metering
    >>> meter = Metering().meters.create(
    ...     display_name="API", event_name="api", default_aggregation={"formula": "count"}
    ... )
    >>> event = V1Event(
    ...     id="evt_1",
    ...     type="billing.meter.created",
    ...     created=meter.created,
    ...     livemode=meter.livemode,
    ...     data=V1EventData(object=meter),
    ...     api_version=None,
    ... )
    >>> logged_event_from_dict(json.loads(json.dumps(event.to_dict()))) == event
    True
    >>> logged_event_from_dict(meter.to_dict())
    Traceback (most recent call last):
    ...
    ValueError: not a logged event: object 'billing.meter'
    """
    tag = data["object"]
    if tag == "v2.core.event":
        return V2Event.from_dict(data)
    if tag == "event":
        return V1Event.from_dict(data)
    raise ValueError(f"not a logged event: object {describe(tag)}")
