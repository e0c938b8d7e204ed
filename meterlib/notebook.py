"""pandas frames of meters, events, summaries and usage, for exploring in a notebook.

Needs the ``notebook`` extra (``pip install 'meterlib[notebook]'``: pandas and matplotlib);
without it, importing this module raises `NotebookExtraMissing`, which names the extra.
``import meterlib`` never imports pandas: the facade's frame methods import this module when
called.

Values are `decimal.Decimal` (an ``object`` column), exact as everywhere in meterlib; pass
``as_float=True`` for ``float64`` columns, which plot and compute faster but round. Times are
tz-aware ``DatetimeIndex``/columns in UTC, of second resolution (so every year meterlib accepts
fits), or in the ``timezone`` a usage frame was asked for.

>>> from meterlib import ManualClock, Metering
>>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
>>> meter = m.meters.create(display_name="API", event_name="api",
...                         default_aggregation={"formula": "sum"})
>>> _ = m.record("api", customer="cus_1", value="2.5")
>>> frame = m.usage_frame(meter.id, "2026-03-09T00:00:00Z", "2026-03-11T00:00:00Z")
>>> frame["cus_1"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
{Timestamp('2026-03-09 00:00:00+0000', tz='UTC'): Decimal('0'),
 Timestamp('2026-03-10 00:00:00+0000', tz='UTC'): Decimal('2.5')}
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from meterlib.errors import ConfigurationError

if TYPE_CHECKING:
    from meterlib.metering import Metering


class NotebookExtraMissing(ConfigurationError, ImportError):
    """``meterlib.notebook`` or ``meterlib.plot`` without the ``notebook`` extra.

    An `ImportError` (so ``pytest.importorskip`` and ``except ImportError`` see a missing
    module) and a `ConfigurationError` with code ``extra_missing``.
    """


def _missing(error: ImportError, module: str) -> NotebookExtraMissing:
    return NotebookExtraMissing(
        f"{module} needs the notebook extra ({error.name or 'pandas'} is missing): "
        "pip install 'meterlib[notebook]'",
        code="extra_missing",
        param="notebook",
    )


try:
    import numpy as np
    import pandas as pd
except ImportError as error:
    raise _missing(error, "meterlib.notebook") from error

from meterlib.bulk.exporting import Selection  # noqa: E402 -- after the check above
from meterlib.model import Meter, MeterEventSummary  # noqa: E402
from meterlib.validation.series import day_start, validate_timezone  # noqa: E402

pandas = pd
"""The pandas module, for callers that must not import it before the extra's check."""

__all__ = [
    "NotebookExtraMissing",
    "events_frame",
    "list_frame",
    "meters_frame",
    "summaries_frame",
    "usage_frame",
]

EVENT_COLUMNS = ("timestamp", "received", "identifier", "customer", "value", "cancelled")
METER_COLUMNS = (
    "display_name",
    "event_name",
    "formula",
    "event_time_window",
    "status",
    "customer_key",
    "value_key",
    "created",
    "updated",
    "deactivated_at",
    "livemode",
)


def times(seconds: Sequence[int | None], timezone: ZoneInfo | None = None) -> pd.DatetimeIndex:
    """Unix seconds as a tz-aware ``DatetimeIndex`` of second resolution (None as ``NaT``).

    >>> [str(moment) for moment in times([0, None])], times([0]).dtype
    (['1970-01-01 00:00:00+00:00', 'NaT'], datetime64[s, UTC])
    """
    raw = np.array(
        [np.datetime64("NaT") if moment is None else moment for moment in seconds],
        dtype="datetime64[s]",
    )
    index = pd.DatetimeIndex(raw).tz_localize("UTC")
    return index if timezone is None else index.tz_convert(timezone)


def _values(values: Sequence[Decimal | None], as_float: bool) -> pd.Series[Any]:
    if as_float:
        return pd.Series(
            [np.nan if value is None else float(value) for value in values], dtype="float64"
        )
    return pd.Series(list(values), dtype="object")


def meters_frame(meters: Iterable[Meter]) -> pd.DataFrame:
    """One row per meter, indexed by id: names, formula, pre-aggregation, keys, status, times.

    >>> from meterlib import Metering
    >>> m = Metering()
    >>> _ = m.meters.create(display_name="API", event_name="api",
    ...                     default_aggregation={"formula": "count"}, event_time_window="hour")
    >>> frame = meters_frame(m.meters.list())
    >>> frame[["event_name", "formula", "event_time_window"]].to_dict("records")
    [{'event_name': 'api', 'formula': 'count', 'event_time_window': 'hour'}]
    """
    listed = list(meters)
    index = pd.Index([meter.id for meter in listed], name="id", dtype="object")
    columns: dict[str, Any] = {
        "display_name": [meter.display_name for meter in listed],
        "event_name": [meter.event_name for meter in listed],
        "formula": [meter.default_aggregation.formula for meter in listed],
        "event_time_window": pd.Series(
            [meter.event_time_window for meter in listed], index=index, dtype="object"
        ),  # None (raw), as in Stripe's JSON, rather than a string column's NaN
        "status": [meter.status for meter in listed],
        "customer_key": [meter.customer_mapping.event_payload_key for meter in listed],
        "value_key": [meter.value_settings.event_payload_key for meter in listed],
        "created": times([meter.created for meter in listed]),
        "updated": times([meter.updated for meter in listed]),
        "deactivated_at": times([meter.status_transitions.deactivated_at for meter in listed]),
        "livemode": pd.Series([meter.livemode for meter in listed], index=index, dtype=bool),
    }
    return pd.DataFrame(columns, index=index, columns=list(METER_COLUMNS))


