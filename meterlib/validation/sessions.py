"""Meter event session rules: which tokens authenticate a stream call, and its size."""

from __future__ import annotations

from collections.abc import Sequence

from meterlib.errors import AuthenticationError
from meterlib.storage import SessionRecord
from meterlib.validation.limits import MAX_NAME, MAX_STREAM_EVENTS
from meterlib.validation.params import fail


def validate_token(token: object) -> str:
    """A token worth looking up: a non-empty str of at most `MAX_NAME` printable characters.

    Anything else cannot be a token meterlib issued: ``billing_meter_event_session_expired``.
    """
    plain = (
        str.__str__(token) if isinstance(token, str) else None
    )  # a subclass's own methods never run
    if plain is None or not (0 < len(plain) <= MAX_NAME and plain.isprintable()):
        raise AuthenticationError(
            "the meter event session's authentication token is invalid",
            param="authentication_token",
        )
    return plain


def check_session(session: SessionRecord | None, now: int) -> SessionRecord:
    """The session of a token, while it lasts: it expires at ``expires_at`` exactly (401)."""
    if session is None:
        raise AuthenticationError(
            "no meter event session has this authentication token", param="authentication_token"
        )
    if now >= session.expires_at:
        raise AuthenticationError(
            "the meter event session expired; create a new one and retry with its token",
            param="authentication_token",
        )
    return session


def check_stream_length(events: Sequence[object]) -> None:
    """At most `MAX_STREAM_EVENTS` events a stream call; more records nothing."""
    if len(events) > MAX_STREAM_EVENTS:
        fail(
            f"a stream call takes at most {MAX_STREAM_EVENTS} events; got {len(events)}",
            code="parameter_invalid_length",
            param="events",
        )
