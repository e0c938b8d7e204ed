"""Hostile input, one regression per defect of issue 12, on every backend.

Each test names the issue's item it pins. Items 1, 11, 13 and 16 (empty summary pages, the
memory store's all-or-nothing writes, summary cost over huge ranges, meter paging cost) have
their tests next to the code they fix; the bounds in time and memory are measured in
``tests/test_resource_bounds.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from meterlib import ManualClock, Meter, Metering
from meterlib.errors import ConfigurationError, InvalidRequestError, MeterlibError, StorageError
from meterlib.testing.conformance.state import store_state
from meterlib.validation import MAX_WINDOWS

EVENT = "api_call"
SURROGATE = "\ud800"
DEEP: list[Any] = []
_inner = DEEP
for _ in range(20_000):
    _inner.append([])
    _inner = _inner[0]
LOOP: list[Any] = []
LOOP.append(LOOP)


class HostileStr(str):
    """A string whose own methods raise: only a plain copy of it may travel inward."""

    __slots__ = ()

    def __hash__(self) -> int:
        raise RuntimeError("hostile __hash__")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("hostile __eq__")

    def __str__(self) -> str:
        raise RuntimeError("hostile __str__")

    def __repr__(self) -> str:
        raise RuntimeError("hostile __repr__")


def meter_of(m: Metering) -> Meter:
    """A sum meter for `EVENT`."""
    return m.meters.create(
        display_name="API calls", event_name=EVENT, default_aggregation={"formula": "sum"}
    )


def refused(call: Callable[[], object], code: str, param: str) -> MeterlibError:
    """Run `call`; it must raise a MeterlibError with this code and param."""
    with pytest.raises(MeterlibError) as info:
        call()
    assert (info.value.code, info.value.param) == (code, param), str(info.value)
    return info.value


def state_of(m: Metering) -> Any:
    """The store's state for the identifiers and customers these tests use."""
    return store_state(m, identifiers=["req_1", "req_2"], customers=["cus_1"])


def test_item_2_lone_surrogates_are_invalid_strings_everywhere(m: Metering) -> None:
    """Item 2: a lone surrogate in any stored or looked-up string is parameter_invalid_string."""
    meter = meter_of(m)
    m.record(EVENT, customer="cus_1", value=1, identifier="req_1")
    before = state_of(m)
    refused(lambda: m.meters.retrieve(SURROGATE), "parameter_invalid_string", "id")
    refused(
        lambda: m.record(EVENT, customer=f"cus{SURROGATE}", value=1),
        "parameter_invalid_string",
        "payload[stripe_customer_id]",
    )
    refused(
        lambda: m.record(EVENT, customer="cus_1", value=1, identifier=SURROGATE),
        "parameter_invalid_string",
        "identifier",
    )
    refused(lambda: m.record(SURROGATE, customer="c"), "parameter_invalid_string", "event_name")
    refused(
        lambda: m.meter_event_adjustments.create(
            event_name=EVENT, type="cancel", cancel={"identifier": SURROGATE}
        ),
        "parameter_invalid_string",
        "cancel[identifier]",
    )
    refused(
        lambda: m.meters.create(
            display_name=SURROGATE, event_name="x", default_aggregation={"formula": "sum"}
        ),
        "parameter_invalid_string",
        "display_name",
    )
    refused(
        lambda: m.meter_events.create(
            event_name=EVENT, payload={"stripe_customer_id": "c", "value": "1", SURROGATE: "x"}
        ),
        "parameter_invalid_string",
        "payload",
    )
    assert state_of(m) == before
    assert m.usage(meter.id, "cus_1", 0, 2**37) == 1


def test_item_2_nul_characters_are_invalid_strings(m: Metering) -> None:
    """Item 2: a NUL character (PostgreSQL cannot store one) is parameter_invalid_string too."""
    meter_of(m)
    refused(
        lambda: m.record(EVENT, customer="cus\x00", value=1),
        "parameter_invalid_string",
        "payload[stripe_customer_id]",
    )
    refused(
        lambda: m.record(EVENT, customer="c", value=1, identifier="a\x00b"),
        "parameter_invalid_string",
        "identifier",
    )


