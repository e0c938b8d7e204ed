"""Cursors: list pages from storage pages, and summary ids that say which window they name.

Summaries are computed, not stored, yet the same query must return the same ids and a cursor
must locate its window: an id is a per-query prefix (a hash of meter, customer and window
length) plus the window's start in hex (``docs/semantics.md``, section 1).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

import attrs

from meterlib import validation as rules
from meterlib.model import ListObject
from meterlib.model.v1 import Listable

T = TypeVar("T", bound=Listable)
_WINDOW_START_HEX = re.compile(r"0|[1-9a-f][0-9a-f]{0,15}", re.ASCII)
"""How a summary id spells its window's start: `format(start, "x")` of a start in 0..2**64."""


def list_page(
    found: tuple[Sequence[T], bool] | None,
    *,
    starting_after: str | None,
    ending_before: str | None,
    url: str,
    fetch: Callable[[str | None, str | None], ListObject[T]],
) -> ListObject[T]:
    """The list object of a storage page (in list order, with its has_more) and its next page.

    None from storage means the cursor is not in the list: ``resource_missing`` on its param.
    `fetch(starting_after, ending_before)` gets another page; items need an ``id``.
    """
    if found is None:
        if starting_after is not None:
            rules.cursor_missing(starting_after, "starting_after")
        rules.cursor_missing(str(ending_before), "ending_before")
    items, has_more = found
    backward = ending_before is not None
    return ListObject(
        data=tuple(items),
        has_more=has_more,
        url=url,
        next_page=(
            (lambda page: fetch(None, page.data[0].id))
            if backward
            else (lambda page: fetch(page.data[-1].id, None))
        ),
        backward=backward,
    )


def summary_id_prefix(meter_id: str, customer: str, step: int, *, livemode: bool) -> str:
    """The id prefix of a query's summaries: each id is this plus its window start in hex.

    >>> summary_id_prefix("mtr_1", "cus_1", 3600, livemode=False)
    'mtrusg_test_7cafcf713410d927'
    """
    digest = hashlib.blake2b(f"{meter_id}\x00{customer}\x00{step}".encode(), digest_size=8)
    return f"mtrusg_{'' if livemode else 'test_'}{digest.hexdigest()}"


@attrs.frozen
class SummaryPage:
    """Windows ``first`` (included) to ``stop`` (excluded) of a summary query, and has_more."""

    first: int
    stop: int
    has_more: bool


def summary_page(
    query: rules.SummaryParams,
    prefix: str,
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> SummaryPage:
    """Which windows a page of summaries holds, by Stripe's cursor rules.

    A cursor must be a summary id of this very query, spelled as meterlib spells it.
    """
    total = rules.window_count(query)
    if starting_after is not None:
        first = _window_index(query, prefix, starting_after, "starting_after") + 1
        stop = min(total, first + limit)
        return SummaryPage(first, stop, stop < total)
    if ending_before is not None:
        stop = _window_index(query, prefix, ending_before, "ending_before")
        first = max(0, stop - limit)
        return SummaryPage(first, stop, first > 0)
    stop = min(total, limit)
    return SummaryPage(0, stop, stop < total)


def _window_index(query: rules.SummaryParams, prefix: str, cursor: str, param: str) -> int:
    """The index of the window a summary id names within this query, or resource_missing."""
    start_hex = cursor.removeprefix(prefix) if cursor.startswith(prefix) else ""
    # only the canonical spelling an id is made with: lowercase hex without leading zeros
    start = int(start_hex, 16) if _WINDOW_START_HEX.fullmatch(start_hex) else -1
    index, offset = divmod(start - query.start_time, query.window)
    if offset or not 0 <= index < rules.window_count(query):
        rules.cursor_missing(cursor, param, "summary in this range")
    return index
