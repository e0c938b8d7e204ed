"""The v2 API on every backend: events, adjustments, sessions, streams, the event log."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from meterlib import AuthenticationError, ManualClock, Meter, Metering
from meterlib.errors import InvalidRequestError, MeterlibError
from meterlib.model.v2 import V1Event, V2Event
from meterlib.testing.conformance import StorageFactory
from meterlib.validation import LOG_RETENTION, MAX_REPORT_SAMPLES, SESSION_LIFETIME
from tests.v2 import schemas

EVENT = "ai_search_api"
NOW = 1_773_144_000  # the conftest clock: 2026-03-10T12:00:00Z


def meter_of(m: Metering, **settings: Any) -> Meter:
    """A sum meter for `EVENT`."""
    return m.meters.create(
        display_name="Search", event_name=EVENT, default_aggregation={"formula": "sum"}, **settings
    )


def item(value: object = "1", customer: str = "cus_1", **extra: Any) -> dict[str, Any]:
    """One stream or batch item for `EVENT`."""
    return {
        "event_name": EVENT,
        "payload": {"stripe_customer_id": customer, "value": value},
        **extra,
    }


def total(m: Metering, meter: Meter, customer: str = "cus_1") -> Decimal:
    """All of a customer's usage."""
    return m.usage(meter.id, customer, 0, 2**37)


def test_v2_event_has_stripes_shape_and_lands_in_v1_summaries(m: Metering) -> None:
    """A v2 event is Stripe's v2 object (RFC 3339 ms times) and counts in v1 summaries."""
    meter = meter_of(m)
    event = m.v2.billing.meter_events.create(
        event_name=EVENT,
        payload={"stripe_customer_id": "cus_1", "value": "25"},
        identifier="req_1",
        timestamp="2026-03-10T11:59:30.999Z",
    )
    body = event.to_dict()
    schemas.check(body, schemas.V2_METER_EVENT)
    assert body["timestamp"] == "2026-03-10T11:59:30.000Z"  # floored to the second
    assert body["created"] == "2026-03-10T12:00:00.000Z"
    assert total(m, meter) == 25


def test_v2_errors_are_the_synchronous_codes(m: Metering) -> None:
    """v2 create raises the v1 rules' codes with their params, and stores nothing."""
    meter = meter_of(m)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"event_name": "nope", "payload": {"stripe_customer_id": "c", "value": "1"}}, "no_meter"),
        ({"event_name": EVENT, "payload": {"value": "1"}}, "payload_no_customer_defined"),
        ({"event_name": EVENT, "payload": {"stripe_customer_id": "c"}}, "payload_no_value_defined"),
        ({"event_name": EVENT, "payload": {"stripe_customer_id": "c", "value": "x"}},
         "payload_invalid_value"),
    ]  # fmt: skip
    for kwargs, code in cases:
        with pytest.raises(InvalidRequestError) as info:
            m.v2.billing.meter_events.create(**kwargs)
        assert info.value.code == code
        assert info.value.to_dict("v2")["error"]["code"] == code
    m.meters.deactivate(meter.id)
    with pytest.raises(InvalidRequestError) as info:
        m.v2.billing.meter_events.create(**item())
    assert info.value.code == "archived_meter"
    assert total(m, meter) == 0


def test_identifiers_are_shared_between_v1_and_v2(m: Metering) -> None:
    """An identifier used on v1 is a duplicate on v2, and the other way round."""
    meter_of(m)
    m.record(EVENT, customer="cus_1", value=1, identifier="req_v1")
    m.v2.billing.meter_events.create(**item(identifier="req_v2"))
    for create, identifier in (
        (lambda: m.v2.billing.meter_events.create(**item(identifier="req_v1")), "req_v1"),
        (lambda: m.record(EVENT, customer="c", value=1, identifier="req_v2"), "req_v2"),
    ):
        with pytest.raises(InvalidRequestError) as info:
            create()
        assert (info.value.code, identifier) == ("duplicate_meter_event", identifier)


