"""The strategies draw only valid inputs, except `invalid_meter_events`, which draws every error."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from meterlib import InvalidRequestError, Meter, Metering
from meterlib.testing import CreateEvent, ReferenceModel, frozen_time, play
from meterlib.testing.strategies import (
    INVALID_EVENT_CODES,
    clock_moves,
    invalid_meter_events,
    meter_configs,
    meter_events,
    payload_values,
    usage_scripts,
)
from meterlib.timeutil import now_seconds
from meterlib.validation import FUTURE_LIMIT, PAST_LIMIT

SUM_METER: dict[str, Any] = {
    "display_name": "Calls",
    "event_name": "calls",
    "default_aggregation": {"formula": "sum"},
}
RELAXED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Examples build a Metering each; on a busy machine that may exceed the default deadline."""
BIG_RANGE = (0, 2**33)
"""A summary range holding every timestamp these tests draw."""


def fresh() -> Metering:
    """A new in-memory Metering on a frozen clock."""
    return Metering(clock=frozen_time())


def create_meter(data: st.DataObject, m: Metering, **options: Any) -> Meter:
    """Create a meter drawn from `meter_configs`."""
    return m.meters.create(**data.draw(meter_configs(**options), label="meter"))


@RELAXED
@given(meter_configs())
def test_meter_configs_create_meters(config: dict[str, Any]) -> None:
    """Every drawn config creates a meter on a fresh Metering, with the drawn event name."""
    with fresh() as m:
        assert m.meters.create(**config).event_name == config["event_name"]


@RELAXED
@given(meter_configs(formulas=["count"], windows=["day"]))
def test_meter_configs_keep_to_the_formulas_and_windows_given(config: dict[str, Any]) -> None:
    """Only the formulas and windows asked for are drawn."""
    with fresh() as m:
        meter = m.meters.create(**config)
    assert (meter.default_aggregation.formula, meter.event_time_window) == ("count", "day")


@RELAXED
@given(payload_values(allow_negative=True))
def test_payload_values_are_accepted_exactly(value: str) -> None:
    """Every drawn value is accepted and summed to exactly its own decimal value."""
    with fresh() as m:
        meter = m.meters.create(**SUM_METER)
        m.record("calls", customer="cus_1", value=value)
        assert m.usage(meter.id, "cus_1", *BIG_RANGE) == Decimal(value)


@RELAXED
@given(payload_values(max_significant_digits=3))
def test_payload_values_respect_their_bounds(value: str) -> None:
    """Without allow_negative no value is negative; no value has more digits than asked."""
    digits = "".join(map(str, Decimal(value).as_tuple().digits)).strip("0")
    assert Decimal(value) >= 0
    assert len(digits) <= 3


@RELAXED
@given(st.data())
def test_meter_events_are_accepted(data: st.DataObject) -> None:
    """Every drawn event is accepted by its meter, with its timestamp within the range asked."""
    with fresh() as m:
        meter = create_meter(data, m)
        now = now_seconds(m.clock)
        start, end = now - PAST_LIMIT, now + FUTURE_LIMIT
        kwargs = data.draw(meter_events(meter, start=start, end=end))
        assert start <= m.meter_events.create(**kwargs).timestamp <= end


@RELAXED
@given(st.data())
def test_meter_events_without_a_range_leave_the_timestamp_out(data: st.DataObject) -> None:
    """Without start and end the event has no timestamp, so meterlib uses the clock's now."""
    with fresh() as m:
        meter = create_meter(data, m)
        kwargs = data.draw(meter_events(meter))
        assert "timestamp" not in kwargs
        assert m.meter_events.create(**kwargs).timestamp == now_seconds(m.clock)


@RELAXED
@given(st.from_type(Meter))
def test_from_type_draws_meters_that_meterlib_accepts(meter: Meter) -> None:
    """``st.from_type(Meter)`` works, and the drawn meter's settings create a meter."""
    with fresh() as m:
        created = m.meters.create(
            display_name=meter.display_name,
            event_name=meter.event_name,
            default_aggregation=meter.default_aggregation,
            customer_mapping=meter.customer_mapping,
            value_settings=meter.value_settings,
            event_time_window=meter.event_time_window,
        )
    assert created.customer_mapping == meter.customer_mapping


