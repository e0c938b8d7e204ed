"""Many writers on one PostgreSQL store: nothing lost, nothing counted twice, model survivors."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib import ManualClock, Meter, Metering
from meterlib.storage.base import StoredEvent
from meterlib.testing import ReferenceModel
from tests.postgres.server import with_options
from tests.postgres.worker import CLOCK_START, NOW, cancelled, event_of

REPO = Path(__file__).resolve().parents[2]
WORKERS, EVENTS = 8, 5_000
HOUR = 3_600
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _lines(url: str) -> list[str]:
    """Run the workers at once (one connection each: they are single-threaded); their lines."""
    one_connection = with_options(url, pool_size="1")
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.postgres.worker",
                one_connection,
                str(worker),
                str(EVENTS),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for worker in range(WORKERS)
    ]
    lines = []
    for process in processes:
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0
        lines.extend(out.splitlines())
    return lines


def _check_outcomes(outcomes: Counter[tuple[str, ...]], shared: list[int]) -> None:
    """Every event and cancel landed once; the other workers' shared creates were duplicates."""
    for index in range(EVENTS):
        for worker in range(WORKERS) if index % 10 else [0]:
            identifier = event_of(worker, index)[0]
            assert outcomes["create", identifier, "ok"] == 1, identifier
            if cancelled(index):
                assert outcomes["cancel", identifier, "ok"] == 1, identifier
    for index in shared:
        assert outcomes["create", f"shared-{index}", "duplicate_meter_event"] == WORKERS - 1
    creates = sum(count for (kind, *_), count in outcomes.items() if kind == "create")
    assert creates == WORKERS * EVENTS


def test_eight_processes_agree_with_the_reference_model(url: str) -> None:
    """8 processes x 5,000 events, shared identifiers, cancels, pre-aggregation: exact results.

    Each shared identifier is accepted once (the other seven get duplicate_meter_event) and
    each cancel lands once; raw totals equal the sum of the survivors computed here, and
    every hourly summary of both meters equals the reference model's fed with the stored
    events in the order the database received them.
    """
    with Metering(storage=url, clock=ManualClock(CLOCK_START)) as m:
        calls = m.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "sum"}
        )
        gauge = m.meters.create(
            display_name="Gauge",
            event_name="gauge",
            default_aggregation={"formula": "sum"},
            event_time_window="hour",
        )
    shared = [index for index in range(EVENTS) if index % 10 == 0]
    _check_outcomes(Counter(tuple(line.split()) for line in _lines(url)), shared)

    expected: dict[str, Decimal] = defaultdict(Decimal)
    for index in range(0, EVENTS, 2):
        for worker in range(WORKERS) if index % 10 else [0]:
            _, _, customer, _, value = event_of(worker, index)
            if not cancelled(index):
                expected[customer] += value
    with Metering(storage=url, clock=ManualClock(CLOCK_START)) as m:
        stored: list[StoredEvent] = []
        after = None
        while page := m.storage.list_events(limit=5_000, after=after, include_cancelled=True):
            stored.extend(page)
            after = page[-1].seq
        assert len(stored) == WORKERS * EVENTS - (WORKERS - 1) * len(shared)
        models = _models_by_hour(stored, calls, gauge)
        start, end = NOW - 2 * 86_400 + HOUR, NOW + HOUR
        for customer in ("cus_0", "cus_1", "cus_2"):
            assert m.usage(calls.id, customer, start, end) == expected[customer]
            for meter in (calls, gauge):
                series = m.usage_series(
                    meter.id, customer, start, end, value_grouping_window="hour"
                )
                model_series = [
                    _model_hour(models, meter, customer, hour) for hour in range(start, end, HOUR)
                ]
                assert [value for _, value in series] == model_series, (meter.id, customer)


def _models_by_hour(
    stored: list[StoredEvent], *meters: Meter
) -> dict[tuple[str, str, int], ReferenceModel]:
    """A reference model per (meter, customer, hour), fed that window's stored events.

    A summary window depends only on its own events (the latest received wins within one
    hour, a sum adds them), so one small model per window gives the whole model's answer
    without its linear duplicate check over every earlier event.
    """
    values = {event_of(w, i)[0]: event_of(w, i)[4] for w in range(WORKERS) for i in range(EVENTS)}
    models: dict[tuple[str, str, int], ReferenceModel] = {}
    # in seq order, the order the database received them; a cancelled event takes no part
    # in pre-aggregation (the survivor is the latest live one), so it is simply left out
    for event in stored:
        if event.cancelled:
            continue
        key = (event.event_name, event.customer, event.timestamp - event.timestamp % HOUR)
        model = models.get(key)
        if model is None:
            model = models[key] = ReferenceModel(ManualClock(CLOCK_START))
            for meter in meters:
                model.add_meter(meter)
        model.create_event(
            event_name=event.event_name,
            payload={"stripe_customer_id": event.customer, "value": str(values[event.identifier])},
            identifier=event.identifier,
            timestamp=event.timestamp,
        )
    return models


def _model_hour(
    models: dict[tuple[str, str, int], ReferenceModel], meter: Meter, customer: str, hour: int
) -> Decimal:
    """The model's summary of one hour of a meter and customer (0 where no event fell)."""
    model = models.get((meter.event_name, customer, hour))
    if model is None:
        return Decimal(0)
    (value,) = model.summaries(
        meter.id, customer, start_time=hour, end_time=hour + HOUR, value_grouping_window="hour"
    )
    return value