@pytest.mark.parametrize("created_by", ["v1", "v2"])
@pytest.mark.parametrize("cancelled_by", ["v1", "v2"])
def test_either_adjustment_api_cancels_either_apis_events(
    m: Metering, created_by: str, cancelled_by: str
) -> None:
    """Events from either API can be cancelled through either adjustment API, once."""
    meter = meter_of(m)
    if created_by == "v1":
        m.record(EVENT, customer="cus_1", value=5, identifier="req_1")
    else:
        m.v2.billing.meter_events.create(**item("5", identifier="req_1"))
    cancel = {"event_name": EVENT, "type": "cancel", "cancel": {"identifier": "req_1"}}
    if cancelled_by == "v1":
        m.meter_event_adjustments.create(**cancel)  # type: ignore[arg-type]
    else:
        adjustment = m.v2.billing.meter_event_adjustments.create(**cancel)  # type: ignore[arg-type]
        schemas.check(adjustment.to_dict(), schemas.V2_METER_EVENT_ADJUSTMENT)
        assert adjustment.to_dict()["created"] == "2026-03-10T12:00:00.000Z"
    assert total(m, meter) == 0
    with pytest.raises(InvalidRequestError) as info:
        m.v2.billing.meter_event_adjustments.create(**cancel)  # type: ignore[arg-type]
    assert info.value.code == "invalid_cancel_configuration"


def test_session_lasts_exactly_fifteen_minutes(m: Metering, clock: ManualClock) -> None:
    """A token works until one second before expires_at; at expires_at it is expired (401)."""
    meter = meter_of(m)
    session = m.v2.billing.meter_event_session.create()
    schemas.check(session.to_dict(), schemas.V2_METER_EVENT_SESSION)
    assert (
        session.expires_at - session.created
        == timedelta(seconds=SESSION_LIFETIME)
        == timedelta(minutes=15)
    )
    stream = m.v2.billing.meter_event_stream
    clock.advance(SESSION_LIFETIME - 1)
    stream.create(events=[item("2")], authentication_token=session.authentication_token)
    clock.advance(1)
    with pytest.raises(AuthenticationError) as info:
        stream.create(events=[item("3")], authentication_token=session.authentication_token)
    error = info.value
    assert (error.code, error.http_status, error.type) == (
        "billing_meter_event_session_expired",
        401,
        "temporary_session_expired",
    )
    schemas.check(error.to_dict("v2"), schemas.V2_SESSION_EXPIRED_ERROR)
    assert total(m, meter) == 2


@pytest.mark.parametrize("token", ["mtrtok_never_issued", "", None, 5, "x" * 500], ids=repr)
def test_unknown_tokens_record_nothing(m: Metering, token: object) -> None:
    """A token nobody issued (or not a token at all) is AuthenticationError; nothing stored."""
    meter = meter_of(m)
    with pytest.raises(AuthenticationError):
        m.v2.billing.meter_event_stream.create(events=[item()], authentication_token=token)  # type: ignore[arg-type]
    assert total(m, meter) == 0


def test_stream_takes_100_events_and_refuses_101(m: Metering) -> None:
    """100 events a call are recorded; 101 are parameter_invalid_length and none is."""
    meter = meter_of(m)
    token = m.v2.billing.meter_event_session.create().authentication_token
    stream = m.v2.billing.meter_event_stream
    stream.create(events=[item(identifier=f"a{n}") for n in range(100)], authentication_token=token)
    with pytest.raises(InvalidRequestError) as info:
        stream.create(
            events=[item(identifier=f"b{n}") for n in range(101)], authentication_token=token
        )
    assert (info.value.code, info.value.param) == ("parameter_invalid_length", "events")
    assert total(m, meter) == 100


