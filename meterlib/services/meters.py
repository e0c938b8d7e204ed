"""``m.meters``: create, retrieve, update, deactivate, reactivate, list, and summaries."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from meterlib import validation as rules
from meterlib.context import Context
from meterlib.model import ListObject, Meter, MeterEventSummary, StatusTransitions, window_summaries
from meterlib.model.v2 import MeterLifecycleEventType, V1Event, V1EventData
from meterlib.pagination import list_page, summary_id_prefix, summary_page
from meterlib.services.event_log import EventLog, records_of
from meterlib.storage import SummaryQuery

if TYPE_CHECKING:
    import pandas as pd


class Meters:
    """``m.meters``: create, retrieve, update, deactivate, reactivate, list, summaries."""

    def __init__(self, context: Context, log: EventLog) -> None:
        self._context = context
        self._log = log

    def create(
        self,
        *,
        display_name: str,
        event_name: str,
        default_aggregation: Mapping[str, str] | Any,
        customer_mapping: Mapping[str, str] | Any = None,
        value_settings: Mapping[str, str] | Any = None,
        event_time_window: str | None = None,
    ) -> Meter:
        """Create a meter; its event name is reserved for it for ever.

        >>> from meterlib import Metering
        >>> meter = Metering().meters.create(
        ...     display_name="Search", event_name="search", default_aggregation={"formula": "sum"})
        >>> meter.status, meter.id.startswith("mtr_test_")
        ('active', True)
        """
        params = rules.validate_meter_params(
            display_name=display_name,
            event_name=event_name,
            default_aggregation=default_aggregation,
            customer_mapping=customer_mapping,
            value_settings=value_settings,
            event_time_window=event_time_window,
        )
        with self._context.lock:
            now = self._context.now()
            meter = Meter(
                id=self._context.object_id("mtr", uuid.uuid4().hex[:24]),
                created=now,
                updated=now,
                display_name=params.display_name,
                event_name=params.event_name,
                default_aggregation=params.default_aggregation,
                customer_mapping=params.customer_mapping,
                value_settings=params.value_settings,
                event_time_window=params.event_time_window,
                status="active",
                status_transitions=StatusTransitions(),
                livemode=self._context.livemode,
            )
            event = self._lifecycle_event("billing.meter.created", meter)
            self._log.purge()
            if not self._context.storage.add_meter(meter, log=records_of([event])):
                rules.event_name_taken(params.event_name)
        self._log.notify([event])
        return meter

    def retrieve(self, id: str) -> Meter:
        """The meter with this id; ``resource_missing`` if there is none."""
        return retrieve_meter(self._context, id)

    def _change(
        self, id: str, kind: MeterLifecycleEventType, change: Callable[[Meter, int], Meter | None]
    ) -> Meter:
        """Apply `change` to the meter (None: nothing changes) and log it as a `kind` event.

        The new meter and its log entry are one storage write; subscribers hear of it after.
        """
        with self._context.lock:
            meter = self.retrieve(id)
            changed = change(meter, self._context.now())
            if changed is None:
                return meter
            event = self._lifecycle_event(kind, changed, before=meter)
            self._log.purge()
            self._context.storage.replace_meter(changed, log=records_of([event]))
        self._log.notify([event])
        return changed

    def _lifecycle_event(
        self, kind: MeterLifecycleEventType, meter: Meter, *, before: Meter | None = None
    ) -> V1Event:
        """The lifecycle event of the meter; an update says what its fields were before."""
        previous = None
        if kind == "billing.meter.updated" and before is not None:
            old, new = before.to_dict(), meter.to_dict()
            previous = {key: value for key, value in old.items() if new[key] != value}
        return V1Event(
            id=self._log.new_id(),
            type=kind,
            created=meter.updated,
            livemode=meter.livemode,
            data=V1EventData(object=meter, previous_attributes=previous),
            api_version=None,
        )

    def update(self, id: str, *, display_name: str | None = None) -> Meter:
        """Rename a meter: ``display_name`` is the only field that can change."""
        name = None if display_name is None else rules.validate_display_name(display_name)
        return self._change(
            id,
            "billing.meter.updated",
            lambda meter, now: (
                None if name is None else attrs.evolve(meter, display_name=name, updated=now)
            ),
        )

    def deactivate(self, id: str) -> Meter:
        """Stop accepting events (``archived_meter``); data and summaries stay."""
        return self._change(
            id,
            "billing.meter.deactivated",
            lambda meter, now: (
                None
                if meter.status == "inactive"
                else attrs.evolve(
                    meter,
                    status="inactive",
                    status_transitions=StatusTransitions(deactivated_at=now),
                    updated=now,
                )
            ),
        )

    def reactivate(self, id: str) -> Meter:
        """Accept events again; ``deactivated_at`` returns to None."""
        return self._change(
            id,
            "billing.meter.reactivated",
            lambda meter, now: (
                None
                if meter.status == "active"
                else attrs.evolve(
                    meter, status="active", status_transitions=StatusTransitions(), updated=now
                )
            ),
        )

    def list(
        self,
        *,
        status: str | None = None,
        limit: int = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> ListObject[Meter]:
        """Meters newest first, optionally only ``active`` or ``inactive`` ones."""
        wanted = rules.validate_status_filter(status)
        size, after, before = rules.validate_page_params(limit, starting_after, ending_before)
        with self._context.lock:
            found = self._context.storage.list_meters(
                status=wanted, limit=size, starting_after=after, ending_before=before
            )
        return list_page(
            found,
            starting_after=after,
            ending_before=before,
            url="/v1/billing/meters",
            fetch=lambda a, b: self.list(
                status=wanted, limit=size, starting_after=a, ending_before=b
            ),
        )

    def to_frame(self, *, status: str | None = None) -> pd.DataFrame:
        """Every meter (``active`` or ``inactive`` ones only, with `status`) as a pandas frame.

        One row per meter, newest first, indexed by id (`meterlib.notebook.meters_frame`);
        needs ``meterlib[notebook]``.
        """
        from meterlib import notebook  # noqa: PLC0415 -- the optional extra, only when asked

        return notebook.meters_frame(self.list(status=status, limit=100).auto_paging_iter())

    def list_event_summaries(
        self,
        id: str,
        *,
        customer: str,
        start_time: object,
        end_time: object,
        value_grouping_window: str | None = None,
        limit: int = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> ListObject[MeterEventSummary]:
        """One customer's usage in ``[start_time, end_time)``, one summary per window.

        >>> from meterlib import ManualClock, Metering
        >>> m = Metering(clock=ManualClock("2026-03-10T12:00:00Z"))
        >>> meter = m.meters.create(
        ...     display_name="API", event_name="api", default_aggregation={"formula": "sum"})
        >>> _ = m.record("api", customer="cus_1", value=25)
        >>> hours = m.meters.list_event_summaries(meter.id, customer="cus_1",
        ...     start_time="2026-03-10T11:00:00Z", end_time="2026-03-10T13:00:00Z",
        ...     value_grouping_window="hour")
        >>> [summary.aggregated_value for summary in hours]
        [Decimal('0'), Decimal('25')]
        """
        query = rules.validate_summary_params(
            customer=customer,
            start_time=start_time,
            end_time=end_time,
            value_grouping_window=value_grouping_window,
        )
        size, after, before = rules.validate_page_params(limit, starting_after, ending_before)
        context = self._context
        with context.lock:
            meter = meter_definition(context, id)
            prefix = summary_id_prefix(
                meter.id, query.customer, query.window, livemode=context.livemode
            )
            page = summary_page(
                query, prefix, limit=size, starting_after=after, ending_before=before
            )
            start = query.start_time + page.first * query.window
            values = (
                context.storage.summarize(
                    SummaryQuery(
                        meter=meter,
                        customer=query.customer,
                        start=start,
                        step=query.window,
                        count=page.stop - page.first,
                    ),
                    rules.aggregation_for(meter),
                )
                if page.stop > page.first
                else []
            )
        return ListObject(
            data=window_summaries(
                prefix, meter.id, start, query.window, values, livemode=context.livemode
            ),
            has_more=page.has_more,
            url=f"/v1/billing/meters/{meter.id}/event_summaries",
            next_page=lambda listed: self.list_event_summaries(
                meter.id,
                customer=query.customer,
                start_time=query.start_time,
                end_time=query.end_time,
                value_grouping_window=value_grouping_window,
                limit=size,
                starting_after=None if before is not None else listed.data[-1].id,
                ending_before=listed.data[0].id if before is not None else None,
            ),
            backward=before is not None,
        )


def retrieve_meter(context: Context, meter_id: object) -> Meter:
    """The meter with this id; ``resource_missing`` (404) on ``id`` if there is none."""
    valid_id = rules.validate_meter_id(meter_id)
    with context.lock:
        meter = context.storage.get_meter(valid_id)
    if meter is None:
        rules.meter_missing(valid_id)
    return meter


def meter_definition(context: Context, meter_id: object) -> Meter:
    """The meter with this id for summaries, perhaps storage's kept copy; else as `retrieve_meter`.

    Summaries read only what never changes of a meter (its id, aggregation, mappings and
    event time window), so a backend a round trip away answers from a copy
    (`Storage.cached_meter`) and a summary costs one round trip, the query itself. Its
    ``status`` may be stale: never show this meter.
    """
    valid_id = rules.validate_meter_id(meter_id)
    with context.lock:
        meter = context.storage.cached_meter(valid_id)
    if meter is None:
        rules.meter_missing(valid_id)
    return meter
