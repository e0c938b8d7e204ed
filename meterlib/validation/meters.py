"""Meter rules: ``meters.create`` parameters, ids, status filters, missing and taken meters."""

from __future__ import annotations

from typing import Any, NoReturn

import attrs

from meterlib.aggregation import Aggregation, formula_names, get_aggregation
from meterlib.model import (
    AggregationSettings,
    CustomerMapping,
    EventTimeWindow,
    Meter,
    ValueSettings,
)
from meterlib.validation.limits import (
    CUSTOMER_MAPPING_TYPES,
    MAX_DISPLAY_NAME,
    MAX_ID,
    METER_STATUSES,
    WINDOW_NAMES,
)
from meterlib.validation.params import (
    enum_value,
    fail,
    require_string,
    resource_missing,
    settings_hash,
)


@attrs.frozen(kw_only=True)
class MeterParams:
    """The validated, normalised parameters of ``meters.create``."""

    display_name: str
    event_name: str
    default_aggregation: AggregationSettings
    customer_mapping: CustomerMapping
    value_settings: ValueSettings
    event_time_window: EventTimeWindow | None


def validate_meter_params(
    *,
    display_name: object,
    event_name: object,
    default_aggregation: object,
    customer_mapping: object,
    value_settings: object,
    event_time_window: object,
) -> MeterParams:
    """Check ``meters.create`` parameters and fill Stripe's defaults."""
    name = validate_display_name(display_name)
    event = require_string(event_name, "event_name")
    if default_aggregation is None:
        fail(
            "missing required param: default_aggregation",
            code="parameter_missing",
            param="default_aggregation",
        )
    aggregation = settings_hash(default_aggregation, "default_aggregation", ("formula",))
    formula = aggregation.get("formula")
    if formula is None:
        fail(
            "missing required param: default_aggregation[formula]",
            code="parameter_missing",
            param="default_aggregation[formula]",
        )
    enum_value(formula, "default_aggregation[formula]", tuple(formula_names()))

    mapping = CustomerMapping()
    if customer_mapping is not None:
        raw = settings_hash(customer_mapping, "customer_mapping", ("type", "event_payload_key"))
        if raw.get("type") is None:
            fail(
                "missing required param: customer_mapping[type]",
                code="parameter_missing",
                param="customer_mapping[type]",
            )
        enum_value(raw["type"], "customer_mapping[type]", CUSTOMER_MAPPING_TYPES)
        key = require_string(raw.get("event_payload_key"), "customer_mapping[event_payload_key]")
        mapping = CustomerMapping(event_payload_key=key)

    value = ValueSettings()
    if value_settings is not None:
        raw = settings_hash(value_settings, "value_settings", ("event_payload_key",))
        key = require_string(raw.get("event_payload_key"), "value_settings[event_payload_key]")
        value = ValueSettings(event_payload_key=key)

    window: EventTimeWindow | None = None
    if event_time_window is not None:
        window = enum_value(event_time_window, "event_time_window", WINDOW_NAMES)  # type: ignore[assignment]
    return MeterParams(
        display_name=name,
        event_name=event,
        default_aggregation=AggregationSettings(formula=formula),
        customer_mapping=mapping,
        value_settings=value,
        event_time_window=window,
    )


def validate_display_name(value: object) -> str:
    """``display_name``: required, non-empty, at most 250 characters."""
    return require_string(value, "display_name", max_length=MAX_DISPLAY_NAME)


def validate_meter_id(value: object, param: str = "id") -> str:
    """A meter id: a non-empty string."""
    return require_string(value, param, max_length=MAX_ID)


def validate_status_filter(value: object) -> str | None:
    """The ``status`` filter of ``meters.list``."""
    return None if value is None else enum_value(value, "status", METER_STATUSES)


def aggregation_for(meter: Meter) -> Aggregation[Any]:
    """The meter's registered aggregation; ``aggregation_missing`` if it was unregistered."""
    aggregation = get_aggregation(meter.default_aggregation.formula)
    if aggregation is None:
        fail(
            f"the formula {meter.default_aggregation.formula!r} of meter {meter.id} "
            "is not registered",
            code="aggregation_missing",
            param="default_aggregation[formula]",
        )
    return aggregation


def meter_missing(meter_id: str) -> NoReturn:
    """``resource_missing`` (404) on ``id``: no meter has this id."""
    resource_missing("meter", meter_id)


def event_name_taken(event_name: str) -> NoReturn:
    """``resource_already_exists`` on ``event_name``: a meter owns it, active or not."""
    fail(
        f"A meter with event_name {event_name!r} already exists",
        code="resource_already_exists",
        param="event_name",
    )
