"""Import: a file's rows through the one ingest pipeline, a batch at a time, into a report.

This is an adapter, as ``create_many`` is: the reader makes ``create_many`` items of the rows,
`Ingest.create_batch` judges and stores each batch (one transaction on durable stores), and
the outcomes are counted. No rule of meter events is checked here.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Callable, Iterator
from typing import Literal

from meterlib.bulk.formats import PAYLOAD_PREFIX, Format, validate_format
from meterlib.bulk.reading import Builder, Chunk, Item, chunks
from meterlib.bulk.report import ImportRejection, ImportReport, Tally
from meterlib.bulk.sources import open_input
from meterlib.errors import InvalidRequestError, describe
from meterlib.ingest import Ingest
from meterlib.validation import MAX_BATCH, fail

OnError = Literal["report", "raise"]
ON_ERROR: tuple[OnError, ...] = ("report", "raise")
DEFAULT_MAX_REJECTIONS = 100
"""How many rejected rows a report keeps (its counts are always exact)."""
Progress = Callable[[ImportReport, int], object]
"""Called after each batch with the report so far and the bytes of the file read so far."""

_NOT_UTF8 = re.compile("[\udc80-\udcff]")
"""What `surrogateescape` makes of a byte that is not UTF-8 (or a JSON-escaped surrogate)."""


def _whole_number(value: object, param: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        fail(
            f"{param} must be a whole number from {low:,} to {high:,}; got {describe(value)}",
            code="parameter_invalid_integer",
            param=param,
        )
    return int.__int__(value)


def import_events(
    ingest: Ingest,
    source: object,
    *,
    format: object = None,
    on_error: object = "report",
    batch_size: object = None,
    max_rejections: object = DEFAULT_MAX_REJECTIONS,
    progress: Progress | None = None,
) -> ImportReport:
    """Read `source` and record its good rows through `ingest`; see `Metering.import_events`."""
    kind: Format | None = None if format is None else validate_format(format)
    if on_error not in ON_ERROR:
        fail(
            f"on_error must be one of {', '.join(ON_ERROR)}; got {describe(on_error)}",
            code="parameter_invalid_enum",
            param="on_error",
        )
    size = (
        ingest.preferred_batch
        if batch_size is None
        else _whole_number(batch_size, "batch_size", 1, MAX_BATCH)
    )
    kept = _whole_number(max_rejections, "max_rejections", 0, 1_000_000)
    if progress is not None and not callable(progress):
        fail(
            f"progress must be callable; got {describe(progress)}",
            code="parameter_invalid_type",
            param="progress",
        )
    stop = on_error == "raise"
    tally = Tally(kept)
    with open_input(source, kind) as opened:
        builder = Builder(size, stop_at_problem=stop)
        batches = chunks(opened.format, opened.text, builder, compressed=opened.compressed)
        while True:
            with _collection_paused():
                chunk = next(batches, None)
                if chunk is None:
                    break
                _record(ingest, chunk, builder.columns, tally, stop=stop)
            if progress is not None:
                progress(tally.report(), opened.bytes_read)
    return tally.report()


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while one chunk is read and recorded.

    A chunk of rows read one by one (JSON, or CSV off the usual shape) allocates two dicts a
    row, none in a cycle, and all gone when it is recorded; the collector would walk them many
    times over (about a tenth of such an import's time, measured).
    It is paused for one chunk at most (``batch_size`` rows), then runs as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _field(param: str | None) -> str | None:
    """The file's name for a param of the pipeline: ``payload[value]`` is ``payload_value``."""
    if param is not None and param.startswith("payload[") and param.endswith("]"):
        return PAYLOAD_PREFIX + param[len("payload[") : -1]
    return param


def _not_utf8(item: Item) -> str | None:
    """The field of a rejected item that holds bytes that were not UTF-8, if one does."""
    for key in ("event_name", "identifier", "timestamp"):
        value = item.get(key)
        if isinstance(value, str) and _NOT_UTF8.search(value):
            return key
    payload = item.get("payload")
    if isinstance(payload, dict):
        for key, value in payload.items():
            if _NOT_UTF8.search(key) or (isinstance(value, str) and _NOT_UTF8.search(value)):
                return PAYLOAD_PREFIX + str(key)
    return None


def _rejection(
    error: InvalidRequestError, item: Item, line: int, columns: dict[str, int]
) -> ImportRejection:
    """What the pipeline's error says about a row, pointed at the row's line and column."""
    broken = _not_utf8(item)
    if broken is not None:
        return ImportRejection(
            line=line,
            column=columns.get(broken),
            field=broken,
            code="file_encoding_invalid",
            message="not valid UTF-8 text (bytes that are not UTF-8, or an escaped lone "
            f"surrogate): {error.message}",
        )
    field = _field(error.param)
    return ImportRejection(
        line=line,
        column=None if field is None else columns.get(field),
        field=field,
        code=error.code or "invalid_request",
        message=error.message,
    )


def _record(
    ingest: Ingest, chunk: Chunk, columns: dict[str, int], tally: Tally, *, stop: bool
) -> None:
    """Ingest one chunk's items in one batch; count what became of every row."""
    tally.rows += chunk.rows
    tally.skipped += chunk.skipped
    rejections = list(chunk.problems)
    if chunk.items:
        outcomes, invalid = ingest.create_batch(chunk.items)
        failed = len(outcomes.errors)
        tally.recorded += len(outcomes) - failed
        tally.duplicates += failed - len(invalid)
        for index in invalid:
            error = outcomes[index]
            assert isinstance(error, InvalidRequestError)
            rejections.append(_rejection(error, chunk.items[index], chunk.lines[index], columns))
    if rejections:
        rejections.sort(key=lambda rejection: rejection.line)
        for rejection in rejections:
            tally.reject(rejection)
        if stop:
            raise rejections[0].error()
