"""Tools for property-testing code built on meterlib (the guide is ``docs/testing.md``).

* `ReferenceModel`: an obviously-correct model of the semantics to use as an oracle;
* `MeteringStateMachine`: a Hypothesis state machine driving a `Metering` and the model in
  lockstep, to subclass with your own rules and invariants;
* ``meterlib.testing.strategies``: Hypothesis strategies for meters, events and usage scripts;
* `frozen_time` and the pytest fixtures ``metering`` and ``meter_clock``;
* usage scripts as data (`CreateEvent`, `RetryEvent`, `CancelEvent`, `AdvanceClock`) and `play`;
* oracles for billing code: `reference_period` (`BillingPeriod`) and `reference_price` (`Tier`).

The strategies and the state machine need Hypothesis (``pip install 'meterlib[testing]'``).
Importing this package never imports Hypothesis: those two load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from meterlib.testing.billing import BillingPeriod, Tier, reference_period, reference_price
from meterlib.testing.clock import frozen_time
from meterlib.testing.reference import ModelEvent, ModelMeter, ModelMismatch, ReferenceModel
from meterlib.testing.scripts import (
    AdvanceClock,
    CancelEvent,
    CreateEvent,
    RetryEvent,
    UsageStep,
    attempt,
    play,
)

if TYPE_CHECKING:
    from meterlib.testing import strategies
    from meterlib.testing.state_machine import MeteringStateMachine

__all__ = [
    "AdvanceClock",
    "BillingPeriod",
    "CancelEvent",
    "CreateEvent",
    "MeteringStateMachine",
    "ModelEvent",
    "ModelMeter",
    "ModelMismatch",
    "ReferenceModel",
    "RetryEvent",
    "Tier",
    "UsageStep",
    "attempt",
    "frozen_time",
    "play",
    "reference_period",
    "reference_price",
    "strategies",
]

_NEEDS_HYPOTHESIS = {
    "MeteringStateMachine": "meterlib.testing.state_machine",
    "strategies": "meterlib.testing.strategies",
}


def __getattr__(name: str) -> Any:
    """Import the Hypothesis-based names only when they are first used."""
    module_name = _NEEDS_HYPOTHESIS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(module_name)
    return module if name == "strategies" else getattr(module, name)
