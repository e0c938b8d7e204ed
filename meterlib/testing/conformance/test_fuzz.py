"""Fuzz every public entry point: only coded MeterlibErrors escape, and failures change nothing.

Each example calls one entry point with arguments drawn from valid values mixed with junk of
every kind (wrong types, huge and negative ints, NaN and infinite floats and Decimals, huge and
empty strings, surrogates and NUL, deep and self-referencing containers, objects whose own
methods raise, naive and aware datetimes, cursors of every spelling). The call must return, or
raise a `MeterlibError` with a ``code`` and a ``param``; when it raises, the store's full state
(`store_state`: meters, events, every summary shape) must be what it was before the call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import ManualClock, Meter, Metering, MeterlibError
from meterlib.aggregation import BUILTIN_FORMULAS, register_aggregation, unregister_aggregation
from meterlib.testing.conformance.state import store_state

EVENT = "api_call"
CUSTOMERS = ["cus_1", "cus_2"]
IDENTIFIERS = ["req_1", "req_2"]


class Hostile:
    """An object whose every protocol method raises."""

    def _raise(self, *args: object, **kwargs: object) -> Any:
        raise RuntimeError("hostile")

    __str__ = __repr__ = __hash__ = __eq__ = __lt__ = __le__ = __bool__ = _raise
    __len__ = __iter__ = __index__ = __int__ = __float__ = __format__ = __contains__ = _raise
    __getitem__ = __call__ = _raise


class HostileStr(str):
    """A str whose own methods raise."""

    __slots__ = ()
    _raise = Hostile._raise
    __str__ = __repr__ = __hash__ = __eq__ = __lt__ = __len__ = __iter__ = _raise
    __contains__ = __getitem__ = strip = isascii = encode = startswith = _raise


class HostileInt(int):
    """An int whose own methods raise."""

    _raise = Hostile._raise
    __str__ = __repr__ = __hash__ = __eq__ = __lt__ = __le__ = __index__ = __int__ = _raise
    __bool__ = __float__ = __format__ = bit_length = _raise


class HostileDecimal(Decimal):
    """A Decimal whose own methods raise."""

    _raise = Hostile._raise
    __str__ = __repr__ = __hash__ = __eq__ = is_finite = as_tuple = adjusted = _raise


class HostileMapping(Mapping[str, object]):
    """A mapping that fails to give its items."""

    def __getitem__(self, key: str) -> object:
        raise RuntimeError("hostile")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("hostile")

    def __len__(self) -> int:
        raise RuntimeError("hostile")


class HostileTz(timezone.__base__):  # type: ignore[misc, name-defined]
    """A tzinfo whose offset lookup raises."""

    def utcoffset(self, moment: object) -> timedelta:
        raise RuntimeError("hostile")


def _deep(depth: int) -> list[Any]:
    outer: list[Any] = []
    inner = outer
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return outer


LOOP: list[Any] = []
LOOP.append(LOOP)
LOOP_DICT: dict[str, Any] = {}
LOOP_DICT["x"] = LOOP_DICT
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)

SPECIAL: list[object] = [
    None, True, False, 0, -1, 1, 2**31, 2**63, -(2**63) - 1, 2**64, 10**5000, -(10**5000),
    float("nan"), float("inf"), -float("inf"), -0.0, 1e308, 5e-324, 0.1,
    Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-0"), Decimal("1e999999"),
    Decimal("1e-999999"), Decimal("1" * 200),
    "", " ", "\t\n", "\x00", "\ud800", "a\udfffb", "é", "💥", "x" * 101, "x" * 5001, "1" * 10**5,
    "1e41", "0x10", "1_000", "NaN", "2026-03-10T12:00:00Z", "2026-03-10", "+275760-09-13",
    "hour", "day", "sum", "count", "last", "active", "cancel", EVENT, "cus_1", "req_1",
    b"bytes", bytearray(b"x"), [], {}, (), set(), frozenset(), [1, 2], {"a": 1}, {1: 2},
    {None: 1}, {"formula": "sum", "x": 1}, {"identifier": "req_1"}, _deep(20_000), LOOP,
    LOOP_DICT, Hostile(), HostileStr("cus_1"), HostileStr("api_call"), HostileInt(5),
    HostileDecimal("1"), HostileMapping(), datetime(2026, 3, 10), NOW, NOW + timedelta(days=1),
    datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC),
    datetime(2026, 3, 10, tzinfo=HostileTz()), timedelta(days=1), timedelta.max, object(), type,
    Exception("x"), ...,
]  # fmt: skip


def specials(values: list[object]) -> st.SearchStrategy[object]:
    """One of `values`, drawn by index (`sampled_from` would hash the hostile ones)."""

    def pick(index: int) -> object:
        return values[index]

    return st.integers(0, len(values) - 1).map(pick)


junk: st.SearchStrategy[object] = st.one_of(
    specials(SPECIAL),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),
    st.lists(specials(SPECIAL[:20]), max_size=3),
    st.dictionaries(st.text(max_size=5), specials(SPECIAL), max_size=3),
)


def maybe(*valid: object) -> st.SearchStrategy[object]:
    """One of the valid values (four times in five), or junk.

    Most calls then hold one bad argument among good ones, which reaches the rules past the
    first argument.
    """
    if not valid:
        return junk
    good = specials(list(valid))
    return st.integers(0, 4).flatmap(lambda pick: good if pick else junk)


def payloads() -> st.SearchStrategy[object]:
    """Payload-shaped dicts with junk mixed into keys and values, or junk itself."""
    entry_keys = st.one_of(st.sampled_from(["stripe_customer_id", "value", "note"]), junk)
    return st.one_of(
        st.dictionaries(
            st.sampled_from(["stripe_customer_id", "value", "note"]),
            maybe("cus_1", "1", "2.5"),
            max_size=3,
        ),
        st.dictionaries(entry_keys.filter(_hashable), junk, max_size=3),
        junk,
    )


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except Exception:  # any failing hash means: not usable as a dict key
        return False
    return True


def batches() -> st.SearchStrategy[object]:
    """Lists of batch or stream items (event-shaped dicts with junk mixed in), or junk."""
    items = st.one_of(
        st.fixed_dictionaries(
            {"event_name": maybe(EVENT), "payload": payloads()},
            optional={"identifier": maybe("req_1", "req_9"), "timestamp": junk},
        ),
        junk,
    )
    return st.one_of(st.lists(items, max_size=4), junk)


def cursors(real: str) -> st.SearchStrategy[object]:
    """A real cursor, every other spelling of it, or junk."""
    head, _, tail = real.rpartition("_")
    spellings = [
        real, real.upper(), real + "0", real[:-1], f" {real}", f"{real}\n",
        f"{head}_0{tail}", f"{head}_+{tail}", f"{head}_0x{tail}", f"{head}_{tail.upper()}",
        f"{head}_-{tail}", f"{head}_{tail}\x00", head,
    ]  # fmt: skip
    return st.one_of(st.sampled_from(spellings), junk)


def meter_in(m: Metering) -> Meter:
    """The meter every call may name, created once per store with a few events."""
    found = m.storage.get_meter_by_event_name(EVENT)
    if found is not None:
        return found
    meter = m.meters.create(
        display_name="API", event_name=EVENT, default_aggregation={"formula": "sum"}
    )
    m.record(EVENT, customer="cus_1", value=2, identifier="req_1")
    m.record(EVENT, customer="cus_2", value=3, identifier="req_2")
    return meter


def summary_id(m: Metering, meter: Meter) -> str:
    """A real summary id, for cursor spellings."""
    return (
        m.meters.list_event_summaries(
            meter.id, customer="cus_1", start_time=0, end_time=86_400, value_grouping_window="hour"
        )
        .data[1]
        .id
    )


Call = Callable[[Metering, Meter, st.DataObject], object]


def _list_summaries(m: Metering, meter: Meter, data: st.DataObject) -> object:
    cursor = cursors(summary_id(m, meter))
    return m.meters.list_event_summaries(
        data.draw(maybe(meter.id)),  # type: ignore[arg-type]
        customer=data.draw(maybe(*CUSTOMERS)),  # type: ignore[arg-type]
        start_time=data.draw(maybe(0, NOW - timedelta(days=1))),
        end_time=data.draw(maybe(86_400, NOW)),
        value_grouping_window=data.draw(maybe(None, "hour", "day")),  # type: ignore[arg-type]
        limit=data.draw(maybe(10, 100)),  # type: ignore[arg-type]
        starting_after=data.draw(st.one_of(st.none(), cursor)),  # type: ignore[arg-type]
        ending_before=data.draw(st.one_of(st.none(), cursor)),  # type: ignore[arg-type]
    )


CALLS: dict[str, Call] = {
    "meters.create": lambda m, meter, data: m.meters.create(
        display_name=data.draw(maybe("Calls")),  # type: ignore[arg-type]
        event_name=data.draw(maybe("other_event", EVENT)),  # type: ignore[arg-type]
        default_aggregation=data.draw(maybe({"formula": "sum"}, {"formula": "count"})),
        customer_mapping=data.draw(maybe(None, {"type": "by_id", "event_payload_key": "customer"})),
        value_settings=data.draw(maybe(None, {"event_payload_key": "amount"})),
        event_time_window=data.draw(maybe(None, "hour", "day")),  # type: ignore[arg-type]
    ),
    "meters.retrieve": lambda m, meter, data: m.meters.retrieve(data.draw(maybe(meter.id))),  # type: ignore[arg-type]
    "meters.update": lambda m, meter, data: m.meters.update(
        data.draw(maybe(meter.id)),  # type: ignore[arg-type]
        display_name=data.draw(maybe(None, "Renamed")),  # type: ignore[arg-type]
    ),
    "meters.deactivate": lambda m, meter, data: m.meters.deactivate(data.draw(junk)),  # type: ignore[arg-type]
    "meters.reactivate": lambda m, meter, data: m.meters.reactivate(data.draw(junk)),  # type: ignore[arg-type]
    "meters.list": lambda m, meter, data: m.meters.list(
        status=data.draw(maybe(None, "active", "inactive")),  # type: ignore[arg-type]
        limit=data.draw(maybe(1, 10, 100)),  # type: ignore[arg-type]
        starting_after=data.draw(st.one_of(st.none(), cursors(meter.id))),  # type: ignore[arg-type]
        ending_before=data.draw(st.one_of(st.none(), cursors(meter.id))),  # type: ignore[arg-type]
    ),
    "meters.list_event_summaries": _list_summaries,
    "meter_events.create": lambda m, meter, data: m.meter_events.create(
        event_name=data.draw(maybe(EVENT)),  # type: ignore[arg-type]
        payload=data.draw(payloads()),  # type: ignore[arg-type]
        identifier=data.draw(maybe(None, "req_1", "req_new")),  # type: ignore[arg-type]
        timestamp=data.draw(maybe(None, NOW, NOW - timedelta(days=35))),
    ),
    "meter_events.create_many": lambda m, meter, data: m.meter_events.create_many(
        data.draw(batches())  # type: ignore[arg-type]
    ),
    "meter_event_adjustments.create": lambda m, meter, data: m.meter_event_adjustments.create(
        event_name=data.draw(maybe(EVENT)),  # type: ignore[arg-type]
        type=data.draw(maybe("cancel")),  # type: ignore[arg-type]
        cancel=data.draw(maybe({"identifier": "req_1"}, {"identifier": "req_2"})),  # type: ignore[arg-type]
    ),
    "record": lambda m, meter, data: m.record(
        data.draw(maybe(EVENT)),  # type: ignore[arg-type]
        customer=data.draw(maybe(*CUSTOMERS)),  # type: ignore[arg-type]
        value=data.draw(maybe(None, 1, "2.5", Decimal("0.1"))),
        timestamp=data.draw(maybe(None, NOW)),
        identifier=data.draw(maybe(None, "req_1", "req_new")),  # type: ignore[arg-type]
    ),
    "usage": lambda m, meter, data: m.usage(
        data.draw(maybe(meter.id)),  # type: ignore[arg-type]
        data.draw(maybe(*CUSTOMERS)),  # type: ignore[arg-type]
        data.draw(maybe(0, NOW - timedelta(days=1))),
        data.draw(maybe(2**37, NOW)),
    ),
    "usage_series": lambda m, meter, data: m.usage_series(
        data.draw(maybe(meter.id)),  # type: ignore[arg-type]
        data.draw(maybe(*CUSTOMERS)),  # type: ignore[arg-type]
        data.draw(maybe(0, NOW - timedelta(days=1))),
        data.draw(maybe(86_400, NOW)),
        value_grouping_window=data.draw(maybe(None, "hour", "day")),  # type: ignore[arg-type]
    ),
    "v2.meter_events.create": lambda m, meter, data: m.v2.billing.meter_events.create(
        event_name=data.draw(maybe(EVENT)),  # type: ignore[arg-type]
        payload=data.draw(payloads()),  # type: ignore[arg-type]
        identifier=data.draw(maybe(None, "req_1", "req_new")),  # type: ignore[arg-type]
        timestamp=data.draw(maybe(None, NOW, "2026-03-10T11:59:59.999Z")),
    ),
    "v2.meter_event_adjustments.create": lambda m, meter, data: (
        m.v2.billing.meter_event_adjustments.create(
            event_name=data.draw(maybe(EVENT)),  # type: ignore[arg-type]
            type=data.draw(maybe("cancel")),  # type: ignore[arg-type]
            cancel=data.draw(maybe({"identifier": "req_1"})),  # type: ignore[arg-type]
        )
    ),
    "v2.meter_event_stream.create": lambda m, meter, data: m.v2.billing.meter_event_stream.create(
        events=data.draw(batches()),  # type: ignore[arg-type]
        authentication_token=data.draw(
            maybe(m.v2.billing.meter_event_session.create().authentication_token)
        ),  # type: ignore[arg-type]
    ),
    "v2.core.events.list": lambda m, meter, data: m.v2.core.events.list(
        limit=data.draw(maybe(1, 10)),  # type: ignore[arg-type]
        types=data.draw(maybe(None, ["billing.meter.created"])),  # type: ignore[arg-type]
        page=data.draw(maybe(None)),  # type: ignore[arg-type]
    ),
    "v2.core.events.retrieve": lambda m, meter, data: m.v2.core.events.retrieve(data.draw(junk)),  # type: ignore[arg-type]
    "v2.core.events.subscribe": lambda m, meter, data: m.v2.core.events.subscribe(
        data.draw(maybe(print)),  # type: ignore[arg-type]
        types=data.draw(maybe(None, ["billing.meter.created"])),  # type: ignore[arg-type]
    )(),
    "ManualClock": lambda m, meter, data: ManualClock(data.draw(junk)),  # type: ignore[arg-type]
    "ManualClock.advance": lambda m, meter, data: ManualClock(NOW).advance(data.draw(junk)),  # type: ignore[arg-type]
    "ManualClock.set": lambda m, meter, data: ManualClock(NOW).set(data.draw(junk)),  # type: ignore[arg-type]
    "Metering": lambda m, meter, data: Metering(
        storage=data.draw(maybe("memory://")),  # type: ignore[arg-type]
        clock=data.draw(maybe(None, ManualClock(NOW))),  # type: ignore[arg-type]
        livemode=data.draw(maybe(False, True)),  # type: ignore[arg-type]
    ).close(),
    "register_aggregation": lambda m, meter, data: register_aggregation(data.draw(junk)),  # type: ignore[arg-type]
    "unregister_aggregation": lambda m, meter, data: unregister_aggregation(
        data.draw(junk.filter(lambda name: not (type(name) is str and name in BUILTIN_FORMULAS)))  # type: ignore[arg-type]
    ),
}


@pytest.mark.parametrize("entry_point", sorted(CALLS))
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_junk_gets_a_result_or_a_coded_error_and_changes_nothing(
    m: Metering, clock: ManualClock, entry_point: str, data: st.DataObject
) -> None:
    """Junk in any argument of any entry point: a result, or a coded error and no change."""
    meter = meter_in(m)
    before = store_state(m, identifiers=IDENTIFIERS, customers=CUSTOMERS)
    try:
        CALLS[entry_point](m, meter, data)
    except MeterlibError as error:
        assert error.code, f"{type(error).__name__} without a code: {error}"
        assert error.param, f"{error.code} without a param: {error}"
        assert store_state(m, identifiers=IDENTIFIERS, customers=CUSTOMERS) == before
