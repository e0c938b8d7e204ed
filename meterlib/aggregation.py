"""Aggregation formulas as small strategy objects, found in a registry by formula name.

An aggregation folds the surviving events of a range, in ``(timestamp, received)`` order, into a
state, and turns the state into a `Decimal`. States of adjacent ranges `combine`, which lets
storage keep partial results (rollups) and merge them.

Register your own formula once, before creating meters that use it::

    import attrs
    from decimal import Decimal
    from meterlib.aggregation import register_aggregation

    @attrs.frozen
    class Maximum:
        name: str = "max"
        requires_value: bool = True

        def initial(self) -> Decimal | None:
            return None

        def add(self, state, timestamp, seq, value):
            return value if state is None or value > state else state

        def combine(self, earlier, later):
            return self.add(earlier, 0, 0, later) if later is not None else earlier

        def result(self, state):
            return Decimal(0) if state is None else state

    register_aggregation(Maximum())
    m.meters.create(..., default_aggregation={"formula": "max"})
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow
from typing import Any, Protocol, TypeVar, runtime_checkable

import attrs

from meterlib.errors import ConfigurationError, describe

S = TypeVar("S")
ZERO = Decimal(0)
EXACT = Context(prec=400, traps=[Inexact, InvalidOperation, Overflow, DivisionByZero])
"""Arithmetic context for usage: wide enough for any sum of valid values, and loud if not."""
_exact_add = EXACT.add  # bound once: summaries call it per event
SMALL_COUNTS = tuple(Decimal(count) for count in range(1024))
"""Shared (immutable) `Decimal` results of the usual small window counts."""
_SHARED_COUNTS = len(SMALL_COUNTS)


@runtime_checkable
class Aggregation(Protocol[S]):
    """A formula: a fold over events, with states of adjacent ranges combinable.

    ``requires_value`` says whether events must carry the value key (``count`` does not).
    States are values: `add` and `combine` return new states and never change their arguments,
    since storage caches the states of whole hours and reuses them.
    """

    @property
    def name(self) -> str:
        """The formula name used in ``default_aggregation={"formula": name}``."""
        ...

    @property
    def requires_value(self) -> bool:
        """Whether an event without the value key is rejected (``payload_no_value_defined``)."""
        ...

    def initial(self) -> S:
        """The state of an empty range."""
        ...

    def add(self, state: S, timestamp: int, seq: int, value: Decimal | None) -> S:
        """Fold one event in; events come in ``(timestamp, seq)`` order, seq = receipt order."""
        ...

    def combine(self, earlier: S, later: S) -> S:
        """Merge the state of a range with the state of the range right after it."""
        ...

    def result(self, state: S) -> Decimal:
        """The aggregated value of a state."""
        ...


@attrs.frozen
class Sum:
    """``sum``: the sum of the values."""

    name: str = "sum"
    requires_value: bool = True

    def initial(self) -> Decimal:
        """Zero."""
        return ZERO

    def add(self, state: Decimal, timestamp: int, seq: int, value: Decimal | None) -> Decimal:
        """Add the value."""
        return state if value is None else _exact_add(state, value)

    def combine(self, earlier: Decimal, later: Decimal) -> Decimal:
        """Add the two sums."""
        return _exact_add(earlier, later)

    def result(self, state: Decimal) -> Decimal:
        """The sum itself."""
        return state


@attrs.frozen
class Count:
    """``count``: the number of events; the value is optional."""

    name: str = "count"
    requires_value: bool = False

    def initial(self) -> int:
        """Zero events."""
        return 0

    def add(self, state: int, timestamp: int, seq: int, value: Decimal | None) -> int:
        """One more event."""
        return state + 1

    def combine(self, earlier: int, later: int) -> int:
        """Add the two counts."""
        return earlier + later

    def result(self, state: int) -> Decimal:
        """The count as a Decimal."""
        return SMALL_COUNTS[state] if state < _SHARED_COUNTS else Decimal(state)


LastState = tuple[int, int, Decimal] | None


@attrs.frozen
class Last:
    """``last``: the value of the event with the greatest timestamp, the latest received on ties."""

    name: str = "last"
    requires_value: bool = True

    def initial(self) -> LastState:
        """No event yet."""
        return None

    def add(self, state: LastState, timestamp: int, seq: int, value: Decimal | None) -> LastState:
        """Keep the event that sorts last by ``(timestamp, seq)``."""
        if value is None or (state is not None and state[:2] > (timestamp, seq)):
            return state
        return (timestamp, seq, value)

    def combine(self, earlier: LastState, later: LastState) -> LastState:
        """The later state wins unless it is empty."""
        if later is None:
            return earlier
        if earlier is None:
            return later
        return later if later[:2] > earlier[:2] else earlier

    def result(self, state: LastState) -> Decimal:
        """The kept value, or 0 for an empty range."""
        return ZERO if state is None else state[2]


_registry: dict[str, Aggregation[Any]] = {}
_registry_lock = threading.Lock()


def register_aggregation(aggregation: Aggregation[Any], *, replace: bool = False) -> None:
    """Make a formula available to ``meters.create`` under ``aggregation.name``.

    Raises:
        ConfigurationError: the name is taken (pass ``replace=True`` to override) or the object
            does not implement the `Aggregation` protocol.

    """
    if not isinstance(aggregation, Aggregation):
        raise ConfigurationError(
            f"{describe(aggregation)} does not implement meterlib.aggregation.Aggregation",
            code="aggregation_invalid",
            param="aggregation",
        )
    name = _formula_name(aggregation.name, "aggregation")
    if name in BUILTIN_FORMULAS and name in _registry:
        raise ConfigurationError(
            f"cannot replace built-in formula {name!r}",
            code="aggregation_builtin",
            param="aggregation",
        )
    with _registry_lock:
        if name in _registry and not replace:
            raise ConfigurationError(
                f"an aggregation named {name!r} is already registered",
                code="aggregation_exists",
                param="aggregation",
            )
        _registry[name] = aggregation


_MAX_FORMULA_NAME = 100


def _formula_name(name: object, param: str) -> str:
    """A formula name: a plain non-empty str of at most 100 characters."""
    text = str.__str__(name) if isinstance(name, str) else ""
    if not 0 < len(text) <= _MAX_FORMULA_NAME:
        raise ConfigurationError(
            f"a formula name is a string of 1 to {_MAX_FORMULA_NAME} characters; "
            f"got {describe(name)}",
            code="aggregation_invalid",
            param=param,
        )
    return text


def unregister_aggregation(name: str) -> None:
    """Remove a user formula (the built-ins stay)."""
    formula = _formula_name(name, "name")
    if formula in BUILTIN_FORMULAS:
        raise ConfigurationError(
            f"cannot remove built-in formula {formula!r}",
            code="aggregation_builtin",
            param="name",
        )
    with _registry_lock:
        _registry.pop(formula, None)


def get_aggregation(name: str) -> Aggregation[Any] | None:
    """The registered aggregation called `name`, or None."""
    return _registry.get(name)


def formula_names() -> list[str]:
    """Every registered formula name, sorted."""
    return sorted(_registry)


def aggregate(
    aggregation: Aggregation[S], events: Iterable[tuple[int, int, Decimal | None]]
) -> Decimal:
    """Fold ``(timestamp, seq, value)`` triples (already in order) into the aggregated value."""
    state = aggregation.initial()
    for timestamp, seq, value in events:
        state = aggregation.add(state, timestamp, seq, value)
    return aggregation.result(state)


BUILTIN_FORMULAS = ("sum", "count", "last")
for _builtin in (Sum(), Count(), Last()):
    register_aggregation(_builtin)
