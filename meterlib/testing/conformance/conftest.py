"""The suite's fixtures, for every module of the suite (``storage_factory`` is the backend's)."""

from __future__ import annotations

from meterlib.testing.conformance.fixtures import clock, m

__all__ = ["clock", "m"]
