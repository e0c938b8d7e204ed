"""Value objects: frozen, keyword-only, Stripe's v1 JSON shapes, and the list envelope."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from meterlib import (
    AggregationSettings,
    CancelSettings,
    CustomerMapping,
    ListObject,
    Meter,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventSummary,
    StatusTransitions,
    ValueSettings,
)
from meterlib.errors import InvalidRequestError
from meterlib.model import (
    MeterEventResults,
    NewEvent,
    NewEvents,
    Outcomes,
    accepted_event,
    json_number,
    window_summaries,
)


def make_meter(**overrides: Any) -> Meter:
    """Stripe's fixture meter (customer key `customer`, sum, raw)."""
    fields: dict[str, Any] = {
        "id": "meter_123",
        "created": 1_704_824_589,
        "updated": 1_704_824_589,
        "display_name": "Search API Calls",
        "event_name": "ai_search_api",
        "default_aggregation": AggregationSettings(formula="sum"),
        "customer_mapping": CustomerMapping(event_payload_key="customer"),
        "value_settings": ValueSettings(),
        "event_time_window": None,
        "status": "active",
        "status_transitions": StatusTransitions(),
        "livemode": False,
    }
    return Meter(**(fields | overrides))


def summary(value: str, id: str = "mtrusg_1") -> MeterEventSummary:
    """A one-hour summary with this aggregated value."""
    return MeterEventSummary(
        id=id,
        meter="mtr_1",
        start_time=1_711_656_000,
        end_time=1_711_659_600,
        aggregated_value=Decimal(value),
        livemode=True,
    )


def test_settings_defaults_are_stripes() -> None:
    """Defaults: customer key stripe_customer_id by_id, value key value, not deactivated."""
    assert attrs.asdict(CustomerMapping()) == {
        "event_payload_key": "stripe_customer_id",
        "type": "by_id",
    }
    assert ValueSettings().event_payload_key == "value"
    assert StatusTransitions().deactivated_at is None


def test_meter_to_dict() -> None:
    """A meter serialises to Stripe's billing.meter fixture, nested settings as dicts."""
    assert make_meter().to_dict() == {
        "id": "meter_123",
        "object": "billing.meter",
        "created": 1_704_824_589,
        "updated": 1_704_824_589,
        "display_name": "Search API Calls",
        "event_name": "ai_search_api",
        "customer_mapping": {"event_payload_key": "customer", "type": "by_id"},
        "default_aggregation": {"formula": "sum"},
        "event_time_window": None,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "value_settings": {"event_payload_key": "value"},
        "livemode": False,
    }


def test_meter_event_to_dict() -> None:
    """An event serialises to Stripe's billing.meter_event example."""
    event = MeterEvent(
        event_name="ai_search_api",
        identifier="identifier_123",
        payload={"value": "25", "stripe_customer_id": "cus_NciAYcXfLnqBoz"},
        timestamp=1_680_210_639,
        created=1_704_824_589,
        livemode=True,
    )
    assert event.to_dict() == {
        "object": "billing.meter_event",
        "created": 1_704_824_589,
        "event_name": "ai_search_api",
        "identifier": "identifier_123",
        "livemode": True,
        "payload": {"value": "25", "stripe_customer_id": "cus_NciAYcXfLnqBoz"},
        "timestamp": 1_680_210_639,
    }


def test_event_payload_is_a_frozen_copy() -> None:
    """The payload is copied on creation and cannot be changed afterwards."""
    given = {"stripe_customer_id": "cus_1", "value": "1"}
    event = MeterEvent(
        event_name="e", identifier="i", payload=given, timestamp=0, created=0, livemode=False
    )
    given["value"] = "2"
    assert event.payload["value"] == "1"
    with pytest.raises(TypeError):
        event.payload["value"] = "3"  # type: ignore[index]
    assert isinstance(event.to_dict()["payload"], dict)


