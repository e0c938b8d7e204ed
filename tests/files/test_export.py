"""Export: the import formats out, filtered and streamed; a round trip keeps every summary."""

from __future__ import annotations

import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import InvalidRequestError, ManualClock, Metering, UsageSeries
from tests.files.conftest import HEADER, NOW, api_meter, store_url

DAY = 86_400
METERS = (
    {"event_name": "api", "default_aggregation": {"formula": "sum"}},
    {
        "event_name": "seats",
        "default_aggregation": {"formula": "last"},
        "event_time_window": "hour",
    },
    {
        "event_name": "logins",
        "default_aggregation": {"formula": "count"},
        "event_time_window": "day",
        "customer_mapping": {"type": "by_id", "event_payload_key": "user"},
        "value_settings": {"event_payload_key": "n"},
    },
)


def with_meters(url: str, clock: ManualClock) -> Metering:
    """A store with the three `METERS`, created in order."""
    metering = Metering(url, clock=clock)
    for settings_ in METERS:
        metering.meters.create(display_name=settings_["event_name"], **settings_)  # type: ignore[arg-type]
    return metering


def summaries(metering: Metering) -> dict[tuple[str, str], UsageSeries]:
    """Every meter's and customer's daily series over the 36 days to the clock, by name."""
    found = {}
    start = NOW - NOW % DAY - 35 * DAY
    for meter in metering.meters.list().data:
        for customer in ("cus_1", "cus_2", "cus_3"):
            found[meter.event_name, customer] = metering.usage_series(
                meter.id, customer, start, start + 36 * DAY, value_grouping_window="day"
            )
    return found


def test_export_writes_the_import_format(memory: Metering) -> None:
    """CSV with the meters' payload columns, events in order of receipt."""
    memory.record("api", customer="cus_1", value="2.50", identifier="a", timestamp=NOW - 5)
    memory.record("api", customer="cus_2", value=1, identifier="b", timestamp=NOW - 9)
    out = io.StringIO()
    assert memory.export_events(out, format="csv") == 2
    assert out.getvalue() == HEADER + f"a,{NOW - 5},api,cus_1,2.50\nb,{NOW - 9},api,cus_2,1\n"


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_json_exports_keep_values_as_text(memory: Metering, kind: str) -> None:
    """JSON rows carry the value as Stripe's payload string, exact."""
    memory.record("api", customer="cus_1", value="0.10", identifier="a", timestamp=NOW)
    out = io.StringIO()
    memory.export_events(out, format=kind)
    text = out.getvalue()
    rows = json.loads(text) if kind == "json" else [json.loads(line) for line in text.splitlines()]
    assert rows == [
        {
            "identifier": "a",
            "timestamp": NOW,
            "event_name": "api",
            "payload_stripe_customer_id": "cus_1",
            "payload_value": "0.10",
        }
    ]


def test_an_empty_json_export_is_an_empty_array(memory: Metering) -> None:
    """No events: ``[]``, which imports as no rows."""
    out = io.StringIO()
    memory.export_events(out, format="json")
    assert json.loads(out.getvalue()) == []


def test_filters_select_meter_customer_and_time(memory: Metering) -> None:
    """meter, customer and [start, end) narrow the export; none of them given: everything."""
    memory.meters.create(
        display_name="o", event_name="other", default_aggregation={"formula": "count"}
    )
    memory.record("api", customer="cus_1", value=1, identifier="a", timestamp=NOW - 100)
    memory.record("api", customer="cus_2", value=1, identifier="b", timestamp=NOW - 50)
    memory.record("other", customer="cus_1", identifier="c", timestamp=NOW - 10)

    def identifiers(**filters: object) -> list[str]:
        out = io.StringIO()
        memory.export_events(out, format="jsonl", **filters)  # type: ignore[arg-type]
        return [json.loads(line)["identifier"] for line in out.getvalue().splitlines()]

    assert identifiers() == ["a", "b", "c"]
    assert identifiers(meter=api_meter(memory).id) == ["a", "b"]
    assert identifiers(customer="cus_1") == ["a", "c"]
    assert identifiers(start=NOW - 50, end=NOW - 10) == ["b"]
    assert identifiers(start="2026-03-10T11:59:10Z") == ["b", "c"]


def test_cancelled_events_are_left_out_or_marked(memory: Metering, tmp_path: Path) -> None:
    """Cancelled events are left out, or marked with include_cancelled and skipped by import."""
    memory.record("api", customer="cus_1", value=1, identifier="a", timestamp=NOW)
    memory.record("api", customer="cus_1", value=2, identifier="b", timestamp=NOW)
    memory.meter_event_adjustments.create(
        event_name="api", type="cancel", cancel={"identifier": "a"}
    )
    plain, marked = io.StringIO(), io.StringIO()
    assert memory.export_events(plain, format="csv") == 1
    assert memory.export_events(marked, format="csv", include_cancelled=True) == 2
    assert marked.getvalue().splitlines()[0].endswith(",cancelled")
    assert marked.getvalue().splitlines()[1].endswith(",true")
    with Metering(clock=memory.clock) as fresh:
        fresh.meters.create(
            display_name="API", event_name="api", default_aggregation={"formula": "sum"}
        )
        report = fresh.import_events(io.StringIO(marked.getvalue()))
        assert (report.recorded, report.skipped) == (1, 1)
        assert fresh.usage(api_meter(fresh).id, "cus_1", NOW - 60, NOW + 60) == 2


