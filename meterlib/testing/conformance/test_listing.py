"""Listing meters: newest first, status filter, limit bounds, cursors, auto-paging."""

from __future__ import annotations

from typing import Any

import pytest

from meterlib import ManualClock, Meter, Metering
from meterlib.errors import InvalidRequestError


def make_meters(m: Metering, count: int) -> list[Meter]:
    """Create `count` sum meters, event names e0, e1, ..., in that order."""
    return [
        m.meters.create(
            display_name=f"Meter {i}", event_name=f"e{i}", default_aggregation={"formula": "sum"}
        )
        for i in range(count)
    ]


def test_empty_list(m: Metering) -> None:
    """A new store lists no meters, in Stripe's list envelope."""
    page = m.meters.list()
    assert page.to_dict() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/billing/meters",
    }


def test_newest_first(m: Metering, clock: ManualClock) -> None:
    """Meters list newest first, also when created in the same second."""
    older = make_meters(m, 2)
    clock.advance(60)
    newer = m.meters.create(
        display_name="New", event_name="new", default_aggregation={"formula": "count"}
    )
    assert list(m.meters.list()) == [newer, older[1], older[0]]


def test_default_limit_is_ten(m: Metering) -> None:
    """Without a limit a page holds ten meters and says there are more."""
    make_meters(m, 11)
    page = m.meters.list()
    assert (len(page), page.has_more) == (10, True)


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_inclusive(m: Metering, limit: int) -> None:
    """A limit of 1 or of 100 is accepted."""
    make_meters(m, 2)
    assert len(m.meters.list(limit=limit)) == min(limit, 2)


@pytest.mark.parametrize("limit", [0, -1, 101, "10", 2.0, True, None], ids=repr)
def test_bad_limit(m: Metering, limit: Any) -> None:
    """A limit outside 1..100, or not an int, is parameter_invalid_integer."""
    with pytest.raises(InvalidRequestError) as info:
        m.meters.list(limit=limit)
    assert (info.value.code, info.value.param) == ("parameter_invalid_integer", "limit")


def test_status_filter(m: Metering) -> None:
    """status=active and status=inactive each list only meters of that status."""
    first, second, third = make_meters(m, 3)
    inactive = m.meters.deactivate(second.id)
    assert list(m.meters.list(status="active")) == [third, first]
    assert list(m.meters.list(status="inactive")) == [inactive]
    assert list(m.meters.list()) == [third, inactive, first]


def test_bad_status_filter(m: Metering) -> None:
    """An unknown status is parameter_invalid_enum."""
    with pytest.raises(InvalidRequestError) as info:
        m.meters.list(status="archived")
    assert (info.value.code, info.value.param) == ("parameter_invalid_enum", "status")


def test_starting_after(m: Metering) -> None:
    """starting_after returns the meters after the cursor, with has_more."""
    meters = make_meters(m, 5)[::-1]
    page = m.meters.list(limit=2, starting_after=meters[0].id)
    assert (page.data, page.has_more) == (tuple(meters[1:3]), True)
    last = m.meters.list(limit=2, starting_after=meters[2].id)
    assert (last.data, last.has_more) == (tuple(meters[3:5]), False)


def test_ending_before(m: Metering) -> None:
    """ending_before returns the meters just before the cursor, with has_more."""
    meters = make_meters(m, 5)[::-1]
    page = m.meters.list(limit=2, ending_before=meters[4].id)
    assert (page.data, page.has_more) == (tuple(meters[2:4]), True)
    first = m.meters.list(limit=2, ending_before=meters[2].id)
    assert (first.data, first.has_more) == (tuple(meters[0:2]), False)


def test_cursors_respect_the_status_filter(m: Metering) -> None:
    """Paging a filtered list stays within the filter."""
    meters = make_meters(m, 4)[::-1]
    m.meters.deactivate(meters[1].id)
    page = m.meters.list(status="active", limit=1, starting_after=meters[0].id)
    assert page.data == (meters[2],)