@settings(RELAXED, max_examples=25)
@given(st.data())
def test_usage_scripts_create_only_valid_events(data: st.DataObject) -> None:
    """Every create of a script is accepted when its turn comes; the model agrees on each step."""
    clock = frozen_time()
    with Metering(clock=clock) as m:
        meters = [create_meter(data, m, event_names=st.just(name)) for name in ("a", "b")]
        model = ReferenceModel(clock)
        for meter in meters:
            model.add_meter(meter)
        script = data.draw(usage_scripts(meters, start=now_seconds(clock)), label="script")
        outcomes = play(script, clock=clock, metering=m, model=model)
    creates = [
        code for step, code in zip(script, outcomes, strict=True) if isinstance(step, CreateEvent)
    ]
    assert creates == [None] * len(creates)


@RELAXED
@given(st.data())
def test_invalid_meter_events_raise_their_stated_error(data: st.DataObject) -> None:
    """Each drawn defect raises its stated code and param, and leaves the usage unchanged."""
    with fresh() as m:
        meter = create_meter(data, m)
        case = data.draw(invalid_meter_events(meter, now=now_seconds(m.clock)))
        for earlier in case.before:
            m.meter_events.create(**earlier)
        customer_key = meter.customer_mapping.event_payload_key
        customers = {str(kwargs["payload"][customer_key]) for kwargs in case.before}
        before = {who: m.usage(meter.id, who, *BIG_RANGE) for who in customers}
        with pytest.raises(InvalidRequestError) as raised:
            m.meter_events.create(**case.kwargs)
        assert (raised.value.code, raised.value.param) == (case.code, case.param)
        assert {who: m.usage(meter.id, who, *BIG_RANGE) for who in customers} == before


@pytest.mark.parametrize("code", INVALID_EVENT_CODES)
def test_invalid_meter_events_draw_every_code(code: str) -> None:
    """Every listed error code is drawn for a sum meter."""
    with fresh() as m:
        meter = m.meters.create(**SUM_METER)
    strategy = invalid_meter_events(meter, now=now_seconds(m.clock))
    quick = settings(database=None, phases=[Phase.generate], max_examples=2000)
    assert find(strategy, lambda case: case.code == code, settings=quick).code == code


def test_count_meters_get_no_missing_value_defect() -> None:
    """A count meter needs no value, so ``payload_no_value_defined`` is never drawn for it."""
    with fresh() as m:
        meter = m.meters.create(**{**SUM_METER, "default_aggregation": {"formula": "count"}})
        strategy = invalid_meter_events(meter, now=now_seconds(m.clock))
    quick = settings(database=None, phases=[Phase.generate], max_examples=150)
    with pytest.raises(Exception, match="No examples"):
        find(strategy, lambda case: case.code == "payload_no_value_defined", settings=quick)


@RELAXED
@given(clock_moves())
def test_clock_moves_go_forward(seconds: int) -> None:
    """Clock moves are positive whole seconds."""
    assert isinstance(seconds, int)
    assert seconds > 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: meter_configs(formulas=[]),
        lambda: meter_configs(formulas=["median"]),
        lambda: meter_configs(windows=["week"]),
        lambda: payload_values(max_significant_digits=16),
        lambda: payload_values(allow_negative=1),  # type: ignore[arg-type]
        lambda: meter_events("mtr_1"),  # type: ignore[arg-type]
        lambda: meter_events(fresh().meters.create(**SUM_METER), start=0),
        lambda: meter_events(fresh().meters.create(**SUM_METER), start=2, end=1),
        lambda: invalid_meter_events(fresh().meters.create(**SUM_METER), now="now"),  # type: ignore[arg-type]
        lambda: usage_scripts([], start=0),
        lambda: usage_scripts([fresh().meters.create(**SUM_METER)], start=0, max_steps=-1),
    ],
)
def test_bad_arguments_are_rejected(make: Any) -> None:
    """A bad argument raises InvalidArgument at once, as Hypothesis' own strategies do."""
    with pytest.raises(InvalidArgument):
        make()


@pytest.mark.parametrize("first_import", ["hypothesis", "meterlib.testing.strategies"])
def test_from_type_works_through_the_hypothesis_entry_point(first_import: str) -> None:
    """With meterlib installed, ``st.from_type(Meter)`` works whatever is imported first."""
    code = (
        f"import {first_import}\n"
        "from hypothesis import strategies as st\n"
        "from hypothesis import find\n"
        "from meterlib import Meter\n"
        "assert find(st.from_type(Meter), lambda meter: True).id.startswith('mtr_')\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
