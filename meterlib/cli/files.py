"""``meterlib import`` and ``meterlib export``: files in and out; a progress bar on a terminal."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from meterlib.bulk import FORMATS, ImportReport
from meterlib.cli.app import (
    OK,
    PROBLEMS,
    console,
    json_option,
    open_store,
    print_json,
    store_option,
    time_option,
)

SHOWN_REJECTIONS = 10
"""Rejected rows the summary table lists per file (``--json`` gives the report's own)."""


class _RowsColumn(ProgressColumn):
    """``123,456 rows  45,678 rows/s  3 rejected``: the task's counts and rate."""

    def render(self, task: Task) -> Text:
        rows = int(task.fields.get("rows", 0))
        elapsed = task.elapsed or 0.0
        rate = f"{rows / elapsed:,.0f} rows/s" if elapsed > 0 else "- rows/s"
        rejected = int(task.fields.get("rejected", 0))
        return Text(f"{rows:,} rows  {rate}  {rejected:,} rejected", style="progress.data.speed")


def _progress(stream: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        _RowsColumn(),
        TimeRemainingColumn(),
        console=stream,
        transient=False,
    )


def _size(name: str) -> int | None:
    if name == "-":
        return None
    try:
        return os.path.getsize(name)
    except OSError:
        return None  # the import itself says what is wrong with the file


def _summary(out: Console, reports: list[tuple[str, ImportReport]], seconds: float) -> None:
    table = Table(title=f"meterlib import ({seconds:.1f} s)")
    for column in ("file", "rows", "recorded", "duplicates", "rejected", "skipped"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for name, report in reports:
        table.add_row(
            name,
            *(
                f"{count:,}"
                for count in (
                    report.rows,
                    report.recorded,
                    report.duplicates,
                    report.rejected,
                    report.skipped,
                )
            ),
        )
    out.print(table)
    for name, report in reports:
        if not report.rejections:
            continue
        codes = ", ".join(f"{code} {count:,}" for code, count in report.rejected_by_code.items())
        out.print(f"{name}: rejected rows ({codes}); the first:", markup=False, highlight=False)
        for rejection in report.rejections[:SHOWN_REJECTIONS]:
            out.print(f"  {rejection} [{rejection.code}]", markup=False, highlight=False)


@click.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@store_option
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    help="csv, json or jsonl (default: from the file's name, else from its first bytes).",
)
@click.option(
    "--on-error",
    type=click.Choice(["report", "raise"]),
    default="report",
    show_default=True,
    help="report: count bad rows and record the good ones; raise: stop at the first bad row.",
)
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Rows a batch, one transaction each [default: the store's, 2,000 in memory, 10,000 SQL]",
)
@json_option
def import_command(
    *,
    files: tuple[str, ...],
    store: str,
    file_format: str | None,
    on_error: str,
    batch_size: int | None,
    as_json: bool,
) -> int:
    """Import meter events from CSV, JSON or JSON Lines files (gzip too); FILE - is stdin.

    Columns: identifier (optional), timestamp (Unix seconds, 2024-09-25, or ISO-8601),
    event_name, payload_<key>. Re-running an interrupted import within 24 hours records every
    row exactly once. Exit status 1 if any row was rejected.

    \b
    Example:
      meterlib import usage-2026-03.csv.gz --store sqlite:///usage.db
      meterlib import events.jsonl --store sqlite:///usage.db --json
    """
    err = console(stderr=True)
    out = console()
    reports: list[tuple[str, ImportReport]] = []
    began = time.perf_counter()
    with open_store(store) as metering:
        for name in files:
            source: Any = sys.stdin.buffer if name == "-" else name
            if err.is_terminal:
                with _progress(err) as progress:
                    task = progress.add_task(name, total=_size(name), rows=0, rejected=0)

                    def advance(report: ImportReport, read: int, task: Any = task) -> None:
                        progress.update(
                            task, completed=read, rows=report.rows, rejected=report.rejected
                        )

                    report = metering.import_events(
                        source,
                        format=file_format,
                        on_error=on_error,
                        batch_size=batch_size,
                        progress=advance,
                    )
                    progress.update(task, total=progress.tasks[0].completed or None)
            else:
                report = metering.import_events(
                    source, format=file_format, on_error=on_error, batch_size=batch_size
                )
            reports.append((name, report))
            if as_json:
                print_json({"file": name, **report.to_dict()})
    if not as_json:
        _summary(out, reports, time.perf_counter() - began)
    return PROBLEMS if any(report.rejected for _, report in reports) else OK


@click.command("export")
@store_option
@click.option("--meter", metavar="ID", help="Only this meter's events.")
@click.option("--customer", metavar="C", help="Only this customer's events.")
@time_option("--start", required=False, help="Only events at or after this time.")
@time_option("--end", required=False, help="Only events before this time.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    help="csv, json or jsonl (default: from --output's name, else csv).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here (atomically; gzip if it ends in .gz) instead of to standard output.",
)
@click.option("--include-cancelled", is_flag=True, help="Also cancelled events, marked so.")
def export_command(
    *,
    store: str,
    meter: str | None,
    customer: str | None,
    start: object,
    end: object,
    file_format: str | None,
    output: str | None,
    include_cancelled: bool,
) -> int:
    """Export meter events as CSV, JSON or JSON Lines, in the format import reads.

    Events come in order of receipt; importing the file into a fresh store reproduces every
    summary.

    \b
    Example:
      meterlib export --store sqlite:///usage.db --meter mtr_test_... --format jsonl
      meterlib export --store sqlite:///usage.db --start 2026-03-01 --end 2026-04-01 -o march.csv.gz
    """
    with open_store(store) as metering:
        options: dict[str, Any] = {
            "meter": meter,
            "customer": customer,
            "start": start,
            "end": end,
            "include_cancelled": include_cancelled,
        }
        if output is None:
            written = metering.export_events(
                sys.stdout.buffer, format=file_format or "csv", **options
            )
            sys.stdout.buffer.flush()
        else:
            written = metering.export_events(output, format=file_format, **options)
    click.echo(f"exported {written:,} events", err=True)
    return OK
