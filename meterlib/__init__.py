"""meterlib: embeddable usage metering that behaves like Stripe Billing Meters.

>>> from meterlib import Metering
>>> m = Metering()  # in-memory store, system clock, test mode
"""

from meterlib.errors import (
    ConfigurationError,
    InvalidRequestError,
    MeterlibError,
    StorageError,
)
from meterlib.metering import Metering
from meterlib.model import (
    AggregationSettings,
    CancelSettings,
    CustomerMapping,
    ListObject,
    Meter,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventResult,
    MeterEventResults,
    MeterEventSummary,
    StatusTransitions,
    ValueSettings,
)
from meterlib.storage import Storage
from meterlib.timeutil import Clock, ManualClock, SystemClock

__all__ = [
    "AggregationSettings",
    "CancelSettings",
    "Clock",
    "ConfigurationError",
    "CustomerMapping",
    "InvalidRequestError",
    "ListObject",
    "ManualClock",
    "Meter",
    "MeterEvent",
    "MeterEventAdjustment",
    "MeterEventResult",
    "MeterEventResults",
    "MeterEventSummary",
    "Metering",
    "MeterlibError",
    "StatusTransitions",
    "Storage",
    "StorageError",
    "SystemClock",
    "ValueSettings",
]
__version__ = "0.1.0"
