"""The billing oracles follow Stripe's rules; their strategies draw valid inputs and the edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from meterlib import Metering
from meterlib.testing import BillingPeriod, Tier, frozen_time, reference_period, reference_price
from meterlib.testing.strategies import billing_periods, tier_quantities, tier_tables
from meterlib.timeutil import DAY, from_unix_seconds

QUICK = settings(database=None, phases=[Phase.generate], max_examples=2_000)
TIERS = (
    Tier(up_to=Decimal(1_000), unit_amount=Decimal("0.10")),
    Tier(up_to=Decimal(10_000), unit_amount=Decimal("0.08")),
    Tier(up_to=None, unit_amount=Decimal("0.05")),
)


def utc(seconds: int) -> datetime:
    """A Unix moment as an aware UTC datetime."""
    return from_unix_seconds(seconds)


def test_a_month_anchored_on_the_31st_renews_on_the_last_day_of_shorter_months() -> None:
    """31 Jan -> 29 Feb (a leap year) -> 31 Mar -> 30 Apr, always at the anchor's time of day."""
    anchor = datetime(2024, 1, 31, 9, 30, tzinfo=UTC)
    starts = [utc(reference_period(anchor, number).start) for number in range(4)]
    assert [moment.date().isoformat() for moment in starts] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
    ]
    assert {moment.time().isoformat() for moment in starts} == {"09:30:00"}


def test_periods_of_other_intervals() -> None:
    """Days, weeks and years renew every interval_count of them from the anchor."""
    anchor = datetime(2024, 2, 29, 0, 0, 1, tzinfo=UTC)
    week = reference_period(anchor, 1, interval="week", interval_count=2)
    assert utc(week.start) == anchor + timedelta(weeks=2)
    assert week.end - week.start == 14 * DAY
    assert week.days == 14
    year = reference_period(anchor, 1, interval="year")
    assert utc(year.start).date().isoformat() == "2025-02-28"
    day = reference_period(anchor, 3, interval="day")
    assert utc(day.start) == anchor + timedelta(days=3)


