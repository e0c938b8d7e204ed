"""The public contract: imports, objects, JSON shapes, livemode, record/usage, threads.

Also user-registered aggregations, which need no change to storage or validation.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from meterlib import (
    ManualClock,
    Meter,
    MeterEvent,
    MeterEventAdjustment,
    MeterEventSummary,
    Metering,
    SystemClock,
)
from meterlib.aggregation import register_aggregation, unregister_aggregation
from meterlib.errors import InvalidRequestError, MeterlibError
from meterlib.testing.conformance import StorageFactory
from meterlib.testing.conformance.fixtures import Maximum

HOUR = 3_600
NOW = 1_773_144_000
"""The `clock` fixture's start, 2026-03-10 12:00 UTC."""


def test_issue_imports_and_defaults() -> None:
    """The issue's constructors work; `Metering()` is in memory, system clock, test mode."""
    assert issubclass(InvalidRequestError, MeterlibError)
    manual = Metering(storage="memory://", clock=ManualClock(datetime(2026, 3, 10, tzinfo=UTC)))
    assert manual.clock.now() == datetime(2026, 3, 10, tzinfo=UTC)
    m = Metering()
    assert isinstance(m.clock, SystemClock)
    assert m.livemode is False
    meter = m.meters.create(
        display_name="Search", event_name="search", default_aggregation={"formula": "sum"}
    )
    assert abs(meter.created - time.time()) < 60


def test_error_carries_stripe_fields(m: Metering) -> None:
    """An InvalidRequestError has code, param, http_status and a human message."""
    with pytest.raises(InvalidRequestError) as info:
        m.meters.retrieve("mtr_nope")
    error = info.value
    assert (error.code, error.param, error.http_status) == ("resource_missing", "id", 404)
    assert "mtr_nope" in error.message


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (
            Meter,
            "created customer_mapping default_aggregation display_name event_name "
            "event_time_window id livemode object status status_transitions updated "
            "value_settings",
        ),
        (MeterEvent, "created event_name identifier livemode object payload timestamp"),
        (MeterEventAdjustment, "cancel event_name livemode object status type"),
        (
            MeterEventSummary,
            "aggregated_value end_time id livemode meter object start_time",
        ),
    ],
)
def test_objects_are_frozen_attrs_with_stripe_fields(cls: type, fields: str) -> None:
    """Each object is an attrs class with exactly Stripe's v1 field names."""
    assert attrs.has(cls)
    assert sorted(attrs.fields_dict(cls)) == fields.split()