@pytest.mark.parametrize(
    ("cancel", "expected"),
    [(CancelSettings(identifier="1234-1234"), {"identifier": "1234-1234"}), (None, None)],
)
def test_adjustment_to_dict(cancel: CancelSettings | None, expected: Any) -> None:
    """An adjustment serialises to Stripe's fixture; it has no id and no created."""
    adjustment = MeterEventAdjustment(
        event_name="test-meter-event-name",
        type="cancel",
        cancel=cancel,
        status="complete",
        livemode=False,
    )
    assert adjustment.to_dict() == {
        "object": "billing.meter_event_adjustment",
        "event_name": "test-meter-event-name",
        "type": "cancel",
        "cancel": expected,
        "status": "complete",
        "livemode": False,
    }


def test_summary_to_dict() -> None:
    """A summary serialises to Stripe's example, aggregated_value a JSON number."""
    assert summary("10").to_dict() == {
        "id": "mtrusg_1",
        "object": "billing.meter_event_summary",
        "aggregated_value": 10,
        "start_time": 1_711_656_000,
        "end_time": 1_711_659_600,
        "livemode": True,
        "meter": "mtr_1",
    }


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("10", 10),
        ("10.000", 10),
        ("-0", 0),
        ("-3", -3),
        ("1E+20", 10**20),
        ("2.5", 2.5),
        ("-0.125", -0.125),
        ("0.1", 0.1),
    ],
)
def test_json_number(value: str, number: float) -> None:
    """Whole Decimals become ints (exact), others the nearest float."""
    result = json_number(Decimal(value))
    assert result == number
    assert type(result) is type(number)


def test_objects_are_frozen_and_keyword_only() -> None:
    """Objects refuse assignment and positional construction."""
    meter = make_meter()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        meter.display_name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        AggregationSettings("sum")  # type: ignore[call-arg]
    assert attrs.evolve(meter, display_name="x") != meter


def test_list_object_iterates_its_data() -> None:
    """A list page iterates and measures its data and serialises to Stripe's envelope."""
    page = ListObject(data=(summary("1"), summary("2.5")), has_more=False, url="/v1/x")
    assert [item.aggregated_value for item in page] == [1, Decimal("2.5")]
    assert len(page) == 2
    assert page.to_dict() == {
        "object": "list",
        "data": [summary("1").to_dict(), summary("2.5").to_dict()],
        "has_more": False,
        "url": "/v1/x",
    }


def chain(*pages: tuple[MeterEventSummary, ...]) -> ListObject[MeterEventSummary]:
    """Pages linked through next_page, has_more on all but the last."""

    def page(index: int) -> ListObject[MeterEventSummary]:
        return ListObject(
            data=pages[index],
            has_more=index + 1 < len(pages),
            url="/v1/x",
            next_page=lambda _: page(index + 1),
        )

    return page(0)


def test_auto_paging_iter_walks_every_page() -> None:
    """auto_paging_iter follows next_page until has_more is False."""
    a, b, c = summary("1", "a"), summary("2", "b"), summary("3", "c")
    assert list(chain((a, b), (c,)).auto_paging_iter()) == [a, b, c]


def test_auto_paging_iter_stops_at_an_empty_page() -> None:
    """An empty page ends the walk even if it claims more."""
    page = ListObject[MeterEventSummary](
        data=(), has_more=True, url="/v1/x", next_page=lambda _: pytest.fail("fetched")
    )
    assert list(page.auto_paging_iter()) == []


def test_next_page_is_not_part_of_equality() -> None:
    """Two pages with the same data are equal whatever their next_page."""
    one = ListObject(data=(summary("1"),), has_more=True, url="/v1/x", next_page=lambda p: p)
    two = ListObject(data=(summary("1"),), has_more=True, url="/v1/x")
    assert one == two
    assert "next_page" not in one.to_dict()