def test_item_2_one_surrogate_item_fails_only_itself_in_a_batch(m: Metering) -> None:
    """Item 2: in create_many a surrogate item is rejected alone; the others are stored."""
    meter = meter_of(m)
    good = {"event_name": EVENT, "payload": {"stripe_customer_id": "cus_1", "value": "2"}}
    bad = {"event_name": EVENT, "payload": {"stripe_customer_id": SURROGATE, "value": "5"}}
    results = m.meter_events.create_many([good, bad, dict(good, identifier=SURROGATE)])
    assert [result.ok for result in results] == [True, False, False]
    assert [error.error.code for error in results.errors if error.error] == [
        "parameter_invalid_string"
    ] * 2
    assert m.usage(meter.id, "cus_1", 0, 2**37) == 2


def test_item_3_summary_customer_with_a_surrogate(m: Metering) -> None:
    """Item 3: a surrogate customer in a summary query is refused before building any id."""
    meter = meter_of(m)
    refused(
        lambda: m.meters.list_event_summaries(
            meter.id, customer=SURROGATE, start_time=0, end_time=3600
        ),
        "parameter_invalid_string",
        "customer",
    )
    refused(lambda: m.usage(meter.id, SURROGATE, 0, 1), "parameter_invalid_string", "customer")


@pytest.mark.parametrize(
    ("start", "end", "param"),
    [(0, 2**63, "end"), (-(2**63) - 1, 0, "start"), (0, 253_402_300_800, "end")],
    ids=["2**63", "-2**63-1", "year 10000"],
)
def test_item_4_times_beyond_year_9999(m: Metering, start: int, end: int, param: str) -> None:
    """Item 4: int times outside years 1 to 9999 are parameter_invalid_timestamp, not overflow."""
    meter = meter_of(m)
    refused(lambda: m.usage(meter.id, "c1", start, end), "parameter_invalid_timestamp", param)


def test_item_4_the_widest_times_answer(m: Metering) -> None:
    """Item 4: a range from year 1 to the last second of 9999 is answered on every backend."""
    meter = meter_of(m)
    m.record(EVENT, customer="c1", value=3)
    assert m.usage(meter.id, "c1", -62_135_596_800, 253_402_300_799) == 3
    last_minute = 253_402_300_740
    (summary,) = m.meters.list_event_summaries(
        meter.id, customer="c1", start_time=0, end_time=last_minute
    )
    assert summary.aggregated_value == 3
    refused(
        lambda: m.meters.list_event_summaries(
            meter.id, customer="c1", start_time=0, end_time=2**63 - 60
        ),
        "parameter_invalid_timestamp",
        "end_time",
    )


HUGE = 10**5000


@pytest.mark.parametrize(
    ("call", "code", "param"),
    [
        (lambda m: m.meters.list(limit=HUGE), "parameter_invalid_integer", "limit"),
        (lambda m: m.meters.list(status=HUGE), "parameter_invalid_enum", "status"),
        (
            lambda m: m.meters.create(
                display_name="x", event_name="y", default_aggregation={"formula": HUGE}
            ),
            "parameter_invalid_enum",
            "default_aggregation[formula]",
        ),
        (
            lambda m: m.meters.list_event_summaries(
                "mtr_1", customer="c", start_time=0, end_time=HUGE + 1
            ),
            "parameter_invalid_timestamp",
            "end_time",
        ),
        (
            lambda m: m.meter_events.create(
                event_name=EVENT, payload={"stripe_customer_id": "c", HUGE: "1"}
            ),
            "parameter_invalid_type",
            "payload",
        ),
        (
            lambda m: m.meters.create(
                display_name="x", event_name="y", default_aggregation={HUGE: "sum"}
            ),
            "parameter_unknown",
            "default_aggregation",
        ),
        (lambda m: m.record(EVENT, customer="c", value=HUGE), "payload_invalid_value", None),
    ],
    ids=["limit", "status", "formula", "end_time", "payload key", "settings key", "value"],
)
def test_item_5_huge_ints_in_messages(
    m: Metering, call: Callable[[Metering], object], code: str, param: str | None
) -> None:
    """Item 5: ints past Python's int-to-str digit limit are described, not printed."""
    meter_of(m)
    error = refused(lambda: call(m), code, param or "payload[value]")
    assert len(error.message) < 300


