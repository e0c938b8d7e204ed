"""``m.usage`` and ``m.usage_series``: meterlib's own summary shortcuts for applications."""

from __future__ import annotations

from decimal import Decimal

from meterlib import validation as rules
from meterlib.context import Context
from meterlib.services.meters import retrieve_meter
from meterlib.storage import SummaryQuery


def usage(
    context: Context, meter_id: object, customer: object, start: object, end: object
) -> Decimal:
    """The aggregated value of one customer's usage in ``[start, end)``, to the second."""
    with context.lock:
        meter = retrieve_meter(context, meter_id)
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
) -> list[tuple[int, Decimal]]:
    """Every window's ``(window_start, value)``, as ``list_event_summaries`` would page them."""
    query = rules.validate_summary_params(
        customer=customer,
        start_time=start_time,
        end_time=end_time,
        value_grouping_window=value_grouping_window,
    )
    count = rules.check_series_length(query)
    with context.lock:
        meter = retrieve_meter(context, meter_id)
        values = context.storage.summarize(
            SummaryQuery(
                meter=meter,
                customer=query.customer,
                start=query.start_time,
                step=query.window,
                count=count,
            ),
            rules.aggregation_for(meter),
        )
    starts = range(query.start_time, query.end_time, query.window)
    return list(zip(starts, values, strict=True))
