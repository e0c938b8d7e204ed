"""Summary computation over surviving events: pre-aggregation, then the formula per window.

Pure functions over ``(timestamp, seq, value)`` points, shared by every backend that does not
push the work into its own query language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import attrs

from meterlib.aggregation import Aggregation
from meterlib.model import Meter
from meterlib.timeutil import WINDOW_SECONDS, window_start

PointT = tuple[int, int, Decimal | None]
Scan = Callable[[str, str, int, int], Iterable[PointT]]


@attrs.frozen(kw_only=True)
class SummaryQuery:
    """`count` consecutive windows of `step` seconds from `start`: one meter, one customer.

    >>> from meterlib import Metering
    >>> meter = Metering().meters.create(
    ...     display_name="GPUs", event_name="gpus", default_aggregation={"formula": "sum"},
    ...     event_time_window="hour")
    >>> SummaryQuery(meter=meter, customer="c", start=1800, step=900, count=2).scan_range
    (0, 3600)
    """

    meter: Meter
    customer: str
    start: int
    step: int
    count: int

    @property
    def end(self) -> int:
        """Where the last window ends (exclusive)."""
        return self.start + self.step * self.count

    @property
    def pre_aggregation_window(self) -> int | None:
        """The meter's pre-aggregation window in seconds, or None for a raw meter."""
        window = self.meter.event_time_window
        return None if window is None else WINDOW_SECONDS[window]

    @property
    def scan_range(self) -> tuple[int, int]:
        """The events a summary must read: the range, widened to whole pre-aggregation windows.

        A window's survivor is chosen among all its events before the summary range cuts it.
        """
        size = self.pre_aggregation_window
        if size is None:
            return self.start, self.end
        return window_start(self.start, size), window_start(self.end - 1, size) + size


def pre_aggregate(points: Iterable[PointT], window: int) -> list[PointT]:
    """Per UTC window of `window` seconds keep only the most recently received point."""
    latest: dict[int, PointT] = {}
    for point in points:
        bucket = window_start(point[0], window)
        kept = latest.get(bucket)
        if kept is None or point[1] > kept[1]:
            latest[bucket] = point
    return sorted(latest.values(), key=lambda point: (point[0], point[1]))


def summarize_points(
    scan: Scan, query: SummaryQuery, aggregation: Aggregation[Any]
) -> list[Decimal]:
    """Aggregate the query's windows over what `scan` returns for its `scan_range`.

    For pre-aggregated meters only each window's survivor counts, then only if it lies in the
    range.
    """
    start, step = query.start, query.step
    low, high = query.scan_range
    points: Iterable[PointT] = scan(query.meter.id, query.customer, low, high)
    size = query.pre_aggregation_window
    if size is not None:
        end = query.end
        points = [point for point in pre_aggregate(points, size) if start <= point[0] < end]
    states = [aggregation.initial() for _ in range(query.count)]
    for timestamp, seq, value in points:
        index = (timestamp - start) // step
        states[index] = aggregation.add(states[index], timestamp, seq, value)
    return [aggregation.result(state) for state in states]
