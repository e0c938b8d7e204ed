"""How v1 objects show themselves: one-line ``repr()`` texts and compact HTML tables.

Jupyter calls ``_repr_html_`` to show an object as the last value of a cell; the tables here
are plain HTML (no styles, no scripts), every value escaped. Nothing here reads storage.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_ROWS = 100
"""Rows an HTML table shows (a list page holds at most 100 items anyway)."""


def utc_text(moment: int | None) -> str:
    """Unix seconds as ``2026-03-10T12:00:00Z``; None as an empty string.

    >>> utc_text(1773144000)
    '2026-03-10T12:00:00Z'
    """
    if moment is None:
        return ""
    try:
        return (_EPOCH + timedelta(seconds=moment)).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        return str(moment)


def value_text(value: Decimal) -> str:
    """A value as written, without an exponent for ordinary numbers (``25``, ``0.5``)."""
    return f"{value:f}" if -40 <= value.adjusted() <= 40 else str(value)


def window_text(event_time_window: str | None) -> str:
    """A meter's pre-aggregation in words: ``per hour``, ``per day`` or ``raw``."""
    return "raw" if event_time_window is None else f"per {event_time_window}"


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str = "") -> str:
    """An HTML table of `rows` under `columns`, at most `MAX_ROWS` rows, every cell escaped.

    >>> table(["a"], [["<b>"]])
    '<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>'
    """
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = []
    shown = 0
    hidden = 0
    for row in rows:
        if shown == MAX_ROWS:
            hidden += 1
            continue
        cells = "".join(f"<td>{html.escape(_cell(cell))}</td>" for cell in row)
        body.append(f"<tr>{cells}</tr>")
        shown += 1
    if hidden:
        body.append(f'<tr><td colspan="{len(columns)}">... {hidden} more</td></tr>')
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return value_text(value)
    return str(value)


METER_COLUMNS = ("id", "display_name", "event_name", "formula", "pre-aggregation", "status")
SUMMARY_COLUMNS = ("start_time", "end_time", "aggregated_value")


def meter_row(meter: Any) -> tuple[object, ...]:
    """A meter's cells under `METER_COLUMNS`."""
    return (
        meter.id,
        meter.display_name,
        meter.event_name,
        meter.default_aggregation.formula,
        window_text(meter.event_time_window),
        meter.status,
    )


def summary_row(summary: Any) -> tuple[object, ...]:
    """A summary's cells under `SUMMARY_COLUMNS`."""
    return (utc_text(summary.start_time), utc_text(summary.end_time), summary.aggregated_value)
