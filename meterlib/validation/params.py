"""Parameter rules every resource shares: strings, mappings, enums, pages; the caller boundary.

Caller values are copied into plain types here, before any rule looks at them, so no caller
code (a subclass's ``__hash__`` or ``__eq__``) runs further in.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from types import MappingProxyType
from typing import Any, NoReturn

import attrs

from meterlib.errors import InvalidRequestError, describe
from meterlib.model import AggregationSettings, CancelSettings, CustomerMapping, ValueSettings
from meterlib.validation.limits import MAX_ID, MAX_LIMIT, MAX_NAME


def fail(message: str, *, code: str, param: str, http_status: int | None = None) -> NoReturn:
    """Raise the `InvalidRequestError` every rule uses."""
    raise InvalidRequestError(message, code=code, param=param, http_status=http_status)


def require_string(value: object, param: str, *, max_length: int = MAX_NAME) -> str:
    """A required, non-empty string of at most `max_length` characters, as a plain `str`.

    A `str` subclass is copied into a plain `str`, so no caller code (``__hash__``, ``__eq__``)
    runs later; text no backend can store (`check_text`) is refused.
    """
    if value is None:
        fail(f"missing required param: {param}", code="parameter_missing", param=param)
    if type(value) is not str:
        if not isinstance(value, str):
            fail(
                f"{param} must be a string, got {type(value).__name__}",
                code="parameter_invalid_type",
                param=param,
            )
        value = str.__str__(value)
    if not value:
        fail(f"{param} must not be empty", code="parameter_invalid_string_empty", param=param)
    if not value.strip():
        fail(f"{param} must not be blank", code="parameter_invalid_string_blank", param=param)
    if len(value) > max_length:
        fail(
            f"{param} must be at most {max_length} characters, got {len(value)}",
            code="parameter_invalid_string_length",
            param=param,
        )
    return check_text(value, param)


def check_text(value: str, param: str) -> str:
    """`value`, if every backend can store it: no NUL character and no lone surrogate.

    Such strings cannot be encoded as UTF-8 (surrogates) or stored as text by PostgreSQL (NUL),
    so they are ``parameter_invalid_string`` on every backend alike.
    """
    if "\x00" in value:
        fail(
            f"{param} must not contain NUL characters",
            code="parameter_invalid_string",
            param=param,
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            fail(
                f"{param} must be valid Unicode text; it holds a lone surrogate",
                code="parameter_invalid_string",
                param=param,
            )
    return value


_SETTINGS_CLASSES = (AggregationSettings, CustomerMapping, ValueSettings, CancelSettings)


def entries(value: object, param: str, *, limit: int) -> list[tuple[object, object]]:
    """The first ``limit + 1`` ``(key, value)`` pairs of a caller's mapping (more means too many).

    A mapping that is not a dict is the caller's own code: one that fails to give its items is
    ``parameter_invalid_type``, as a value that is no mapping at all is.
    """
    if type(value) is dict or type(value) is MappingProxyType:
        return list(islice(value.items(), limit + 1))
    if not isinstance(value, Mapping):
        fail(
            f"{param} must be a mapping, got {type(value).__name__}",
            code="parameter_invalid_type",
            param=param,
        )
    try:
        pairs = list(islice(value.items(), limit + 1))
    except Exception as error:  # the caller's own mapping failed to give its items
        raise InvalidRequestError(
            f"{param} could not be read as a mapping: {type(error).__name__}",
            code="parameter_invalid_type",
            param=param,
        ) from error
    return pairs


def mapping_key(key: object, param: str) -> str:
    """A mapping key as a plain str; anything else is an unknown param."""
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    fail(
        f"unknown param: {param}[{describe(key)}] (keys are strings)",
        code="parameter_unknown",
        param=param,
    )


def settings_hash(value: object, param: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """A nested settings hash given as a mapping or as our own settings object, as a dict."""
    if isinstance(value, _SETTINGS_CLASSES):
        value = attrs.asdict(value)
    settings: dict[str, Any] = {}
    for raw_key, item in entries(value, param, limit=len(allowed)):
        key = mapping_key(raw_key, param)
        if key not in allowed:
            shown = f"{param}[{key if len(key) <= MAX_NAME else key[:MAX_NAME] + '...'}]"
            fail(f"unknown param: {shown}", code="parameter_unknown", param=shown)
        settings[key] = item
    return settings


def enum_value(value: object, param: str, allowed: tuple[str, ...]) -> str:
    text = str.__str__(value) if isinstance(value, str) else None
    if text is None or text not in allowed:
        fail(
            f"{param} must be one of {', '.join(allowed)}; got {describe(value)}",
            code="parameter_invalid_enum",
            param=param,
        )
    return text


def validate_page_params(
    limit: object, starting_after: object, ending_before: object
) -> tuple[int, str | None, str | None]:
    """``limit`` in 1..100 and at most one cursor."""
    size = None if isinstance(limit, bool) or not isinstance(limit, int) else int.__int__(limit)
    if size is None or not 1 <= size <= MAX_LIMIT:
        fail(
            f"limit must be an integer from 1 to {MAX_LIMIT}; got {describe(limit)}",
            code="parameter_invalid_integer",
            param="limit",
        )
    if starting_after is not None and ending_before is not None:
        fail(
            "starting_after and ending_before cannot both be given",
            code="parameters_exclusive",
            param="ending_before",
        )
    after = (
        None
        if starting_after is None
        else require_string(starting_after, "starting_after", max_length=MAX_ID)
    )
    before = (
        None
        if ending_before is None
        else require_string(ending_before, "ending_before", max_length=MAX_ID)
    )
    return size, after, before


def resource_missing(what: str, object_id: str, param: str = "id") -> NoReturn:
    """``resource_missing`` (404) on `param`: no `what` has this id."""
    fail(
        f"No such {what}: {describe(object_id)}",
        code="resource_missing",
        param=param,
        http_status=404,
    )


def cursor_missing(cursor: str, param: str, what: str = "object") -> NoReturn:
    """``resource_missing`` (404) on the cursor's param: it names nothing in this list."""
    fail(
        f"No such {what}: {describe(cursor)}",
        code="resource_missing",
        param=param,
        http_status=404,
    )