def summaries_frame(
    summaries: Iterable[MeterEventSummary], *, as_float: bool = False
) -> pd.DataFrame:
    """One row per summary, indexed by window start (``start_time``, tz-aware UTC).

    Columns ``end_time``, ``aggregated_value``, ``meter`` and ``id``: the summaries' own fields.
    """
    listed = list(summaries)
    index = times([summary.start_time for summary in listed]).rename("start_time")
    return pd.DataFrame(
        {
            "end_time": times([summary.end_time for summary in listed]),
            "aggregated_value": _values(
                [summary.aggregated_value for summary in listed], as_float
            ).to_numpy(),
            "meter": pd.Series([summary.meter for summary in listed], dtype="object").to_numpy(),
            "id": pd.Series([summary.id for summary in listed], dtype="object").to_numpy(),
        },
        index=index,
    )


def list_frame(items: Sequence[object], *, as_float: bool = False) -> pd.DataFrame:
    """The frame of a list's items: `meters_frame` or `summaries_frame` (``ListObject.to_frame``).

    An empty list gives an empty summaries frame. Raises `TypeError` for other objects.
    """
    if all(isinstance(item, MeterEventSummary) for item in items):
        return summaries_frame(items, as_float=as_float)  # type: ignore[arg-type]  # checked
    if all(isinstance(item, Meter) for item in items):
        return meters_frame(items)  # type: ignore[arg-type]  # checked just above
    kinds = sorted({type(item).__name__ for item in items})
    raise TypeError(f"only lists of meters or of summaries make frames; got {', '.join(kinds)}")


def events_frame(
    m: Metering,
    meter_id: str,
    customer: str | None = None,
    start: object = None,
    end: object = None,
    *,
    include_cancelled: bool = False,
    as_float: bool = False,
) -> pd.DataFrame:
    """One row per stored event of the meter, in order of receipt.

    Columns ``timestamp`` and ``received`` (tz-aware UTC), ``identifier``, ``customer``,
    ``value`` (None, or NaN with `as_float`, when a count event has none) and ``cancelled``.
    Only `customer`'s events, and only those with ``start <= timestamp < end``, as far as
    given; cancelled ones only with `include_cancelled`. Read a page of 1,000 events at a time
    from the store, as an export reads them. O(events stored).
    """
    selection = Selection(
        m.context,
        meter=meter_id,
        customer=customer,
        start=start,
        end=end,
        include_cancelled=include_cancelled,
    )
    rows = list(selection.events())
    return pd.DataFrame(
        {
            "timestamp": times([row.timestamp for row in rows]),
            "received": times([row.created for row in rows]),
            "identifier": pd.Series([row.identifier for row in rows], dtype="object").to_numpy(),
            "customer": pd.Series([row.customer for row in rows], dtype="object").to_numpy(),
            "value": _values([row.value for row in rows], as_float).to_numpy(),
            "cancelled": np.array([row.cancelled for row in rows], dtype=bool),
        },
        columns=list(EVENT_COLUMNS),
    )


def customers_of(m: Metering, meter_id: str, start: object, end: object) -> list[str]:
    """The customers with a live event of the meter in ``[start, end)``, sorted.

    One pass over the store's events (as `events_frame` reads them), without building a frame.
    """
    seen = {
        row.customer for row in Selection(m.context, meter=meter_id, start=start, end=end).events()
    }
    return sorted(seen)


def usage_frame(  # noqa: PLR0917 -- the issue's signature: window and customers by position
    m: Metering,
    meter_id: str,
    start: object,
    end: object,
    window: str | None = "day",
    customers: Iterable[str] | None = None,
    *,
    timezone: str | ZoneInfo | None = None,
    as_float: bool = False,
) -> pd.DataFrame:
    """Usage per window (rows) and customer (columns), from the store's own summaries.

    Each column is ``m.usage_series`` of one customer: the windows and values the summary
    listing gives (``window`` ``"hour"`` or ``"day"``, UTC), or calendar windows (``"week"``,
    ``"month"``, and any window in a `timezone`; see ``Metering.usage_series``). ``window=None``
    gives one row for the whole range. The index, ``start``, holds each window's start, in
    the zone (UTC without one). `customers` defaults to every customer with an event in the
    range (one pass over the range's events; no event is loaded into pandas). `start` and
    `end` may also be dates: the first instant of each in the zone.
    """
    zone = validate_timezone(timezone)
    start, end = day_start(start, zone), day_start(end, zone)
    who = customers_of(m, meter_id, start, end) if customers is None else list(customers)
    starts: list[int] | None = None
    columns: dict[str, Any] = {}
    for customer in who:
        series = m.usage_series(
            meter_id, customer, start, end, value_grouping_window=window, timezone=zone
        )
        starts = list(series.starts)
        columns[customer] = _values(series.values, as_float).to_numpy()
    if starts is None:  # no customer: the windows still index the frame
        series = m.usage_series(
            meter_id, "_", start, end, value_grouping_window=window, timezone=zone
        )
        starts = list(series.starts)
    frame = pd.DataFrame(columns, index=times(starts, zone).rename("start"))
    frame.columns = pd.Index(list(columns), name="customer", dtype="object")
    return frame
