"""The table of asynchronous error codes: it covers every code the event rules raise."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable
from types import FunctionType, ModuleType
from typing import Any

import pytest

from meterlib import validation
from meterlib.errors import (
    ERROR_REPORT_CODES,
    ERROR_REPORT_TRIGGERED,
    NO_METER_FOUND,
    ErrorReport,
    error_report,
)
from meterlib.model import METER_ERROR_CODES
from meterlib.testing.strategies import INVALID_EVENT_CODES

EVENT_RULES: tuple[Callable[..., Any], ...] = (
    validation.validate_batch,
    validation.event_arguments,
    validation.validate_event_name,
    validation.check_meter_accepts_events,
    validation.aggregation_for,
    validation.validate_event,
    validation.check_event_timestamp,
    validation.duplicate_identifier,
)
"""The rules an event goes through, from a batch item to a stored event."""
RULE_MODULES = ("meterlib.validation", "meterlib.timeutil")
"""Where rules live: calls into other modules (dateutil, describe) raise no coded error."""


def _literal_codes(node: ast.expr) -> Iterable[str]:
    """The string constants an expression can evaluate to (a constant or a conditional)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _literal_codes(node.body)
        yield from _literal_codes(node.orelse)


def _callee(node: ast.expr, namespace: dict[str, Any]) -> object:
    """What a call's function expression names in `namespace` (a name or module.name)."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        owner = namespace.get(node.value.id)
        return getattr(owner, node.attr, None) if isinstance(owner, ModuleType) else None
    return None


def raised_codes(rules: Iterable[Callable[..., Any]]) -> set[str]:
    """Every literal ``code=`` of a call in `rules` and in the rule functions they call."""
    codes: set[str] = set()
    seen: set[FunctionType] = set()
    pending = [inspect.unwrap(rule) for rule in rules]
    while pending:
        function = pending.pop()
        if not isinstance(function, FunctionType) or function in seen:
            continue
        seen.add(function)
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "code":
                    codes.update(_literal_codes(keyword.value))
            callee = _callee(node.func, function.__globals__)
            if isinstance(callee, FunctionType) and callee.__module__.startswith(RULE_MODULES):
                pending.append(callee)
    return codes


def test_table_covers_exactly_the_event_rules_codes() -> None:
    """The table's keys are exactly the codes the event rules (and the rules they call) raise."""
    found = raised_codes(EVENT_RULES)
    assert "payload_no_customer_defined" in found  # the walk reached the payload rules
    assert "parameter_invalid_timestamp" in found  # and the time parsing of timeutil
    assert set(ERROR_REPORT_CODES) == found


def test_table_covers_the_invalid_event_strategy() -> None:
    """Every code the invalid-event strategy draws has an asynchronous code."""
    assert set(INVALID_EVENT_CODES) <= set(ERROR_REPORT_CODES)


def test_stripe_pairs_map_to_stripes_async_codes() -> None:
    """Stripe's synchronous meter codes map to the codes of Stripe's error reports."""
    stripe_pairs = {
        "no_meter": "no_meter",
        "archived_meter": "archived_meter",
        "payload_no_customer_defined": "meter_event_no_customer_defined",
        "payload_no_value_defined": "meter_event_value_not_found",
        "payload_invalid_value": "meter_event_invalid_value",
        "meter_event_value_too_many_digits": "meter_event_value_too_many_digits",
        "timestamp_too_far_in_past": "timestamp_too_far_in_past",
        "timestamp_in_future": "timestamp_in_future",
        "duplicate_meter_event": None,
    }
    assert {code: ERROR_REPORT_CODES[code] for code in stripe_pairs} == stripe_pairs


def test_async_codes_are_stripes_or_the_rules_own() -> None:
    """Each async code is in Stripe's enum, is Stripe's documented one, or keeps the rule's code."""
    for code, reported in ERROR_REPORT_CODES.items():
        assert reported is None or reported in (
            *METER_ERROR_CODES,
            "meter_event_value_not_found",
            code,
        ), code


@pytest.mark.parametrize(
    ("code", "param", "report"),
    [
        ("no_meter", "event_name", ErrorReport(NO_METER_FOUND, "no_meter")),
        ("parameter_invalid_string_empty", "event_name", ErrorReport(NO_METER_FOUND, "no_meter")),
        ("parameter_missing", "event_name", ErrorReport(NO_METER_FOUND, "no_meter")),
        ("archived_meter", "event_name", ErrorReport(ERROR_REPORT_TRIGGERED, "archived_meter")),
        (
            "payload_no_customer_defined",
            "payload[stripe_customer_id]",
            ErrorReport(ERROR_REPORT_TRIGGERED, "meter_event_no_customer_defined"),
        ),
        (
            "parameter_invalid_string_length",
            "payload[region]",
            ErrorReport(ERROR_REPORT_TRIGGERED, "parameter_invalid_string_length"),
        ),
        ("duplicate_meter_event", "identifier", None),
    ],
)
def test_error_report_routes_by_code_and_param(
    code: str, param: str, report: ErrorReport | None
) -> None:
    """Errors with no possible meter go to no_meter_found; the rest to the meter's report."""
    assert error_report(code, param) == report


def test_error_report_refuses_unknown_codes() -> None:
    """A code the table lacks is a KeyError, not a silent guess."""
    with pytest.raises(KeyError):
        error_report("resource_missing", "id")
