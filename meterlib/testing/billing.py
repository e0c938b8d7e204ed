"""Oracles for the billing code applications build on meterlib: periods and tiered prices.

`reference_period` computes a subscription's billing period the way Stripe's billing cycles
renew, and `reference_price` prices a quantity against a tier table in Stripe's two tier modes.
Both are written for plainness, not speed, so your own billing code can be compared with them
(``meterlib.testing.strategies`` draws their inputs: `billing_periods`, `tier_tables` and
`tier_quantities`). Nothing here needs Hypothesis.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import attrs
from dateutil.relativedelta import relativedelta

from meterlib.timeutil import DAY, to_unix_seconds

__all__ = [
    "INTERVALS",
    "TIER_MODES",
    "BillingPeriod",
    "Tier",
    "reference_period",
    "reference_price",
]

INTERVALS = ("day", "week", "month", "year")
"""Stripe's ``recurring.interval`` values."""
TIER_MODES = ("graduated", "volume")
"""Stripe's ``tiers_mode`` values."""


def _intervals(interval: str, count: int) -> relativedelta:
    """`count` of `interval` as calendar arithmetic (months and years clamp the day)."""
    if interval == "day":
        return relativedelta(days=count)
    if interval == "week":
        return relativedelta(weeks=count)
    if interval == "month":
        return relativedelta(months=count)
    return relativedelta(years=count)


@attrs.frozen(kw_only=True)
class BillingPeriod:
    """Period `number` (0 is the first) of a subscription: ``[start, end)`` in Unix seconds.

    >>> period = reference_period(datetime(2026, 1, 31, 9, 30, tzinfo=UTC), 1)
    >>> from_unix = lambda seconds: datetime.fromtimestamp(seconds, UTC).isoformat()
    >>> from_unix(period.start), from_unix(period.end)
    ('2026-02-28T09:30:00+00:00', '2026-03-31T09:30:00+00:00')
    """

    anchor: datetime
    """The subscription's billing cycle anchor (aware, UTC, whole seconds)."""
    interval: str
    """``"day"``, ``"week"``, ``"month"`` or ``"year"``."""
    interval_count: int
    """How many intervals one period lasts."""
    number: int
    start: int
    end: int

    @property
    def edges(self) -> tuple[int, ...]:
        """The moments where billing code goes wrong: each end, one second before and after."""
        return tuple(moment + offset for moment in (self.start, self.end) for offset in (-1, 0, 1))

    @property
    def days(self) -> Decimal:
        """The period's length in days (a month is 28 to 31 of them)."""
        return Decimal(self.end - self.start) / DAY


def reference_period(
    anchor: datetime, number: int, *, interval: str = "month", interval_count: int = 1
) -> BillingPeriod:
    """Billing period `number` of a subscription renewing every `interval_count` `interval`s.

    Every period starts `number` intervals after the `anchor` itself, at the anchor's time of
    day, never after the previous period (so an anchor on the 31st renews on the last day of
    shorter months and is back on the 31st in the next long month, as Stripe's billing cycles
    do). O(1).

    Raises:
        ValueError: a naive anchor, an unknown interval, a count below 1 or a negative number.

    """
    if anchor.utcoffset() is None:
        raise ValueError("the anchor must be a timezone-aware datetime")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, got {interval!r}")
    if interval_count < 1 or number < 0:
        raise ValueError("interval_count must be at least 1 and number at least 0")
    utc = anchor.astimezone(UTC).replace(microsecond=0)
    start = utc + _intervals(interval, interval_count * number)
    end = utc + _intervals(interval, interval_count * (number + 1))
    return BillingPeriod(
        anchor=utc,
        interval=interval,
        interval_count=interval_count,
        number=number,
        start=to_unix_seconds(start, "start"),
        end=to_unix_seconds(end, "end"),
    )


@attrs.frozen(kw_only=True)
class Tier:
    """One row of a tier table, as Stripe's ``tiers[]``: the units up to `up_to` cost `unit_amount`.

    `up_to` is the tier's last unit, inclusive (the next tier starts just above it); None means
    "and beyond" and belongs to the last tier only.
    """

    up_to: Decimal | None
    unit_amount: Decimal


def _checked_tiers(tiers: Sequence[Tier]) -> list[Tier]:
    table = list(tiers)
    if not table or table[-1].up_to is not None:
        raise ValueError("a tier table ends with one tier whose up_to is None")
    edges = [tier.up_to for tier in table[:-1] if tier.up_to is not None]
    if len(edges) != len(table) - 1:
        raise ValueError("only the last tier has up_to None")
    if any(not 0 <= low < high for low, high in zip([Decimal(0), *edges], edges, strict=False)):
        raise ValueError("up_to must be positive and increasing")
    return table


def reference_price(
    quantity: Decimal, tiers: Sequence[Tier], *, mode: str = "graduated"
) -> Decimal:
    """The price of `quantity` units under a tier table, exactly.

    ``"graduated"``: every unit costs the price of the tier it falls in (the first `up_to` units
    the first tier's, and so on). ``"volume"``: every unit costs the price of the tier the whole
    quantity falls in (a quantity equal to a tier's `up_to` is in that tier). A quantity of 0 or
    below costs 0, as Stripe invoices a negative usage total as a quantity of 0. O(tiers).

    >>> table = [Tier(up_to=Decimal(10), unit_amount=Decimal(2)),
    ...          Tier(up_to=None, unit_amount=Decimal(1))]
    >>> reference_price(Decimal(12), table), reference_price(Decimal(12), table, mode="volume")
    (Decimal('22'), Decimal('12'))

    Raises:
        ValueError: an unknown mode, or a table whose `up_to` values do not increase to a last
            tier without one.

    """
    table = _checked_tiers(tiers)
    if mode not in TIER_MODES:
        raise ValueError(f"mode must be one of {TIER_MODES}, got {mode!r}")
    if quantity <= 0:
        return Decimal(0)
    if mode == "volume":
        chosen = next(tier for tier in table if tier.up_to is None or quantity <= tier.up_to)
        return quantity * chosen.unit_amount
    total, below = Decimal(0), Decimal(0)  # `below`: the units the earlier tiers hold
    for tier in table:
        top = quantity if tier.up_to is None else min(quantity, tier.up_to)
        if top > below:
            total += (top - below) * tier.unit_amount
        if tier.up_to is not None:
            below = tier.up_to
    return total
