"""Usage values: exact `Decimal`s with at most 15 significant digits; payload strings."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import NoReturn

from meterlib.errors import describe
from meterlib.validation.limits import (
    MAX_PAYLOAD_STRING,
    MAX_SIGNIFICANT_DIGITS,
    VALUE_EXPONENT_RANGE,
)
from meterlib.validation.params import check_text, fail

SHORT_VALUES: dict[str, Decimal] = {}
"""Parsed short values, shared: usage repeats a few values, and a Decimal is immutable."""
SHORT_VALUES_MAX = 4_096
_PLAIN_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
_DECIMAL_STRING = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_value(raw: object, param: str) -> tuple[Decimal, str]:
    """Parse a usage value to an exact Decimal, and the string form the payload keeps.

    Accepts decimal strings, ints, Decimals and finite floats (through their shortest repr).
    Raises ``payload_invalid_value`` or ``meter_event_value_too_many_digits``.

    >>> parse_value("0.10", "payload[value]")
    (Decimal('0.10'), '0.10')
    """
    if type(raw) is str and len(raw) <= MAX_SIGNIFICANT_DIGITS:
        value = SHORT_VALUES.get(raw)
        if value is not None:
            return value, raw
        if _PLAIN_DECIMAL.fullmatch(raw):  # too short to break the digit or range rules
            value = Decimal(raw)
            if len(SHORT_VALUES) < SHORT_VALUES_MAX:
                SHORT_VALUES[raw] = value
            return value, raw
    return _parse_any_value(raw, param)


_MAX_VALUE_BITS = (10 ** (VALUE_EXPONENT_RANGE + 1)).bit_length()
"""An int of more bits is at least 10**41, out of range: refused before any conversion."""


def _parse_any_value(raw: object, param: str) -> tuple[Decimal, str]:
    """`parse_value` for any input: the digit and range rules on its exact `Decimal`."""
    value, text = _decimal_and_text(raw, param)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite by now
    all_digits = "".join(map(str, digits)).lstrip("0")
    significant = all_digits.rstrip("0")
    if len(significant) > MAX_SIGNIFICANT_DIGITS:
        fail(
            f"{param} has more than {MAX_SIGNIFICANT_DIGITS} significant digits: {describe(text)}",
            code="meter_event_value_too_many_digits",
            param=param,
        )
    lowest_digit = exponent + len(all_digits) - len(significant)
    if not (lowest_digit >= -VALUE_EXPONENT_RANGE and value.adjusted() <= VALUE_EXPONENT_RANGE):
        _out_of_range(describe(text), param)
    return value, text


def _decimal_and_text(raw: object, param: str) -> tuple[Decimal, str]:
    """A value input as an exact `Decimal` and its payload string; sizes are checked first."""
    if isinstance(raw, str):
        text = str.__str__(raw)
        if len(text) > MAX_PAYLOAD_STRING:
            _value_too_long(text, param)
        if not _DECIMAL_STRING.fullmatch(text):
            _invalid_value(raw, param)
        try:
            return Decimal(text), text
        except InvalidOperation:  # an exponent beyond what `decimal` can represent
            _invalid_value(raw, param)
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = int.__int__(raw)
        if number.bit_length() > _MAX_VALUE_BITS:
            _out_of_range(describe(number), param)
        exact = Decimal(number)
        return exact, str(exact)
    if isinstance(raw, float) and math.isfinite(raw):
        text = float.__repr__(raw)
        return Decimal(text), text
    copied = Decimal(raw) if isinstance(raw, Decimal) else None  # a plain copy of a subclass
    if copied is not None and copied.is_finite():
        text = str(copied)
        if len(text) > MAX_PAYLOAD_STRING:
            _value_too_long(text, param)
        return copied, text
    _invalid_value(raw, param)


def _value_too_long(text: str, param: str) -> NoReturn:
    fail(
        f"{param} must be at most {MAX_PAYLOAD_STRING} characters, got {len(text)}",
        code="payload_invalid_value",
        param=param,
    )


def _out_of_range(shown: str, param: str) -> NoReturn:
    fail(
        f"{param} is out of range (digits must lie within 10**±{VALUE_EXPONENT_RANGE}): {shown}",
        code="payload_invalid_value",
        param=param,
    )


def _invalid_value(raw: object, param: str) -> NoReturn:
    fail(
        f"{param} must be a finite decimal number; got {describe(raw)}",
        code="payload_invalid_value",
        param=param,
    )


_MAX_PAYLOAD_INT_BITS = (10**MAX_PAYLOAD_STRING).bit_length()
"""An int of more bits has over `MAX_PAYLOAD_STRING` digits: refused before stringifying it."""


def payload_string(raw: object, param: str) -> str:
    """A payload entry as the plain string Stripe keeps (ints and Decimals stringified).

    At most `MAX_PAYLOAD_STRING` characters, checked before an int is stringified.
    """
    if isinstance(raw, str):
        text = str.__str__(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        number = int.__int__(raw)
        if number.bit_length() > _MAX_PAYLOAD_INT_BITS:
            _payload_string_too_long(param)
        text = str(Decimal(number))  # not str(raw): an int subclass may print itself
    elif isinstance(raw, Decimal):
        text = Decimal.__str__(raw)
    else:
        fail(
            f"{param} must be a string (or an int or Decimal); got {type(raw).__name__}",
            code="parameter_invalid_type",
            param=param,
        )
    if len(text) > MAX_PAYLOAD_STRING:
        _payload_string_too_long(param)
    return check_text(text, param)


def _payload_string_too_long(param: str) -> NoReturn:
    fail(
        f"{param} must be at most {MAX_PAYLOAD_STRING} characters",
        code="parameter_invalid_string_length",
        param=param,
    )