def test_item_5_and_6_storage_argument_is_described(tmp_path: Path) -> None:
    """Items 5 and 6: Metering(storage=<huge int or deep list>) is storage_url_invalid."""
    for storage in (HUGE, DEEP, LOOP, HostileStr("no scheme here")):
        with pytest.raises(ConfigurationError) as info:
            Metering(storage=storage)  # type: ignore[arg-type]
        assert (info.value.code, info.value.param) == ("storage_url_invalid", "storage")


@pytest.mark.parametrize("junk", [DEEP, LOOP], ids=["20,000 deep", "self-referencing"])
def test_item_6_nested_containers_in_messages(m: Metering, junk: object) -> None:
    """Item 6: deep or self-referencing containers are described by type, never repr'd."""
    meter_of(m)
    refused(
        lambda: m.record(EVENT, customer="c", value=junk), "payload_invalid_value", "payload[value]"
    )
    refused(lambda: m.meters.list(status=junk), "parameter_invalid_enum", "status")  # type: ignore[arg-type]
    refused(lambda: m.meters.list(limit=junk), "parameter_invalid_integer", "limit")  # type: ignore[arg-type]
    refused(
        lambda: m.record(EVENT, customer="c", value=1, timestamp=junk),
        "parameter_invalid_timestamp",
        "timestamp",
    )


@pytest.mark.parametrize("events", [None, 5, "abc", {"event_name": EVENT}], ids=repr)
def test_item_7_create_many_needs_a_list(m: Metering, events: object) -> None:
    """Item 7: create_many of something that is not a list of events is parameter_invalid_type."""
    refused(
        lambda: m.meter_events.create_many(events),  # type: ignore[arg-type]
        "parameter_invalid_type",
        "events",
    )


def test_item_7_create_many_takes_any_iterable(m: Metering) -> None:
    """Item 7: a generator of events is a batch like a list."""
    meter = meter_of(m)
    items = (
        {"event_name": EVENT, "payload": {"stripe_customer_id": "c", "value": str(n)}}
        for n in range(3)
    )
    assert m.meter_events.create_many(items).ok
    assert m.usage(meter.id, "c", 0, 2**37) == 3


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///a\x00b.db",
        f"sqlite:///{SURROGATE}.db",
        "memory://[::1",
        "sqlite:///" + "a" * 5000,
    ],
    ids=["NUL", "surrogate", "bad IPv6", "too long"],
)
def test_item_8_malformed_storage_urls(url: str) -> None:
    """Item 8: malformed storage URLs are storage_url_invalid."""
    with pytest.raises(ConfigurationError) as info:
        Metering(storage=url)
    assert (info.value.code, info.value.param) == ("storage_url_invalid", "storage")


def test_item_8_backend_url_options_are_bounded() -> None:
    """Item 8: a rollup_days option past int-to-str limits is storage_url_invalid."""
    for url in ("memory://?rollup_days=" + "9" * 5000, "memory://?rollup_days=%00"):
        with pytest.raises(ConfigurationError) as info:
            Metering(storage=url)
        assert (info.value.code, info.value.param) == ("storage_url_invalid", "storage")


def test_item_8_unusable_sqlite_paths_are_storage_errors() -> None:
    """Item 8: a directory name too long for the file system is storage_unavailable."""
    with pytest.raises(StorageError) as info:
        Metering(storage="sqlite:///" + "a" * 300 + "/usage.db")
    assert info.value.code == "storage_unavailable"


@pytest.mark.parametrize(
    "start",
    ["2026-03-10T12:00:00Z", 1_773_144_000, datetime(2026, 3, 10, 12, tzinfo=UTC)],
    ids=["ISO string", "Unix seconds", "datetime"],
)
def test_item_9_manual_clock_takes_every_time_form(start: object) -> None:
    """Item 9: ManualClock and set() take the time forms meterlib takes everywhere."""
    clock = ManualClock(start)  # type: ignore[arg-type]
    assert clock.now() == datetime(2026, 3, 10, 12, tzinfo=UTC)
    clock.set(0)
    assert clock.unix_seconds() == 0


@pytest.mark.parametrize(
    ("delta", "code"),
    [
        ("1", "parameter_invalid_type"),
        (None, "parameter_invalid_type"),
        (True, "parameter_invalid_type"),
        (float("nan"), "parameter_invalid_timestamp"),
        (float("inf"), "parameter_invalid_timestamp"),
        (1e16, "parameter_invalid_timestamp"),
        (HUGE, "parameter_invalid_timestamp"),
        (timedelta.max, "parameter_invalid_timestamp"),
    ],
    ids=["str", "None", "bool", "nan", "inf", "1e16", "10**5000", "timedelta.max"],
)
def test_item_9_bad_clock_moves_are_coded_and_change_nothing(delta: object, code: str) -> None:
    """Item 9: advance() refuses bad deltas with a coded error and the clock stays."""
    clock = ManualClock(0)
    refused(lambda: clock.advance(delta), code, "delta")  # type: ignore[arg-type]
    assert clock.unix_seconds() == 0


