"""Fuzz the file import and export: any bytes and any options give a report or a coded error.

Files are drawn from raw bytes, from CSV built of real and junk columns and cells (quotes,
newlines, BOMs, huge numbers, broken UTF-8), from JSON and JSON Lines of arbitrary JSON values,
and from all of these gzip-compressed, whole or cut short. Options mix valid values with junk.
An import returns an `ImportReport` whose counts add up to the rows it read and to what the
store gained, or raises a `MeterlibError` with a code; an import that raises, run again, raises
the same code and records nothing more (the rows before the failure landed once). An export
never changes the store.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import ImportReport, ManualClock, Metering, MeterlibError
from meterlib.testing.conformance.state import store_state
from tests.files.conftest import BACKENDS, NOW, store_url

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
COLUMNS = [
    "identifier",
    "timestamp",
    "event_name",
    "payload_stripe_customer_id",
    "payload_value",
    "payload_region",
    "cancelled",
    "payload_",
    "extra",
    "",
    "\ufeffidentifier",
    "payload_" + "k" * 200,
]
CELLS = [
    "",
    "api",
    "other",
    "cus_1",
    "cus_2",
    "1",
    "-1",
    "0.5",
    "1E+2",
    "NaN",
    "inf",
    "9" * 60,
    str(NOW),
    str(NOW + 301),
    str(NOW - 36 * 86_400),
    "2026-03-10",
    "2026-03-10T11:00:00Z",
    "2026-03-10T11:00:00",
    "2026-02-30",
    "99999999999999999999",
    '"',
    '""',
    'a"b',
    "a,b",
    "line\nbreak",
    "\r",
    "x" * 300,
    "\u00e9",
    "\U0001f600",
    "true",
    "null",
]


def csv_text() -> st.SearchStrategy[str]:
    """CSV of real and junk columns, ragged rows and odd cells, quoted or not."""
    cell = st.sampled_from(CELLS).map(
        lambda text: text if "," not in text and "\n" not in text else '"' + text + '"'
    ) | st.text(max_size=12)
    header = st.lists(st.sampled_from(COLUMNS), min_size=0, max_size=7)
    rows = st.lists(st.lists(cell, max_size=8), max_size=12)
    return st.builds(
        lambda head, body, end: "\n".join(",".join(line) for line in [head, *body]) + end,
        header,
        rows,
        st.sampled_from(["", "\n", "\r\n", "\n\n"]),
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.sampled_from(CELLS)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=6), children, max_size=6)
    ),
    max_leaves=25,
)
rows_as_json = st.dictionaries(st.sampled_from(COLUMNS), json_values, max_size=7) | json_values


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


def json_text() -> st.SearchStrategy[str]:
    """A JSON document (an array of rows, or anything), or JSON Lines of rows and junk lines."""
    array = st.lists(rows_as_json, max_size=8).map(_dumps)
    lines = st.lists(rows_as_json.map(_dumps) | st.sampled_from(CELLS), max_size=8).map("\n".join)
    return array | lines | json_values.map(_dumps)


def encoded(text: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Text as UTF-8, sometimes with a BOM, a broken byte or in another encoding."""
    return st.builds(
        lambda body, how: how(body),
        text,
        st.sampled_from(
            [
                lambda body: body.encode(),
                lambda body: b"\xef\xbb\xbf" + body.encode(),
                lambda body: (
                    body.encode()[: len(body) // 2] + b"\xff" + body.encode()[len(body) // 2 :]
                ),
                lambda body: body.encode("utf-16"),
                lambda body: body.encode("latin-1", "replace"),
            ]
        ),
    )


def maybe_gzipped(data: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """The bytes as they are, gzip-compressed, or compressed and cut short."""
    return st.builds(
        lambda body, how, cut: how(body, cut),
        data,
        st.sampled_from(
            [
                lambda body, cut: body,
                lambda body, cut: gzip.compress(body),
                lambda body, cut: gzip.compress(body)[: max(1, len(gzip.compress(body)) - cut)],
                lambda body, cut: gzip.compress(gzip.compress(body)),
            ]
        ),
        st.integers(min_value=1, max_value=40),
    )


GOOD = {
    "identifier": st.sampled_from(["req_1", "req_2", "req_3", ""]),
    "timestamp": st.sampled_from([str(NOW), str(NOW - 3_600), "2026-03-10", "2026-03-10T11:00Z"]),
    "event_name": st.just("api"),
    "payload_stripe_customer_id": st.sampled_from(["cus_1", "cus_2"]),
    "payload_value": st.sampled_from(["1", "2.5", "0", "1E+2"]),
}
"""Valid cells of each column of a near-valid file (an empty identifier is a derived one)."""


def near_valid_rows() -> st.SearchStrategy[list[dict[str, str]]]:
    """Rows of valid cells, now and then one replaced by a junk cell."""
    row = st.fixed_dictionaries(GOOD)
    spoiled = st.builds(
        lambda cells, column, cell: {**cells, column: cell},
        row,
        st.sampled_from(sorted(GOOD)),
        st.sampled_from(CELLS),
    )
    return st.lists(row | row | spoiled, min_size=1, max_size=12)


def near_valid_text() -> st.SearchStrategy[str]:
    """CSV, JSON or JSON Lines of mostly valid rows, the columns in any order."""
    csv = st.builds(
        lambda rows, columns: (
            "\n".join(
                [",".join(columns)]
                + [",".join(_quoted(row[column]) for column in columns) for row in rows]
            )
            + "\n"
        ),
        near_valid_rows(),
        st.permutations(sorted(GOOD)),
    )
    lines = near_valid_rows().map(lambda rows: "\n".join(map(_dumps, rows)))
    return csv | lines | near_valid_rows().map(_dumps)


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n\r') else cell


files = maybe_gzipped(
    st.binary(max_size=300)
    | encoded(csv_text())
    | encoded(json_text())
    | near_valid_text().map(str.encode)
    | near_valid_text().map(str.encode)
)
junk = st.sampled_from([None, "", 5, -1, 0, 10**100, 1.5, "nope", b"csv", object(), [1], {"a": 1}])
valid_options = st.fixed_dictionaries(
    {},
    optional={
        "on_error": st.sampled_from(["report", "raise"]),
        "batch_size": st.integers(min_value=1, max_value=5),
        "max_rejections": st.integers(min_value=0, max_value=3),
    },
)
junk_options = st.fixed_dictionaries(
    {},
    optional={
        "format": st.sampled_from(["csv", "json", "jsonl", "CSV", "ndjson", "gz"]) | junk,
        "on_error": st.sampled_from(["report", "raise"]) | junk,
        "batch_size": st.integers(min_value=1, max_value=5) | junk,
        "max_rejections": st.integers(min_value=0, max_value=3) | junk,
    },
)
import_options = valid_options | valid_options | junk_options


@contextmanager
def store(backend: str) -> Iterator[Metering]:
    """A fresh store of `backend` with the ``api`` sum meter, at `NOW`."""
    with (
        TemporaryDirectory() as directory,
        Metering(store_url(backend, Path(directory)), clock=ManualClock(NOW)) as metering,
    ):
        metering.meters.create(
            display_name="API", event_name="api", default_aggregation={"formula": "sum"}
        )
        yield metering


def state(m: Metering) -> Any:
    """Everything the store holds, as `store_state` reads it."""
    return store_state(m, identifiers=["1", "api", "cus_1"], customers=["cus_1", "cus_2"])


def attempt(m: Metering, source: object, options: dict[str, Any]) -> ImportReport | MeterlibError:
    """Import `source`; the report, or the coded error it raised (anything else fails the test)."""
    try:
        return m.import_events(source, **options)
    except MeterlibError as error:
        assert error.code, f"{type(error).__name__} without a code: {error}"
        return error


@pytest.mark.parametrize("backend", [param.values[0] for param in BACKENDS])
@FUZZ
@given(data=files, as_text=st.booleans(), options=import_options)
def test_any_file_gets_a_consistent_report_or_a_coded_error(
    backend: str, data: bytes, as_text: bool, options: dict[str, Any]
) -> None:
    """Counts add up to the rows read and the events stored; a failed import is repeatable."""
    with store(backend) as m:
        source: io.IOBase = io.BytesIO(data)
        if as_text:
            source = io.StringIO(data.decode("utf-8", "surrogateescape"))
        before = m.storage.list_events(limit=10**6, include_cancelled=True)
        outcome = attempt(m, source, options)
        stored = len(m.storage.list_events(limit=10**6, include_cancelled=True)) - len(before)
        if isinstance(outcome, ImportReport):
            assert outcome.rows == (
                outcome.recorded + outcome.duplicates + outcome.rejected + outcome.skipped
            )
            assert stored == outcome.recorded
            assert outcome.rejected == sum(outcome.rejected_by_code.values())
            lines = [rejection.line for rejection in outcome.rejections]
            assert lines == sorted(lines)
            assert {rejection.code for rejection in outcome.rejections} <= set(
                outcome.rejected_by_code
            )
            return
        after = state(m)
        source.seek(0)
        again = attempt(m, source, options)
        assert isinstance(again, MeterlibError), "a failed import succeeded when run again"
        assert (again.code, again.param) == (outcome.code, outcome.param)
        assert state(m) == after, "running a failed import again recorded more"


@FUZZ
@given(data=files, name=st.sampled_from(["usage.csv", "usage.json", "u.jsonl.gz", "u", "u.txt"]))
def test_any_file_on_disk_gets_a_report_or_a_coded_error(data: bytes, name: str) -> None:
    """A path is read like an open file: named formats and sniffing never raise bare errors."""
    with store("memory") as m, TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(data)
        attempt(m, path, {})
        attempt(m, str(path), {})


@pytest.mark.parametrize(
    "source",
    [None, 5, b"raw bytes", "/no/such/file.csv", Path("/"), io.StringIO("x").detach, object()],
    ids=repr,
)
def test_sources_that_are_not_files_are_coded_and_change_nothing(source: object) -> None:
    """A source that is no readable file is a coded error, and the store is as it was."""
    with store("memory") as m:
        before = state(m)
        outcome = attempt(m, source, {})
        assert isinstance(outcome, MeterlibError)
        assert state(m) == before


export_options = st.fixed_dictionaries(
    {},
    optional={
        "format": st.sampled_from(["csv", "json", "jsonl"]) | junk,
        "compression": st.sampled_from(["gzip", None]) | junk,
        "meter": st.sampled_from(["mtr_x", ""]) | junk,
        "customer": st.sampled_from(["cus_1", "", "\x00"]) | junk,
        "start": st.sampled_from([NOW - 86_400, "2026-03-10", "junk", -(10**20)]) | junk,
        "end": st.sampled_from([NOW + 86_400, "2026-03-11", 1.5]) | junk,
        "include_cancelled": st.booleans() | junk,
    },
)


@pytest.mark.parametrize("backend", [param.values[0] for param in BACKENDS])
@FUZZ
@given(options=export_options, target=st.sampled_from(["text", "bytes", "path", "junk"]))
def test_any_export_writes_or_is_coded_and_changes_nothing(
    backend: str, options: dict[str, Any], target: str
) -> None:
    """Export with any options writes its count or a coded error; the store is unchanged."""
    with store(backend) as m, TemporaryDirectory() as directory:
        m.record("api", customer="cus_1", value=2, identifier="req_1")
        before = state(m)
        sink: object = {
            "text": io.StringIO(),
            "bytes": io.BytesIO(),
            "path": Path(directory) / "out.csv",
            "junk": 42,
        }[target]
        try:
            written = m.export_events(sink, **options)
        except MeterlibError as error:
            assert error.code
        else:
            assert written in (0, 1)
        assert state(m) == before
