"""Summary computation over surviving events: pre-aggregation, then the formula per window.

Pure functions over ``(timestamp, seq, value)`` points, shared by every backend that does not
push the work into its own query language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from meterlib.aggregation import Aggregation
from meterlib.model import Meter
from meterlib.timeutil import WINDOW_SECONDS, window_start

PointT = tuple[int, int, Decimal | None]
Scan = Callable[[str, str, int, int], Iterable[PointT]]


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
    scan: Scan,
    meter: Meter,
    aggregation: Aggregation[Any],
    *,
    customer: str,
    start: int,
    step: int,
    count: int,
) -> list[Decimal]:
    """Aggregate `count` windows of `step` seconds from `start` over what `scan` returns.

    For pre-aggregated meters the scan widens to whole pre-aggregation windows, since the
    survivor of a window is chosen before the summary range cuts it.
    """
    end = start + step * count
    points: Iterable[PointT]
    if meter.event_time_window is None:
        points = scan(meter.id, customer, start, end)
    else:
        size = WINDOW_SECONDS[meter.event_time_window]
        wide_start = window_start(start, size)
        wide_end = window_start(end - 1, size) + size
        points = [
            point
            for point in pre_aggregate(scan(meter.id, customer, wide_start, wide_end), size)
            if start <= point[0] < end
        ]
    states = [aggregation.initial() for _ in range(count)]
    for timestamp, seq, value in points:
        index = (timestamp - start) // step
        states[index] = aggregation.add(states[index], timestamp, seq, value)
    return [aggregation.result(state) for state in states]
