"""Request decoding: Stripe's form bracket notation (v1 bodies and queries) and JSON (v2 bodies).

Decoding only turns text into the Python values the `Metering` API takes; whether they are
right is the API's business. Two facts of Stripe's wire schema are used here, because text
alone cannot carry them: the v1 parameters typed integer (`INTEGER_PARAMS`, whose decimal
strings become ints) and the parameters typed array (`ARRAY_PARAMS`, whose ``[0]``, ``[1]``…
entries become a list). Anything that does not decode is ``request_malformed`` (400).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from meterlib import validation as rules

INTEGER_PARAMS = frozenset({"limit", "timestamp", "start_time", "end_time", "seconds"})
"""Top-level v1 parameters Stripe types as integers: their decimal strings become ints."""
ARRAY_PARAMS = frozenset({"expand", "types"})
"""Top-level parameters Stripe types as arrays: ``name[0]=a&name[1]=b`` is a list."""
MAX_FIELDS = 10_000
"""Fields in one form or query: more is malformed (a body within the size limit holds fewer
real ones; Python's own parser would otherwise take any number)."""
MAX_DEPTH = 8
"""Bracket levels in one key (``a[b][c]`` has 2); Stripe's own parameters use at most 2."""
_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_GROUP = re.compile(r"\[([^\[\]]*)\]")
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_APPEND = object()


def parse_form(body: bytes) -> dict[str, Any]:
    """A v1 form body: ``payload[value]=25&expand[0]=x`` as nested dicts and lists.

    >>> parse_form(b"event_name=api&payload[value]=25&timestamp=1700000000")
    {'event_name': 'api', 'payload': {'value': '25'}, 'timestamp': 1700000000}
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        rules.malformed_request("the form body is not UTF-8 text")
    return _parse_pairs(text)


def parse_query(query: bytes) -> dict[str, Any]:
    """A query string, brackets percent-encoded or not: ``expand%5B0%5D=x`` is ``expand[0]=x``.

    >>> parse_query(b"customer=cus_1&limit=2&types%5B0%5D=a")
    {'customer': 'cus_1', 'limit': 2, 'types': ['a']}
    """
    try:
        text = query.decode("ascii")
    except UnicodeDecodeError:
        rules.malformed_request("the query string is not ASCII (percent-encode it)")
    return _parse_pairs(text)


def _parse_pairs(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        rules.malformed_request("a percent-encoded field is not UTF-8")
    except ValueError:
        rules.malformed_request(f"more than {MAX_FIELDS} fields")
    params: dict[str, Any] = {}
    for key, value in pairs:
        _assign(params, _path(key), value, key)
    for name in ARRAY_PARAMS & params.keys():
        params[name] = _as_list(params[name])
    for name in INTEGER_PARAMS & params.keys():
        value = params[name]
        if type(value) is str and _INTEGER.fullmatch(value):
            params[name] = int(value)
    return params


def _path(key: str) -> list[object]:
    """``a[b][]`` as ``["a", "b", _APPEND]``; a key that is not bracket notation is malformed."""
    match = _KEY.fullmatch(key)
    if match is None:
        rules.malformed_request(f"the field name {key[:100]!r} is not valid bracket notation")
    groups = _GROUP.findall(match.group(2))
    if len(groups) > MAX_DEPTH:
        rules.malformed_request(f"the field name {key[:100]!r} nests over {MAX_DEPTH} levels")
    return [match.group(1), *(group if group else _APPEND for group in groups)]


def _assign(params: dict[str, Any], path: list[object], value: str, key: str) -> None:
    container: Any = params
    for index, step in enumerate(path):
        last = index == len(path) - 1
        following = None if last else path[index + 1]
        fresh: Any = value if last else ([] if following is _APPEND else {})
        if step is _APPEND:
            if not isinstance(container, list):
                _conflict(key)
            container.append(fresh)
            container = fresh
            continue
        if not isinstance(container, dict):
            _conflict(key)
        if last:
            if step in container:
                _conflict(key)
            container[step] = fresh
        else:
            container = container.setdefault(step, fresh)
            if not isinstance(container, dict | list) or isinstance(container, list) != (
                following is _APPEND
            ):
                _conflict(key)


def _conflict(key: str) -> None:
    rules.malformed_request(
        f"the field {key[:100]!r} is given twice, or as both a value and a hash or list"
    )


def _as_list(value: object) -> object:
    """An array parameter's ``{"0": a, "1": b}`` as ``[a, b]``; other shapes pass unchanged."""
    if isinstance(value, dict) and value and all(key.isdecimal() for key in value):
        return [value[key] for key in sorted(value, key=int)]
    return value


def parse_json(body: bytes) -> dict[str, Any]:
    """A v2 JSON body as a dict; decimals stay exact (`Decimal`), an empty body is ``{}``.

    >>> parse_json(b'{"payload": {"value": 0.1}}')
    {'payload': {'value': Decimal('0.1')}}
    """
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        rules.malformed_request("the JSON body nests too deeply")
    except ValueError as error:  # JSONDecodeError, bad UTF-8, an int of too many digits
        rules.malformed_request(f"the body is not valid JSON ({error})")
    if not isinstance(value, dict):
        rules.malformed_request("the JSON body must be an object")
    return value


def parse_clock_body(body: bytes, content_type: str) -> dict[str, Any]:
    """The clock route's body: JSON (``{"seconds": 60}``) or a form (what ``raw_request`` sends)."""
    if content_type.split(";", maxsplit=1)[0].strip().lower() == "application/json":
        params = parse_json(body)
        seconds = params.get("seconds")
        if isinstance(seconds, Decimal):  # the clock takes floats: a JSON fraction is one
            params["seconds"] = float(seconds)
        return params
    return parse_form(body)


def _no_constant(name: str) -> object:
    rules.malformed_request(f"{name} is not JSON")
