"""The installed ``meterlib`` command, run in a subprocess: each command, its output and status."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest

from tests.cli.conftest import HOUR, NOW, csv_rows, ok_json, run


def test_meters_create_list_show_update_deactivate_reactivate(store: str, meter: str) -> None:
    """The meter commands do what the API does, and --json prints Stripe's objects."""
    assert ok_json("meters", "list", store=store)[0]["id"] == meter
    assert ok_json("meters", "show", meter, store=store)["event_name"] == "api"
    assert (
        ok_json("meters", "update", meter, "--display-name", "Calls", store=store)["display_name"]
        == "Calls"
    )
    assert ok_json("meters", "deactivate", meter, store=store)["status"] == "inactive"
    assert ok_json("meters", "list", "--status", "active", store=store) == []
    assert ok_json("meters", "reactivate", meter, store=store)["status"] == "active"
    table = run("meters", "list", store=store)
    assert table.returncode == 0
    assert meter in table.stdout


def test_import_prints_a_summary_table_and_exits_0(store: str, meter: str, tmp_path: Path) -> None:
    """A clean import: a table of counts on stdout, no progress bar when piped, status 0."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(30))
    done = run("import", str(path), store=store)
    assert done.returncode == 0, done.stderr
    assert "recorded" in done.stdout and "30" in done.stdout
    assert "rows/s" not in done.stdout + done.stderr
    assert "\x1b[" not in done.stdout + done.stderr


def test_import_json_reports_each_file_and_exits_1_on_rejects(
    store: str, meter: str, tmp_path: Path
) -> None:
    """--json prints one report a file; a rejected row makes the status 1."""
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv.gz"
    good.write_text(csv_rows(10))
    bad.write_bytes(gzip.compress(csv_rows(10, start=10, bad_every=4).encode()))
    done = run("import", str(good), str(bad), "--json", store=store)
    assert done.returncode == 1, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert (first["file"], first["recorded"], first["rejected"]) == (str(good), 10, 0)
    assert (second["recorded"], second["rejected"]) == (8, 2)
    assert second["rejections"][0]["line"] == 4


def test_import_reads_standard_input(store: str, meter: str) -> None:
    """FILE - reads the rows from stdin (the format sniffed)."""
    done = run("import", "-", "--json", store=store, input=csv_rows(5))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["recorded"] == 5


def test_import_on_error_raise_stops_with_a_one_line_error(
    store: str, meter: str, tmp_path: Path
) -> None:
    """--on-error raise: the first bad row is one error line naming it, status 3."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(10, bad_every=4))
    done = run("import", str(path), "--on-error", "raise", store=store)
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: line 2, column 5 (payload_value): ")
    assert done.stderr.rstrip().endswith("(code=payload_invalid_value, param=payload_value)")


def test_export_to_stdout_and_to_a_file_round_trips(store: str, meter: str, tmp_path: Path) -> None:
    """Export writes the import format; importing it into a fresh store gives the same usage."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(12))
    assert run("import", str(path), store=store).returncode == 0
    out = run("export", "--meter", meter, "--customer", "cus_1", store=store)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 4 and {row["payload_stripe_customer_id"] for row in rows} == {"cus_1"}
    assert "exported 4 events" in out.stderr
    target = tmp_path / "all.jsonl.gz"
    assert run("export", "-o", str(target), store=store).returncode == 0
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    ok_json(
        "meters",
        "create",
        "--display-name",
        "API",
        "--event-name",
        "api",
        "--formula",
        "sum",
        store=fresh,
    )
    assert ok_json("import", str(target), store=fresh)["recorded"] == 12


def test_summary_as_table_json_and_csv(store: str, meter: str, tmp_path: Path) -> None:
    """Summary gives Stripe's summaries: a table, --json objects, --csv rows."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(9))
    run("import", str(path), store=store)
    window = [
        "--customer",
        "cus_0",
        "--start",
        str(NOW - 2 * HOUR),
        "--end",
        str(NOW),
        "--window",
        "hour",
    ]
    summaries = ok_json("summary", meter, *window, store=store)
    assert [item["aggregated_value"] for item in summaries] == [0, 3]
    assert summaries[0]["object"] == "billing.meter_event_summary"
    rows = run("summary", meter, *window, "--csv", store=store).stdout.splitlines()
    assert rows == [
        "start_time,end_time,aggregated_value",
        f"{NOW - 2 * HOUR},{NOW - HOUR},0",
        f"{NOW - HOUR},{NOW},3",
    ]
    assert "3" in run("summary", meter, *window, store=store).stdout