def test_stream_records_good_events_and_reports_every_bad_one(m: Metering) -> None:
    """Good events are stored; each bad one is counted under its async code with its identifier."""
    meter = meter_of(m)
    token = m.v2.billing.meter_event_session.create().authentication_token
    m.record(EVENT, customer="cus_1", value=1, identifier="taken")
    bad = {
        "meter_event_invalid_value": item("x", identifier="bad_value"),
        "meter_event_value_too_many_digits": item("1234567890123456", identifier="digits"),
        "meter_event_no_customer_defined": {
            "event_name": EVENT, "payload": {"value": "1"}, "identifier": "no_customer"},
        "meter_event_value_not_found": {
            "event_name": EVENT, "payload": {"stripe_customer_id": "c"}, "identifier": "no_value"},
        "timestamp_too_far_in_past": item(identifier="old", timestamp=NOW - 36 * 86_400),
        "timestamp_in_future": item(identifier="future", timestamp=NOW + 301),
        "parameter_invalid_type": {
            "event_name": EVENT, "payload": "not a mapping", "identifier": "junk"},
    }  # fmt: skip
    no_meter = {"event_name": "nobody_meters_this", "payload": {}, "identifier": "lost"}
    events = [item("2", identifier="good_1"), *bad.values(), no_meter, item(identifier="taken"),
              item("3", identifier="good_2")]  # fmt: skip
    m.v2.billing.meter_event_stream.create(events=events, authentication_token=token)
    assert total(m, meter) == 1 + 2 + 3  # the duplicate is absorbed, not reported
    reports = {event.type: event for event in m.v2.core.events.list(limit=100).data}
    triggered = reports["v1.billing.meter.error_report_triggered"]
    assert isinstance(triggered, V2Event)
    schemas.check(triggered.to_dict(), schemas.ERROR_REPORT_TRIGGERED_EVENT)
    assert triggered.related_object is not None and triggered.related_object.id == meter.id
    by_code = {kind.code: kind for kind in triggered.data.reason.error_types}
    assert set(by_code) == set(bad)
    for code, sent in bad.items():
        assert by_code[code].error_count == 1
        assert by_code[code].sample_errors[0].request.identifier == sent["identifier"]
    assert triggered.data.reason.error_count == len(bad)
    lost = reports["v1.billing.meter.no_meter_found"]
    assert isinstance(lost, V2Event)
    schemas.check(lost.to_dict(), schemas.NO_METER_FOUND_EVENT)
    (kind,) = lost.data.reason.error_types
    assert (kind.code, kind.error_count, kind.sample_errors[0].request.identifier) == (
        "no_meter",
        1,
        "lost",
    )


def test_reports_count_exactly_and_keep_a_few_samples(m: Metering) -> None:
    """Counts stay exact however many events fail; samples stop at MAX_REPORT_SAMPLES."""
    meter_of(m)
    token = m.v2.billing.meter_event_session.create().authentication_token
    m.v2.billing.meter_event_stream.create(
        events=[item("x", identifier=f"bad_{n}") for n in range(40)], authentication_token=token
    )
    (report,) = m.v2.core.events.list(types=["v1.billing.meter.error_report_triggered"]).data
    assert isinstance(report, V2Event)
    (kind,) = report.data.reason.error_types
    assert kind.error_count == 40
    assert [sample.request.identifier for sample in kind.sample_errors] == [
        f"bad_{n}" for n in range(MAX_REPORT_SAMPLES)
    ]


def test_sessions_are_shared_through_a_durable_store(
    storage_factory: StorageFactory, clock: ManualClock, tmp_path: Path
) -> None:
    """A token issued by one Metering works in another on the same SQLite file or database."""
    url = storage_factory(tmp_path)
    if not (isinstance(url, str) and url.startswith(("sqlite:///", "postgresql://"))):
        pytest.skip("only a file or a database server is shared between instances")
    with Metering(storage=url, clock=clock) as first, Metering(storage=url, clock=clock) as second:
        meter = meter_of(first)
        token = first.v2.billing.meter_event_session.create().authentication_token
        second.v2.billing.meter_event_stream.create(events=[item("7")], authentication_token=token)
        assert total(first, meter) == 7


def test_meter_changes_are_logged_as_lifecycle_events(m: Metering, clock: ManualClock) -> None:
    """Create, update, deactivate and reactivate each log one event, newest first."""
    meter = meter_of(m)
    clock.advance(60)
    m.meters.update(meter.id, display_name="Renamed")
    m.meters.deactivate(meter.id)
    m.meters.deactivate(meter.id)  # a no-op logs nothing
    m.meters.reactivate(meter.id)
    events = m.v2.core.events.list().data
    assert [event.type for event in events] == [
        "billing.meter.reactivated",
        "billing.meter.deactivated",
        "billing.meter.updated",
        "billing.meter.created",
    ]
    updated = events[2]
    assert isinstance(updated, V1Event)
    schemas.check(updated.to_dict(), schemas.snapshot_event("billing.meter.updated"))
    assert updated.data.previous_attributes == {"display_name": "Search", "updated": NOW}
    assert updated.data.object.display_name == "Renamed"
    assert m.v2.core.events.retrieve(updated.id) == updated


