"""Meters: parameter validation, updates, the event-name reservation, deactivate/reactivate."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from meterlib import ManualClock, Meter, Metering
from meterlib.errors import InvalidRequestError

VALID: dict[str, Any] = {
    "display_name": "Search API Calls",
    "event_name": "ai_search_api",
    "default_aggregation": {"formula": "sum"},
}


def create(m: Metering, **overrides: Any) -> Meter:
    """Create a meter from `VALID` with some parameters replaced."""
    return m.meters.create(**(VALID | overrides))


def test_create_fills_stripe_defaults(m: Metering, clock: ManualClock) -> None:
    """A minimal meter is active, raw, keyed by stripe_customer_id and value, created now."""
    meter = create(m)
    now = int(clock.now().timestamp())
    assert meter.to_dict() | {"id": None} == {
        "id": None,
        "object": "billing.meter",
        "created": now,
        "updated": now,
        "display_name": "Search API Calls",
        "event_name": "ai_search_api",
        "default_aggregation": {"formula": "sum"},
        "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
        "value_settings": {"event_payload_key": "value"},
        "event_time_window": None,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "livemode": False,
    }


def test_create_keeps_given_settings(m: Metering) -> None:
    """Custom payload keys, formula and pre-aggregation window are stored as given."""
    meter = create(
        m,
        default_aggregation={"formula": "last"},
        customer_mapping={"type": "by_id", "event_payload_key": "customer"},
        value_settings={"event_payload_key": "tokens"},
        event_time_window="hour",
    )
    assert m.meters.retrieve(meter.id) == meter
    assert meter.default_aggregation.formula == "last"
    assert meter.customer_mapping.event_payload_key == "customer"
    assert meter.value_settings.event_payload_key == "tokens"
    assert meter.event_time_window == "hour"


def test_limits_are_inclusive(m: Metering) -> None:
    """A 250-character display name and 100-character event name and payload keys are fine."""
    meter = create(
        m,
        display_name="d" * 250,
        event_name="e" * 100,
        customer_mapping={"type": "by_id", "event_payload_key": "c" * 100},
        value_settings={"event_payload_key": "v" * 100},
    )
    assert len(meter.display_name) == 250
    assert len(meter.event_name) == 100


BAD_PARAMS = [
    # (overrides, code, param)
    ({"display_name": None}, "parameter_missing", "display_name"),
    ({"event_name": None}, "parameter_missing", "event_name"),
    ({"default_aggregation": None}, "parameter_missing", "default_aggregation"),
    ({"default_aggregation": {}}, "parameter_missing", "default_aggregation[formula]"),
    (
        {"default_aggregation": {"formula": None}},
        "parameter_missing",
        "default_aggregation[formula]",
    ),
    (
        {"customer_mapping": {"event_payload_key": "c"}},
        "parameter_missing",
        "customer_mapping[type]",
    ),
    (
        {"customer_mapping": {"type": "by_id"}},
        "parameter_missing",
        "customer_mapping[event_payload_key]",
    ),
    ({"value_settings": {}}, "parameter_missing", "value_settings[event_payload_key]"),
    ({"display_name": ""}, "parameter_invalid_string_empty", "display_name"),
    ({"display_name": "   "}, "parameter_invalid_string_blank", "display_name"),
    ({"display_name": "d" * 251}, "parameter_invalid_string_length", "display_name"),
    ({"event_name": ""}, "parameter_invalid_string_empty", "event_name"),
    ({"event_name": "e" * 101}, "parameter_invalid_string_length", "event_name"),
    (
        {"customer_mapping": {"type": "by_id", "event_payload_key": "c" * 101}},
        "parameter_invalid_string_length",
        "customer_mapping[event_payload_key]",
    ),
    (
        {"value_settings": {"event_payload_key": "v" * 101}},
        "parameter_invalid_string_length",
        "value_settings[event_payload_key]",
    ),
    (
        {"customer_mapping": {"type": "by_id", "event_payload_key": ""}},
        "parameter_invalid_string_empty",
        "customer_mapping[event_payload_key]",
    ),
    (
        {"default_aggregation": {"formula": "average"}},
        "parameter_invalid_enum",
        "default_aggregation[formula]",
    ),
    (
        {"default_aggregation": {"formula": "SUM"}},
        "parameter_invalid_enum",
        "default_aggregation[formula]",
    ),
    ({"event_time_window": "week"}, "parameter_invalid_enum", "event_time_window"),
    ({"event_time_window": 3600}, "parameter_invalid_enum", "event_time_window"),
    (
        {"customer_mapping": {"type": "by_email", "event_payload_key": "c"}},
        "parameter_invalid_enum",
        "customer_mapping[type]",
    ),
    (
        {"default_aggregation": {"formula": "sum", "window": "hour"}},
        "parameter_unknown",
        "default_aggregation[window]",
    ),
    (
        {"customer_mapping": {"type": "by_id", "event_payload_key": "c", "x": "y"}},
        "parameter_unknown",
        "customer_mapping[x]",
    ),
    (
        {"value_settings": {"event_payload_key": "v", "default": "1"}},
        "parameter_unknown",
        "value_settings[default]",
    ),
    ({"display_name": 42}, "parameter_invalid_type", "display_name"),
    ({"event_name": ["ai_search_api"]}, "parameter_invalid_type", "event_name"),
    ({"default_aggregation": "sum"}, "parameter_invalid_type", "default_aggregation"),
    ({"default_aggregation": ["sum"]}, "parameter_invalid_type", "default_aggregation"),
    ({"customer_mapping": "stripe_customer_id"}, "parameter_invalid_type", "customer_mapping"),
    ({"value_settings": "value"}, "parameter_invalid_type", "value_settings"),
    (
        {"value_settings": {"event_payload_key": 7}},
        "parameter_invalid_type",
        "value_settings[event_payload_key]",
    ),
    (
        {"default_aggregation": {"formula": ["sum"]}},
        "parameter_invalid_enum",
        "default_aggregation[formula]",
    ),
]


@pytest.mark.parametrize(("overrides", "code", "param"), BAD_PARAMS)
def test_bad_params_raise_and_create_nothing(
    m: Metering, overrides: dict[str, Any], code: str, param: str
) -> None:
    """Each bad create parameter raises its code and param, and no meter appears."""
    with pytest.raises(InvalidRequestError) as info:
        create(m, **overrides)
    assert (info.value.code, info.value.param) == (code, param)
    assert m.meters.list().data == ()


def test_failed_create_leaves_event_name_free(m: Metering) -> None:
    """A create rejected for another parameter does not reserve the event name."""
    with pytest.raises(InvalidRequestError):
        create(m, default_aggregation={"formula": "median"})
    assert create(m).event_name == VALID["event_name"]


def test_retrieve_unknown_id(m: Metering) -> None:
    """Retrieving an unknown meter id is resource_missing with http status 404."""
    with pytest.raises(InvalidRequestError) as info:
        m.meters.retrieve("mtr_nope")
    assert (info.value.code, info.value.param, info.value.http_status) == (
        "resource_missing",
        "id",
        404,
    )


def test_update_changes_only_display_name_and_updated(m: Metering, clock: ManualClock) -> None:
    """Update renames the meter, stamps `updated` with the clock and leaves the rest alone."""
    meter = create(m)
    clock.advance(120)
    renamed = m.meters.update(meter.id, display_name="Renamed")
    assert renamed == attrs.evolve(
        meter, display_name="Renamed", updated=int(clock.now().timestamp())
    )
    assert m.meters.retrieve(meter.id) == renamed


def test_update_accepts_no_other_field(m: Metering) -> None:
    """display_name is the only field update takes (the rest is fixed at creation)."""
    meter = create(m)
    with pytest.raises(TypeError):
        m.meters.update(meter.id, event_name="other")  # type: ignore[call-arg]
    assert m.meters.retrieve(meter.id) == meter


@pytest.mark.parametrize(
    ("display_name", "code"),
    [
        ("", "parameter_invalid_string_empty"),
        (" ", "parameter_invalid_string_blank"),
        ("d" * 251, "parameter_invalid_string_length"),
        (5, "parameter_invalid_type"),
    ],
)
def test_update_rejects_bad_display_name(m: Metering, display_name: Any, code: str) -> None:
    """A bad display name on update raises and changes nothing."""
    meter = create(m)
    with pytest.raises(InvalidRequestError) as info:
        m.meters.update(meter.id, display_name=display_name)
    assert (info.value.code, info.value.param) == (code, "display_name")
    assert m.meters.retrieve(meter.id) == meter


def test_update_unknown_meter(m: Metering) -> None:
    """Updating an unknown meter is resource_missing."""
    with pytest.raises(InvalidRequestError) as info:
        m.meters.update("mtr_nope", display_name="x")
    assert info.value.code == "resource_missing"


def test_event_name_belongs_to_one_meter(m: Metering) -> None:
    """A second meter cannot take an event name already in use, and nothing is created."""
    first = create(m)
    with pytest.raises(InvalidRequestError) as info:
        create(m, display_name="Other")
    assert info.value.param == "event_name"
    assert m.meters.list().data == (first,)


def test_event_name_stays_reserved_after_deactivation(m: Metering) -> None:
    """An inactive meter keeps its event name for ever."""
    first = m.meters.deactivate(create(m).id)
    with pytest.raises(InvalidRequestError) as info:
        create(m, display_name="Replacement")
    assert info.value.param == "event_name"
    assert m.meters.list().data == (first,)


def test_deactivate_sets_status_and_times(m: Metering, clock: ManualClock) -> None:
    """Deactivate makes the meter inactive with deactivated_at and updated at the clock's now."""
    meter = create(m)
    clock.advance(3_600)
    now = int(clock.now().timestamp())
    inactive = m.meters.deactivate(meter.id)
    assert inactive.status == "inactive"
    assert inactive.status_transitions.deactivated_at == now
    assert inactive.updated == now
    assert inactive.created == meter.created
    assert m.meters.retrieve(meter.id) == inactive


def test_reactivate_clears_deactivated_at(m: Metering, clock: ManualClock) -> None:
    """Reactivate makes the meter active again, deactivated_at None, updated at the clock's now."""
    meter = create(m)
    clock.advance(60)
    m.meters.deactivate(meter.id)
    clock.advance(60)
    now = int(clock.now().timestamp())
    active = m.meters.reactivate(meter.id)
    assert active.status == "active"
    assert active.status_transitions.deactivated_at is None
    assert active.updated == now
    assert m.meters.retrieve(meter.id) == active


@pytest.mark.parametrize("action", ["deactivate", "reactivate"])
def test_status_change_of_unknown_meter(m: Metering, action: str) -> None:
    """Deactivating or reactivating an unknown meter is resource_missing."""
    with pytest.raises(InvalidRequestError) as info:
        getattr(m.meters, action)("mtr_nope")
    assert info.value.code == "resource_missing"