@pytest.mark.parametrize(
    ("arguments", "code", "param"),
    [
        ({"starting_after": "mtr_nope"}, "resource_missing", "starting_after"),
        ({"ending_before": "mtr_nope"}, "resource_missing", "ending_before"),
        ({"starting_after": 5}, "parameter_invalid_type", "starting_after"),
    ],
    ids=repr,
)
def test_bad_cursor(m: Metering, arguments: dict[str, Any], code: str, param: str) -> None:
    """An unknown or non-string cursor is rejected."""
    make_meters(m, 2)
    with pytest.raises(InvalidRequestError) as info:
        m.meters.list(**arguments)
    assert (info.value.code, info.value.param) == (code, param)


def test_both_cursors_are_rejected(m: Metering) -> None:
    """starting_after and ending_before cannot be combined."""
    first, second = make_meters(m, 2)
    with pytest.raises(InvalidRequestError) as info:
        m.meters.list(starting_after=second.id, ending_before=first.id)
    assert info.value.code == "parameters_exclusive"


def test_auto_paging_iter(m: Metering) -> None:
    """auto_paging_iter walks every page, newest first, each meter once."""
    meters = make_meters(m, 25)
    assert list(m.meters.list(limit=10).auto_paging_iter()) == meters[::-1]


def test_auto_paging_iter_with_filter(m: Metering) -> None:
    """auto_paging_iter keeps the status filter on every page."""
    meters = make_meters(m, 7)
    for meter in meters[::2]:
        m.meters.deactivate(meter.id)
    walked = list(m.meters.list(status="active", limit=2).auto_paging_iter())
    assert [meter.id for meter in walked] == [meter.id for meter in meters[1::2][::-1]]


def test_auto_paging_backwards_from_ending_before(m: Metering) -> None:
    """Paging from ending_before walks towards the newest meter, each page reversed."""
    meters = make_meters(m, 7)
    page = m.meters.list(limit=2, ending_before=meters[0].id)
    assert list(page) == [meters[2], meters[1]]
    assert list(page.auto_paging_iter()) == meters[1:]


def test_a_reactivated_meter_keeps_its_place(m: Metering) -> None:
    """A status change moves a meter between the filtered lists at its place, not to the top."""
    meters = make_meters(m, 5)[::-1]
    m.meters.deactivate(meters[2].id)
    m.meters.deactivate(meters[4].id)
    assert list(m.meters.list(status="inactive")) == [
        m.meters.retrieve(meters[2].id),
        m.meters.retrieve(meters[4].id),
    ]
    m.meters.reactivate(meters[2].id)
    active = [m.meters.retrieve(meter.id) for meter in meters[:4]]
    assert list(m.meters.list(status="active")) == active
    assert m.meters.list(status="active", limit=1, starting_after=active[1].id).data == (active[2],)
    assert m.meters.list(status="inactive", ending_before=meters[4].id).data == ()


def test_a_cursor_of_the_other_status_is_missing(m: Metering) -> None:
    """A cursor that is a meter, but not one of the filtered list, is resource_missing (404)."""
    first, _ = make_meters(m, 2)
    m.meters.deactivate(first.id)
    for cursor in ("starting_after", "ending_before"):
        arguments: dict[str, Any] = {cursor: first.id}
        with pytest.raises(InvalidRequestError) as info:
            m.meters.list(status="active", **arguments)
        assert (info.value.code, info.value.param, info.value.http_status) == (
            "resource_missing",
            cursor,
            404,
        )
        assert info.value.message == f"No such object: {first.id!r}"


@pytest.mark.parametrize("status", [None, "active", "inactive"])
@pytest.mark.parametrize("limit", [1, 3, 100])
def test_every_page_both_ways_equals_slicing_the_whole_list(
    m: Metering, status: str | None, limit: int
) -> None:
    """From every meter, both cursors give the slice of the whole list Stripe's rules name."""
    meters = make_meters(m, 8)
    for meter in meters[1::3]:
        m.meters.deactivate(meter.id)
    whole = list(m.meters.list(status=status, limit=100))
    for index, cursor in enumerate(whole):
        after = m.meters.list(status=status, limit=limit, starting_after=cursor.id)
        assert (after.data, after.has_more) == (
            tuple(whole[index + 1 : index + 1 + limit]),
            index + 1 + limit < len(whole),
        )
        before = m.meters.list(status=status, limit=limit, ending_before=cursor.id)
        assert (before.data, before.has_more) == (
            tuple(whole[max(0, index - limit) : index]),
            index - limit > 0,
        )
    assert list(m.meters.list(status=status, limit=limit).auto_paging_iter()) == whole
