"""Short reprs and compact HTML tables for meters, events, summaries and lists."""

from __future__ import annotations

from meterlib import ListObject, Meter, Metering


def test_a_meters_repr_is_one_short_line(meter: Meter) -> None:
    """repr(meter) names its id, display name, formula, event name, window and status."""
    assert repr(meter) == f"Meter({meter.id}, 'API calls', sum of 'api', raw, active)"


def test_events_summaries_adjustments_and_lists_have_one_line_reprs(
    m: Metering, meter: Meter
) -> None:
    """Each repr reads in one line: times in UTC, values as written, lists by count."""
    event = m.record("api", customer="cus_1", value="2.50", identifier="req_1")
    assert repr(event) == (
        "MeterEvent('api', 'req_1', 2026-03-10T12:00:00Z, "
        "{'stripe_customer_id': 'cus_1', 'value': '2.50'})"
    )
    summaries = m.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time="2026-03-10T12:00:00Z",
        end_time="2026-03-10T14:00:00Z",
        value_grouping_window="hour",
        limit=1,
    )
    assert repr(summaries.data[0]) == (
        "MeterEventSummary(2026-03-10T12:00:00Z to 2026-03-10T13:00:00Z: 2.50)"
    )
    assert repr(summaries) == "ListObject(1 item: MeterEventSummary, has_more=True)"
    assert repr(m.meters.list(status="inactive")) == "ListObject(0 items, has_more=False)"
    adjustment = m.meter_event_adjustments.create(
        event_name="api", type="cancel", cancel={"identifier": "req_1"}
    )
    assert repr(adjustment) == "MeterEventAdjustment(cancel 'req_1' of 'api', complete)"


def test_a_meter_shows_as_a_one_row_table(meter: Meter) -> None:
    """A meter's HTML is a table with a header and one row of its settings."""
    shown = meter._repr_html_()
    assert shown.startswith("<table>") and shown.endswith("</table>")
    assert shown.count("<tr>") == 2
    assert f"<td>{meter.id}</td><td>API calls</td><td>api</td><td>sum</td><td>raw</td>" in shown


def test_html_escapes_what_callers_wrote(m: Metering) -> None:
    """A display name with markup is shown as text, never as HTML."""
    meter = m.meters.create(
        display_name="<script>alert(1)</script>",
        event_name="x",
        default_aggregation={"formula": "count"},
    )
    shown = m.meters.list()._repr_html_()
    assert "<script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert meter.id in shown


def test_a_summary_list_shows_its_windows_and_values(m: Metering, meter: Meter) -> None:
    """A summary page's table has one row per window and says whether more pages follow."""
    m.record("api", customer="cus_1", value=7)
    listed = m.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time="2026-03-10T11:00:00Z",
        end_time="2026-03-10T14:00:00Z",
        value_grouping_window="hour",
        limit=2,
    )
    shown = listed._repr_html_()
    assert "<caption>2 on this page (more pages follow)</caption>" in shown
    assert "<td>2026-03-10T12:00:00Z</td><td>2026-03-10T13:00:00Z</td><td>7</td>" in shown
    assert shown.count("<tr>") == 3


def test_a_list_of_other_objects_shows_their_ids() -> None:
    """A list holding neither meters nor summaries shows each item's id and type."""
    empty: ListObject[Meter] = ListObject(data=(), has_more=False, url="/v1/billing/meters")
    assert "<caption>0 on this page</caption>" in empty._repr_html_()
