"""Cancellation rules: an adjustment's parameters, and which events can still be cancelled."""

from __future__ import annotations

from meterlib.validation.events import validate_event_name
from meterlib.validation.limits import ADJUSTMENT_TYPES, CANCEL_WINDOW
from meterlib.validation.params import enum_value, fail, require_string, settings_hash


def validate_cancel_params(event_name: object, type: object, cancel: object) -> tuple[str, str]:
    """``event_name``, ``type="cancel"`` and ``cancel[identifier]`` of an adjustment."""
    name = validate_event_name(event_name)
    if type is None:
        fail("missing required param: type", code="parameter_missing", param="type")
    enum_value(type, "type", ADJUSTMENT_TYPES)
    if cancel is None:
        fail("missing required param: cancel", code="parameter_missing", param="cancel")
    settings = settings_hash(cancel, "cancel", ("identifier",))
    identifier = require_string(settings.get("identifier"), "cancel[identifier]")
    return name, identifier


def check_cancellable(
    *,
    identifier: str,
    event_name: str,
    found_event_name: str | None,
    received: int | None,
    cancelled: bool,
    now: int,
) -> None:
    """Cancel only a known event, under its own name, within 24 h of receipt, and only once."""
    param = "cancel[identifier]"
    if found_event_name is None or received is None:
        fail(
            f"No meter event with identifier {identifier!r}",
            code="resource_missing",
            param=param,
            http_status=404,
        )
    if found_event_name != event_name:
        fail(
            f"the event {identifier!r} belongs to event_name {found_event_name!r}, "
            f"not {event_name!r}",
            code="invalid_cancel_configuration",
            param="event_name",
        )
    if now - received >= CANCEL_WINDOW:
        fail(
            f"the event {identifier!r} was received 24 hours ago or more "
            "and can no longer be cancelled",
            code="invalid_cancel_configuration",
            param=param,
        )
    if cancelled:
        fail(
            f"the event {identifier!r} is already cancelled",
            code="invalid_cancel_configuration",
            param=param,
        )
