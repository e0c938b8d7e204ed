"""meterlib's own per-backend tests beside the shipped suite use the suite's fixtures."""

from __future__ import annotations

from meterlib.testing.conformance.fixtures import clock, m

__all__ = ["clock", "m"]
