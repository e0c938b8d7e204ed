"""Backend summary indexes (memory rollups, SQL pushdown) equal a from-scratch recomputation."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedList

import meterlib.storage.memory as memory_module
from meterlib import ManualClock, Metering, Storage
from meterlib.aggregation import get_aggregation, register_aggregation, unregister_aggregation
from meterlib.storage import SummaryQuery
from tests.formulas import Maximum, Minimum

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NOW_S = int(NOW.timestamp())
SPAN = 8 * 3_600  # a short span, so events and queries often share an hour
VALUES = ["1", "2.5", "-3", "0.000001", "1E+2", "0.1234567", "123456789012345", "7.00"]
METERS = [
    (formula, window) for formula in ("sum", "count", "last") for window in (None, "hour", "day")
]

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("create"),
            st.sampled_from(range(len(METERS))),
            st.sampled_from(["a", "b"]),
            st.integers(min_value=0, max_value=SPAN),
            st.sampled_from(VALUES),
        ),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=200)),
        st.tuples(st.just("query"), st.integers(min_value=0, max_value=SPAN)),
    ),
    max_size=60,
)


def _ranges(offset: int) -> list[tuple[int, int, int]]:
    """(start, step, count) triples, around all the events and cutting through them.

    Aligned hours and days cover every event; minute- and hour-cut ranges start `offset` into the
    events' span and end among them.
    """
    base = NOW_S - SPAN - 86_400
    hour_start = base - base % 3_600
    day_start = base - base % 86_400
    inside = NOW_S - SPAN + offset
    minute = inside - inside % 60
    hour = inside - inside % 3_600
    return [
        (hour_start, 3_600, 24 * 5),
        (day_start, 86_400, 5),
        (minute, 600, 7),
        (hour, 3_600, 3),
        (minute, 3 * 86_400, 1),
    ]


def _create_meters(m: Metering) -> list[str]:
    """One meter per `METERS` entry, event name ``{formula}_{window}``; their ids."""
    return [
        m.meters.create(
            display_name=f"{formula} {window}",
            event_name=f"{formula}_{window}",
            default_aggregation={"formula": formula},
            event_time_window=window,
        ).id
        for formula, window in METERS
    ]


def _check(m: Metering, meter_ids: list[str], offset: int) -> None:
    for (formula, _), meter_id in zip(METERS, meter_ids, strict=True):
        meter = m.meters.retrieve(meter_id)
        aggregation = get_aggregation(formula)
        assert aggregation is not None
        for customer in ("a", "b"):
            for start, step, count in _ranges(offset):
                indexed = m.storage.summarize(
                    SummaryQuery(
                        meter=meter, customer=customer, start=start, step=step, count=count
                    ),
                    aggregation,
                )
                scratch = Storage.summarize(
                    m.storage,
                    SummaryQuery(
                        meter=meter, customer=customer, start=start, step=step, count=count
                    ),
                    aggregation,
                )
                assert [str(v) for v in indexed] == [str(v) for v in scratch]


@pytest.mark.parametrize(
    ("url", "rollup_density"),
    [
        ("memory://", 0),
        ("memory://", memory_module._ROLLUP_DENSITY),
        ("memory://?rollup_days=2", 0),
        ("sqlite://", 0),
    ],
    ids=["memory-rollups", "memory-adaptive", "memory-2-days", "sqlite"],
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=operations)
def test_indexed_summaries_equal_recomputation(
    url: str, rollup_density: int, script: list[tuple[object, ...]]
) -> None:
    """After random creates, cancels and queries, indexed answers equal recomputed ones."""
    with (
        pytest.MonkeyPatch.context() as patch,
        Metering(storage=url, clock=ManualClock(NOW)) as m,
    ):
        patch.setattr(memory_module, "_ROLLUP_DENSITY", rollup_density)
        meter_ids = _create_meters(m)
        identifiers: list[tuple[str, str]] = []
        for operation in script:
            if operation[0] == "create":
                _, meter_index, customer, age, value = operation
                formula, window = METERS[int(str(meter_index))]
                event_name = f"{formula}_{window}"
                event = m.meter_events.create(
                    event_name=event_name,
                    payload={"stripe_customer_id": str(customer), "value": str(value)},
                    timestamp=NOW_S - int(str(age)),
                )
                identifiers.append((event_name, event.identifier))
            elif operation[0] == "cancel" and identifiers:
                event_name, identifier = identifiers.pop(int(str(operation[1])) % len(identifiers))
                m.meter_event_adjustments.create(
                    event_name=event_name, type="cancel", cancel={"identifier": identifier}
                )
            elif operation[0] == "query":
                _check(m, meter_ids, int(str(operation[1])))
        _check(m, meter_ids, 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(
        st.tuples(
            st.sampled_from(range(len(METERS))),
            st.integers(min_value=0, max_value=SPAN),
            st.sampled_from(VALUES),
            st.booleans(),
        ),
        max_size=40,
    ),
    offset=st.integers(min_value=0, max_value=SPAN),
    sorted_streams=st.booleans(),
)
def test_rollups_kept_up_by_events_in_time_order_equal_recomputation(
    events: list[tuple[int, int, str, bool]], offset: int, sorted_streams: bool
) -> None:
    """Rollups read early and then fed events in time order answer as a recomputation does.

    With `sorted_streams`, a first event is cancelled, so the streams are `SortedList`s.
    """
    with (
        pytest.MonkeyPatch.context() as patch,
        Metering(clock=ManualClock(NOW)) as m,
    ):
        patch.setattr(memory_module, "_ROLLUP_DENSITY", 0)
        meter_ids = _create_meters(m)
        for formula, window in METERS if sorted_streams else ():
            name = f"{formula}_{window}"
            m.record(name, customer="a", value=1, timestamp=NOW_S - SPAN, identifier=name)
            m.meter_event_adjustments.create(
                event_name=name, type="cancel", cancel={"identifier": name}
            )
        _check(m, meter_ids, offset)
        for meter_index, age, value, query in sorted(events, key=lambda event: -event[1]):
            formula, window = METERS[meter_index]
            m.record(f"{formula}_{window}", customer="a", value=value, timestamp=NOW_S - age)
            if query:
                _check(m, meter_ids, offset)
        _check(m, meter_ids, offset)


def test_hourly_rollup_is_refreshed_by_a_late_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached hourly state is dropped when a new event lands in its hour."""
    monkeypatch.setattr(memory_module, "_ROLLUP_DENSITY", 0)
    with Metering(clock=ManualClock(NOW)) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
        )
        hour = NOW_S - NOW_S % 3_600 - 3_600
        m.record("calls", customer="a", value=2, timestamp=hour + 5)
        assert m.usage(meter.id, "a", hour, hour + 3_600) == 2
        m.record("calls", customer="a", value=3, timestamp=hour + 10)
        assert m.usage(meter.id, "a", hour, hour + 3_600) == Decimal(5)