def test_objects_cannot_change(m: Metering) -> None:
    """Returned objects are immutable, payload included."""
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    event = m.record("api", customer="cus_1", value=1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        meter.status = "inactive"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.payload["value"] = "2"  # type: ignore[index]


def test_to_dict_is_json(m: Metering) -> None:
    """Every object's to_dict() serialises to JSON; decimal totals become JSON numbers."""
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    event = m.record("api", customer="cus_1", value="2.5", timestamp=NOW - HOUR)
    m.record("api", customer="cus_1", value="0.25", identifier="req_2", timestamp=NOW - HOUR)
    adjustment = m.meter_event_adjustments.create(
        event_name="api", type="cancel", cancel={"identifier": "req_2"}
    )
    page = m.meters.list_event_summaries(
        meter.id, customer="cus_1", start_time=NOW - HOUR, end_time=NOW
    )
    for item in (meter, event, adjustment, page, m.meters.list()):
        assert json.loads(json.dumps(item.to_dict())) == item.to_dict()
    assert json.loads(json.dumps(page.data[0].to_dict()))["aggregated_value"] == 2.5
    assert page.data[0].aggregated_value == Decimal("2.5")


@pytest.mark.parametrize(("total", "number"), [("12", 12), ("-3", -3), ("0.5", 0.5)])
def test_summary_value_is_a_json_number(m: Metering, total: str, number: float) -> None:
    """aggregated_value is an int when whole, else a float, never a string."""
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    m.record("api", customer="cus_1", value=total, timestamp=NOW - HOUR)
    (summary,) = m.meters.list_event_summaries(
        meter.id, customer="cus_1", start_time=NOW - HOUR, end_time=NOW
    )
    value = summary.to_dict()["aggregated_value"]
    assert value == number
    assert type(value) is type(number)


def test_livemode_flows_to_every_object(
    storage_factory: StorageFactory, clock: ManualClock, tmp_path: Path
) -> None:
    """Metering(livemode=True) marks meters, events, adjustments and summaries as live."""
    with Metering(storage=storage_factory(tmp_path), clock=clock, livemode=True) as m:
        meter = m.meters.create(
            display_name="API", event_name="api", default_aggregation={"formula": "sum"}
        )
        event = m.record("api", customer="cus_1", value=1)
        adjustment = m.meter_event_adjustments.create(
            event_name="api", type="cancel", cancel={"identifier": event.identifier}
        )
        (summary,) = m.meters.list_event_summaries(
            meter.id, customer="cus_1", start_time=NOW - HOUR, end_time=NOW
        )
        listed = m.meters.list().data[0]
    objects = (meter, event, adjustment, summary, listed)
    assert [item.livemode for item in objects] == [True] * len(objects)
    assert all(item.to_dict()["livemode"] is True for item in objects)
    assert meter.id.startswith("mtr_")
    assert summary.id.startswith("mtrusg_")


# --- the ergonomic layer ------------------------------------------------------------------


def test_record_uses_the_meters_payload_keys(m: Metering) -> None:
    """record() puts customer and value under the meter's own payload keys."""
    meter = m.meters.create(
        display_name="Tokens",
        event_name="tokens",
        default_aggregation={"formula": "sum"},
        customer_mapping={"type": "by_id", "event_payload_key": "account"},
        value_settings={"event_payload_key": "tokens"},
    )
    event = m.record("tokens", customer="acct_9", value=12, identifier="req_1")
    assert dict(event.payload) == {"account": "acct_9", "tokens": "12"}
    assert event.identifier == "req_1"
    assert m.usage(meter.id, "acct_9", NOW - HOUR, NOW + HOUR) == 12


def test_record_without_value_on_count_meter(m: Metering) -> None:
    """record() without a value works for count meters."""
    meter = m.meters.create(
        display_name="Logins", event_name="login", default_aggregation={"formula": "count"}
    )
    m.record("login", customer="cus_1")
    m.record("login", customer="cus_1")
    assert m.usage(meter.id, "cus_1", NOW - HOUR, NOW + HOUR) == 2


def test_record_applies_the_event_rules(m: Metering) -> None:
    """record() raises the same errors as meter_events.create."""
    m.meters.create(display_name="API", event_name="api", default_aggregation={"formula": "sum"})
    with pytest.raises(InvalidRequestError) as info:
        m.record("nothing", customer="cus_1", value=1)
    assert info.value.code == "no_meter"
    with pytest.raises(InvalidRequestError) as info:
        m.record("api", customer="cus_1")
    assert info.value.code == "payload_no_value_defined"


def test_usage_is_exact_to_the_second(m: Metering) -> None:
    """usage() takes any second-aligned range, half-open."""
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    for offset, value in ((-31, "1"), (-30, "2"), (-10, "4"), (-9, "8")):
        m.record("api", customer="cus_1", value=value, timestamp=NOW + offset)
    assert m.usage(meter.id, "cus_1", NOW - 30, NOW - 9) == 6
    assert m.usage(meter.id, "cus_1", "2026-03-10T11:59:29Z", "2026-03-10T11:59:51Z") == 7


def test_usage_rejects_bad_ranges_and_meters(m: Metering) -> None:
    """usage() needs end after start and a known meter."""
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    with pytest.raises(InvalidRequestError) as info:
        m.usage(meter.id, "cus_1", NOW, NOW)
    assert info.value.code == "parameter_invalid_range"
    with pytest.raises(InvalidRequestError) as info:
        m.usage("mtr_nope", "cus_1", NOW - 60, NOW)
    assert info.value.code == "resource_missing"


# --- user-registered aggregations ---------------------------------------------------------


@pytest.fixture
def maximum() -> Iterator[None]:
    """Register the `max` formula for one test."""
    register_aggregation(Maximum())
    yield
    unregister_aggregation("max")


@pytest.mark.usefixtures("maximum")
def test_custom_aggregation(m: Metering) -> None:
    """A registered formula can back a meter and computes its summaries."""
    meter = m.meters.create(
        display_name="Peak", event_name="peak", default_aggregation={"formula": "max"}
    )
    for offset, value in ((-3 * HOUR, "3"), (-2 * HOUR, "-7"), (-2 * HOUR, "1.5"), (-1, "2")):
        m.record("peak", customer="cus_1", value=value, timestamp=NOW + offset)
    page = m.meters.list_event_summaries(
        meter.id,
        customer="cus_1",
        start_time=NOW - 3 * HOUR,
        end_time=NOW,
        value_grouping_window="hour",
    )
    assert [summary.aggregated_value for summary in page] == [3, Decimal("1.5"), 2]
    assert meter.default_aggregation.formula == "max"


def test_unregistered_formula_is_rejected(m: Metering) -> None:
    """A formula nobody registered is parameter_invalid_enum."""
    with pytest.raises(InvalidRequestError) as info:
        m.meters.create(
            display_name="Peak", event_name="peak", default_aggregation={"formula": "max"}
        )
    assert info.value.code == "parameter_invalid_enum"


# --- threads ------------------------------------------------------------------------------


def test_threads_lose_nothing(m: Metering) -> None:
    """Eight threads recording at once through one Metering lose no event."""
    meter = m.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "count"}
    )
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        start.wait()
        try:
            for i in range(per_thread):
                m.record("api", customer="cus_1", identifier=f"t{worker}-{i}")
                m.record("api", customer=f"cus_w{worker}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    pool = [threading.Thread(target=work, args=(worker,)) for worker in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    assert m.usage(meter.id, "cus_1", NOW - HOUR, NOW + HOUR) == threads * per_thread
    assert [m.usage(meter.id, f"cus_w{w}", NOW - HOUR, NOW + HOUR) for w in range(threads)] == [
        per_thread
    ] * threads
