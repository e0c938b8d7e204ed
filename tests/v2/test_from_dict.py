"""from_dict: the event log's JSON text gives back the very objects that wrote it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib import (
    AggregationSettings,
    CustomerMapping,
    Meter,
    StatusTransitions,
    V1Event,
    V1EventData,
    V1EventRequest,
    V2Event,
    ValueSettings,
)
from meterlib.model import MeterLifecycleEventType
from meterlib.model.v2 import logged_event_from_dict, meter_from_dict
from tests.v2.test_objects import lifecycle_event, make_meter, texts, thin_events

LIFECYCLE_TYPES: tuple[MeterLifecycleEventType, ...] = (
    "billing.meter.created",
    "billing.meter.updated",
    "billing.meter.deactivated",
    "billing.meter.reactivated",
)

# --- strategies ---------------------------------------------------------------------------------

unix_seconds = st.integers(-62_135_596_800, 253_402_300_799)


def meters(*, livemode: bool) -> st.SearchStrategy[Meter]:
    """Any meter in this mode, with any settings, window, status and deactivation time."""
    return st.builds(
        Meter,
        id=texts,
        created=unix_seconds,
        updated=unix_seconds,
        display_name=texts,
        event_name=texts,
        default_aggregation=st.builds(
            AggregationSettings, formula=st.sampled_from(["sum", "count", "last"]) | texts
        ),
        customer_mapping=st.builds(CustomerMapping, event_payload_key=texts),
        value_settings=st.builds(ValueSettings, event_payload_key=texts),
        event_time_window=st.sampled_from([None, "hour", "day"]),
        status=st.sampled_from(["active", "inactive"]),
        status_transitions=st.builds(StatusTransitions, deactivated_at=st.none() | unix_seconds),
        livemode=st.just(livemode),
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
"""Any JSON value except NaN (which is not equal to itself after a round trip or before)."""


@st.composite
def snapshot_events(draw: st.DrawFn) -> V1Event:
    """A meter lifecycle event of any of the four types; only an update has old values."""
    event_type = draw(st.sampled_from(LIFECYCLE_TYPES))
    livemode = draw(st.booleans())
    previous = (
        draw(st.dictionaries(texts, json_values, max_size=4))
        if event_type == "billing.meter.updated"
        else None
    )
    return V1Event(
        id=draw(texts),
        type=event_type,
        created=draw(unix_seconds),
        livemode=livemode,
        data=V1EventData(object=draw(meters(livemode=livemode)), previous_attributes=previous),
        api_version=draw(st.none() | texts),
        pending_webhooks=draw(st.integers(0, 10**6)),
        request=draw(
            st.none()
            | st.builds(V1EventRequest, id=st.none() | texts, idempotency_key=st.none() | texts)
        ),
    )


thin_events_of_both_types = thin_events("v1.billing.meter.error_report_triggered") | thin_events(
    "v1.billing.meter.no_meter_found"
)


def through_json(event: V2Event | V1Event) -> dict[str, Any]:
    """What the event log reads back: the event's to_dict as JSON text, loaded again."""
    loaded: dict[str, Any] = json.loads(json.dumps(event.to_dict()))
    return loaded


# --- round trips --------------------------------------------------------------------------------


@given(thin_events_of_both_types)
def test_thin_event_round_trips_through_json(event: V2Event) -> None:
    """Any thin event, with or without reason and context, is rebuilt equal from its JSON."""
    assert V2Event.from_dict(through_json(event)) == event


@given(snapshot_events())
def test_snapshot_event_round_trips_through_json(event: V1Event) -> None:
    """Any lifecycle event, with or without previous_attributes, is rebuilt equal from its JSON."""
    assert V1Event.from_dict(through_json(event)) == event


@given(thin_events_of_both_types | snapshot_events())
def test_logged_event_round_trips_to_its_own_class(event: V2Event | V1Event) -> None:
    """logged_event_from_dict rebuilds either kind of event as its own class, equal to it."""
    rebuilt = logged_event_from_dict(through_json(event))
    assert type(rebuilt) is type(event)
    assert rebuilt == event


@pytest.mark.parametrize("event_type", LIFECYCLE_TYPES)
def test_lifecycle_event_rebuilds_its_meter(event_type: MeterLifecycleEventType) -> None:
    """Each lifecycle type's data.object comes back as a typed Meter, settings included."""
    rebuilt = V1Event.from_dict(through_json(lifecycle_event(event_type)))
    assert rebuilt.data.object == make_meter()
    assert isinstance(rebuilt.data.object.default_aggregation, AggregationSettings)


# --- dispatch and refusals ----------------------------------------------------------------------


def test_dispatch_refuses_other_objects() -> None:
    """An object tag other than v2.core.event or event is a ValueError; no tag is a KeyError."""
    with pytest.raises(ValueError, match="not a logged event"):
        logged_event_from_dict(make_meter().to_dict())
    with pytest.raises(ValueError, match="not a logged event"):
        logged_event_from_dict({"object": "v2.billing.meter_event"})
    with pytest.raises(KeyError):
        logged_event_from_dict({})


def test_from_dict_refuses_the_other_shape() -> None:
    """Each from_dict checks its object tag: a v1 event is no V2Event, a meter no V1Event."""
    snapshot = through_json(lifecycle_event("billing.meter.created"))
    with pytest.raises(ValueError, match=r"v2\.core\.event"):
        V2Event.from_dict(snapshot)
    with pytest.raises(ValueError, match="'event'"):
        V1Event.from_dict(make_meter().to_dict())
    with pytest.raises(ValueError, match=r"billing\.meter"):
        meter_from_dict(snapshot)


def test_invariants_are_checked_again() -> None:
    """A logged dict that breaks an object's rule is refused, as the constructor refuses it."""
    shape = through_json(lifecycle_event("billing.meter.updated"))
    del shape["data"]["previous_attributes"]
    with pytest.raises(ValueError, match="previous_attributes"):
        V1Event.from_dict(shape)