@pytest.mark.parametrize(
    "moment",
    ["2026-03-10", "not a time", datetime(2026, 3, 10), 2**63, 10**5000, DEEP],
    ids=["bare date", "not a time", "naive", "2**63", "10**5000", "deep list"],
)
def test_item_9_bad_clock_times_are_coded(moment: object) -> None:
    """Item 9: a naive, malformed or out-of-range start or moment is parameter_invalid_timestamp."""
    refused(lambda: ManualClock(moment), "parameter_invalid_timestamp", "start")  # type: ignore[arg-type]
    clock = ManualClock(0)
    refused(lambda: clock.set(moment), "parameter_invalid_timestamp", "moment")  # type: ignore[arg-type]
    assert clock.unix_seconds() == 0


class FarClock:
    """A custom clock whose now() lies past any time meterlib can store."""

    def __init__(self, now: object) -> None:
        self.moment = now

    def now(self) -> object:
        """The configured moment."""
        return self.moment


def test_item_10_and_11_a_clock_beyond_9999_changes_nothing(
    m: Metering, tmp_path: Path, storage_factory: Any
) -> None:
    """Items 10 and 11: a clock at 2**63 makes calls fail coded, and the store stays whole."""
    clock = FarClock(datetime(2026, 3, 10, 12, tzinfo=UTC))
    far = Metering(storage=m.storage, clock=clock)  # type: ignore[arg-type]
    meter = meter_of(far)
    event = far.record(EVENT, customer="cus_1", value=1, identifier="req_1")
    before = state_of(far)
    clock.moment = 2**63
    refused(
        lambda: far.record(EVENT, customer="cus_1", value=1), "parameter_invalid_timestamp", "clock"
    )
    refused(
        lambda: far.meter_events.create_many(
            [{"event_name": EVENT, "payload": {"stripe_customer_id": "c", "value": "1"}}]
        ),
        "parameter_invalid_timestamp",
        "clock",
    )
    clock.moment = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert state_of(far) == before
    far.meter_event_adjustments.create(
        event_name=EVENT, type="cancel", cancel={"identifier": event.identifier}
    )
    assert far.usage(meter.id, "cus_1", 0, 2**37) == 0


def test_item_12_hostile_str_values_are_copied_at_the_boundary(m: Metering) -> None:
    """Item 12: a str subclass whose methods raise is stored as a plain str copy, whole batch."""
    meter = meter_of(m)
    good = {"event_name": EVENT, "payload": {"stripe_customer_id": "cus_1", "value": "1"}}
    hostile = {
        "event_name": HostileStr(EVENT),
        "payload": {"stripe_customer_id": HostileStr("cus_1"), "value": HostileStr("2")},
        "identifier": HostileStr("req_2"),
    }
    results = m.meter_events.create_many([good, hostile])
    assert results.ok
    stored = m.storage.find_event("req_2")
    assert stored is not None and type(stored.identifier) is str
    event = results[1].event
    assert event is not None
    assert all(type(text) is str for item in event.payload.items() for text in item)
    assert m.usage(meter.id, "cus_1", 0, 2**37) == 3


class HostileToken(HostileStr):
    """A token string whose length and printability checks raise too."""

    __slots__ = ()

    def __len__(self) -> int:
        raise RuntimeError("hostile __len__")

    def isprintable(self) -> bool:
        raise RuntimeError("hostile isprintable")


def test_a_hostile_str_token_is_copied_before_it_is_checked(m: Metering) -> None:
    """A stream token of a str subclass whose methods raise works as its plain copy would."""
    meter = meter_of(m)
    token = m.v2.billing.meter_event_session.create().authentication_token
    event = {"event_name": EVENT, "payload": {"stripe_customer_id": "cus_1", "value": "4"}}
    m.v2.billing.meter_event_stream.create(events=[event], authentication_token=HostileToken(token))
    assert m.usage(meter.id, "cus_1", 0, 2**37) == 4


