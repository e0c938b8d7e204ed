"""Malformed files: each case gets an error naming its line (and column); good rows go in."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from meterlib import ImportRejection, InvalidRequestError, Metering
from meterlib.bulk.formats import MAX_ROW_CHARACTERS
from tests.files.conftest import HEADER, NOW, stored_count

GOOD = f"ok_1,{NOW},api,cus_1,1\n"
LINE = {"timestamp": NOW, "event_name": "api", "payload_stripe_customer_id": "cus_1"}


def only(rejections: tuple[ImportRejection, ...]) -> ImportRejection:
    """The one rejection of a report."""
    (rejection,) = rejections
    return rejection


def test_bad_encoding_is_rejected_at_its_line_and_column(m: Metering) -> None:
    """A byte that is not UTF-8 rejects its row, naming line and column; the rest go in."""
    data = (HEADER + GOOD + f"bad,{NOW},api,cus_").encode() + b"\xff\xfe" + b",1\n"
    data += f"ok_2,{NOW},api,cus_1,1\n".encode()
    report = m.import_events(io.BytesIO(data))
    rejection = only(report.rejections)
    assert (rejection.line, rejection.column, rejection.code) == (3, 4, "file_encoding_invalid")
    assert rejection.field == "payload_stripe_customer_id"
    assert report.recorded == 2


def test_bad_encoding_in_json_lines(memory: Metering) -> None:
    """Bad bytes inside a JSON Lines string reject that line only."""
    good = json.dumps({**LINE, "payload_value": "1"}).encode() + b"\n"
    bad = good.replace(b"cus_1", b"cus_\xc3")
    report = memory.import_events(
        io.BytesIO(good + bad + good.replace(b"}", b', "identifier": "x"}'))
    )
    assert (only(report.rejections).line, only(report.rejections).code) == (
        2,
        "file_encoding_invalid",
    )
    assert report.recorded == 2


@pytest.mark.parametrize("missing", ["timestamp", "event_name"])
def test_a_missing_required_column_raises_naming_it(memory: Metering, missing: str) -> None:
    """A header without timestamp or event_name is refused before any row: line 1."""
    columns = [c for c in HEADER.strip().split(",") if c != missing]
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.StringIO(",".join(columns) + "\n" + "a,b,c,d\n"))
    error = raised.value
    assert (error.code, error.param) == ("parameter_missing", missing)
    assert error.message.startswith("line 1")


def test_an_unknown_column_raises_naming_line_and_column(memory: Metering) -> None:
    """A column that is not identifier, timestamp, event_name, cancelled or payload_* is refused."""
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.StringIO("timestamp,event_name,customer\n1,api,c\n"))
    error = raised.value
    assert (error.code, error.param) == ("parameter_unknown", "customer")
    assert error.message.startswith("line 1, column 3 (customer)")


def test_a_repeated_column_raises(memory: Metering) -> None:
    """The same column twice is refused, at its second place."""
    with pytest.raises(InvalidRequestError, match="line 1, column 3") as raised:
        memory.import_events(io.StringIO("timestamp,event_name,timestamp\n"))
    assert raised.value.code == "file_header_invalid"


@pytest.mark.parametrize(
    ("row", "column"),
    [(f"r,{NOW},api,cus_1,1,extra\n", 6), (f"r,{NOW},api,cus_1\n", 5)],
    ids=["too-many", "too-few"],
)
def test_a_ragged_row_is_rejected_at_its_line(m: Metering, row: str, column: int) -> None:
    """A row with more or fewer fields than the header is rejected: line and first odd column."""
    report = m.import_events(io.StringIO(HEADER + GOOD + row + GOOD.replace("ok_1", "ok_2")))
    rejection = only(report.rejections)
    assert (rejection.line, rejection.column, rejection.code) == (3, column, "file_row_ragged")
    assert report.recorded == 2


def test_a_ragged_row_in_a_quoted_file_too(memory: Metering) -> None:
    """csv.reader's path (a file with quotes) reports ragged rows the same way."""
    text = HEADER + f'"q",{NOW},api,cus_1,1\n' + f"r,{NOW},api\n"
    rejection = only(memory.import_events(io.StringIO(text)).rejections)
    assert (rejection.line, rejection.column, rejection.code) == (3, 4, "file_row_ragged")