def test_hot_path_constructors_equal_the_classes_own() -> None:
    """accepted_event and window_summaries build what MeterEvent(...)/MeterEventSummary(...) do."""
    new = NewEvent("mtr_1", "api", "cus_1", "req_1", 100, 160, Decimal(3), {"value": "3"})
    event = accepted_event(new, True)
    expected = MeterEvent(
        event_name="api",
        identifier="req_1",
        payload={"value": "3"},
        timestamp=100,
        created=160,
        livemode=True,
    )
    assert event == expected
    assert attrs.asdict(event) == attrs.asdict(expected)
    summaries = window_summaries(
        "mtrusg_", "mtr_1", 3600, 60, [Decimal(1), Decimal(2)], livemode=False
    )
    assert summaries == tuple(
        MeterEventSummary(
            id=f"mtrusg_{start:x}",
            meter="mtr_1",
            start_time=start,
            end_time=start + 60,
            aggregated_value=Decimal(value),
            livemode=False,
        )
        for start, value in ((3600, 1), (3660, 2))
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.identifier = "other"  # type: ignore[misc]


def test_window_summary_ids_keep_the_prefix_as_written() -> None:
    """A summary id is the prefix verbatim (even a ``%`` in it) and the start in lowercase hex."""
    summaries = window_summaries("a%x%%_", "mtr_1", 2**40, 4096, [Decimal(1)] * 3, livemode=True)
    assert [summary.id for summary in summaries] == [
        f"a%x%%_{2**40 + offset:x}" for offset in (0, 4096, 8192)
    ]
    assert [(summary.start_time, summary.end_time) for summary in summaries] == [
        (2**40 + offset, 2**40 + offset + 4096) for offset in (0, 4096, 8192)
    ]


def _new_event(identifier: str, created: int = 100) -> NewEvent:
    """An event of meter mtr_1 received at `created`."""
    payload = {"stripe_customer_id": "cus_1", "value": "2"}
    return NewEvent("mtr_1", "api", "cus_1", identifier, 90, created, Decimal(2), payload)


def test_new_events_read_as_the_events_appended() -> None:
    """Columns built event by event read back as those events, also after a later append."""
    events = [_new_event("a"), _new_event("b")]
    columns = NewEvents.of(events, 100)
    assert list(columns) == events
    assert (columns[-1], columns[:1], len(columns)) == (events[1], events[:1], 2)
    columns.append(_new_event("c"))
    assert list(columns) == [*events, _new_event("c")]
    assert columns.identifiers == ["a", "b", "c"]


def test_new_events_refuse_an_event_received_at_another_time() -> None:
    """A batch's columns hold one `created`: an event received at another time is refused."""
    with pytest.raises(ValueError, match="received at 100"):
        NewEvents(100).append(_new_event("a", created=101))


def _outcomes() -> Outcomes:
    """Four items: rejected by a rule, stored, a duplicate (reached storage), stored."""
    rule = InvalidRequestError("no meter", code="no_meter", param="event_name")
    duplicate = InvalidRequestError("again", code="duplicate_meter_event", param="identifier")
    events = NewEvents.of([_new_event("a"), _new_event("a"), _new_event("b")], 100)
    return Outcomes(4, events, errors={0: rule, 2: duplicate}, absent=[0])


def test_outcomes_give_each_item_its_event_or_error() -> None:
    """Item i is its error, or event i minus the items before it that never reached storage."""
    outcomes = _outcomes()
    kinds = [outcome.code if isinstance(outcome, Exception) else outcome for outcome in outcomes]
    assert kinds == ["no_meter", _new_event("a"), "duplicate_meter_event", _new_event("b")]
    assert outcomes[-1] == outcomes[3] == _new_event("b")
    assert outcomes[1:3] == list(outcomes)[1:3]
    assert list(outcomes.stored_indexes()) == [1, 2, 3]
    with pytest.raises(IndexError):
        outcomes[4]


def test_results_of_outcomes_equal_the_results_of_their_list() -> None:
    """`MeterEventResults` over the pipeline's `Outcomes` reads as over a plain list of them."""
    outcomes = _outcomes()
    lazy = MeterEventResults(outcomes, livemode=False)
    plain = MeterEventResults(list(outcomes), livemode=False)
    assert lazy == plain
    assert (lazy.ok, lazy.errors, len(lazy)) == (plain.ok, plain.errors, 4)
    assert [result.index for result in lazy.errors] == [0, 2]
    assert MeterEventResults(Outcomes(0, NewEvents(100), errors={}, absent=[]), livemode=False).ok