def test_item_14_usage_series_has_a_window_bound(m: Metering) -> None:
    """Item 14: usage_series refuses more than MAX_WINDOWS windows, accepts exactly that many."""
    meter = meter_of(m)
    hours = MAX_WINDOWS * 3600
    assert len(m.usage_series(meter.id, "c", 0, hours, value_grouping_window="hour")) == MAX_WINDOWS
    refused(
        lambda: m.usage_series(meter.id, "c", 0, hours + 3600, value_grouping_window="hour"),
        "parameter_invalid_range",
        "end_time",
    )
    refused(
        lambda: m.usage_series(meter.id, "c", 0, 1000 * 365 * 86_400, value_grouping_window="hour"),
        "parameter_invalid_range",
        "end_time",
    )


@pytest.mark.parametrize(
    "value",
    ["1" + "0" * 10**6, 2**300_000, Decimal("1" * 10**5)],
    ids=["long str", "huge int", "long Decimal"],
)
def test_item_15_oversized_values_are_invalid(m: Metering, value: object) -> None:
    """Item 15: values too long to be valid are payload_invalid_value (timed elsewhere)."""
    meter_of(m)
    refused(
        lambda: m.record(EVENT, customer="c", value=value),
        "payload_invalid_value",
        "payload[value]",
    )


def test_item_17_stored_strings_are_bounded(m: Metering) -> None:
    """Item 17: payload values over 100 characters (the customer too) are refused on every path."""
    meter = meter_of(m)
    refused(
        lambda: m.meter_events.create(
            event_name=EVENT,
            payload={"stripe_customer_id": "c", "value": "1", "note": "x" * 10**7},
        ),
        "parameter_invalid_string_length",
        "payload[note]",
    )
    for customer in ("c" * 101, "c" * 5001):
        refused(
            partial(m.record, EVENT, customer=customer, value=1),
            "parameter_invalid_string_length",
            "payload[stripe_customer_id]",
        )
    results = m.meter_events.create_many(
        [{"event_name": EVENT, "payload": {"stripe_customer_id": "c" * 101, "value": "1"}}]
    )
    assert [r.error.code for r in results.errors if r.error] == ["parameter_invalid_string_length"]
    refused(
        lambda: m.meter_events.create(
            event_name=EVENT, payload={"stripe_customer_id": "c", "value": "1", "k" * 101: "v"}
        ),
        "parameter_invalid_string_length",
        "payload",
    )
    refused(
        lambda: m.meter_events.create(
            event_name=EVENT,
            payload={"stripe_customer_id": "c", "value": "1", **{f"k{n}": "v" for n in range(100)}},
        ),
        "parameter_invalid_length",
        "payload",
    )
    m.record(EVENT, customer="c" * 100, value=1)
    assert m.usage(meter.id, "c" * 100, 0, 2**37) == 1
    assert m.usage(meter.id, "c" * 5000, 0, 2**37) == 0  # a query may name a longer customer


def test_minor_summary_cursors_only_in_their_canonical_spelling(m: Metering) -> None:
    """Minor: a summary cursor spelled any other way than its id is resource_missing."""
    meter = meter_of(m)

    def page(cursor: str) -> object:
        return m.meters.list_event_summaries(
            meter.id,
            customer="c",
            start_time=0,
            end_time=86_400,
            value_grouping_window="hour",
            limit=2,
            starting_after=cursor,
        )

    first = m.meters.list_event_summaries(
        meter.id, customer="c", start_time=0, end_time=86_400, value_grouping_window="hour"
    ).data[1]
    prefix, start = first.id[: -len(f"{first.start_time:x}")], f"{first.start_time:x}"
    assert page(first.id).data[0].start_time == 7200  # type: ignore[attr-defined]
    for spelling in (
        start.upper(),
        "0" + start,
        "+" + start,
        "0x" + start,
        f" {start}",
        f"{start}\n",
    ):
        refused(partial(page, prefix + spelling), "resource_missing", "starting_after")


def test_every_error_is_coded(m: Metering) -> None:
    """An InvalidRequestError from these paths always carries a code and a param."""
    with pytest.raises(InvalidRequestError) as info:
        m.meter_events.create(event_name=EVENT, payload=LOOP)  # type: ignore[arg-type]
    assert info.value.code and info.value.param