@attrs.frozen
class _InOrder:
    """A test formula: 1 when its events were added in ``(timestamp, seq)`` order, else 0."""

    name: str = "in_order"
    requires_value: bool = False

    def initial(self) -> tuple[tuple[int, int], ...]:
        """No event yet."""
        return ()

    def add(
        self, state: tuple[tuple[int, int], ...], timestamp: int, seq: int, value: object
    ) -> tuple[tuple[int, int], ...]:
        """Remember the event's place."""
        return (*state, (timestamp, seq))

    def combine(
        self, earlier: tuple[tuple[int, int], ...], later: tuple[tuple[int, int], ...]
    ) -> tuple[tuple[int, int], ...]:
        """The earlier range's events, then the later's."""
        return earlier + later

    def result(self, state: tuple[tuple[int, int], ...]) -> Decimal:
        """1 if in order."""
        return Decimal(list(state) == sorted(state))


@pytest.mark.parametrize("cancel_first", [False, True], ids=["list", "sorted-list"])
def test_rollups_fold_events_in_order_for_formulas(
    monkeypatch: pytest.MonkeyPatch, cancel_first: bool
) -> None:
    """A rollup hands `add` its events in (timestamp, seq) order, late arrivals included."""
    monkeypatch.setattr(memory_module, "_ROLLUP_DENSITY", 0)
    register_aggregation(_InOrder())
    try:
        with Metering(clock=ManualClock(NOW)) as m:
            meter = m.meters.create(
                display_name="Order",
                event_name="order",
                default_aggregation={"formula": "in_order"},
            )
            hour = NOW_S - NOW_S % 3_600 - 3_600
            if cancel_first:
                m.record("order", customer="a", timestamp=hour, identifier="gone")
                m.meter_event_adjustments.create(
                    event_name="order", type="cancel", cancel={"identifier": "gone"}
                )
            for offset in (10, 20):
                m.record("order", customer="a", timestamp=hour + offset)
            assert m.usage(meter.id, "a", hour, hour + 3_600) == 1
            m.record("order", customer="a", timestamp=hour + 15)  # late
            m.record("order", customer="a", timestamp=hour + 30)
            assert m.usage(meter.id, "a", hour, hour + 3_600) == 1
    finally:
        unregister_aggregation("in_order")