def test_malformed_quoting_is_rejected_at_its_line(memory: Metering) -> None:
    """Text after a closing quote is a malformed CSV row, with its line."""
    text = HEADER + f'r,{NOW},api,"cus"1,1\n' + GOOD
    report = memory.import_events(io.StringIO(text))
    assert (only(report.rejections).line, only(report.rejections).code) == (2, "file_csv_invalid")
    assert report.recorded == 1


def test_broken_json_lines_are_rejected_with_line_and_column(m: Metering) -> None:
    """A JSON Lines line that is not JSON is rejected with its line and column."""
    good = json.dumps({**LINE, "payload_value": "1"})
    other = json.dumps({**LINE, "payload_value": "1", "identifier": "x"})
    text = good + "\n" + '{"timestamp": 1, oops}' + "\n" + other + "\n"
    report = m.import_events(io.StringIO(text), format="jsonl")
    rejection = only(report.rejections)
    assert (rejection.line, rejection.column, rejection.code) == (2, 18, "file_json_invalid")
    assert report.recorded == 2


def test_a_broken_json_array_raises_after_recording_the_rows_before(m: Metering) -> None:
    """A JSON array broken on line 4 raises naming line and column; the rows before it stay."""
    rows = [json.dumps({**LINE, "payload_value": str(n), "identifier": f"e{n}"}) for n in (1, 2)]
    text = "[\n" + ",\n".join(rows) + ',\n  {"timestamp": 1,, }\n]'
    with pytest.raises(InvalidRequestError) as raised:
        m.import_events(io.StringIO(text), format="json")
    assert raised.value.code == "file_json_invalid"
    assert raised.value.message.startswith("line 4, column 19:")
    assert stored_count(m) == 2


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ('{"a": 1}', "line 1, column 1"),
        ("[1, 2", "line 1"),
        ("[]\n[]", "line 2, column 1"),
        ("[{}\n{}]", "line 2, column 1"),
    ],
    ids=["not-an-array", "unclosed", "trailing-data", "missing-comma"],
)
def test_json_arrays_that_cannot_be_read_on(memory: Metering, text: str, start: str) -> None:
    """A JSON file that is not one well-formed array raises at the place it goes wrong."""
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.StringIO(text), format="json")
    assert raised.value.code == "file_json_invalid"
    assert raised.value.message.startswith(start), raised.value.message


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"payload_value": [1]}, "payload_value", "payload_invalid_value"),
        (
            {"payload_stripe_customer_id": {"id": 1}},
            "payload_stripe_customer_id",
            "parameter_invalid_type",
        ),
        ({"timestamp": True}, "timestamp", "parameter_invalid_timestamp"),
        ({"timestamp": 1.5}, "timestamp", "parameter_invalid_timestamp"),
        ({"event_name": 5}, "event_name", "parameter_invalid_type"),
        ({"identifier": 7}, "identifier", "parameter_invalid_type"),
        ({"payload_value": "1" * 16}, "payload_value", "meter_event_value_too_many_digits"),
        ({"timestamp": None}, "timestamp", "parameter_missing"),
        ({"extra": 1}, "extra", "parameter_unknown"),
        ({"cancelled": "maybe"}, "cancelled", "parameter_invalid_type"),
    ],
)
def test_a_value_of_the_wrong_type_is_rejected_with_its_field(
    memory: Metering, change: dict[str, object], field: str, code: str
) -> None:
    """A JSON value the rules refuse is rejected at its line, naming the file's field."""
    rows = [{**LINE, "payload_value": "1"}, {**LINE, "payload_value": "2", **change}]
    report = memory.import_events(io.StringIO("\n".join(map(json.dumps, rows))), format="jsonl")
    rejection = only(report.rejections)
    assert (rejection.line, rejection.field, rejection.code) == (2, field, code)


def test_a_row_that_is_not_an_object_is_rejected(memory: Metering) -> None:
    """A JSON Lines row must be an object."""
    rejection = only(memory.import_events(io.StringIO("[1, 2]\n"), format="jsonl").rejections)
    assert (rejection.line, rejection.code, rejection.field) == (1, "parameter_invalid_type", None)