def test_event_log_pages_filters_and_misses(m: Metering) -> None:
    """The log pages like every list, filters by type, and an unknown id is resource_missing."""
    for n in range(5):
        m.meters.create(
            display_name="x", event_name=f"e{n}", default_aggregation={"formula": "count"}
        )
    page = m.v2.core.events.list(limit=2)
    assert len(page.data) == 2 and page.next_page_url is not None
    assert page.previous_page_url is None
    assert len(list(page.auto_paging_iter())) == 5
    assert m.v2.core.events.list(types=["v1.billing.meter.no_meter_found"]).data == ()
    with pytest.raises(InvalidRequestError) as info:
        m.v2.core.events.retrieve("evt_nope")
    assert (info.value.code, info.value.param, info.value.http_status) == (
        "resource_missing",
        "id",
        404,
    )


def test_the_log_keeps_thirty_days(m: Metering, clock: ManualClock) -> None:
    """Entries older than LOG_RETENTION are purged when newer ones are written."""
    m.meters.create(display_name="x", event_name="old", default_aggregation={"formula": "count"})
    clock.advance(LOG_RETENTION)
    m.meters.create(display_name="x", event_name="edge", default_aggregation={"formula": "count"})
    assert len(m.v2.core.events.list().data) == 2  # exactly 30 days old: kept
    clock.advance(1)
    m.meters.create(display_name="x", event_name="new", default_aggregation={"formula": "count"})
    names = [event.data.object.event_name for event in m.v2.core.events.list().data]  # type: ignore[union-attr]
    assert names == ["new", "edge"]


def test_a_page_past_a_purged_entry_is_resource_missing(m: Metering, clock: ManualClock) -> None:
    """A page token whose cursor entry has been purged since is resource_missing on page."""
    for name in ("a", "b"):
        m.meters.create(display_name="x", event_name=name, default_aggregation={"formula": "count"})
    token = page_token_of(m.v2.core.events.list(limit=1).next_page_url)
    clock.advance(LOG_RETENTION + 1)
    m.meters.create(display_name="x", event_name="c", default_aggregation={"formula": "count"})
    with pytest.raises(InvalidRequestError) as info:
        m.v2.core.events.list(page=token)
    assert (info.value.code, info.value.param) == ("resource_missing", "page")


def test_subscribers_see_new_events_and_a_failing_one_breaks_nothing(
    m: Metering, caplog: pytest.LogCaptureFixture
) -> None:
    """Subscribers get each stored event of their types; one that raises is logged and skipped."""
    seen: list[str] = []

    def broken(event: object) -> None:
        raise RuntimeError("subscriber bug")

    m.v2.core.events.subscribe(broken)
    unsubscribe = m.v2.core.events.subscribe(
        lambda event: seen.append(event.type), types=["v1.billing.meter.no_meter_found"]
    )
    meter = meter_of(m)
    token = m.v2.billing.meter_event_session.create().authentication_token
    with caplog.at_level(logging.ERROR, logger="meterlib.events"):
        m.v2.billing.meter_event_stream.create(
            events=[item("4"), {"event_name": "nope", "payload": {}}], authentication_token=token
        )
    assert seen == ["v1.billing.meter.no_meter_found"]
    assert "subscriber bug" in caplog.text
    assert total(m, meter) == 4
    assert len(m.v2.core.events.list().data) == 2  # created, and the report
    unsubscribe()
    m.v2.billing.meter_event_stream.create(
        events=[{"event_name": "nope", "payload": {}}], authentication_token=token
    )
    assert seen == ["v1.billing.meter.no_meter_found"]


def test_v2_errors_are_meterlib_errors(m: Metering) -> None:
    """Every v2 failure is a MeterlibError with a code."""
    with pytest.raises(MeterlibError) as info:
        m.v2.billing.meter_event_adjustments.create(event_name=EVENT, type="nope", cancel={})
    assert info.value.code