def test_hourly_rollup_follows_a_replaced_formula(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-registering a meter's formula under its name rebuilds the rollup with the new one."""
    monkeypatch.setattr(memory_module, "_ROLLUP_DENSITY", 0)
    register_aggregation(Maximum(name="peak"))
    try:
        with Metering(clock=ManualClock(NOW)) as m:
            meter = m.meters.create(
                display_name="Peak", event_name="peak", default_aggregation={"formula": "peak"}
            )
            hour = NOW_S - NOW_S % 3_600 - 3_600
            m.record("peak", customer="a", value=1, timestamp=hour + 5)
            m.record("peak", customer="a", value=5, timestamp=hour + 10)
            assert m.usage(meter.id, "a", hour, hour + 3_600) == 5
            register_aggregation(Minimum(name="peak"), replace=True)
            assert m.usage(meter.id, "a", hour, hour + 3_600) == 1
    finally:
        unregister_aggregation("peak")


def test_hourly_rollup_is_refreshed_by_a_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached hourly state is dropped when an event of its hour is cancelled."""
    monkeypatch.setattr(memory_module, "_ROLLUP_DENSITY", 0)
    with Metering(clock=ManualClock(NOW)) as m:
        meter = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "last"}
        )
        hour = NOW_S - NOW_S % 3_600 - 3_600
        m.record("calls", customer="a", value=2, timestamp=hour + 5)
        m.record("calls", customer="a", value=3, timestamp=hour + 10, identifier="late")
        assert m.usage(meter.id, "a", hour, hour + 3_600) == 3
        m.meter_event_adjustments.create(
            event_name="calls", type="cancel", cancel={"identifier": "late"}
        )
        assert m.usage(meter.id, "a", hour, hour + 3_600) == 2


@given(
    st.lists(
        st.tuples(st.integers(-(2**40), 2**40), st.integers(0, memory_module._SEQ_MASK)),
        min_size=2,
        max_size=10,
    )
)
def test_memory_stream_keys_sort_as_timestamp_then_seq(events: list[tuple[int, int]]) -> None:
    """``timestamp << 32 | seq`` orders events as (timestamp, seq), negative timestamps too."""
    keys = {event: event[0] << memory_module._SEQ_BITS | event[1] for event in events}
    assert sorted(events, key=keys.__getitem__) == sorted(events)
    for (timestamp, seq), key in keys.items():
        assert (key >> memory_module._SEQ_BITS, key & memory_module._SEQ_MASK) == (timestamp, seq)
        assert memory_module._first_key(timestamp) <= key < memory_module._first_key(timestamp + 1)


@settings(max_examples=25, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=SPAN)
            | st.integers(min_value=0, max_value=SPAN // 600).map(lambda tens: tens * 600),
            st.sampled_from(VALUES),
        ),
        min_size=2,
        max_size=30,
        unique_by=lambda event: event[0],
    ),
    offset=st.integers(min_value=0, max_value=SPAN),
)
def test_memory_streams_answer_alike_in_and_out_of_time_order(
    events: list[tuple[int, str]], offset: int
) -> None:
    """A raw stream fed in time order (kept as a list) answers as one fed out of order (sorted).

    Raw meters only: a pre-aggregated window keeps its latest *received* event, so there the
    order of arrival rightly changes the answer.
    """
    oldest_first = sorted(events, reverse=True)  # by age
    answers = []
    for feed, kind in ((oldest_first, list), (oldest_first[::-1], SortedList)):
        m = Metering(clock=ManualClock(NOW))
        for formula in ("sum", "count", "last"):
            meter = m.meters.create(
                display_name="m",
                event_name=formula,
                default_aggregation={"formula": formula},
            )
            for age, value in feed:
                m.record(meter.event_name, customer="a", value=value, timestamp=NOW_S - age)
            stream = m.storage._find_stream(meter.id, "a")  # type: ignore[attr-defined]
            assert type(stream.keys) is kind
            aggregation = get_aggregation(formula)
            assert aggregation is not None
            answers.append(
                [
                    str(value)
                    for start, step, count in _ranges(offset)
                    for value in m.storage.summarize(
                        SummaryQuery(
                            meter=meter, customer="a", start=start, step=step, count=count
                        ),
                        aggregation,
                    )
                ]
            )
    assert answers[:3] == answers[3:]
