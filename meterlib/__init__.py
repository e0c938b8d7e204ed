"""meterlib: embeddable usage metering that behaves like Stripe Billing Meters.

>>> from meterlib import Metering
>>> m = Metering()  # in-memory store, system clock, test mode
"""

from meterlib.bulk import ImportRejection, ImportReport
from meterlib.errors import (
    AuthenticationError,
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
    MeterErrorReason,
    MeterErrorReport,
    MeterErrorRequest,
    MeterErrorType,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventResult,
    MeterEventResults,
    MeterEventSession,
    MeterEventSummary,
    MeterSampleError,
    StatusTransitions,
    UsageSeries,
    V1Event,
    V1EventData,
    V1EventRequest,
    V2Event,
    V2EventReason,
    V2EventRequest,
    V2ListObject,
    V2MeterEvent,
    V2MeterEventAdjustment,
    V2RelatedObject,
    ValueSettings,
)
from meterlib.storage import Storage
from meterlib.timeutil import Clock, ManualClock, SystemClock
from meterlib.whatif import Replay, ReplayRun, replay

__all__ = [
    "AggregationSettings",
    "AuthenticationError",
    "CancelSettings",
    "Clock",
    "ConfigurationError",
    "CustomerMapping",
    "ImportRejection",
    "ImportReport",
    "InvalidRequestError",
    "ListObject",
    "ManualClock",
    "Meter",
    "MeterErrorReason",
    "MeterErrorReport",
    "MeterErrorRequest",
    "MeterErrorType",
    "MeterEvent",
    "MeterEventAdjustment",
    "MeterEventResult",
    "MeterEventResults",
    "MeterEventSession",
    "MeterEventSummary",
    "MeterSampleError",
    "Metering",
    "MeterlibError",
    "Replay",
    "ReplayRun",
    "StatusTransitions",
    "Storage",
    "StorageError",
    "SystemClock",
    "UsageSeries",
    "V1Event",
    "V1EventData",
    "V1EventRequest",
    "V2Event",
    "V2EventReason",
    "V2EventRequest",
    "V2ListObject",
    "V2MeterEvent",
    "V2MeterEventAdjustment",
    "V2RelatedObject",
    "ValueSettings",
    "replay",
]
__version__ = "0.1.0"
