"""User-style formulas for the tests that register their own aggregations."""

from __future__ import annotations

from decimal import Decimal

import attrs


@attrs.frozen
class Maximum:
    """A user formula: the largest value (0 for an empty range)."""

    name: str = "max"
    requires_value: bool = True

    def initial(self) -> Decimal | None:
        """No value yet."""
        return None

    def add(
        self, state: Decimal | None, timestamp: int, seq: int, value: Decimal | None
    ) -> Decimal | None:
        """Keep the larger value."""
        if value is None or (state is not None and state >= value):
            return state
        return value

    def combine(self, earlier: Decimal | None, later: Decimal | None) -> Decimal | None:
        """The larger of two maxima."""
        return self.add(earlier, 0, 0, later)

    def result(self, state: Decimal | None) -> Decimal:
        """The maximum, or 0."""
        return Decimal(0) if state is None else state


@attrs.frozen
class Minimum(Maximum):
    """A user formula: the smallest value (0 for an empty range)."""

    name: str = "min"

    def add(
        self, state: Decimal | None, timestamp: int, seq: int, value: Decimal | None
    ) -> Decimal | None:
        """Keep the smaller value."""
        if value is None or (state is not None and state <= value):
            return state
        return value