def test_on_error_raise_stops_at_the_first_bad_row(m: Metering) -> None:
    """With on_error="raise" the first bad row raises; rows before it are recorded, not after."""
    text = HEADER + GOOD + f"r,{NOW},api\n" + GOOD.replace("ok_1", "ok_2")
    with pytest.raises(InvalidRequestError) as raised:
        m.import_events(io.StringIO(text), on_error="raise")
    assert raised.value.code == "file_row_ragged"
    assert raised.value.message.startswith("line 3, column 4:")
    assert stored_count(m) == 1


def test_on_error_raise_names_a_rule_the_pipeline_breaks(memory: Metering) -> None:
    """A row the event rules refuse raises their code, its param the file's column."""
    text = HEADER + GOOD + f"r,{NOW},api,cus_1,abc\n"
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.StringIO(text), on_error="raise")
    error = raised.value
    assert (error.code, error.param) == ("payload_invalid_value", "payload_value")
    assert error.message.startswith("line 3, column 5 (payload_value): payload[value]")


def test_an_unclosed_quote_stops_at_the_row_bound(memory: Metering) -> None:
    """A quote never closed would swallow the file: the row bound stops it, naming its line."""
    text = HEADER + GOOD + f'r,{NOW},api,"cus_1,1\n' + GOOD * (MAX_ROW_CHARACTERS // len(GOOD) + 1)
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.StringIO(text))
    assert raised.value.code == "file_row_too_long"
    assert raised.value.message.startswith("line 3")
    assert stored_count(memory) == 1


def test_an_over_long_json_line_is_rejected_and_skipped(memory: Metering) -> None:
    """A JSON Lines line over the bound is rejected unread; the next line is read."""
    good = json.dumps({**LINE, "payload_value": "1"})
    text = '{"x": "' + "y" * MAX_ROW_CHARACTERS + '"}\n' + good + "\n"
    report = memory.import_events(io.StringIO(text), format="jsonl")
    assert (only(report.rejections).code, report.recorded) == ("file_row_too_long", 1)


def test_a_truncated_gzip_file_raises(memory: Metering) -> None:
    """A gzip stream cut short is file_compression_invalid; the rows before are recorded."""
    rows = "".join(f"r{n},{NOW},api,cus_1,1\n" for n in range(50_000))
    data = gzip.compress((HEADER + rows).encode())
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.BytesIO(data[: len(data) // 2]), batch_size=1_000)
    assert raised.value.code == "file_compression_invalid"
    assert raised.value.message.startswith("line ")
    assert 0 < stored_count(memory) < 50_000


def test_a_missing_file_is_unreadable(memory: Metering, tmp_path: Path) -> None:
    """A path that is not there is file_unreadable on source."""
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(tmp_path / "nope.csv")
    assert (raised.value.code, raised.value.param) == ("file_unreadable", "source")


@pytest.mark.parametrize("source", [42, None, b"timestamp\n"], ids=["int", "none", "bytes"])
def test_a_source_that_is_no_file_is_refused(memory: Metering, source: object) -> None:
    """Only paths and open files are sources."""
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(source)
    assert (raised.value.code, raised.value.param) == ("parameter_invalid_type", "source")


def test_the_report_keeps_the_first_rejections_and_counts_all(memory: Metering) -> None:
    """max_rejections bounds the kept rejections; counts stay exact."""
    text = HEADER + "".join(f"r{n},{NOW},api,cus_1,bad\n" for n in range(30))
    report = memory.import_events(io.StringIO(text), max_rejections=5)
    assert report.rejected == 30
    assert [rejection.line for rejection in report.rejections] == [2, 3, 4, 5, 6]


@pytest.mark.parametrize("column", ["x" * 10_000, "ex\udcfftra", "tab\there"], ids=len)
def test_an_unknown_column_the_error_cannot_show_is_described_not_echoed(
    memory: Metering, column: str
) -> None:
    """A huge or unprintable unknown column leaves the param to the file; the message is short."""
    data = ("timestamp,event_name," + column + "\n").encode("utf-8", "surrogateescape")
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.BytesIO(data))
    error = raised.value
    assert (error.code, error.param) == ("parameter_unknown", "source")
    assert error.message.startswith("line 1, column 3: unknown column")
    assert len(error.message) < 200
