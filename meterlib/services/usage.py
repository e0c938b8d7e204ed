"""``m.usage`` and ``m.usage_series``: meterlib's own summary shortcuts for applications."""

from __future__ import annotations

from decimal import Decimal

from meterlib import validation as rules
from meterlib.context import Context
from meterlib.model.series import UsageSeries
from meterlib.services.meters import meter_definition
from meterlib.storage import SummaryQuery
from meterlib.validation.series import validate_series_params


def usage(
    context: Context, meter_id: object, customer: object, start: object, end: object
) -> Decimal:
    """The aggregated value of one customer's usage in ``[start, end)``, to the second."""
    with context.lock:
        meter = meter_definition(context, meter_id)
        who = rules.validate_customer(customer)
        begin, finish = rules.validate_usage_range(start, end)
        (value,) = context.storage.summarize(
            SummaryQuery(meter=meter, customer=who, start=begin, step=finish - begin, count=1),
            rules.aggregation_for(meter),
        )
    return value


def usage_series(
    context: Context,
    meter_id: object,
    customer: object,
    start_time: object,
    end_time: object,
    *,
    value_grouping_window: object,
    timezone: object = None,
) -> UsageSeries:
    """Every window's ``(window_start, value)``: the summary listing's, or calendar windows.

    Windows of one length are one storage summary call (UTC hours or days: a single call; a
    zone's days: one call between two daylight-saving changes; months: one call each).
    """
    query = validate_series_params(
        customer=customer,
        start_time=start_time,
        end_time=end_time,
        value_grouping_window=value_grouping_window,
        timezone=timezone,
    )
    with context.lock:
        meter = meter_definition(context, meter_id)
        aggregation = rules.aggregation_for(meter)
        parts = [
            context.storage.summarize(
                SummaryQuery(
                    meter=meter,
                    customer=query.customer,
                    start=run.start,
                    step=run.step,
                    count=run.count,
                ),
                aggregation,
            )
            for run in query.runs
        ]
    if len(parts) == 1:  # UTC hours or days: the one call's own list, the starts a range
        (run,) = query.runs
        return UsageSeries(range(run.start, run.start + run.count * run.step, run.step), parts[0])
    return UsageSeries(query.starts, [value for part in parts for value in part])
