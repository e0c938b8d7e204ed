"""The ASGI app: Stripe's Billing Meters routes over one `Metering`, with no rule of its own.

Each request is matched to an endpoint (a method of the `Metering` API), authenticated, decoded
(`meterlib.server.forms`), run through ``m.idempotency_keys`` when it is a POST with an
``Idempotency-Key``, and answered with the object's ``to_dict()`` or the error's Stripe envelope
(``to_dict("v1"|"v2")``). Which parameters an endpoint takes, and which it needs, is read from
the signature of the API method it calls; every check is the API's (``meterlib.validation``).
The API is called on the event loop's own thread, not in a thread pool: every call holds the
`Metering`'s lock, so a pool would add no concurrency, only two thread switches a request
(measured: a third of the throughput). A call waiting for a store's lock holds up the other
requests, as that lock would anyway; their connections queue meanwhile.
"""

from __future__ import annotations

import inspect
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import unquote_plus

import attrs
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from meterlib import validation as rules
from meterlib.errors import MeterlibError
from meterlib.metering import Metering
from meterlib.server import forms
from meterlib.timeutil import ManualClock, now_seconds, to_rfc3339

Api = Literal["v1", "v2"]
DEFAULT_MAX_BODY = 1_048_576
"""The largest request body served, in bytes (1 MiB: a full stream call of long payloads)."""
DRAIN_FACTOR = 16
"""A body over the limit is still read (and dropped) up to this many times the limit, so the
client gets its 413 instead of a reset connection; past that the connection is closed."""
JSON = "application/json"
MAX_VERSION = 100
"""The longest ``Stripe-Version`` echoed back."""
_log = logging.getLogger("meterlib.server")
_ID = None
"""A path segment that is an object id."""


@attrs.frozen
class Endpoint:
    """One route: method, path (`_ID` for an id segment), API version, and the call it makes."""

    method: str
    path: tuple[str | None, ...]
    api: Api
    call: Callable[[Metering], Callable[..., Any]]
    """Picks the API method to call from the `Metering`; path ids are its positional args."""
    token: str | None = None
    """The keyword that takes the bearer token itself (the stream's session token)."""
    manual_clock: bool = False
    """Served only when the store runs on a `ManualClock`."""


def _clock_now(m: Metering) -> Callable[[], dict[str, Any]]:
    def now() -> dict[str, Any]:
        return _clock_object(m)

    return now


def _clock_advance(m: Metering) -> Callable[..., dict[str, Any]]:
    def advance(*, seconds: object) -> dict[str, Any]:
        clock = m.clock
        assert isinstance(clock, ManualClock)  # the route exists only for a manual clock
        clock.advance(rules.validate_clock_advance(seconds))
        return _clock_object(m)

    return advance


def _clock_object(m: Metering) -> dict[str, Any]:
    return {
        "object": "meterlib.clock",
        "now": now_seconds(m.clock),
        "now_rfc3339": to_rfc3339(m.clock.now()),
    }


METERS = ("v1", "billing", "meters")
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", METERS, "v1", lambda m: m.meters.create),
    Endpoint("GET", METERS, "v1", lambda m: m.meters.list),
    Endpoint("GET", (*METERS, _ID), "v1", lambda m: m.meters.retrieve),
    Endpoint("POST", (*METERS, _ID), "v1", lambda m: m.meters.update),
    Endpoint("POST", (*METERS, _ID, "deactivate"), "v1", lambda m: m.meters.deactivate),
    Endpoint("POST", (*METERS, _ID, "reactivate"), "v1", lambda m: m.meters.reactivate),
    Endpoint(
        "GET", (*METERS, _ID, "event_summaries"), "v1", lambda m: m.meters.list_event_summaries
    ),
    Endpoint("POST", ("v1", "billing", "meter_events"), "v1", lambda m: m.meter_events.create),
    Endpoint(
        "POST",
        ("v1", "billing", "meter_event_adjustments"),
        "v1",
        lambda m: m.meter_event_adjustments.create,
    ),
    Endpoint(
        "POST", ("v2", "billing", "meter_events"), "v2", lambda m: m.v2.billing.meter_events.create
    ),
    Endpoint(
        "POST",
        ("v2", "billing", "meter_event_adjustments"),
        "v2",
        lambda m: m.v2.billing.meter_event_adjustments.create,
    ),
    Endpoint(
        "POST",
        ("v2", "billing", "meter_event_session"),
        "v2",
        lambda m: m.v2.billing.meter_event_session.create,
    ),
    Endpoint(
        "POST",
        ("v2", "billing", "meter_event_stream"),
        "v2",
        lambda m: m.v2.billing.meter_event_stream.create,
        token="authentication_token",
    ),
    Endpoint("GET", ("v2", "core", "events"), "v2", lambda m: m.v2.core.events.list),
    Endpoint("GET", ("v2", "core", "events", _ID), "v2", lambda m: m.v2.core.events.retrieve),
    Endpoint("GET", ("_meterlib", "clock"), "v1", _clock_now, manual_clock=True),
    Endpoint("POST", ("_meterlib", "clock", "advance"), "v1", _clock_advance, manual_clock=True),
)
"""Every route served; ``/_meterlib/clock`` only on a manual clock."""


