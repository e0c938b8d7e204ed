"""Charts of usage on matplotlib: one step line per customer, each window's value held across it.

Needs the ``notebook`` extra (``pip install 'meterlib[notebook]'``); without it, importing this
module raises `meterlib.notebook.NotebookExtraMissing`. Every function returns the matplotlib
``Axes`` it drew on: pass ``ax=`` to draw on your own, or get a new figure from ``pyplot``
(which a notebook shows at the end of the cell). The values are plotted as floats; the frames
of `meterlib.notebook` keep them exact.

Each line has one point per window start plus one at the range's end, so the last window is
drawn as wide as the others: ``line.get_ydata()`` is the windows' values with the last repeated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from meterlib.notebook import NotebookExtraMissing, _missing

try:
    import matplotlib.dates as mdates
    import numpy as np
    from matplotlib import pyplot
    from matplotlib.axes import Axes
except ImportError as error:
    raise _missing(error, "meterlib.plot") from error

from meterlib.model import MeterEventSummary
from meterlib.timeutil import to_unix_seconds
from meterlib.validation.series import day_start, validate_timezone

if TYPE_CHECKING:
    from meterlib.metering import Metering

__all__ = ["NotebookExtraMissing", "summaries", "usage"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    _, fresh = pyplot.subplots(figsize=(8, 3.5), layout="constrained")
    return fresh


def _instants(seconds: Sequence[int]) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Unix seconds as UTC ``datetime64[s]``: what matplotlib plots, whatever the zone shown."""
    return np.array(seconds, dtype="datetime64[s]")


def _step(ax: Axes, starts: Sequence[int], end: int, values: Sequence[float], label: str) -> None:
    """One step line: each window's value from its start to the next, the last to `end`."""
    if starts:
        ax.step(_instants([*starts, end]), [*values, values[-1]], where="post", label=label)


def _finish(ax: Axes, zone: ZoneInfo | None, *, legend: str | None) -> Axes:
    """Dates on the x axis read in `zone` (UTC without one); a grid; a legend if titled."""
    locator = mdates.AutoDateLocator(tz=zone)  # type: ignore[no-untyped-call]  # untyped in mpl
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(
        mdates.ConciseDateFormatter(locator, tz=zone)  # type: ignore[no-untyped-call]  # as above
    )
    ax.grid(visible=True, alpha=0.3)
    if legend is not None:
        ax.legend(title=legend, loc="best", fontsize="small")
    return ax


def usage(  # noqa: PLR0917 -- the issue's signature: window and customers by position
    m: Metering,
    meter_id: str,
    start: object,
    end: object,
    window: str | None = "day",
    customers: Iterable[str] | None = None,
    *,
    timezone: str | ZoneInfo | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Chart each customer's usage per window: ``m.usage_frame`` drawn as step lines.

    `window`, `customers` and `timezone` as `Metering.usage_frame` takes them; the x axis reads
    in the zone. The title names the meter, the window and the zone, the y axis the formula;
    each line is labelled with its customer.

    >>> from meterlib import ManualClock, Metering
    >>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
    >>> meter = m.meters.create(display_name="API", event_name="api",
    ...                         default_aggregation={"formula": "sum"})
    >>> _ = m.record("api", customer="cus_1", value=4)
    >>> ax = usage(m, meter.id, "2026-03-09T00:00:00Z", "2026-03-11T00:00:00Z")
    >>> [(line.get_label(), [float(y) for y in line.get_ydata()]) for line in ax.get_lines()]
    [('cus_1', [0.0, 4.0, 4.0])]
    >>> pyplot.close(ax.figure)
    """
    zone = validate_timezone(timezone)
    first, finish = (
        to_unix_seconds(day_start(moment, zone), name)
        for moment, name in ((start, "start"), (end, "end"))
    )
    frame = m.usage_frame(
        meter_id, first, finish, window, customers=customers, timezone=zone, as_float=True
    )
    meter = m.meters.retrieve(meter_id)
    ax = _axes(ax)
    starts = [int(moment.timestamp()) for moment in frame.index]
    for customer in frame.columns:
        _step(ax, starts, finish, [float(value) for value in frame[customer]], str(customer))
    per = "the range" if window is None else window
    place = "UTC" if zone is None else str(zone)
    formula = meter.default_aggregation.formula
    ax.set_title(f"{meter.display_name}: {formula} per {per} ({place})")
    ax.set_ylabel(formula)
    return _finish(ax, zone, legend="customer" if len(frame.columns) else None)


def summaries(
    items: Iterable[MeterEventSummary], *, ax: Axes | None = None, label: str | None = None
) -> Axes:
    """Chart summaries' ``aggregated_value`` over their windows: one step line (UTC).

    The line is labelled `label`, or the summaries' meter id. ``ListObject.plot`` calls this.
    """
    listed = sorted(items, key=lambda summary: summary.start_time)
    ax = _axes(ax)
    if listed:
        starts = [summary.start_time for summary in listed]
        values = [float(summary.aggregated_value) for summary in listed]
        line = label if label is not None else listed[0].meter
        _step(ax, starts, listed[-1].end_time, values, line)
        ax.set_title(f"{listed[0].meter}: aggregated_value per window")
    ax.set_ylabel("aggregated_value")
    return _finish(ax, None, legend=None if label is None else "")
