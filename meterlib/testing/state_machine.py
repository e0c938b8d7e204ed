"""`MeteringStateMachine`: a `Metering` and the `ReferenceModel` driven in lockstep by Hypothesis.

Every rule does the same thing to both and checks they answer alike (the same result or the same
error code); after each step the invariants compare summaries of every meter and customer, and
around every moment the step touched, ranges that end exactly there. Times are aimed at the
edges where time rules break (`meterlib.testing.strategies.event_timestamps`, `clock_moves`).
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
from meterlib.storage.memory import MemoryStorage
from meterlib.testing.reference import ModelEvent, ModelMismatch, ReferenceModel
from meterlib.testing.scripts import attempt
from meterlib.testing.strategies import (
    clock_moves,
    counted_lists,
    edge_moments,
    event_timestamps,
    invalid_meter_events,
    meter_configs,
    meter_events,
    picks,
)
from meterlib.timeutil import (
    DAY,
    HOUR,
    WINDOW_SECONDS,
    ManualClock,
    now_seconds,
    to_unix_seconds,
    window_start,
)
from meterlib.validation import FUTURE_LIMIT, LOG_RETENTION, PAST_LIMIT

NO_SUCH_IDENTIFIER = "no-such-identifier"
"""An identifier no rule ever sends, to cancel an unknown event."""
RECENT_EVENTS = 4
"""How many of the latest events rules aim at: their times, their cancels, their late events."""
Touched = tuple[str, str, int]
"""``(meter id, customer, moment)``: a timestamp or receipt time a step created or cancelled."""


class MeteringStateMachine(RuleBasedStateMachine):
    """Drive a `Metering` and a `ReferenceModel` with the same calls; they must always agree.

    The first step creates a meter of every formula and window and sends first events (with a
    revisit at an edge, late events or a cancel). Rules then send valid and invalid events
    (through v1 and v2), stream both with a fresh session, retry earlier events, cancel (valid
    and not, through either adjustment API, old and latest events), send late events into a day
    just read, move the clock, and deactivate or reactivate meters. Event timestamps sit on or
    one second off the edges of minutes, hours, UTC days, the 35-day and 300-second windows,
    earlier events and `edges`; clock moves land on the 24-hour and 35-day edges of earlier
    events. Any disagreement raises `ModelMismatch`; an invariant checks the event log's error
    reports count every event a stream rejected. docs/testing.md lists what is compared.

    Attributes for subclasses: ``metering``, ``model`` and ``clock`` (shared by both),
    ``known_meters`` (every meter created, in order), ``customers`` and ``touched`` (what the
    current step changed). Override `make_storage` to test another backend; override the class
    attributes to change what is drawn, and `edges` to aim at moments of your own.

    Run it as a unittest case, or with explicit settings::

        TestMetering = MeteringStateMachine.TestCase
        run_state_machine_as_test(
            MeteringStateMachine,
            settings=settings(max_examples=50, stateful_step_count=20, deadline=None),
        )
    """

    start_time: ClassVar[datetime] = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    """Where the shared clock starts."""
    customers: ClassVar[tuple[str, ...]] = ("cus_a", "cus_b")
    """The customers events are drawn for and summaries are checked for."""
    formulas: ClassVar[tuple[str, ...]] = BUILTIN_FORMULAS
    """The formulas meters are created with; add your own registered ones."""
    windows: ClassVar[tuple[str | None, ...]] = ("hour", "day", None)
    """The ``event_time_window`` values meters are created with. The first step pairs them with
    `formulas` in a drawn order, which shrinks towards the order given: by default a summed
    meter pre-aggregated by hour, a count by day and a raw ``last``."""
    identifiers: ClassVar[tuple[str, ...]] = ("evt_1", "evt_2", "evt_3", "evt_4")
    """Identifiers events share, so that reuse after 24 hours happens; None (a generated one)
    is drawn as often as all of them together."""
    max_meters: ClassVar[int] = 3
    """How many meters a run creates at most (each adds to the invariants' work); the first
    step creates one per formula and per window, up to this many."""
    edges: ClassVar[tuple[int, ...]] = ()
    """Moments of your own (Unix seconds) that timestamps and clock moves aim at as well, one
    second either side included: your billing periods' ends, say."""

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
        self.touched: set[Touched] = set()
        """The timestamps and receipt times of the events this step created or cancelled;
        `edges_agree` checks the ranges that end there, then empties it."""
        self.first_moment = self.now() - PAST_LIMIT
        """No event of the run is older than this."""
        self._customer_draws = st.sampled_from(self.customers)
        self._identifier_draws = st.sampled_from((None,) * len(self.identifiers) + self.identifiers)
        self._streamed: dict[str, st.SearchStrategy[dict[str, Any]]] = {}

    def make_storage(self) -> str | Storage:
        """The storage (URL or instance) of the `Metering` under test; memory by default."""
        return MemoryStorage()

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
            self.touch(expected_event)
        return event

    def cancel(self, event_name: str, identifier: str, *, api: str = "v1") -> None:
        """Send one cancel (through the v1 or v2 adjustment API) to both; check they agree."""
        adjustments: Any = (
            self.metering.v2.billing.meter_event_adjustments
            if api == "v2"
            else self.metering.meter_event_adjustments
        )
        real = attempt(
            lambda: adjustments.create(
                event_name=event_name, type="cancel", cancel={"identifier": identifier}
            )
        )[1]
        cancelled, expected = attempt(
            lambda: self.model.cancel_event(event_name=event_name, identifier=identifier)
        )
        self.agree(f"cancel {identifier!r} as {event_name!r} ({api})", real, expected)
        if cancelled is not None:
            self.touch(cancelled)

    def touch(self, event: ModelEvent) -> None:
        """Note an event's timestamp and receipt time for `edges_agree` to check around."""
        self.touched.add((event.meter_id, event.customer, event.timestamp))
        self.touched.add((event.meter_id, event.customer, event.created))

    def recent_events(self) -> list[ModelEvent]:
        """The latest events both accepted (`RECENT_EVENTS` of them), cancelled or not."""
        return self.model.events[-RECENT_EVENTS:]

    def anchors(self) -> list[int]:
        """The moments timestamps aim at: `edges`, and the recent events' times."""
        recent = self.recent_events()
        return [*self.edges, *(event.timestamp for event in recent)] + [
            event.created for event in recent
        ]

    def move_to_edge(self, data: st.DataObject, event: ModelEvent, *, always: bool = False) -> None:
        """Half the time (`always`: every time), move the clock onto an edge of `event`.

        One second before, at or after the end of the 24 hours since its receipt (its
        identifier frees up, its cancel window closes: drawn twice as often) or of the 35 days
        since its timestamp (it becomes too old to send again); no move if that has passed.
        """
        if not always and not data.draw(st.booleans(), label="move to an edge"):
            return
        now = self.now()
        edges = [event.created + DAY, event.created + DAY, event.timestamp + PAST_LIMIT]
        edge = data.draw(st.sampled_from(edges), label="edge")
        target = edge + data.draw(st.sampled_from([-1, 0, 1]), label="offset")
        if target >= now:
            self.clock.advance(target - now)

    def revisit(self, data: st.DataObject, kwargs: Mapping[str, Any]) -> None:
        """Move the clock onto an edge of an accepted event, then resend it, cancel it, or both.

        `kwargs` is the event's create as `sent` holds it; the edge is `move_to_edge`'s.
        """
        event = self.model_event(kwargs["identifier"])
        self.move_to_edge(data, event, always=True)
        action = data.draw(st.sampled_from(["resend", "cancel", "both"]), label="then")
        if action != "cancel":
            self.create_event(kwargs)
        if action != "resend":
            api = data.draw(st.sampled_from(["v1", "v2"]), label="adjustment API")
            self.cancel(event.event_name, event.identifier, api=api)

    def model_event(self, identifier: str) -> ModelEvent:
        """The latest event the model accepted with this identifier."""
        return next(
            event for event in reversed(self.model.events) if event.identifier == identifier
        )

    def meter_with_id(self, meter_id: str) -> Meter:
        """The known meter with this id."""
        return next(meter for meter in self.known_meters if meter.id == meter_id)

    def _check_event(self, event: MeterEvent, expected: ModelEvent) -> None:
        got = (event.event_name, event.identifier, dict(event.payload), event.timestamp)
        want = (expected.event_name, expected.identifier, expected.payload, expected.timestamp)
        if got != want or event.created != expected.created:
            raise ModelMismatch(f"accepted event {got!r}, the reference model {want!r}")

    # --- rules ----------------------------------------------------------------------------

    @initialize(target=meters, data=st.data())
    def create_first_meters(self, data: st.DataObject) -> MultipleResults[Meter]:
        """Start every run with a meter of every formula and window, and a first batch of events.

        One meter per formula and per window (`max_meters` at most), in drawn pairs, so that
        events, cancels and queries reach each of them; then a first batch of events for one
        of them, followed by a revisit at an edge, late events or a cancel (`first_events`).
        """
        count = min(self.max_meters, max(len(self.formulas), len(self.windows)))
        formulas = data.draw(st.permutations(self.formulas), label="formulas")
        windows = data.draw(st.permutations(self.windows), label="windows")
        created = []
        for index in range(count):
            config = data.draw(
                meter_configs(
                    formulas=[formulas[index % len(formulas)]],
                    windows=[windows[index % len(windows)]],
                )
            )
            config["event_name"] = f"{config['event_name'][:97]}.{index}"  # all different
            meter = self.metering.meters.create(**config)
            self.model.add_meter(meter)
            self.known_meters.append(meter)
            created.append(meter)
        self.first_events(data.draw(picks(created), label="first batch for"), data)
        return multiple(*created)

    def first_events(self, meter: Meter, data: st.DataObject) -> None:
        """1 to 3 times: a batch for `meter`, then a revisit at an edge, late events or a cancel.

        So that a run's first step already crosses the edges (`revisit`,
        `read_then_send_late_event`, `cancel_recent_event`): Hypothesis' shrinker seldom
        deletes the steps before a failing one, so a bug the first step shows shrinks shortest.
        """
        for _ in range(data.draw(st.integers(1, 3), label="rounds")):
            accepted = self.send_batch(meter, data)
            if not accepted:
                continue
            then = data.draw(st.sampled_from(["revisit", "late events", "cancel"]), label="then")
            if then == "revisit":
                self.revisit(data, data.draw(picks(accepted), label="revisited"))
            elif then == "late events":
                self.read_then_send_late_event(data)
            else:
                self.cancel_recent_event(data)

    @rule(target=meters, data=st.data())
    def create_meter(self, data: st.DataObject) -> Meter | MultipleResults[Meter]:
        """Create a meter from `meter_configs`, sometimes under a taken event name (refused).

        Once there are `max_meters`, always under a taken name.
        """
        config = data.draw(meter_configs(formulas=self.formulas, windows=self.windows))
        full = len(self.known_meters) >= self.max_meters
        reuse = full or data.draw(st.booleans(), label="reuse an event name")
        if reuse and self.known_meters:
            taken = picks([meter.event_name for meter in self.known_meters])
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
        """Send 1 to 4 valid events (`meter_events`) at now or at edges (`event_timestamps`).

        Events of a batch often share a timestamp (for ``last``, the later received wins).
        Sometimes one of them is then revisited at an edge of its 24 hours or 35 days
        (`revisit`): resent, cancelled, or both.
        """
        accepted = self.send_batch(meter, data)
        if not accepted:
            return
        if data.draw(st.booleans(), label="revisit one"):
            self.revisit(data, data.draw(picks(accepted), label="revisited"))

    def send_batch(self, meter: Meter, data: st.DataObject) -> list[dict[str, Any]]:
        """`send_events`' batch: the creates both accepted, as `sent` holds them.

        Each event's timestamp is left out (now), the batch's shared one, an `event_timestamps`
        draw, or (when one is accepted now) exactly one of `edges`, one second either side.
        """
        now = self.now()
        stamps = event_timestamps(now, anchors=self.anchors())
        shared = data.draw(stamps, label="a shared timestamp")
        choices = [st.none(), st.just(shared), stamps]
        yours = [
            edge + offset
            for edge in self.edges
            for offset in (0, -1, 1)
            if now - PAST_LIMIT <= edge + offset <= now + FUTURE_LIMIT
        ]
        if yours:
            choices.append(picks(yours))
        batch = data.draw(
            counted_lists(
                meter_events(
                    meter,
                    customers=self._customer_draws,
                    identifiers=self._identifier_draws,
                    timestamps=st.one_of(choices),
                ),
                min_size=1,
                max_size=4,
            ),
            label="events",
        )
        api = data.draw(st.sampled_from(["v1", "v2"]), label="api")
        before = len(self.sent)
        for kwargs in batch:
            self.create_event(kwargs, api=api)
        return self.sent[before:]

    @rule(meter=meters, data=st.data())
    def stream_events(self, meter: Meter, data: st.DataObject) -> None:
        """Stream valid and invalid events with a fresh session.

        The valid ones are stored as the model accepts them; the model's rejects (duplicates
        aside) are counted for `reports_count_the_rejected_events`.
        """
        valid = self._streamed.get(meter.id)
        if valid is None:
            valid = self._streamed[meter.id] = meter_events(meter, customers=self._customer_draws)
        invalid = invalid_meter_events(meter, now=self.now()).map(lambda case: case.kwargs)
        drawn = data.draw(counted_lists(st.one_of(valid, invalid), min_size=1, max_size=6))
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
                self.touch(expected_event)
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
        """Send an accepted event again: a duplicate within 24 hours, a new event after.

        Often a recent one, and often after moving the clock onto an edge of it (`move_to_edge`);
        sometimes cancelled right after (after 24 hours, the cancel must find the new event).
        """
        recent = data.draw(st.booleans(), label="a recent one")
        earlier = data.draw(
            picks(self.sent[::-1][: RECENT_EVENTS if recent else None]),
            label="earlier event",
        )
        self.move_to_edge(data, self.model_event(earlier["identifier"]))
        self.create_event(earlier)
        if data.draw(st.booleans(), label="then cancel it"):
            api = data.draw(st.sampled_from(["v1", "v2"]), label="adjustment API")
            self.cancel(earlier["event_name"], earlier["identifier"], api=api)

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def cancel_event(self, data: st.DataObject) -> None:
        """Cancel an accepted event, under its own or another name, or an unknown identifier."""
        earlier = data.draw(picks(self.sent[::-1]), label="earlier event")
        names = [earlier["event_name"]] + [meter.event_name for meter in self.known_meters]
        event_name = data.draw(picks(names), label="event_name")
        identifier = data.draw(
            st.sampled_from([earlier["identifier"], NO_SUCH_IDENTIFIER]), label="identifier"
        )
        api = data.draw(st.sampled_from(["v1", "v2"]), label="adjustment API")
        self.cancel(event_name, identifier, api=api)

    @precondition(lambda self: self.model.events)
    @rule(data=st.data())
    def cancel_recent_event(self, data: st.DataObject) -> None:
        """Cancel one of the latest events under its own name, so cancels reach every meter.

        Every formula and window sees its events cancelled, and, after `move_to_edge`, cancels
        that come one second before, exactly at or one second after the end of the 24 hours.
        """
        event = data.draw(picks(self.recent_events()[::-1]), label="recent event")
        self.move_to_edge(data, event)
        api = data.draw(st.sampled_from(["v1", "v2"]), label="adjustment API")
        self.cancel(event.event_name, event.identifier, api=api)

    @precondition(lambda self: self.model.events)
    @rule(data=st.data())
    def read_then_send_late_event(self, data: st.DataObject) -> None:
        """Read a recent event's day by hour, send one or two late events into it, read again.

        The first read fills what a backend caches (hourly rollups, pre-aggregation survivors);
        the late events (at or before the earlier one, in its UTC day, for its customer) must
        show in the next read; then, sometimes, one of them is cancelled and the day read once
        more.
        """
        earlier = data.draw(picks(self.recent_events()[::-1]), label="earlier event")
        meter = self.meter_with_id(earlier.meter_id)
        day = window_start(earlier.timestamp, DAY)
        self.check_summaries(meter, earlier.customer, day, day + DAY, "hour")
        now = self.now()
        low, high = max(day, now - PAST_LIMIT), min(earlier.timestamp, now + FUTURE_LIMIT)
        if low > high:  # the earlier event is older than 35 days now
            return
        # an edge of the earlier event's time, at or before it (the same second: a tie)
        late = edge_moments(earlier.timestamp).map(lambda moment: min(max(moment, low), high))
        batch = data.draw(
            counted_lists(
                meter_events(
                    meter,
                    customers=st.just(earlier.customer),
                    identifiers=st.none(),
                    timestamps=late,
                ),
                min_size=1,
                max_size=2,
            ),
            label="late events",
        )
        identifiers = [earlier.identifier]
        for kwargs in batch:
            event = self.create_event(kwargs)
            if event is not None:
                identifiers.append(event.identifier)
        self.check_summaries(meter, earlier.customer, day, day + DAY, "hour")
        if len(identifiers) > 1 and data.draw(st.booleans(), label="cancel one"):
            target = data.draw(picks(identifiers[::-1]), label="cancelled")
            self.cancel(meter.event_name, target)
            self.check_summaries(meter, earlier.customer, day, day + DAY, "hour")

    @rule(data=st.data())
    def advance_clock(self, data: st.DataObject) -> None:
        """Move the shared clock forward, often onto an edge of the recent events (`clock_moves`).

        Their 24-hour windows (identifiers, cancels), their timestamps' 35-day and 300-second
        windows, the next minute, hour and UTC day, and `edges`.
        """
        recent = self.recent_events()
        moves = clock_moves(
            now=self.now(),
            receipts=[event.created for event in recent],
            timestamps=[*self.edges, *(event.timestamp for event in recent)],
        )
        self.clock.advance(data.draw(moves, label="seconds"))

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
        """Every meter's status, and every customer's usage over the whole run, equal the model's.

        For every meter and customer: one summary from the UTC day before the run's oldest
        possible event to two days ahead, and ``m.usage`` from 7 seconds before that event to
        a second past the newest possible one (a range that is not minute-aligned).
        """
        now = self.now()
        first_day = window_start(self.first_moment, DAY) - DAY
        last_day = window_start(now, DAY) + 2 * DAY
        for meter in self.known_meters:
            status = self.metering.meters.retrieve(meter.id).status
            self.agree(f"status of {meter.id}", status, self._model_status(meter))
            for customer in self.customers:
                self.check_summaries(meter, customer, first_day, last_day, None)
                self.check_usage(meter, customer, self.first_moment - 7, now + FUTURE_LIMIT + 1)

    @invariant()
    def edges_agree(self) -> None:
        """Around what the step changed, summaries and ``m.usage`` equal the model's.

        For each meter and customer the step `touched`: the last 36 days by UTC day (in pages
        of 7) and the last 25 hours by hour. For each touched moment ``t``: the two hours and
        the two UTC days either side of the boundary at or before ``t``, by hour and by day,
        and ``m.usage`` of ``[t - w, t)``, ``[t, t + 1)``, ``[t, t + w)`` and
        ``[t + 1 - w, t + 1)``, where ``w`` is the meter's pre-aggregation window (an hour for a
        raw meter). Then `touched` is emptied.
        """
        now = self.now()
        first_day = window_start(now - PAST_LIMIT, DAY) - DAY
        last_day = window_start(now, DAY) + 2 * DAY
        first_hour = window_start(now, HOUR) - 25 * HOUR
        last_hour = window_start(now, HOUR) + 2 * HOUR
        touched, self.touched = sorted(self.touched), set()
        done: set[tuple[str, str, int, int, str | None]] = set()
        for meter_id, customer in sorted({(meter_id, who) for meter_id, who, _ in touched}):
            meter = self.meter_with_id(meter_id)
            self.check_summaries(meter, customer, first_day, last_day, "day", page_size=7)
            self.check_summaries(meter, customer, first_hour, last_hour, "hour")
        for meter_id, customer, moment in touched:
            meter = self.meter_with_id(meter_id)
            for grouping, size in WINDOW_SECONDS.items():
                boundary = window_start(moment, size)
                query = (meter_id, customer, boundary - size, boundary + size, grouping)
                if query not in done:
                    done.add(query)
                    self.check_summaries(meter, *query[1:])
            window = WINDOW_SECONDS.get(meter.event_time_window or "hour", HOUR)
            for start, end in (
                (moment - window, moment),
                (moment, moment + 1),
                (moment, moment + window),
                (moment + 1 - window, moment + 1),
            ):
                self.check_usage(meter, customer, start, end)

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

    def check_usage(self, meter: Meter, customer: str, start: int, end: int) -> None:
        """Compare ``m.usage`` over ``[start, end)`` (Unix seconds) with the model's."""
        real = self.metering.usage(meter.id, customer, start, end)
        expected = self.model.usage(meter.id, customer, start, end)
        if real != expected:
            raise ModelMismatch(
                f"usage of {meter.id} for {customer} in [{start}, {end}): "
                f"meterlib {real}, the reference model {expected}"
            )

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
        """Compare ``list_event_summaries`` over ``[start, end)``, every page, with the model.

        And ``m.usage_series`` over the same windows.
        """
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
            differ = [
                (got, want)
                for got, want in zip(series, expected_series, strict=False)
                if got != want
            ]
            raise ModelMismatch(
                f"usage_series of {meter.id} for {customer} in [{start}, {end}) by "
                f"{grouping or 'whole range'}: first differences (meterlib, model) {differ[:3]!r}"
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
