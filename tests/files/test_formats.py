"""Each bulk format, compression, source kind and timestamp form imports the same events."""

from __future__ import annotations

import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib import InvalidRequestError, Metering
from meterlib.storage.memory import MemoryStorage
from tests.files.conftest import HEADER, NOW, stored_count, total

ROWS = [
    ("req_1", NOW - 60, "cus_1", "1.5"),
    ("req_2", NOW - 30, "cus_1", "2"),
    ("req_3", NOW - 10, "cus_2", "7"),
]


def as_csv(rows: list[tuple[str, int, str, str]] = ROWS) -> str:
    """The rows as a CSV text with the usual header."""
    return HEADER + "".join(f"{i},{t},api,{c},{v}\n" for i, t, c, v in rows)


def as_objects(rows: list[tuple[str, int, str, str]] = ROWS) -> list[dict[str, object]]:
    """The rows as JSON objects."""
    return [
        {
            "identifier": i,
            "timestamp": t,
            "event_name": "api",
            "payload_stripe_customer_id": c,
            "payload_value": v,
        }
        for i, t, c, v in rows
    ]


TEXTS = {
    "csv": as_csv(),
    "json": json.dumps(as_objects(), indent=2),
    "jsonl": "".join(json.dumps(row) + "\n" for row in as_objects()),
}


@pytest.mark.parametrize("kind", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_each_format_and_compression_imports_from_a_named_path(
    m: Metering, tmp_path: Path, kind: str, compressed: bool
) -> None:
    """A .csv/.json/.jsonl file, gzipped or not, records its rows; the name gives the format."""
    data = TEXTS[kind].encode()
    path = tmp_path / f"usage.{kind}{'.gz' if compressed else ''}"
    path.write_bytes(gzip.compress(data) if compressed else data)
    report = m.import_events(path)
    assert (report.rows, report.recorded, report.rejected) == (3, 3, 0)
    assert total(m) == Decimal("3.5")
    assert total(m, "cus_2") == 7


@pytest.mark.parametrize("kind", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_the_format_is_sniffed_from_unnamed_bytes(
    memory: Metering, kind: str, compressed: bool
) -> None:
    """An unnamed binary file's format (and gzip) is told from its first bytes."""
    data = TEXTS[kind].encode()
    report = memory.import_events(io.BytesIO(gzip.compress(data) if compressed else data))
    assert report.recorded == 3


def test_a_text_file_object_and_a_str_path_are_sources(memory: Metering, tmp_path: Path) -> None:
    """An open text file is read as it is; a str is a path."""
    assert memory.import_events(io.StringIO(as_csv(ROWS[:1]))).recorded == 1
    path = tmp_path / "more.csv"
    path.write_text(as_csv(ROWS[1:]))
    assert memory.import_events(str(path)).recorded == 2


def test_the_format_argument_wins_over_the_name(memory: Metering, tmp_path: Path) -> None:
    """format= reads a JSON Lines file named .csv as JSON Lines."""
    path = tmp_path / "events.csv"
    path.write_text(TEXTS["jsonl"])
    assert memory.import_events(path, format="jsonl").recorded == 3


def test_a_byte_order_mark_and_crlf_lines_are_read(memory: Metering) -> None:
    """Excel's UTF-8 BOM and CRLF line ends (the CSV standard's) change nothing."""
    data = b"\xef\xbb\xbf" + as_csv().replace("\n", "\r\n").encode()
    report = memory.import_events(io.BytesIO(data))
    assert (report.recorded, report.rejected) == (3, 0)


def test_quoted_cells_keep_commas_and_newlines(memory: Metering) -> None:
    """A quoted cell may hold commas, quotes and newlines; the next row's line is still right."""
    text = (
        "timestamp,event_name,payload_stripe_customer_id,payload_value,payload_note\n"
        f'{NOW},api,cus_1,1,"a, ""b""\nc"\n'
        f"{NOW},api,cus_1,x,plain\n"
    )
    report = memory.import_events(io.StringIO(text))
    assert report.recorded == 1
    assert report.rejections[0].line == 4


def test_an_empty_file_has_no_rows(memory: Metering) -> None:
    """An empty CSV or JSON Lines file imports nothing, without error."""
    for kind in ("csv", "jsonl"):
        report = memory.import_events(io.BytesIO(b""), format=kind)
        assert (report.rows, report.recorded) == (0, 0)


def test_blank_lines_are_not_rows(memory: Metering) -> None:
    """Blank lines in CSV and JSON Lines are skipped; line numbers still count them."""
    text = HEADER + "\n" + f"a,{NOW},api,cus_1,1\n\n\nb,{NOW},api,cus_1,oops\n"
    report = memory.import_events(io.StringIO(text))
    assert (report.rows, report.recorded) == (2, 1)
    assert report.rejections[0].line == 6


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (str(NOW - 3600), NOW - 3600),
        ("2026-03-10", 1_773_100_800),
        ("2026-03-10T11:00:00Z", NOW - 3600),
        ("2026-03-10T13:00:00+02:00", NOW - 3600),
        ("2026-03-10T11:00:00.900Z", NOW - 3600),
    ],
    ids=["unix", "date", "iso-z", "iso-offset", "iso-fraction"],
)
def test_each_timestamp_form(memory: Metering, cell: str, expected: int) -> None:
    """Unix seconds, a Dashboard date (its UTC midnight) and ISO-8601 with an offset."""
    memory.import_events(io.StringIO(HEADER + f"e1,{cell},api,cus_1,1\n"))
    (event,) = memory.storage.list_events(limit=10)
    assert event.timestamp == expected


