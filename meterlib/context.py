"""What every service needs from its `Metering`, handed in: storage, clock, lock, livemode."""

from __future__ import annotations

import threading
from collections.abc import Callable

import attrs

from meterlib.storage import Storage
from meterlib.timeutil import Clock, seconds_reader


@attrs.frozen(kw_only=True)
class Context:
    """The shared state of one `Metering`; services hold this, never the facade itself.

    >>> from meterlib.storage.memory import MemoryStorage
    >>> from meterlib.timeutil import ManualClock
    >>> context = Context(storage=MemoryStorage(), clock=ManualClock(0), livemode=False)
    >>> context.now(), context.object_id("mtr", "abc")
    (0, 'mtr_test_abc')
    """

    storage: Storage
    clock: Clock
    livemode: bool
    lock: threading.RLock = attrs.field(factory=threading.RLock)
    """Serialises every call of one `Metering`, so each call is atomic within the process."""
    now: Callable[[], int] = attrs.field(init=False, repr=False, eq=False)
    """The clock's now in whole Unix seconds: ``context.now()``."""

    @now.default
    def _read_seconds(self) -> Callable[[], int]:
        return seconds_reader(self.clock)

    def object_id(self, prefix: str, entropy: str) -> str:
        """An object id: ``prefix_test_entropy`` in test mode, ``prefix_entropy`` in live mode."""
        return f"{prefix}_{'' if self.livemode else 'test_'}{entropy}"
