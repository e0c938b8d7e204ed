"""`MeteringStateMachine`: a `Metering` and the `ReferenceModel` driven in lockstep by Hypothesis.

Every rule does the same thing to both and checks they answer alike (the same result or the same
error code); the invariants compare every summary of every meter and customer after each step.
Subclass it to pick the storage (`make_storage`) or to add your own rules and invariants.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

try:
    from hypothesis import strategies as st
    from hypothesis.stateful import (
        Bundle,
        MultipleResults,
        RuleBasedStateMachine,
        initialize,
        invariant,
        multiple,
        precondition,
        rule,
    )
except ImportError as error:  # pragma: no cover - exercised in a subprocess without hypothesis
    raise ImportError(
        "meterlib.testing.MeteringStateMachine needs Hypothesis: pip install 'meterlib[testing]'"
    ) from error

from meterlib.aggregation import BUILTIN_FORMULAS
from meterlib.errors import ERROR_REPORT_TRIGGERED, NO_METER_FOUND
from meterlib.metering import Metering
from meterlib.model import Meter, MeterEvent
from meterlib.model.v2 import V2Event, V2MeterEvent
from meterlib.storage import Storage
from meterlib.testing.reference import ModelEvent, ModelMismatch, ReferenceModel
from meterlib.testing.scripts import attempt
from meterlib.testing.strategies import (
    WINDOWS,
    clock_moves,
    event_time_ranges,
    invalid_meter_events,
    meter_configs,
    meter_events,
)
from meterlib.timeutil import DAY, HOUR, ManualClock, now_seconds, to_unix_seconds, window_start
from meterlib.validation import LOG_RETENTION, PAST_LIMIT

NO_SUCH_IDENTIFIER = "no-such-identifier"
"""An identifier no rule ever sends, to cancel an unknown event."""


class MeteringStateMachine(RuleBasedStateMachine):
    """Drive a `Metering` and a `ReferenceModel` with the same calls; they must always agree.

    Rules create meters (every formula and window), valid and invalid events (through v1 and
    v2), streams of both with a fresh session, retries of earlier events, cancellations (valid
    and not, through either adjustment API), clock moves (across 24 hours and 35 days), and
    deactivate or reactivate meters. Any disagreement raises `ModelMismatch`; an invariant
    checks the event log's error reports count every event a stream rejected.

    Attributes for subclasses: ``metering``, ``model`` and ``clock`` (shared by both),
    ``known_meters`` (every meter created, in order) and ``customers``. Override `make_storage`
    to test another backend; override the class attributes to change what is drawn.

    Run it as a unittest case, or with explicit settings::

        TestMetering = MeteringStateMachine.TestCase
        run_state_machine_as_test(MeteringStateMachine, settings=settings(max_examples=20))
    """

    start_time: ClassVar[datetime] = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    """Where the shared clock starts."""
    customers: ClassVar[tuple[str, ...]] = ("cus_a", "cus_b")
    """The customers events are drawn for and summaries are checked for."""
    formulas: ClassVar[tuple[str, ...]] = BUILTIN_FORMULAS
    """The formulas meters are created with; add your own registered ones."""
    windows: ClassVar[tuple[str | None, ...]] = WINDOWS
    """The ``event_time_window`` values meters are created with."""
    identifiers: ClassVar[tuple[str, ...]] = ("evt_1", "evt_2", "evt_3", "evt_4")
    """Identifiers events share, so that reuse after 24 hours happens; None (a generated one)
    is drawn as often as all of them together."""
    max_meters: ClassVar[int] = 3
    """How many meters a run creates at most (each adds to the invariants' work)."""

    meters: Bundle[Meter] = Bundle("meters")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(self.start_time)
        self.metering = Metering(self.make_storage(), clock=self.clock)
        self.model = ReferenceModel(self.clock)
        self.known_meters: list[Meter] = []
        self.sent: list[dict[str, Any]] = []
        """Every event create both accepted, with the identifier meterlib used."""
        self.reported: list[tuple[int, int]] = []
        """``(created, count)`` of the errors the model expects in the stream's error reports."""

    def make_storage(self) -> str | Storage:
        """The storage (URL or instance) of the `Metering` under test; memory by default."""
        return "memory://"

    def teardown(self) -> None:
        """Close the `Metering`."""
        self.metering.close()

    def now(self) -> int:
        """The shared clock's now in Unix seconds."""
        return now_seconds(self.clock)

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def agree(what: str, real: str | None, expected: str | None) -> None:
        """Raise `ModelMismatch` unless meterlib's outcome equals the model's (None: success)."""
        if real != expected:
            raise ModelMismatch(
                f"{what}: meterlib gave {real or 'success'}, "
                f"the reference model {expected or 'success'}"
            )

    def create_event(self, kwargs: Mapping[str, Any], *, api: str = "v1") -> MeterEvent | None:
        """Send one create (v1 or v2) to both; check they agree; the event, if accepted."""
        if api == "v2":
            sent, real = attempt(lambda: self.metering.v2.billing.meter_events.create(**kwargs))
            event = None if sent is None else _as_v1(sent)
        else:
            event, real = attempt(lambda: self.metering.meter_events.create(**kwargs))
        mirrored = dict(kwargs)
        if event is not None and kwargs.get("identifier") is None:
            mirrored["identifier"] = event.identifier  # the one meterlib generated
        expected_event, expected = attempt(lambda: self.model.create_event(**mirrored))
        self.agree(f"create event {kwargs!r}", real, expected)
        if event is not None and expected_event is not None:
            self._check_event(event, expected_event)
            self.sent.append(mirrored)
        return event

    def _check_event(self, event: MeterEvent, expected: ModelEvent) -> None:
        got = (event.event_name, event.identifier, dict(event.payload), event.timestamp)
        want = (expected.event_name, expected.identifier, expected.payload, expected.timestamp)
        if got != want or event.created != expected.created:
            raise ModelMismatch(f"accepted event {got!r}, the reference model {want!r}")

    # --- rules ----------------------------------------------------------------------------

    @initialize(target=meters, data=st.data())
    def create_first_meter(self, data: st.DataObject) -> Meter | MultipleResults[Meter]:
        """Start every run with a meter, so that events flow from the first step."""
        return self.create_meter(data)

    @precondition(lambda self: len(self.known_meters) < self.max_meters)
    @rule(target=meters, data=st.data())
    def create_meter(self, data: st.DataObject) -> Meter | MultipleResults[Meter]:
        """Create a meter from `meter_configs`, sometimes under a taken event name (refused)."""
        config = data.draw(meter_configs(formulas=self.formulas, windows=self.windows))
        reuse = data.draw(st.booleans(), label="reuse an event name")
        if reuse and self.known_meters:
            taken = st.sampled_from([meter.event_name for meter in self.known_meters])
            config["event_name"] = data.draw(taken, label="taken event_name")
        meter, real = attempt(lambda: self.metering.meters.create(**config))
        refused = self.model.meter_named(config["event_name"]) is not None
        self.agree(f"create meter {config!r}", real, "resource_already_exists" if refused else None)
        if meter is None:
            return multiple()
        self.model.add_meter(meter)
        self.known_meters.append(meter)
        return meter

    @rule(meter=meters, data=st.data())
    def send_events(self, meter: Meter, data: st.DataObject) -> None:
        """Send 1 to 4 valid events (`meter_events`), at times that favour shared windows."""
        times = data.draw(event_time_ranges(self.now()), label="times")
        identifiers = st.sampled_from((None,) * len(self.identifiers) + self.identifiers)
        batch = data.draw(
            st.lists(
                meter_events(
                    meter,
                    customers=st.sampled_from(self.customers),
                    start=None if times is None else times[0],
                    end=None if times is None else times[1],
                    identifiers=identifiers,
                ),
                min_size=1,
                max_size=4,
            ),
            label="events",
        )
        api = data.draw(st.sampled_from(["v1", "v2"]), label="api")
        for kwargs in batch:
            self.create_event(kwargs, api=api)

    @rule(meter=meters, data=st.data())
    def stream_events(self, meter: Meter, data: st.DataObject) -> None:
        """Stream valid and invalid events with a fresh session.

        The valid ones are stored as the model accepts them; the model's rejects (duplicates
        aside) are counted for `reports_count_the_rejected_events`.
        """
        valid = meter_events(meter, customers=st.sampled_from(self.customers))
        invalid = invalid_meter_events(meter, now=self.now()).map(lambda case: case.kwargs)
        drawn = data.draw(st.lists(st.one_of(valid, invalid), min_size=1, max_size=6))
        # the model makes up other identifiers than meterlib: give every event its own
        batch = [
            dict(kwargs, identifier=f"stream_{len(self.sent)}_{index}")
            if kwargs.get("identifier") is None
            else kwargs
            for index, kwargs in enumerate(drawn)
        ]
        token = self.metering.v2.billing.meter_event_session.create().authentication_token
        self.metering.v2.billing.meter_event_stream.create(events=batch, authentication_token=token)
        rejected = 0
        for kwargs in batch:
            expected_event, expected = attempt(partial(self.model.create_event, **kwargs))
            if expected_event is not None:
                stored = self.metering.storage.find_event(expected_event.identifier)
                if stored is None or stored.created != expected_event.created:
                    raise ModelMismatch(f"streamed event {kwargs!r} was not stored")
                self.sent.append(dict(kwargs, identifier=expected_event.identifier))
            elif expected != "duplicate_meter_event":
                rejected += 1
        if rejected:
            self.reported.append((self.now(), rejected))

    @rule(meter=meters, data=st.data())
    def send_invalid_event(self, meter: Meter, data: st.DataObject) -> None:
        """Send an event with one defect; on an active meter it fails with the stated code."""
        case = data.draw(invalid_meter_events(meter, now=self.now()), label="invalid event")
        for earlier in case.before:
            self.create_event(earlier)
        real = attempt(lambda: self.metering.meter_events.create(**case.kwargs))[1]
        expected = attempt(lambda: self.model.create_event(**case.kwargs))[1]
        self.agree(f"create invalid event {case!r}", real, expected)
        if self.model.meter(meter.id).active:
            self.agree(f"create invalid event {case!r}", real, case.code)

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def retry_event(self, data: st.DataObject) -> None:
        """Send an accepted event again: a duplicate within 24 hours, a new event after."""
        self.create_event(data.draw(st.sampled_from(self.sent), label="earlier event"))

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def cancel_event(self, data: st.DataObject) -> None:
        """Cancel an accepted event, under its own or another name, or an unknown identifier."""
        earlier = data.draw(st.sampled_from(self.sent), label="earlier event")
        names = [earlier["event_name"]] + [meter.event_name for meter in self.known_meters]
        event_name = data.draw(st.sampled_from(names), label="event_name")
        identifier = data.draw(
            st.sampled_from([earlier["identifier"], NO_SUCH_IDENTIFIER]), label="identifier"
        )
        adjustments: Any = data.draw(
            st.sampled_from(
                [
                    self.metering.meter_event_adjustments,
                    self.metering.v2.billing.meter_event_adjustments,
                ]
            ),
            label="adjustment API",
        )
        real = attempt(
            lambda: adjustments.create(
                event_name=event_name, type="cancel", cancel={"identifier": identifier}
            )
        )[1]
        expected = attempt(
            lambda: self.model.cancel_event(event_name=event_name, identifier=identifier)
        )[1]
        self.agree(f"cancel {identifier!r} as {event_name!r}", real, expected)

    @rule(seconds=clock_moves())
    def advance_clock(self, seconds: int) -> None:
        """Move the shared clock forward."""
        self.clock.advance(seconds)

    @rule(meter=meters, active=st.sampled_from([True, True, False]))
    def set_status(self, meter: Meter, active: bool) -> None:
        """Reactivate or deactivate a meter (an inactive one refuses events, keeps its data)."""
        if active:
            changed = self.metering.meters.reactivate(meter.id)
            self.model.reactivate(meter.id)
        else:
            changed = self.metering.meters.deactivate(meter.id)
            self.model.deactivate(meter.id)
        self.agree(f"status of {meter.id}", changed.status, self._model_status(meter))

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def summaries_agree(self) -> None:
        """Every summary of every meter and customer equals the model's.

        Checked: the whole of the last 36 days as one summary and by day (in pages of 7), the
        last 25 hours by hour, and ``m.usage`` over a range that is not minute-aligned.
        """
        now = self.now()
        first_day = window_start(now - PAST_LIMIT, DAY) - DAY
        last_day = window_start(now, DAY) + 2 * DAY
        first_hour = window_start(now, HOUR) - 25 * HOUR
        last_hour = window_start(now, HOUR) + 2 * HOUR
        for meter in self.known_meters:
            status = self.metering.meters.retrieve(meter.id).status
            self.agree(f"status of {meter.id}", status, self._model_status(meter))
            for customer in self.customers:
                self.check_summaries(meter, customer, first_day, last_day, None)
                self.check_summaries(meter, customer, first_day, last_day, "day", page_size=7)
                self.check_summaries(meter, customer, first_hour, last_hour, "hour")
                start, end = now - PAST_LIMIT - 7, now + 301
                real = self.metering.usage(meter.id, customer, start, end)
                expected = self.model.usage(meter.id, customer, start, end)
                if real != expected:
                    raise ModelMismatch(
                        f"usage of {meter.id} for {customer} in [{start}, {end}): "
                        f"meterlib {real}, the reference model {expected}"
                    )

    @invariant()
    def reports_count_the_rejected_events(self) -> None:
        """The error reports count exactly the events streams rejected, duplicates aside.

        Over the reports the log still keeps (`LOG_RETENTION`), on both sides.
        """
        kept_since = self.now() - LOG_RETENTION
        expected = sum(count for created, count in self.reported if created >= kept_since)
        real = sum(
            event.data.reason.error_count
            for event in self.metering.v2.core.events.list(
                limit=100, types=[ERROR_REPORT_TRIGGERED, NO_METER_FOUND]
            ).auto_paging_iter()
            if isinstance(event, V2Event)
            and to_unix_seconds(event.created, "created") >= kept_since
        )
        if real != expected:
            raise ModelMismatch(f"error reports count {real} rejected events, the model {expected}")

    def _model_status(self, meter: Meter) -> str:
        return "active" if self.model.meter(meter.id).active else "inactive"

    def check_summaries(
        self,
        meter: Meter,
        customer: str,
        start: int,
        end: int,
        grouping: str | None,
        *,
        page_size: int = 100,
    ) -> None:
        """Compare ``list_event_summaries`` over ``[start, end)``, every page, with the model."""
        page = self.metering.meters.list_event_summaries(
            meter.id,
            customer=customer,
            start_time=start,
            end_time=end,
            value_grouping_window=grouping,
            limit=page_size,
        )
        real = [
            (summary.start_time, summary.end_time, summary.aggregated_value)
            for summary in page.auto_paging_iter()
        ]
        values = self.model.summaries(
            meter.id, customer, start_time=start, end_time=end, value_grouping_window=grouping
        )
        step = (end - start) // len(values)
        expected = [
            (start + index * step, start + (index + 1) * step, value)
            for index, value in enumerate(values)
        ]
        series = self.metering.usage_series(
            meter.id, customer, start, end, value_grouping_window=grouping
        )
        expected_series = [(window_start, value) for window_start, _, value in expected]
        if series != expected_series:
            raise ModelMismatch(
                f"usage_series of {meter.id} for {customer} in [{start}, {end}) by "
                f"{grouping or 'whole range'}: meterlib {series[:3]!r}…, "
                f"the model {expected_series[:3]!r}…"
            )
        if real != expected:
            wrong = [(got, want) for got, want in zip(real, expected, strict=False) if got != want]
            raise ModelMismatch(
                f"summaries of {meter.id} for {customer} in [{start}, {end}) by "
                f"{grouping or 'whole range'}: first differences (meterlib, model) {wrong[:3]!r}"
                + ("" if len(real) == len(expected) else f"; {len(real)} vs {len(expected)}")
            )


def _as_v1(event: V2MeterEvent) -> MeterEvent:
    """A v2 event as its v1 pair, to compare with the model alike."""
    return MeterEvent(
        event_name=event.event_name,
        identifier=event.identifier,
        payload=event.payload,
        timestamp=to_unix_seconds(event.timestamp, "timestamp"),
        created=to_unix_seconds(event.created, "created"),
        livemode=event.livemode,
    )
