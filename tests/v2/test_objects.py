"""v2 value objects and event log objects: Stripe's exact JSON, frozen, checked invariants."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib import (
    AggregationSettings,
    CancelSettings,
    CustomerMapping,
    ListObject,
    Meter,
    MeterErrorReason,
    MeterErrorReport,
    MeterErrorRequest,
    MeterErrorType,
    MeterEventSession,
    MeterSampleError,
    StatusTransitions,
    V1Event,
    V1EventData,
    V1EventRequest,
    V2Event,
    V2EventReason,
    V2EventRequest,
    V2MeterEvent,
    V2MeterEventAdjustment,
    V2RelatedObject,
    ValueSettings,
)
from meterlib.model import METER_ERROR_CODES, MeterLifecycleEventType
from tests.v2 import schemas

NOON = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

# --- strategies ---------------------------------------------------------------------------------

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


def moments() -> st.SearchStrategy[datetime]:
    """Aware datetimes anywhere in years 2 to 9998, in any whole-minute UTC offset."""
    offsets = st.integers(-14 * 60, 14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=offsets
    )


def v2_meter_events() -> st.SearchStrategy[V2MeterEvent]:
    """Any v2 meter event."""
    return st.builds(
        V2MeterEvent,
        event_name=texts,
        identifier=texts,
        payload=st.dictionaries(texts, texts, max_size=4),
        timestamp=moments(),
        created=moments(),
        livemode=st.booleans(),
    )


def v2_adjustments() -> st.SearchStrategy[V2MeterEventAdjustment]:
    """Any v2 meter event adjustment."""
    return st.builds(
        V2MeterEventAdjustment,
        id=texts,
        event_name=texts,
        type=st.just("cancel"),
        cancel=st.builds(CancelSettings, identifier=texts),
        status=st.sampled_from(["complete", "pending"]),
        created=moments(),
        livemode=st.booleans(),
    )


@st.composite
def sessions(draw: st.DrawFn) -> MeterEventSession:
    """Any meter event session (it expires at or after its creation)."""
    created = draw(moments())
    return MeterEventSession(
        id=draw(texts),
        authentication_token=draw(texts),
        created=created,
        expires_at=created + draw(st.timedeltas(timedelta(0), timedelta(days=1))),
        livemode=draw(st.booleans()),
    )


@st.composite
def error_types(draw: st.DrawFn) -> MeterErrorType:
    """One error type: a code (Stripe's or any), a count and up to three samples."""
    samples = draw(
        st.lists(
            st.builds(
                MeterSampleError,
                error_message=texts,
                request=st.builds(MeterErrorRequest, identifier=texts),
            ),
            max_size=3,
        )
    )
    return MeterErrorType(
        code=draw(st.sampled_from(METER_ERROR_CODES) | texts),
        error_count=len(samples) + draw(st.integers(0, 10**6)),
        sample_errors=samples,
    )


@st.composite
def error_reports(draw: st.DrawFn) -> MeterErrorReport:
    """The data of an error report: a validation window and its errors."""
    start = draw(moments())
    return MeterErrorReport(
        developer_message_summary=draw(texts),
        reason=MeterErrorReason.of(draw(st.lists(error_types(), max_size=3))),
        validation_start=start,
        validation_end=start + draw(st.timedeltas(timedelta(0), timedelta(hours=1))),
    )


reasons = st.none() | st.builds(
    V2EventReason, request=st.none() | st.builds(V2EventRequest, id=texts, idempotency_key=texts)
)


def thin_events(event_type: str) -> st.SearchStrategy[V2Event]:
    """Thin events of `event_type`, with a meter as related object where the type has one."""
    related = (
        st.builds(V2RelatedObject.meter, texts)
        if event_type == "v1.billing.meter.error_report_triggered"
        else st.none()
    )
    return st.builds(
        V2Event,
        id=texts,
        type=st.just(event_type),
        created=moments(),
        livemode=st.booleans(),
        data=error_reports(),
        related_object=related,
        context=st.none() | texts,
        reason=reasons,
    )


def make_meter(**overrides: Any) -> Meter:
    """An active test-mode meter."""
    fields: dict[str, Any] = {
        "id": "mtr_1",
        "created": 1_704_824_589,
        "updated": 1_704_824_589,
        "display_name": "Search API Calls",
        "event_name": "ai_search_api",
        "default_aggregation": AggregationSettings(formula="sum"),
        "customer_mapping": CustomerMapping(),
        "value_settings": ValueSettings(),
        "event_time_window": None,
        "status": "active",
        "status_transitions": StatusTransitions(),
        "livemode": False,
    }
    return Meter(**(fields | overrides))


def lifecycle_event(event_type: MeterLifecycleEventType, **overrides: Any) -> V1Event:
    """A snapshot event of `event_type` about `make_meter()`."""
    previous = {"display_name": "Old name"} if event_type == "billing.meter.updated" else None
    fields: dict[str, Any] = {
        "id": "evt_1",
        "type": event_type,
        "created": 1_704_824_600,
        "livemode": False,
        "data": V1EventData(object=make_meter(), previous_attributes=previous),
        "api_version": "2026-10-28.endive",
    }
    return V1Event(**(fields | overrides))


def json_round_trip(shape: dict[str, Any]) -> dict[str, Any]:
    """`shape` through JSON and back: it must be plain JSON data."""
    loaded: dict[str, Any] = json.loads(json.dumps(shape))
    return loaded


# --- JSON shapes --------------------------------------------------------------------------------


@given(v2_meter_events())
def test_v2_meter_event_matches_schema(event: V2MeterEvent) -> None:
    """A v2 meter event's to_dict is exactly Stripe's v2.billing.meter_event, as plain JSON."""
    shape = event.to_dict()
    schemas.check(shape, schemas.V2_METER_EVENT)
    assert json_round_trip(shape) == shape


@given(v2_adjustments())
def test_v2_adjustment_matches_schema(adjustment: V2MeterEventAdjustment) -> None:
    """A v2 adjustment's to_dict is exactly Stripe's v2.billing.meter_event_adjustment."""
    shape = adjustment.to_dict()
    schemas.check(shape, schemas.V2_METER_EVENT_ADJUSTMENT)
    assert json_round_trip(shape) == shape


@given(sessions())
def test_session_matches_schema(session: MeterEventSession) -> None:
    """A session's to_dict is exactly Stripe's v2.billing.meter_event_session."""
    shape = session.to_dict()
    schemas.check(shape, schemas.V2_METER_EVENT_SESSION)
    assert json_round_trip(shape) == shape


@given(thin_events("v1.billing.meter.error_report_triggered"))
def test_error_report_triggered_event_matches_schema(event: V2Event) -> None:
    """An error_report_triggered event is a v2.core.event with the meter as related_object."""
    shape = event.to_dict()
    schemas.check(shape, schemas.ERROR_REPORT_TRIGGERED_EVENT)
    assert json_round_trip(shape) == shape


@given(thin_events("v1.billing.meter.no_meter_found"))
def test_no_meter_found_event_matches_schema(event: V2Event) -> None:
    """A no_meter_found event is a v2.core.event with the report data and no related_object."""
    shape = event.to_dict()
    schemas.check(shape, schemas.NO_METER_FOUND_EVENT)
    assert json_round_trip(shape) == shape


@pytest.mark.parametrize(
    "event_type",
    [
        "billing.meter.created",
        "billing.meter.updated",
        "billing.meter.deactivated",
        "billing.meter.reactivated",
    ],
)
def test_lifecycle_event_matches_schema(event_type: MeterLifecycleEventType) -> None:
    """A meter lifecycle event is a v1 snapshot event whose data.object is the whole meter."""
    event = lifecycle_event(event_type)
    shape = event.to_dict()
    schemas.check(shape, schemas.snapshot_event(event_type))
    assert shape["data"]["object"] == make_meter().to_dict()


@given(v2_meter_events())
def test_times_round_trip_through_rfc3339(event: V2MeterEvent) -> None:
    """Times are kept in UTC to the millisecond, so their RFC 3339 strings parse back to them."""
    shape = event.to_dict()
    assert datetime.fromisoformat(shape["timestamp"]) == event.timestamp
    assert datetime.fromisoformat(shape["created"]) == event.created
    assert event.created.tzinfo is UTC
    assert event.created.microsecond % 1000 == 0


def test_v2_meter_event_is_stripes_example() -> None:
    """The API reference's v2 meter event serialises to the reference's JSON."""
    event = V2MeterEvent(
        event_name="ai_search_api",
        identifier="idmp_12345678",
        payload={"stripe_customer_id": "cus_12345678", "value": "25"},
        timestamp=NOON,
        created=NOON + timedelta(minutes=10),
        livemode=False,
    )
    assert event.to_dict() == {
        "object": "v2.billing.meter_event",
        "created": "2024-06-01T12:10:00.000Z",
        "event_name": "ai_search_api",
        "identifier": "idmp_12345678",
        "livemode": False,
        "payload": {"stripe_customer_id": "cus_12345678", "value": "25"},
        "timestamp": "2024-06-01T12:00:00.000Z",
    }


def test_session_is_stripes_example() -> None:
    """The reference's session (15 minutes) serialises to its JSON, token included."""
    session = MeterEventSession(
        id="mes_1",
        authentication_token="token_12345678",
        created=NOON,
        expires_at=NOON + timedelta(minutes=15),
        livemode=False,
    )
    assert session.to_dict() == {
        "id": "mes_1",
        "object": "v2.billing.meter_event_session",
        "authentication_token": "token_12345678",
        "created": "2024-06-01T12:00:00.000Z",
        "expires_at": "2024-06-01T12:15:00.000Z",
        "livemode": False,
    }
    assert "token_12345678" not in repr(session)


def test_error_report_is_stripes_example() -> None:
    """The docs' error_report_triggered event serialises to the docs' JSON (plus changes: null)."""
    event = V2Event(
        id="evt_test_1",
        type="v1.billing.meter.error_report_triggered",
        created=datetime(2024, 9, 26, 17, 46, 22, 134000, tzinfo=UTC),
        livemode=False,
        related_object=V2RelatedObject.meter("mtr_test_1"),
        data=MeterErrorReport(
            developer_message_summary="There is 1 invalid event",
            reason=MeterErrorReason.of(
                [
                    MeterErrorType(
                        code="meter_event_no_customer_defined",
                        error_count=1,
                        sample_errors=[
                            MeterSampleError(
                                error_message=(
                                    "Customer mapping key stripe_customer_id not found in payload."
                                ),
                                request=MeterErrorRequest(identifier="cb447754"),
                            )
                        ],
                    )
                ]
            ),
            validation_start=datetime(2024, 9, 26, 17, 46, 10, tzinfo=UTC),
            validation_end=datetime(2024, 9, 26, 17, 46, 20, tzinfo=UTC),
        ),
    )
    assert event.to_dict() == {
        "id": "evt_test_1",
        "object": "v2.core.event",
        "changes": None,
        "context": None,
        "created": "2024-09-26T17:46:22.134Z",
        "data": {
            "developer_message_summary": "There is 1 invalid event",
            "reason": {
                "error_count": 1,
                "error_types": [
                    {
                        "code": "meter_event_no_customer_defined",
                        "error_count": 1,
                        "sample_errors": [
                            {
                                "error_message": (
                                    "Customer mapping key stripe_customer_id not found in payload."
                                ),
                                "request": {"identifier": "cb447754"},
                            }
                        ],
                    }
                ],
            },
            "validation_end": "2024-09-26T17:46:20.000Z",
            "validation_start": "2024-09-26T17:46:10.000Z",
        },
        "livemode": False,
        "reason": None,
        "related_object": {
            "id": "mtr_test_1",
            "type": "billing.meter",
            "url": "/v1/billing/meters/mtr_test_1",
        },
        "type": "v1.billing.meter.error_report_triggered",
    }


def test_updated_event_carries_previous_attributes() -> None:
    """A billing.meter.updated event's data has the old values; the other types have none."""
    updated = lifecycle_event("billing.meter.updated").to_dict()
    assert updated["data"]["previous_attributes"] == {"display_name": "Old name"}
    assert updated["request"] == {"id": None, "idempotency_key": None}
    assert "previous_attributes" not in lifecycle_event("billing.meter.created").to_dict()["data"]


def test_list_object_holds_event_log_objects() -> None:
    """A ListObject page of v1 snapshot events gives Stripe's list envelope of them."""
    page = ListObject[V1Event](
        data=(lifecycle_event("billing.meter.created"),), has_more=False, url="/v1/events"
    )
    assert page.to_dict()["data"] == [lifecycle_event("billing.meter.created").to_dict()]


# --- frozen and checked -------------------------------------------------------------------------

FROZEN_CASES: list[tuple[Callable[[], object], str]] = [
    (
        lambda: V2MeterEvent(
            event_name="e", identifier="i", payload={}, timestamp=NOON, created=NOON, livemode=False
        ),
        "event_name",
    ),
    (
        lambda: V2MeterEventAdjustment(
            id="a",
            event_name="e",
            type="cancel",
            cancel=CancelSettings(identifier="i"),
            status="complete",
            created=NOON,
            livemode=False,
        ),
        "status",
    ),
    (
        lambda: MeterEventSession(
            id="s", authentication_token="t", created=NOON, expires_at=NOON, livemode=False
        ),
        "expires_at",
    ),
    (lambda: V2RelatedObject.meter("m"), "id"),
    (V2EventReason, "request"),
    (lambda: MeterErrorReason.of([]), "error_count"),
    (lambda: lifecycle_event("billing.meter.created"), "pending_webhooks"),
    (V1EventRequest, "id"),
]


@pytest.mark.parametrize(("build", "field"), FROZEN_CASES)
def test_objects_are_frozen(build: Callable[[], object], field: str) -> None:
    """Every v2 and event log object refuses attribute assignment."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(build(), field, None)


def test_payload_is_read_only_and_copied() -> None:
    """The payload is a read-only copy: neither the caller's dict nor the view can change it."""
    given_payload = {"stripe_customer_id": "cus_1"}
    event = V2MeterEvent(
        event_name="e",
        identifier="i",
        payload=given_payload,
        timestamp=NOON,
        created=NOON,
        livemode=False,
    )
    given_payload["value"] = "1"
    assert dict(event.payload) == {"stripe_customer_id": "cus_1"}
    with pytest.raises(TypeError):
        event.payload["value"] = "2"  # type: ignore[index]


def test_objects_are_keyword_only() -> None:
    """Fields are keyword-only, as in every meterlib value object."""
    with pytest.raises(TypeError):
        V2RelatedObject("m", "billing.meter", "/v1/billing/meters/m")  # type: ignore[call-arg]


def test_naive_times_are_refused() -> None:
    """A naive datetime is a ValueError: v2 times are aware UTC."""
    with pytest.raises(ValueError, match="timezone-aware"):
        MeterEventSession(
            id="s",
            authentication_token="t",
            created=datetime(2024, 6, 1),
            expires_at=NOON,
            livemode=False,
        )


def test_times_are_utc_and_floored_to_milliseconds() -> None:
    """A time in another offset becomes UTC, and its microseconds are floored to milliseconds."""
    paris = timezone(timedelta(hours=2))
    session = MeterEventSession(
        id="s",
        authentication_token="t",
        created=datetime(2024, 6, 1, 14, 0, 0, 999_999, tzinfo=paris),
        expires_at=datetime(2024, 6, 1, 14, 15, tzinfo=paris),
        livemode=False,
    )
    assert session.created == datetime(2024, 6, 1, 12, 0, 0, 999_000, tzinfo=UTC)
    assert session.to_dict()["created"] == "2024-06-01T12:00:00.999Z"


def test_adjustment_needs_an_identifier() -> None:
    """A v2 adjustment whose cancel has no identifier is refused (v2 requires it)."""
    with pytest.raises(ValueError, match="identifier"):
        V2MeterEventAdjustment(
            id="a",
            event_name="e",
            type="cancel",
            cancel=CancelSettings(identifier=None),
            status="complete",
            created=NOON,
            livemode=False,
        )


def test_session_cannot_expire_before_creation() -> None:
    """A session whose expires_at precedes created is refused."""
    with pytest.raises(ValueError, match="expire"):
        MeterEventSession(
            id="s",
            authentication_token="t",
            created=NOON,
            expires_at=NOON - timedelta(seconds=1),
            livemode=False,
        )


def test_error_counts_must_add_up() -> None:
    """A reason's error_count is its types' total, and a type has at least its samples' count."""
    sample = MeterSampleError(error_message="m", request=MeterErrorRequest(identifier="i"))
    with pytest.raises(ValueError, match="samples"):
        MeterErrorType(code="no_meter", error_count=0, sample_errors=[sample])
    kind = MeterErrorType(code="no_meter", error_count=3, sample_errors=[sample])
    with pytest.raises(ValueError, match="total"):
        MeterErrorReason(error_count=2, error_types=[kind])
    assert MeterErrorReason.of([kind, kind]).error_count == 6


def test_validation_window_is_ordered() -> None:
    """A report whose validation_end precedes validation_start is refused."""
    with pytest.raises(ValueError, match="validation_end"):
        MeterErrorReport(
            developer_message_summary="",
            reason=MeterErrorReason.of([]),
            validation_start=NOON,
            validation_end=NOON - timedelta(seconds=10),
        )


def test_related_object_follows_the_event_type() -> None:
    """error_report_triggered needs its meter as related_object; no_meter_found has none."""
    data = MeterErrorReport(
        developer_message_summary="",
        reason=MeterErrorReason.of([]),
        validation_start=NOON,
        validation_end=NOON,
    )
    common: dict[str, Any] = {"id": "evt_1", "created": NOON, "livemode": False, "data": data}
    with pytest.raises(ValueError, match="needs related_object"):
        V2Event(type="v1.billing.meter.error_report_triggered", **common)
    with pytest.raises(ValueError, match="has no related_object"):
        V2Event(
            type="v1.billing.meter.no_meter_found",
            related_object=V2RelatedObject.meter("mtr_1"),
            **common,
        )
    with pytest.raises(ValueError, match="unknown event type"):
        V2Event(type="v1.billing.meter.other", **common)  # type: ignore[arg-type]


def test_previous_attributes_only_on_updates() -> None:
    """previous_attributes is required on billing.meter.updated and refused on the others."""
    with pytest.raises(ValueError, match="previous_attributes"):
        lifecycle_event("billing.meter.updated", data=V1EventData(object=make_meter()))
    with pytest.raises(ValueError, match="previous_attributes"):
        lifecycle_event(
            "billing.meter.deactivated",
            data=V1EventData(object=make_meter(), previous_attributes={"status": "active"}),
        )


def test_snapshot_event_livemode_is_the_meters() -> None:
    """A snapshot event in another mode than its meter is refused."""
    with pytest.raises(ValueError, match="livemode"):
        lifecycle_event("billing.meter.created", livemode=True)
