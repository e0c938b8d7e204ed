"""Usage scripts: creates, retries, cancels and clock moves as data, and `play` to run them.

``meterlib.testing.strategies.usage_scripts`` draws scripts; `play` runs one against a
`Metering`, a `ReferenceModel`, or both in lockstep. Nothing here needs Hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, TypeVar

import attrs

from meterlib.errors import InvalidRequestError
from meterlib.metering import Metering
from meterlib.testing.reference import ModelMismatch, ReferenceModel
from meterlib.timeutil import ManualClock

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class CreateEvent:
    """Create a meter event with these ``meter_events.create`` keyword arguments."""

    kwargs: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class RetryEvent:
    """Send an earlier create again, unchanged, as a client retrying after a timeout would."""

    kwargs: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class CancelEvent:
    """Cancel an event by identifier (``meter_event_adjustments.create`` with type cancel)."""

    event_name: str
    identifier: str


@attrs.frozen(kw_only=True)
class AdvanceClock:
    """Move the shared clock forward by this many seconds."""

    seconds: int


UsageStep = CreateEvent | RetryEvent | CancelEvent | AdvanceClock
"""One step of a usage script."""


def attempt(call: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run `call`: its result and None, or None and the code of the `InvalidRequestError` raised.

    >>> attempt(lambda: 1 + 1)
    (2, None)
    """
    try:
        return call(), None
    except InvalidRequestError as error:
        return None, error.code or "(no code)"


def _run_real(step: UsageStep, metering: Metering) -> object:
    if isinstance(step, CreateEvent | RetryEvent):
        return metering.meter_events.create(**step.kwargs)
    assert isinstance(step, CancelEvent)
    return metering.meter_event_adjustments.create(
        event_name=step.event_name, type="cancel", cancel={"identifier": step.identifier}
    )


def _run_model(step: UsageStep, model: ReferenceModel) -> object:
    if isinstance(step, CreateEvent | RetryEvent):
        return model.create_event(**step.kwargs)
    assert isinstance(step, CancelEvent)
    return model.cancel_event(event_name=step.event_name, identifier=step.identifier)


def play(
    script: Iterable[UsageStep],
    *,
    clock: ManualClock,
    metering: Metering | None = None,
    model: ReferenceModel | None = None,
) -> list[str | None]:
    """Run a script; each step's outcome is None (accepted) or the error code it raised.

    `clock` must be the clock `metering` and `model` read. Given both, they run in lockstep and
    the first step on which they disagree raises `ModelMismatch`. Creates in a script should
    carry identifiers (``usage_scripts`` always sets one), so that the model and meterlib agree
    on which event a retry or a cancel refers to.

    In a test::

        outcomes = play(script, clock=clock, metering=m, model=model)
    """
    outcomes: list[str | None] = []
    for number, step in enumerate(script):
        if isinstance(step, AdvanceClock):
            clock.advance(step.seconds)
            outcomes.append(None)
            continue
        real = None if metering is None else attempt(partial(_run_real, step, metering))[1]
        expected = None if model is None else attempt(partial(_run_model, step, model))[1]
        if metering is not None and model is not None and real != expected:
            raise ModelMismatch(
                f"step {number} {step!r}: meterlib gave {real or 'success'}, "
                f"the reference model {expected or 'success'}"
            )
        outcomes.append(real if metering is not None else expected)
    return outcomes
