"""CSV's two readers (str.split, csv.reader) read alike; any input gets a report or an error."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import InvalidRequestError, ManualClock, Metering
from meterlib.bulk.reading import Builder
from meterlib.model import ItemColumns
from tests.files.conftest import HEADER, NOW

CELLS = st.one_of(
    st.sampled_from(["", "api", "nope", "cus_1", "1", "2.5", "x", str(NOW), "2026-03-10", " 7"]),
    st.text(alphabet="a1,.-_ \u00e9\x00", max_size=6),
)
USUAL = st.builds(
    lambda identifier, age, customer, value: [identifier, str(NOW - age), "api", customer, value],
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(0, 40 * 86_400),
    st.sampled_from(["cus_1", "cus_2"]),
    st.sampled_from(["1", "2.5", "-3", "0.001"]),
)
ROWS = st.lists(st.one_of(USUAL, st.lists(CELLS, min_size=0, max_size=7)), max_size=30)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def store() -> Metering:
    """A fresh memory store with the api sum meter."""
    metering = Metering(clock=ManualClock(NOW))
    metering.meters.create(
        display_name="API", event_name="api", default_aggregation={"formula": "sum"}
    )
    return metering


Stored = list[tuple[str, int, str, Decimal | None]]


def outcome(data: bytes, **options: Any) -> tuple[object, Stored]:
    """Everything an import of `data` tells: the report (or error) and the events stored."""
    with store() as metering:
        try:
            report: object = metering.import_events(io.BytesIO(data), **options).to_dict()
        except InvalidRequestError as error:
            report = (error.code, error.param, error.message)
        events = [
            (event.identifier, event.timestamp, event.customer, event.value)
            for event in metering.storage.list_events(limit=10_000)
        ]
    return report, events


def unquoted(rows: list[list[str]]) -> str:
    """The rows joined by commas and newlines, as a CSV without quotes."""
    return HEADER + "".join(",".join(row) + "\n" for row in rows)


@SETTINGS
@given(rows=ROWS)
def test_split_and_csv_reader_agree(rows: list[list[str]]) -> None:
    """A quote-free text read by str.split equals it read by csv.reader (its CRLF twin)."""
    text = unquoted(rows)
    assert outcome(text.encode()) == outcome(text.replace("\n", "\r\n").encode())


@SETTINGS
@given(rows=ROWS)
def test_small_batches_and_blocks_change_nothing(rows: list[list[str]]) -> None:
    """Batch size only decides how rows are grouped, never what becomes of them."""
    data = unquoted(rows).encode()
    assert outcome(data, batch_size=1)[1:] == outcome(data, batch_size=7)[1:]


@SETTINGS
@given(cells=st.lists(st.text(alphabet='a,"\n\r 1', max_size=8), min_size=1, max_size=10))
def test_quoted_cells_are_stored_as_written(cells: list[str]) -> None:
    """Any customer text csv.writer writes (commas, quotes, newlines) is read back as it was."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["identifier", "timestamp", "event_name", "payload_stripe_customer_id", "payload_value"]
    )
    for index, cell in enumerate(cells):
        writer.writerow([f"e{index}", NOW, "api", cell, "1"])
    _, events = outcome(out.getvalue().encode())
    stored = {identifier: customer for identifier, _, customer, _ in events}
    for index, cell in enumerate(cells):
        if f"e{index}" in stored:
            assert stored[f"e{index}"] == cell


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_any_bytes_get_a_report_or_an_invalid_request(data: bytes) -> None:
    """Arbitrary bytes as CSV, JSON or JSON Lines: a report or an InvalidRequestError."""
    for kind in ("csv", "json", "jsonl"):
        outcome(data, format=kind)


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet='[]{}",:0123456789.-etruafsnl\n \\', max_size=80))
def test_json_shaped_noise_gets_a_report_or_an_invalid_request(text: str) -> None:
    """Text made of JSON's own characters: never an exception other than InvalidRequestError."""
    for kind in ("json", "jsonl"):
        outcome(text.encode(), format=kind)


def test_a_chunk_of_column_rows_and_single_rows_keeps_every_item_in_order() -> None:
    """A chunk mixing usual blocks (columns) with rows read one by one holds all, in file order."""
    keys = ("stripe_customer_id", "value")
    builder = Builder(10, stop_at_problem=False)
    builder.add_columns(ItemColumns.of(keys, [("api", "a", NOW, "cus_1", "1")]), 2)
    builder.add_columns(ItemColumns.of(keys, [("api", "b", NOW, "cus_1", "2")]), 3)
    single = {"event_name": "api", "payload": {}, "identifier": "c", "timestamp": NOW}
    builder.add_item(single, 5)
    builder.add_columns(ItemColumns.of(keys[::-1], [("api", "d", NOW, "3", "cus_2")]), 6)
    chunk = builder.take()
    assert [item["identifier"] for item in chunk.items] == ["a", "b", "c", "d"]
    assert chunk.items[-1]["payload"] == {"value": "3", "stripe_customer_id": "cus_2"}
    assert (chunk.lines, chunk.rows) == ([2, 3, 5, 6], 4)
    assert not builder.items
