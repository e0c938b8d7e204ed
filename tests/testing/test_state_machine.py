"""The state machine catches broken semantics, and users can extend it with their own invariants."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from meterlib import Meter, Metering, Storage
from meterlib.aggregation import Aggregation
from meterlib.storage.base import Point
from meterlib.storage.memory import MemoryStorage
from meterlib.summaries import SummaryQuery, summarize_points
from meterlib.testing import MeteringStateMachine, ModelMismatch
from meterlib.validation import PAST_LIMIT

DEFAULT_BUDGET = settings(
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: we only ask whether it fails
    suppress_health_check=[HealthCheck.too_slow],
)
"""Hypothesis' default example budget (100 examples of up to 50 steps), run reproducibly."""
SMALL = settings(DEFAULT_BUDGET, max_examples=10, stateful_step_count=20)


class IgnoresCancels(MemoryStorage):
    """Broken: a cancel is acknowledged, but the event keeps counting."""

    def cancel_event(self, seq: int) -> bool:
        """Pretend to cancel."""
        return True


class FirstReceivedWins(MemoryStorage):
    """Broken: in a pre-aggregation window the first received event survives, not the last."""

    def summarize(self, query: SummaryQuery, aggregation: Aggregation[Any]) -> list[Decimal]:
        """Pre-aggregate with the order of receipt reversed."""
        if query.meter.event_time_window is None:
            return super().summarize(query, aggregation)

        def reversed_receipt(meter_id: str, who: str, low: int, high: int) -> Iterable[Point]:
            return [
                (time, -seq, value)
                for time, seq, value in self.scan_points(meter_id, who, low, high)
            ]

        return summarize_points(reversed_receipt, query, aggregation)


def machine_on(storage: type[Storage]) -> type[MeteringStateMachine]:
    """The state machine subclassed to run on `storage`."""

    class Machine(MeteringStateMachine):
        def make_storage(self) -> Storage:
            return storage()

    return Machine


@pytest.mark.parametrize("broken", [IgnoresCancels, FirstReceivedWins])
def test_broken_semantics_are_caught_within_the_default_budget(broken: type[Storage]) -> None:
    """A storage that counts cancelled events, or lets the first event win a window, fails."""
    with pytest.raises(ModelMismatch):
        run_state_machine_as_test(machine_on(broken), settings=DEFAULT_BUDGET)


def test_the_correct_memory_storage_passes() -> None:
    """The same machine on the real memory storage finds nothing."""
    run_state_machine_as_test(machine_on(MemoryStorage), settings=SMALL)


UNIT_PRICE = Decimal("0.25")


def invoice_total(m: Metering, meter: Meter, customer: str, start: int, end: int) -> Decimal:
    """A user's billing code: unit price times usage, a negative total invoiced as 0."""
    return UNIT_PRICE * max(m.usage(meter.id, customer, start, end), Decimal(0))


def unclamped_invoice_total(
    m: Metering, meter: Meter, customer: str, start: int, end: int
) -> Decimal:
    """A buggy version that invoices negative usage as a credit."""
    return UNIT_PRICE * m.usage(meter.id, customer, start, end)


def invoice_machine(invoice: Any) -> type[MeteringStateMachine]:
    """The state machine with a user invariant: the invoice is unit price times the summary."""

    class InvoiceMachine(MeteringStateMachine):
        formulas = ("sum",)

        @invariant()
        def invoice_matches_the_model(self) -> None:
            end = self.now() + 301
            start = end - PAST_LIMIT - 302
            for meter in self.known_meters:
                for customer in self.customers:
                    usage = self.model.usage(meter.id, customer, start, end)
                    expected = UNIT_PRICE * max(usage, Decimal(0))
                    assert invoice(self.metering, meter, customer, start, end) == expected

    return InvoiceMachine


def test_users_add_their_own_invariants() -> None:
    """A subclass's invariant runs beside the built-in ones and passes for correct billing code."""
    run_state_machine_as_test(invoice_machine(invoice_total), settings=SMALL)


def test_user_invariants_catch_their_bugs() -> None:
    """The same invariant catches billing code that forgets to clamp negative totals."""
    with pytest.raises(AssertionError):
        run_state_machine_as_test(invoice_machine(unclamped_invoice_total), settings=DEFAULT_BUDGET)


def test_every_run_starts_with_a_meter_of_every_formula_and_window() -> None:
    """The first step creates one meter per formula and per window, so each is reached."""
    seen: list[set[tuple[str, str | None]]] = []

    class Recording(MeteringStateMachine):
        def teardown(self) -> None:
            seen.append(
                {
                    (meter.default_aggregation.formula, meter.event_time_window)
                    for meter in self.known_meters[:3]
                }
            )
            super().teardown()

    run_state_machine_as_test(Recording, settings=settings(SMALL, max_examples=5))
    assert seen
    for pairs in seen:
        assert {formula for formula, _ in pairs} == {"sum", "count", "last"}
        assert {window for _, window in pairs} == {None, "hour", "day"}


EDGE = 1_773_144_000 - 3 * 86_400 + 7 * 3_600 + 13
"""19:00:13 three days before the machine's start: on no boundary of its own, so only `edges`
aims there."""


def test_subclass_edges_are_aimed_at() -> None:
    """Events land exactly on a subclass's `edges`, which random timestamps would not do."""
    stamps: set[int] = set()

    class Aiming(MeteringStateMachine):
        edges = (EDGE,)

        def teardown(self) -> None:
            stamps.update(event.timestamp for event in self.model.events)
            super().teardown()

    run_state_machine_as_test(Aiming, settings=settings(SMALL, max_examples=20))
    assert EDGE in stamps