def test_a_path_is_written_whole_and_gzipped_by_its_name(memory: Metering, tmp_path: Path) -> None:
    """A .csv.gz path gets gzip; the file appears only when complete (no temporary left)."""
    memory.record("api", customer="cus_1", value=1, identifier="a", timestamp=NOW)
    path = tmp_path / "out.csv.gz"
    assert memory.export_events(path) == 1
    assert gzip.decompress(path.read_bytes()).decode().startswith(HEADER)
    assert [entry.name for entry in tmp_path.iterdir()] == ["out.csv.gz"]
    assert memory.import_events(path).duplicates == 1


def test_a_binary_target_can_be_gzipped(memory: Metering) -> None:
    """compression="gzip" compresses into a binary file object, left open."""
    memory.record("api", customer="cus_1", value=1, identifier="a", timestamp=NOW)
    out = io.BytesIO()
    memory.export_events(out, format="jsonl", compression="gzip")
    assert not out.closed
    assert json.loads(gzip.decompress(out.getvalue()))["identifier"] == "a"


@pytest.mark.parametrize(
    ("target", "options", "param"),
    [
        (io.StringIO(), {}, "format"),
        (io.StringIO(), {"format": "xml"}, "format"),
        (io.StringIO(), {"format": "csv", "compression": "zip"}, "compression"),
        (io.StringIO(), {"format": "csv", "compression": "gzip"}, "target"),
        (42, {"format": "csv"}, "target"),
        (io.StringIO(), {"format": "csv", "meter": "mtr_nope"}, "id"),
        (io.StringIO(), {"format": "csv", "start": 10, "end": 5}, "end"),
        (io.StringIO(), {"format": "csv", "start": "yesterday"}, "start"),
        (io.StringIO(), {"format": "csv", "include_cancelled": "yes"}, "include_cancelled"),
    ],
)
def test_bad_export_options_are_invalid_requests(
    memory: Metering, target: object, options: dict[str, object], param: str
) -> None:
    """Each export option is checked, naming it."""
    with pytest.raises(InvalidRequestError) as raised:
        memory.export_events(target, **options)  # type: ignore[arg-type]
    assert raised.value.param == param


def test_an_export_bigger_than_a_page_is_whole(memory: Metering) -> None:
    """Exports read the store a page at a time and miss nothing at the page edges."""
    events = [
        {
            "event_name": "api",
            "payload": {"stripe_customer_id": "cus_1", "value": "1"},
            "identifier": f"e{n}",
            "timestamp": NOW,
        }
        for n in range(2_500)
    ]
    memory.meter_events.create_many(events)
    out = io.StringIO()
    assert memory.export_events(out, format="csv") == 2_500
    assert len(set(out.getvalue().splitlines())) == 2_501


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["api", "seats", "logins"]),
        st.sampled_from(["cus_1", "cus_2", "cus_3"]),
        st.integers(0, 35 * DAY),
        st.decimals(-50, 50, places=2),
        st.booleans(),
    ),
    max_size=40,
)


def fill(metering: Metering, events: list[tuple[str, str, int, Decimal, bool]]) -> None:
    """Record the events (each with a value), then cancel those marked so."""
    for name, customer, age, value, _ in events:
        metering.record(name, customer=customer, value=value, timestamp=NOW - age)
    cancelled = [
        record
        for record, event in zip(metering.storage.list_events(limit=1_000), events, strict=True)
        if event[4]
    ]
    for record in cancelled:
        metering.meter_event_adjustments.create(
            event_name=record.event_name, type="cancel", cancel={"identifier": record.identifier}
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, kind=st.sampled_from(["csv", "json", "jsonl"]), marked=st.booleans())
def test_export_then_import_reproduces_every_summary(
    events: list[tuple[str, str, int, Decimal, bool]], kind: str, marked: bool
) -> None:
    """Any store exported in any format and imported afresh summarizes alike, cancels and all."""
    clock = ManualClock(NOW)
    with with_meters("memory://", clock) as source, with_meters("memory://", clock) as copy:
        fill(source, events)
        out = io.StringIO()
        source.export_events(out, format=kind, include_cancelled=marked)
        report = copy.import_events(io.StringIO(out.getvalue()), format=kind)
        assert report.rejected == 0
        assert summaries(copy) == summaries(source)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_the_round_trip_through_a_file_on_each_backend(backend: str, tmp_path: Path) -> None:
    """The same property, from and to each backend, through a gzipped file on disk."""
    clock = ManualClock(NOW)
    events = [
        (name, f"cus_{n % 3 + 1}", (n * 7_919) % (35 * DAY), Decimal(n % 17) / 4, n % 5 == 0)
        for n, name in enumerate(["api", "seats", "logins"] * 60)
    ]
    with (
        with_meters(store_url(backend, tmp_path, "source"), clock) as source,
        with_meters(store_url(backend, tmp_path, "copy"), clock) as copy,
    ):
        fill(source, events)
        path = tmp_path / "events.jsonl.gz"
        source.export_events(path)
        assert copy.import_events(path).recorded == sum(not event[4] for event in events)
        assert summaries(copy) == summaries(source)