def test_an_anchor_in_another_zone_is_taken_in_utc_to_the_second() -> None:
    """The anchor is kept in UTC with sub-seconds dropped."""
    anchor = datetime(2026, 3, 1, 5, 0, 0, 999, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    period = reference_period(anchor, 0)
    assert period.anchor == datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    assert period.start == int(period.anchor.timestamp())


def test_edges_are_each_end_and_one_second_either_side() -> None:
    """A period's edges are start and end, one second before and after each."""
    period = BillingPeriod(
        anchor=datetime(2026, 1, 1, tzinfo=UTC), interval="day", interval_count=1, number=0,
        start=100, end=200,
    )  # fmt: skip
    assert period.edges == (99, 100, 101, 199, 200, 201)


@pytest.mark.parametrize(
    ("anchor", "number", "options"),
    [
        (datetime(2026, 1, 1), 0, {}),
        (datetime(2026, 1, 1, tzinfo=UTC), -1, {}),
        (datetime(2026, 1, 1, tzinfo=UTC), 0, {"interval": "quarter"}),
        (datetime(2026, 1, 1, tzinfo=UTC), 0, {"interval_count": 0}),
    ],
)
def test_bad_period_requests_are_refused(
    anchor: datetime, number: int, options: dict[str, Any]
) -> None:
    """A naive anchor, a negative number, an unknown interval or a count of 0 is a ValueError."""
    with pytest.raises(ValueError):
        reference_period(anchor, number, **options)


@given(billing_periods())
def test_drawn_periods_follow_each_other(period: BillingPeriod) -> None:
    """Each drawn period ends where the next begins, after it starts, at the anchor's time."""
    following = reference_period(
        period.anchor,
        period.number + 1,
        interval=period.interval,
        interval_count=period.interval_count,
    )
    assert period.start < period.end == following.start
    assert utc(period.start).time() == period.anchor.time()


@pytest.mark.parametrize("day", [29, 30, 31])
def test_billing_periods_favour_anchors_at_the_end_of_months(day: int) -> None:
    """Anchors on the 29th, 30th and 31st are drawn (the ones short months clamp)."""
    found = find(billing_periods(), lambda period: period.anchor.day == day, settings=QUICK)
    assert found.anchor.day == day


def test_billing_periods_keep_to_their_intervals() -> None:
    """Only the intervals asked for are drawn, and numbers up to max_number."""
    strategy = billing_periods(intervals=["week"], max_interval_count=2, max_number=3)
    found = find(strategy, lambda period: period.interval_count == 2, settings=QUICK)
    assert found.interval == "week"
    with pytest.raises(Exception, match="No examples"):
        find(strategy, lambda period: period.number > 3, settings=QUICK)


def test_graduated_prices_each_unit_at_its_tier() -> None:
    """1,000 units cost 100; the next unit 0.08; 10,000 units 820; then 0.05 a unit."""
    assert reference_price(Decimal(1_000), TIERS) == Decimal("100")
    assert reference_price(Decimal(1_001), TIERS) == Decimal("100.08")
    assert reference_price(Decimal("1000.5"), TIERS) == Decimal("100.04")
    assert reference_price(Decimal(10_000), TIERS) == Decimal("820")
    assert reference_price(Decimal(10_002), TIERS) == Decimal("820.10")


def test_volume_prices_every_unit_at_the_tier_of_the_total() -> None:
    """A total equal to an up_to is in that tier; one unit more moves every unit to the next."""
    assert reference_price(Decimal(1_000), TIERS, mode="volume") == Decimal("100")
    assert reference_price(Decimal("1000.001"), TIERS, mode="volume") == Decimal("80.00008")
    assert reference_price(Decimal(20_000), TIERS, mode="volume") == Decimal("1000")


@pytest.mark.parametrize("mode", ["graduated", "volume"])
@pytest.mark.parametrize("quantity", [Decimal(0), Decimal("-0.001"), Decimal(-5_000)])
def test_no_usage_and_negative_usage_cost_nothing(quantity: Decimal, mode: str) -> None:
    """A total of 0 or below is invoiced as 0, in both modes."""
    assert reference_price(quantity, TIERS, mode=mode) == 0


@pytest.mark.parametrize(
    ("tiers", "mode"),
    [
        ((), "graduated"),
        ((Tier(up_to=Decimal(5), unit_amount=Decimal(1)),), "graduated"),
        (
            (
                Tier(up_to=Decimal(5), unit_amount=Decimal(1)),
                Tier(up_to=Decimal(5), unit_amount=Decimal(1)),
                Tier(up_to=None, unit_amount=Decimal(1)),
            ),
            "graduated",
        ),
        ((Tier(up_to=None, unit_amount=Decimal(1)),), "tiered"),
    ],
)
def test_bad_tables_and_modes_are_refused(tiers: tuple[Tier, ...], mode: str) -> None:
    """No last open tier, up_to not increasing, or an unknown mode is a ValueError."""
    with pytest.raises(ValueError):
        reference_price(Decimal(1), tiers, mode=mode)


@given(tier_tables())
def test_drawn_tier_tables_are_valid(tiers: tuple[Tier, ...]) -> None:
    """Drawn tables have 2 to 4 tiers, whole increasing up_to, and an open last tier."""
    assert 2 <= len(tiers) <= 4
    assert tiers[-1].up_to is None
    ups = [tier.up_to for tier in tiers[:-1] if tier.up_to is not None]
    assert len(ups) == len(tiers) - 1
    assert all(up == up.to_integral_value() and up > 0 for up in ups)
    assert ups == sorted(set(ups))
    assert reference_price(Decimal(1), tiers) >= 0


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tier_tables(), st.data())
def test_tier_quantities_are_meter_values(tiers: tuple[Tier, ...], data: st.DataObject) -> None:
    """Every drawn quantity is a value a meter accepts and sums exactly."""
    quantity = data.draw(tier_quantities(tiers))
    with Metering(clock=frozen_time()) as m:
        meter = m.meters.create(
            display_name="Units", event_name="units", default_aggregation={"formula": "sum"}
        )
        m.record("units", customer="cus_1", value=str(quantity))
        assert m.usage(meter.id, "cus_1", 0, 2**33) == quantity


@pytest.mark.parametrize(
    "quantity",
    [
        *(Decimal(1_000), Decimal("1000.001"), Decimal("999.999"), Decimal(1_001), Decimal(999)),
        *(Decimal(10_000), Decimal(0), Decimal("-0.001"), Decimal(-1)),
    ],
)
def test_tier_quantities_reach_every_edge(quantity: Decimal) -> None:
    """Each up_to, one unit and one thousandth either side of it, 0 and below are drawn."""
    assert find(tier_quantities(TIERS), lambda drawn: drawn == quantity, settings=QUICK) == quantity


def test_tier_quantities_without_negatives() -> None:
    """With allow_negative=False no quantity is below 0."""
    with pytest.raises(Exception, match="No examples"):
        find(tier_quantities(TIERS, allow_negative=False), lambda q: q < 0, settings=QUICK)


@pytest.mark.parametrize(
    "make",
    [
        lambda: billing_periods(intervals=["quarter"]),
        lambda: billing_periods(max_interval_count=0),
        lambda: billing_periods(anchors=[datetime(2026, 1, 1, tzinfo=UTC)]),  # type: ignore[arg-type]
        lambda: tier_tables(min_tiers=0),
        lambda: tier_tables(min_tiers=3, max_tiers=2),
        lambda: tier_tables(max_up_to=1, max_tiers=4),
        lambda: tier_quantities([]),
        lambda: tier_quantities([Decimal(1)]),  # type: ignore[list-item]
        lambda: tier_quantities(TIERS, places=7),
    ],
)
def test_bad_arguments_are_rejected(make: Any) -> None:
    """A bad argument raises InvalidArgument at once, as Hypothesis' own strategies do."""
    with pytest.raises(InvalidArgument):
        make()
