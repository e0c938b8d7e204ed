"""Hypothesis' entry point: importing the strategies module registers meterlib's types.

A module of its own, importing nothing at load time, so that Hypothesis can run it while
``meterlib.testing.strategies`` is itself halfway through importing Hypothesis.
"""


def register() -> None:
    """Make ``st.from_type(Meter)`` and friends work without importing meterlib.testing."""
    import meterlib.testing.strategies  # noqa: F401, PLC0415 -- registers the types on import