def test_usage_gives_every_customer(store: str, meter: str, tmp_path: Path) -> None:
    """usage: one value per customer with events in the range."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(10))
    run("import", str(path), store=store)
    done = run(
        "usage", meter, "--start", str(NOW - 2 * HOUR), "--end", str(NOW), "--csv", store=store
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "customer,aggregated_value",
        "cus_0,4",
        "cus_1,3",
        "cus_2,3",
    ]
    values = ok_json("usage", meter, "--start", str(NOW - 2 * HOUR), "--end", str(NOW), store=store)
    assert [item["aggregated_value"] for item in values] == [4, 3, 3]


def test_check_passes_a_healthy_store(store: str, meter: str, tmp_path: Path) -> None:
    """check: schema version, counts and invariants; status 0 when healthy."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(20))
    run("import", str(path), store=store)
    report = ok_json("check", store=store)
    assert report["healthy"] is True
    assert (report["integrity"], report["events"], report["customers"]) == ("ok", 20, 3)
    assert report["schema_version"] >= 1


def test_check_fails_a_corrupted_file(store: str, meter: str, tmp_path: Path) -> None:
    """A store whose pages were overwritten fails SQLite's integrity check: status 1."""
    path = tmp_path / "usage.csv"
    path.write_text(csv_rows(3_000))
    run("import", str(path), store=store)
    database = Path(store.removeprefix("sqlite:///"))
    data = bytearray(database.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = b"\x07" * 4096
    database.write_bytes(bytes(data))
    done = run("check", "--json", store=store)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["healthy"] is False
    # which pages the middle of the file holds decides whether the check lists the damage or
    # SQLite refuses to read on: both are its integrity check failing
    assert report["problems"][0].startswith(
        ("PRAGMA integrity_check: ", "SQLite cannot read the file: ")
    )


def test_check_of_a_missing_file_is_a_storage_error(tmp_path: Path) -> None:
    """Check never creates a store: a missing file is a storage error, status 4."""
    done = run("check", store=f"sqlite:///{tmp_path / 'absent.db'}")
    assert done.returncode == 4
    assert "storage_unavailable" in done.stderr
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize(
    ("args", "status", "code"),
    [
        (["meters", "show", "mtr_nope"], 3, "code=resource_missing"),
        (["meters", "list", "--store", "nosuch://x"], 5, "code=storage_scheme_unknown"),
        (["meters", "list", "--bogus"], 2, "code=usage_error"),
        (["summary", "mtr_x", "--start", "0", "--end", "60"], 2, "param=customer"),
    ],
)
def test_errors_are_one_line_with_a_status_per_kind(
    store: str, args: list[str], status: int, code: str
) -> None:
    """Every failure is one 'error: ...' line on stderr, no traceback, its own exit status."""
    done = run(*args, store=store)
    assert done.returncode == status
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert code in done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_that_is_no_meterlib_store_is_a_storage_error(tmp_path: Path) -> None:
    """A foreign SQLite file is refused as StorageError: status 4."""
    import sqlite3  # noqa: PLC0415

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    done = run("meters", "list", store=f"sqlite:///{path}")
    assert (done.returncode, "code=storage_foreign" in done.stderr) == (4, True)


def test_the_store_is_required(tmp_path: Path) -> None:
    """Without --store or METERLIB_STORE the command says which option is missing."""
    done = run("meters", "list")
    assert done.returncode == 2
    assert "--store" in done.stderr and "param=store" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["import"],
        ["export"],
        ["meters"],
        ["meters", "list"],
        ["meters", "show"],
        ["meters", "create"],
        ["meters", "update"],
        ["meters", "deactivate"],
        ["meters", "reactivate"],
        ["summary"],
        ["usage"],
        ["check"],
        [],
    ],
    ids=lambda command: " ".join(command) or "meterlib",
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    """--help works on every command and shows an example of it."""
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert "Example:" in done.stdout
    assert f"meterlib {' '.join(command)}".strip() in done.stdout