def test_a_timestamp_without_an_offset_is_rejected(memory: Metering) -> None:
    """A naive ISO time (no Z, no offset) is refused, as it is by the API."""
    report = memory.import_events(io.StringIO(HEADER + "e1,2026-03-10T11:00:00,api,cus_1,1\n"))
    (rejection,) = report.rejections
    assert (rejection.code, rejection.field, rejection.column) == (
        "parameter_invalid_timestamp",
        "timestamp",
        2,
    )


def test_json_numbers_are_exact_values(memory: Metering) -> None:
    """JSON numbers with a fraction are exact decimals, not floats, all the way in."""
    line = {"timestamp": NOW, "event_name": "api", "payload_stripe_customer_id": "cus_1"}
    text = json.dumps([{**line, "payload_value": 0.1}, {**line, "payload_value": 0.2}])
    memory.import_events(io.StringIO(text))
    assert total(memory) == Decimal("0.3")


def test_columns_in_any_order_and_extra_payload_keys(memory: Metering) -> None:
    """Columns may come in any order; other payload columns are stored in the payload."""
    text = (
        "payload_value,payload_region,event_name,timestamp,payload_stripe_customer_id\n"
        f"4,eu,api,{NOW},cus_1\n"
    )
    assert memory.import_events(io.StringIO(text)).recorded == 1
    assert total(memory) == 4


def test_a_count_meter_needs_no_value_column(clock: object) -> None:
    """Rows for a count meter may leave the value out, as its events may."""
    with Metering(clock=clock) as metering:  # type: ignore[arg-type]
        meter = metering.meters.create(
            display_name="Calls", event_name="calls", default_aggregation={"formula": "count"}
        )
        text = f"timestamp,event_name,payload_stripe_customer_id\n{NOW},calls,c\n{NOW},calls,c\n"
        assert metering.import_events(io.StringIO(text)).recorded == 2
        assert metering.usage(meter.id, "c", NOW - 60, NOW + 60) == 2


def test_the_report_counts_every_row(m: Metering) -> None:
    """Rows read = recorded + duplicates + rejected + skipped, and the codes add up."""
    text = as_csv() + f"req_1,{NOW},api,cus_1,1\nx,{NOW},nope,cus_1,1\n"
    report = m.import_events(io.StringIO(text))
    assert (report.rows, report.recorded, report.duplicates, report.rejected) == (5, 3, 1, 1)
    assert dict(report.rejected_by_code) == {"no_meter": 1}
    assert report.to_dict()["rejections"][0]["line"] == 6
    assert stored_count(m) == 3


def test_progress_is_called_after_each_batch(memory: Metering) -> None:
    """Progress gets the report so far and the bytes read, once per batch."""
    seen: list[tuple[int, int]] = []
    rows = [(f"r{n}", NOW - n, "cus_1", "1") for n in range(25)]
    memory.import_events(
        io.StringIO(as_csv(rows)),
        batch_size=10,
        progress=lambda report, read: seen.append((report.rows, read)),
    )
    assert [rows for rows, _ in seen] == [10, 20, 25]
    assert seen[-1][1] == len(as_csv(rows))


def test_without_a_batch_size_the_store_chooses(m: Metering) -> None:
    """No batch_size: batches of the store's preferred_batch (2,000 in memory, 10,000 on SQL)."""
    seen: list[int] = []
    rows = [(f"r{n}", NOW - n, "cus_1", "1") for n in range(4_500)]
    report = m.import_events(
        io.StringIO(as_csv(rows)), progress=lambda report, read: seen.append(report.rows)
    )
    batch = m.storage.preferred_batch
    assert batch == (2_000 if isinstance(m.storage, MemoryStorage) else 10_000)
    assert seen == [*range(batch, 4_500, batch), 4_500]
    assert report.recorded == 4_500


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"format": "xml"}, "format"),
        ({"on_error": "ignore"}, "on_error"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 100_001}, "batch_size"),
        ({"max_rejections": -1}, "max_rejections"),
        ({"progress": 5}, "progress"),
    ],
)
def test_bad_options_are_invalid_requests(
    memory: Metering, options: dict[str, object], param: str
) -> None:
    """Every option is checked before the file is read, naming the option."""
    with pytest.raises(InvalidRequestError) as raised:
        memory.import_events(io.StringIO(as_csv()), **options)  # type: ignore[arg-type]
    assert raised.value.param == param
    assert stored_count(memory) == 0


def test_a_quoted_cell_across_a_block_boundary(memory: Metering) -> None:
    """CSV is read in blocks; a quoted cell with a newline that straddles two blocks is whole."""
    from meterlib.bulk.reading import _BLOCK_CHARACTERS  # noqa: PLC0415 -- the size under test

    row = f"r{{}},{NOW},api,cus_1,1\n"
    filler = "".join(row.format(n) for n in range(_BLOCK_CHARACTERS // len(row)))
    text = HEADER + filler + f'q,{NOW},api,"cus\n1",1\n' + row.format("last")
    report = memory.import_events(io.StringIO(text))
    assert (report.rejected, report.recorded) == (0, filler.count("\n") + 2)
    customers = {event.customer for event in memory.storage.list_events(limit=10**6)}
    assert customers == {"cus_1", "cus\n1"}