@attrs.frozen
class _Bound:
    """An endpoint bound to one `Metering`: the method, and its keywords read from its signature."""

    endpoint: Endpoint
    method: Callable[..., Any]
    allowed: frozenset[str]
    required: tuple[str, ...]


def _bind(endpoint: Endpoint, m: Metering) -> _Bound:
    method = endpoint.call(m)
    keywords = [
        parameter
        for parameter in inspect.signature(method).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    names = {parameter.name for parameter in keywords} - {endpoint.token}
    return _Bound(
        endpoint=endpoint,
        method=method,
        allowed=frozenset(names | ({"expand"} if endpoint.api == "v1" else set())),
        required=tuple(
            parameter.name
            for parameter in keywords
            if parameter.default is inspect.Parameter.empty and parameter.name != endpoint.token
        ),
    )


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _answer(bound: _Bound, ids: tuple[str, ...], params: dict[str, Any], token: str) -> Any:
    """Call the endpoint's API method with the request's ids and parameters."""
    rules.check_known_params(params, bound.allowed)
    if "expand" in params:
        rules.validate_expand(params.pop("expand"))
    arguments = dict.fromkeys(bound.required) | params
    if bound.endpoint.token is not None:
        arguments[bound.endpoint.token] = token
    result = bound.method(*ids, **arguments)
    if result is None:
        return {}
    if isinstance(result, dict):
        return result
    return result.to_dict()


def _respond(
    bound: _Bound,
    ids: tuple[str, ...],
    params: dict[str, Any],
    token: str,
    headers: dict[str, str],
) -> tuple[int, str]:
    """``(status, JSON text)`` of one call: the object, or the error's envelope and hint."""
    try:
        return 200, _dumps(_answer(bound, ids, params, token))
    except MeterlibError as error:
        _hint(error, headers)
        return error.http_status, _dumps(error.to_dict(bound.endpoint.api))


def _hint(error: MeterlibError, headers: dict[str, str]) -> None:
    """Set ``Stripe-Should-Retry`` where the API says whether a retry can succeed."""
    retry = rules.should_retry(error)
    if retry is not None:
        headers["Stripe-Should-Retry"] = "true" if retry else "false"


class ServerApp:
    """The ASGI callable behind `create_app`: route, authenticate, decode, call, answer."""

    def __init__(self, metering: Metering, *, api_key: str, max_body: int) -> None:
        self.metering = metering
        self.api_key = rules.validate_api_key(api_key)
        self.max_body = max_body
        manual = isinstance(metering.clock, ManualClock)
        self._routes = [
            _bind(endpoint, metering)
            for endpoint in ENDPOINTS
            if manual or not endpoint.manual_clock
        ]

    def _match(
        self, method: str, segments: list[str | None]
    ) -> tuple[_Bound, tuple[str, ...]] | None:
        if None in segments:  # a segment that is not UTF-8 names no route
            return None
        for bound in self._routes:
            endpoint = bound.endpoint
            if endpoint.method != method or len(endpoint.path) != len(segments):
                continue
            ids: list[str] = []
            for pattern, segment in zip(endpoint.path, segments, strict=True):
                if pattern is _ID:
                    ids.append(str(segment))
                elif pattern != segment:
                    break
            else:
                return bound, tuple(ids)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # Starlette's router answers the lifespan itself
            return
        request = Request(scope, receive)
        headers = {"Request-Id": f"req_{secrets.token_hex(7)}"}
        version = request.headers.get("stripe-version")
        if version is not None and version.isprintable() and len(version) <= MAX_VERSION:
            headers["Stripe-Version"] = version
        api: Api = "v2" if scope["path"].startswith("/v2/") else "v1"
        try:
            status, text = await self._handle(request, headers)
        except ClientDisconnect:
            return
        except MeterlibError as error:
            status, text = error.http_status, _dumps(error.to_dict(api))
            _hint(error, headers)
        except Exception:  # a bug must still answer in Stripe's shape, never a traceback
            _log.exception("unexpected error serving %s %s", request.method, scope["path"])
            failure = MeterlibError("An unexpected error occurred on the server.", http_status=500)
            status, text = 500, _dumps(failure.to_dict(api))
        response = Response(text, status_code=status, headers=headers, media_type=JSON)
        await response(scope, receive, send)

    async def _handle(self, request: Request, headers: dict[str, str]) -> tuple[int, str]:
        """Route, read, authenticate, decode and answer; errors raise as `MeterlibError`."""
        scope = request.scope
        method = request.method
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1")
        segments = [_unquote(part) for part in path.lstrip("/").split("/")]
        matched = self._match(method, segments)
        body = await self._body(request)  # read first: every answer finds the body consumed
        if matched is None:
            rules.unrecognized_request(method, scope["path"])
        bound, ids = matched
        token = rules.api_key_from(request.headers.get("authorization"))
        if bound.endpoint.token is None:
            rules.check_api_key(token, self.api_key)
        if method == "GET":
            params = forms.parse_query(scope.get("query_string", b""))
        elif bound.endpoint.manual_clock:
            params = forms.parse_clock_body(body, request.headers.get("content-type", ""))
        elif bound.endpoint.api == "v2":
            params = forms.parse_json(body)
        else:
            params = forms.parse_form(body)
        key = request.headers.get("idempotency-key") if method == "POST" else None
        if key is None:
            return _respond(bound, ids, params, token, headers)
        headers["Idempotency-Key"] = key
        request_id = headers["Request-Id"]

        def respond() -> tuple[int, str]:
            status, text = _respond(bound, ids, params, token, headers)
            return status, f"{request_id}\n{text}"  # the first request's id, kept with it

        answer = self.metering.idempotency_keys.run(
            key,
            request=f"{method} {path}\n{json.dumps(params, sort_keys=True, default=str)}",
            respond=respond,
        )
        original, _, text = answer.response.partition("\n")
        if answer.replayed:
            headers["Idempotent-Replayed"] = "true"
            headers["Original-Request"] = original
        return answer.status, text

    async def _body(self, request: Request) -> bytes:
        """The body, at most `max_body` bytes; a larger one is drained and refused (413)."""
        declared = request.headers.get("content-length")
        limit = self.max_body
        if declared is not None and declared.isdecimal() and int(declared) > limit * DRAIN_FACTOR:
            rules.request_too_large(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            elif size > limit * DRAIN_FACTOR:
                break
        if size > limit:
            rules.request_too_large(limit)
        return b"".join(chunks)


def _unquote(segment: str) -> str | None:
    """A path segment as the SDK encodes ids (``quote_plus``); None if it is not UTF-8."""
    try:
        return unquote_plus(segment, errors="strict")
    except UnicodeDecodeError:
        return None


def create_app(metering: Metering, *, api_key: str, max_body: int = DEFAULT_MAX_BODY) -> Starlette:
    """A Starlette app serving Stripe's Billing Meters API (v1 and v2) over `metering`.

    One app serves both of the SDK's base addresses (``api`` and ``meter_events``). The app
    never closes `metering`: whoever made it does. Drive it in process with Starlette's
    ``TestClient``, or serve it with uvicorn (`serve`, `running`).

    Args:
        metering: the store, clock and livemode every request uses; ``/_meterlib/clock``
            routes exist when its clock is a `ManualClock`.
        api_key: the secret key (``sk_test_...``) every endpoint but the stream requires.
        max_body: the largest request body taken, in bytes; larger gets a 413.

    Raises:
        ConfigurationError: the API key is not a ``sk_test_`` key.

    """
    server = ServerApp(metering, api_key=api_key, max_body=max_body)
    return Starlette(routes=[Mount("/", app=server)])
