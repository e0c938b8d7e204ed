"""User-style formulas for the tests that register their own aggregations."""

from __future__ import annotations

from decimal import Decimal

import attrs

from meterlib.testing.conformance.fixtures import Maximum

__all__ = ["Maximum", "Minimum"]


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