def page_token_of(url: str | None) -> str:
    """The ``page`` token a v2 list url carries."""
    assert url is not None and url.startswith("/v2/core/events?page=")
    return url.removeprefix("/v2/core/events?page=")


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_event_log_pages_walk_both_ways(m: Metering, limit: int) -> None:
    """next_page_url walks the log newest first; previous_page_url returns the page before."""
    for n in range(7):
        meter = m.meters.create(
            display_name="x", event_name=f"e{n}", default_aggregation={"formula": "count"}
        )
        m.meters.deactivate(meter.id)
    wanted = ["billing.meter.created"]
    everything = [event.id for event in m.v2.core.events.list(limit=100, types=wanted)]
    pages = [m.v2.core.events.list(limit=limit, types=wanted)]
    while pages[-1].next_page_url is not None:
        pages.append(m.v2.core.events.list(page=page_token_of(pages[-1].next_page_url)))
    assert [event.id for page in pages for event in page] == everything
    assert all(len(page) == limit for page in pages[:-1]) and 0 < len(pages[-1]) <= limit
    assert pages[0].previous_page_url is None
    for before, page in itertools.pairwise(pages):
        back = m.v2.core.events.list(page=page_token_of(page.previous_page_url))
        assert back.data == before.data
        assert (back.previous_page_url is None) == (before is pages[0])
        assert back.next_page_url == before.next_page_url
    walked = [event.id for event in pages[0].auto_paging_iter()]
    assert walked == everything


def test_event_log_page_token_carries_its_query(m: Metering) -> None:
    """A page token keeps its filter; limit beside it resizes, other types beside it are refused."""
    for n in range(4):
        m.meters.create(
            display_name="x", event_name=f"e{n}", default_aggregation={"formula": "count"}
        )
    first = m.v2.core.events.list(limit=1, types=["billing.meter.created"])
    token = page_token_of(first.next_page_url)
    assert len(m.v2.core.events.list(page=token, limit=3)) == 3
    same = m.v2.core.events.list(page=token, types=["billing.meter.created"])
    assert same == m.v2.core.events.list(page=token)
    with pytest.raises(InvalidRequestError) as info:
        m.v2.core.events.list(page=token, types=["billing.meter.updated"])
    assert (info.value.code, info.value.param) == ("parameter_invalid_string", "types")
    schemas.check(first.to_dict(), schemas.v2_list(schemas.snapshot_event("billing.meter.created")))


@pytest.mark.parametrize(
    ("call", "code", "param"),
    [
        (lambda m: m.v2.core.events.list(types=5), "parameter_invalid_type", "types"),
        (lambda m: m.v2.core.events.list(types={"a": 1}), "parameter_invalid_type", "types"),
        (lambda m: m.v2.core.events.list(types=["t"] * 21), "parameter_invalid_length", "types"),
        (lambda m: m.v2.core.events.list(types=[""]), "parameter_invalid_string_empty", "types"),
        (lambda m: m.v2.core.events.list(limit=0), "parameter_invalid_integer", "limit"),
        (lambda m: m.v2.core.events.list(page="nope"), "parameter_invalid_string", "page"),
        (lambda m: m.v2.core.events.list(page="e30"), "parameter_invalid_string", "page"),
        (
            lambda m: m.v2.core.events.list(page="x" * 16_001),
            "parameter_invalid_string_length",
            "page",
        ),
        (lambda m: m.v2.core.events.subscribe(5), "parameter_invalid_type", "callback"),
        (lambda m: m.v2.core.events.retrieve("x" * 5001), "parameter_invalid_string_length", "id"),
    ],
    ids=[
        "int",
        "mapping",
        "21 types",
        "empty type",
        "limit 0",
        "not a token",
        "token of {}",
        "long token",
        "not callable",
        "long id",
    ],
)
def test_event_log_arguments_are_validated(m: Metering, call: Any, code: str, param: str) -> None:
    """Bad event log arguments are coded errors on their param, and subscribe nothing."""
    with pytest.raises(InvalidRequestError) as info:
        call(m)
    assert (info.value.code, info.value.param) == (code, param)
    seen: list[object] = []
    m.v2.core.events.subscribe(seen.append, types="billing.meter.created")  # one string: one type
    meter_of(m)
    assert len(seen) == 1
