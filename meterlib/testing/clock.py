"""`frozen_time`: a clock that stands still until the test moves it."""

from __future__ import annotations

from datetime import UTC, datetime

from meterlib.timeutil import ManualClock, from_unix_seconds, to_unix_seconds

DEFAULT_START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
"""Where `frozen_time` starts by default: 2026-03-10 12:00:00 UTC, a Tuesday."""


def frozen_time(at: datetime | str | int = DEFAULT_START) -> ManualClock:
    """A `ManualClock` standing at `at` (an aware datetime, ISO-8601 string or Unix seconds).

    meterlib reads time only through the clock it is given, so freezing time is just passing
    this clock to `Metering`: nothing global is patched and nothing needs restoring afterwards,
    which is why this is a plain function rather than a context manager. Move time with
    ``clock.advance(seconds)`` or ``clock.set(moment)``.

    >>> from meterlib import Metering
    >>> clock = frozen_time("2026-03-10T00:00:00Z")
    >>> m = Metering(clock=clock)
    >>> clock.advance(3600)
    >>> clock.now().isoformat()
    '2026-03-10T01:00:00+00:00'
    """
    return ManualClock(from_unix_seconds(to_unix_seconds(at, "at")))
