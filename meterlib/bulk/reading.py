"""Rows out of a decoded file: CSV, a JSON array or JSON Lines, as ``create_many`` items.

Each reader turns rows into the items the ingest pipeline takes (``event_name``, ``payload``,
``identifier``, ``timestamp``) and knows only the file format: where a row starts, which column
is which, how a cell spells a time. It never judges an event. A row the format itself makes
unreadable (ragged, broken JSON, an unknown column) becomes an `ImportRejection` in its place;
a problem that leaves the rest of the file unreadable (a missing column, a broken JSON array)
raises, after the rows before it were handed on.

Memory is bounded by the batch size (a chunk holds at most that many rows, good or bad) and
`MAX_ROW_CHARACTERS`: a row longer than that is refused before it is held whole.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
import zlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import repeat
from typing import IO, NamedTuple

from meterlib.bulk.formats import (
    CANCELLED,
    COLUMNS,
    EVENT_NAME,
    IDENTIFIER,
    MAX_ROW_CHARACTERS,
    MAX_TIMESTAMP_DIGITS,
    PAYLOAD_PREFIX,
    REQUIRED,
    TIMESTAMP,
    Format,
    derived_identifier,
    timestamp_input,
)
from meterlib.bulk.report import ImportRejection
from meterlib.bulk.sources import unreadable
from meterlib.errors import InvalidRequestError, describe
from meterlib.model import ItemColumns

Item = dict[str, object]
"""One ``create_many`` item."""

_READ_CHARACTERS = 1 << 16
_DECODE = json.JSONDecoder(parse_float=Decimal).raw_decode
"""JSON numbers with a fraction become exact Decimals, as every value in meterlib is."""


class Chunk(NamedTuple):
    """A run of rows: the items to ingest with their lines, and the rows refused on the way."""

    items: list[Item] | ItemColumns
    """As dicts, or as columns when every row was of the usual CSV shape."""
    lines: list[int]
    """The line each item's row starts on."""
    problems: list[ImportRejection]
    rows: int
    """Rows read: items, problems and skipped ones."""
    skipped: int


class Builder:
    """Collects a chunk; readers add rows to it and pause (yield) when `full` says so."""

    def __init__(self, batch_size: int, *, stop_at_problem: bool) -> None:
        self.batch_size = batch_size
        self.stop_at_problem = stop_at_problem
        self.line = 0
        """The line the reader has reached, for errors that strike between rows."""
        self.columns: dict[str, int] = {}
        """Each CSV column's number by name (empty for JSON): where a rejection points."""
        self._fresh()

    def _fresh(self) -> None:
        self.items: list[Item] | ItemColumns = []
        self.lines: list[int] = []
        self.problems: list[ImportRejection] = []
        self.rows = 0
        self.skipped = 0

    @property
    def full(self) -> bool:
        """Whether the chunk should be handed on now."""
        return self.rows >= self.batch_size or (self.stop_at_problem and bool(self.problems))

    @property
    def pending(self) -> bool:
        """Whether any row is waiting to be handed on."""
        return self.rows > 0

    def add_item(self, item: Item, line: int) -> None:
        """One row's item, from `line`."""
        if type(self.items) is ItemColumns:  # a chunk of usual rows and others: dicts, all
            self.items = list(self.items)
        self.items.append(item)  # type: ignore[union-attr]  # a list by now
        self.lines.append(line)
        self.rows += 1

    def add_columns(self, items: ItemColumns, first_line: int) -> None:
        """The items of consecutive lines from `first_line` on."""
        if not self.items:
            self.items = items
        elif type(self.items) is ItemColumns and self.items.payload_keys == items.payload_keys:
            self.items.add(items)
        else:
            self.items = [*self.items, *items]
        self.lines += range(first_line, first_line + len(items))
        self.rows += len(items)

    def problem(
        self, line: int, column: int | None, field: str | None, code: str, message: str
    ) -> None:
        """A row refused by the format itself."""
        self.problems.append(
            ImportRejection(line=line, column=column, field=field, code=code, message=message)
        )

    def take(self) -> Chunk:
        """The collected chunk; the builder starts a new one."""
        chunk = Chunk(self.items, self.lines, self.problems, self.rows, self.skipped)
        self._fresh()
        return chunk


def fatal(line: int, column: int | None, field: str | None, code: str, message: str) -> Exception:
    """The error of a problem that leaves the rest of the file unreadable."""
    rejection = ImportRejection(line=line, column=column, field=field, code=code, message=message)
    return rejection.error()


def _cancelled_flag(value: object) -> bool | None:
    """A ``cancelled`` cell: True, False, or None when it is neither (``true``/``false``)."""
    if value is None or value is False or value in ("", "false"):
        return False
    if value is True or value == "true":
        return True
    return None


# --- CSV --------------------------------------------------------------------------------------

_BLOCK_CHARACTERS = MAX_ROW_CHARACTERS
"""CSV is read in blocks of whole lines: this many characters and the rest of the last line.

A block without quotes or carriage returns is split with `str.split` (the common case, and
several times cheaper than `csv.reader`), any other goes through `csv.reader`; a property test
pins that both read every text alike. Every line but the last lies inside the first
`MAX_ROW_CHARACTERS`, so only the last one's length needs checking against the row bound."""


class _RowTooLong(Exception):
    """A CSV record grew past `MAX_ROW_CHARACTERS` (raised from inside the line feed)."""


class _Lines:
    """The line feed of `csv.reader`: a block's lines first, then lines read on from the file.

    It counts the lines given (`number`) and the characters of the current record (`used`,
    reset by the reader loop at each record), and raises `_RowTooLong` past the bound, so a
    runaway quoted field is refused before it is held whole.
    """

    def __init__(self, text: IO[str]) -> None:
        self._readline = text.readline
        self.pending: list[str] = []
        self.index = 0
        self.number = 0
        self.used = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.index < len(self.pending):
            line = self.pending[self.index]
            self.index += 1
        else:
            line = self._readline(MAX_ROW_CHARACTERS + 1)
            if not line:
                raise StopIteration
        self.number += 1
        self.used += len(line)
        if self.used > MAX_ROW_CHARACTERS:
            raise _RowTooLong
        return line


def _csv_header(row: list[str], line: int) -> dict[str, int]:
    """The header's columns by name (0-based); unknown, repeated or missing ones raise."""
    positions: dict[str, int] = {}
    for index, raw in enumerate(row):
        name = raw.strip()
        known = name in COLUMNS or (name.startswith(PAYLOAD_PREFIX) and name != PAYLOAD_PREFIX)
        if not known:
            raise fatal(
                line,
                index + 1,
                name,
                "parameter_unknown",
                f"unknown column {describe(name)}: columns are {', '.join(COLUMNS)} and "
                f"{PAYLOAD_PREFIX}<key>",
            )
        if name in positions:
            raise fatal(
                line, index + 1, name, "file_header_invalid", f"column {name!r} appears twice"
            )
        positions[name] = index
    for name in REQUIRED:
        if name not in positions:
            raise fatal(line, None, name, "parameter_missing", f"the header has no {name!r} column")
    return positions


def _too_long(line: int) -> Exception:
    return fatal(
        line,
        None,
        None,
        "file_row_too_long",
        f"a row longer than {MAX_ROW_CHARACTERS:,} characters (an unclosed quote?)",
    )


class _CsvRows:
    """Turns CSV records into the builder's items and problems; `usual` takes whole blocks."""

    def __init__(self, builder: Builder, positions: dict[str, int], width: int) -> None:
        self.builder = builder
        self.width = width
        self.position = 0  # data rows so far
        self.build = _csv_builder(positions)
        self.usual = _usual_columns(positions, width)

    def row(self, fields: list[str], line: int) -> None:
        """One record (not blank) starting on `line`."""
        builder = self.builder
        self.position += 1
        if len(fields) != self.width:
            builder.rows += 1
            builder.problem(
                line,
                min(len(fields), self.width) + 1,
                None,
                "file_row_ragged",
                f"the row has {len(fields)} fields; the header has {self.width}",
            )
            return
        item = self.build(fields, self.position)
        if type(item) is dict:
            builder.add_item(item, line)
            return
        builder.rows += 1
        if item is None:
            builder.skipped += 1
        else:
            field, code, message = item
            builder.problem(line, builder.columns.get(field), field, code, message)

    def block(self, texts: list[str], block: str, first: int) -> Iterator[None]:
        """The lines of a block without quotes or carriage returns, from line `first` on.

        `texts` are the block's lines (its text split at newlines, without a last empty one).
        """
        builder = self.builder
        usual = self.usual
        if usual is not None:  # the usual header: every row the usual shape, or None
            made = usual(texts, block.isascii())
            if made is not None:
                start = 0
                while start < len(made):
                    room = builder.batch_size - builder.rows
                    part = made if start == 0 and room >= len(made) else made[start : start + room]
                    builder.add_columns(part, first + start)
                    start += len(part)
                    if builder.rows >= builder.batch_size:
                        yield
                self.position += len(made)
                return
        for offset, text in enumerate(texts):
            if text:  # not a blank line
                self.row(text.split(","), first + offset)
                if builder.full:
                    yield


def _first_record(reader: Iterator[list[str]], lines: _Lines) -> tuple[list[str], int] | None:
    """The header (the first record that is not blank) and its line; None for an empty file."""
    while True:
        start = lines.number + 1
        try:
            row = next(reader)
        except StopIteration:
            return None
        except (csv.Error, _RowTooLong) as error:
            raise fatal(
                start, None, None, "file_header_invalid", f"unreadable header: {error}"
            ) from error
        lines.used = 0
        if row:
            return row, start


def _records(
    reader: Iterator[list[str]], lines: _Lines, rows: _CsvRows, block: str
) -> Iterator[None]:
    """A block's records through `csv.reader`, which reads quotes and carriage returns.

    The last record may go on past the block (a quoted field over several lines); it pauses
    when the builder is `full`.
    """
    builder = rows.builder
    lines.pending, lines.index = list(io.StringIO(block, newline="")), 0
    while lines.index < len(lines.pending):
        start = lines.number + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _RowTooLong:
            raise _too_long(start) from None
        except csv.Error as error:
            rows.position += 1
            builder.rows += 1
            builder.problem(start, None, None, "file_csv_invalid", f"malformed CSV: {error}")
        else:
            if fields:
                rows.row(fields, start)
        lines.used = 0
        builder.line = lines.number + 1
        if builder.full:
            yield


def read_csv(text: IO[str], builder: Builder) -> Iterator[None]:
    """Rows of a CSV file with a header line (blank lines skipped); pauses when `full`."""
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    first = _first_record(reader, lines)
    if first is None:
        return  # an empty file: no rows
    header, start = first
    positions = _csv_header(header, start)
    builder.columns = {name: index + 1 for name, index in positions.items()}
    rows = _CsvRows(builder, positions, len(header))
    limit = min(MAX_ROW_CHARACTERS, csv.field_size_limit())
    while True:
        builder.line = lines.number + 1
        block = text.read(limit)
        if not block:
            return
        if block[-1] != "\n":
            block += text.readline(MAX_ROW_CHARACTERS + 1)  # end the block at a line's end
        if '"' not in block and "\r" not in block:
            texts = block.split("\n")
            if texts[-1] == "":
                texts.pop()  # the block ends with a newline (not a blank line)
            if len(texts[-1]) <= limit:  # the others lie within the first `limit` characters
                first_line = lines.number + 1
                lines.number += len(texts)
                yield from rows.block(texts, block, first_line)
                continue
        yield from _records(reader, lines, rows, block)


_RowResult = Item | tuple[str, str, str] | None
"""An item; or the (field, code, message) of a row the format refuses; None: skip it."""


def _usual_columns(
    positions: dict[str, int], width: int
) -> Callable[[list[str], bool], ItemColumns | None] | None:
    """A fast item maker for the usual header (None for any other).

    The usual header is ``identifier,timestamp,event_name`` and two payload columns; the
    function makes the items of a block's lines as columns when every line has exactly five
    fields, all filled, and returns None otherwise (the rows are then read one by one).
    """
    payload = [name for name in positions if name.startswith(PAYLOAD_PREFIX)]
    usual = [IDENTIFIER, TIMESTAMP, EVENT_NAME, *payload]
    if width != 5 or len(payload) != 2 or list(positions) != usual:
        return None
    keys = (
        sys.intern(payload[0][len(PAYLOAD_PREFIX) :]),
        sys.intern(payload[1][len(PAYLOAD_PREFIX) :]),
    )
    digits = MAX_TIMESTAMP_DIGITS
    split = str.split

    def items(texts: list[str], ascii: bool) -> ItemColumns | None:
        try:  # strict: a line of other than five fields (a blank one has one) raises
            identifiers, texts_of_time, names, firsts, seconds = zip(
                *map(split, texts, repeat(",")), strict=True
            )
        except ValueError:
            return None
        if "" in identifiers or "" in texts_of_time or "" in names or "" in firsts or "" in seconds:
            return None
        made = ItemColumns(keys)
        made.identifiers, made.event_names = list(identifiers), list(names)
        made.firsts, made.seconds = list(firsts), list(seconds)
        # all ASCII digits (then int() reads them as they are) and short: one C call for all
        if ascii and "".join(texts_of_time).isdigit() and max(map(len, texts_of_time)) <= digits:
            made.timestamps = list(map(int, texts_of_time))
        else:
            made.timestamps = list(map(timestamp_input, texts_of_time))
        return made

    return items


def _csv_builder(positions: dict[str, int]) -> Callable[[list[str], int], _RowResult]:
    """A function making the item of a CSV row, for this header's columns.

    Empty cells are absent values: no payload entry, a derived identifier.
    """
    at_identifier = positions.get(IDENTIFIER)
    at_timestamp = positions[TIMESTAMP]
    at_name = positions[EVENT_NAME]
    at_cancelled = positions.get(CANCELLED)
    payload_columns = [
        (index, name[len(PAYLOAD_PREFIX) :])
        for name, index in positions.items()
        if name.startswith(PAYLOAD_PREFIX)
    ]

    def build(row: list[str], position: int) -> _RowResult:
        if at_cancelled is not None:
            flag = _cancelled_flag(row[at_cancelled])
            if flag is None:
                return CANCELLED, "parameter_invalid_type", "cancelled must be true or false"
            if flag:
                return None
        payload = {key: row[index] for index, key in payload_columns if row[index]}
        text = row[at_timestamp]
        if not text:
            return TIMESTAMP, "parameter_missing", "every row needs a timestamp"
        timestamp = timestamp_input(text)
        name = row[at_name] or None
        identifier = "" if at_identifier is None else row[at_identifier]
        if not identifier:
            identifier = derived_identifier(position, name, timestamp, payload)
        return {
            "event_name": name,
            "payload": payload,
            "identifier": identifier,
            "timestamp": timestamp,
        }

    return build


# --- JSON -------------------------------------------------------------------------------------


def object_item(value: object, position: int) -> _RowResult:
    """The item of a JSON row: an object of the same fields as the CSV columns.

    JSON ``null`` is an absent value, as an empty CSV cell is; other values go to the pipeline
    as they are (a number as a value is fine, a list is refused there).
    """
    if type(value) is not dict:
        return (
            "row",
            "parameter_invalid_type",
            f"each row must be a JSON object; got {describe(value)}",
        )
    payload: dict[str, object] = {}
    fields: dict[str, object] = {}
    for key, entry in value.items():
        if key.startswith(PAYLOAD_PREFIX) and key != PAYLOAD_PREFIX:
            if entry is not None:
                payload[key[len(PAYLOAD_PREFIX) :]] = entry
        elif key in COLUMNS:
            fields[key] = entry
        else:
            return (
                key,
                "parameter_unknown",
                f"unknown field {describe(key)}: fields are {', '.join(COLUMNS)} and "
                f"{PAYLOAD_PREFIX}<key>",
            )
    flag = _cancelled_flag(fields.get(CANCELLED))
    if flag is None:
        return CANCELLED, "parameter_invalid_type", "cancelled must be true or false"
    if flag:
        return None
    name, identifier = fields.get(EVENT_NAME), fields.get(IDENTIFIER)
    timestamp = fields.get(TIMESTAMP)
    if timestamp is None:
        return TIMESTAMP, "parameter_missing", "every row needs a timestamp"
    if type(timestamp) is str:
        timestamp = timestamp_input(timestamp)
    if identifier is None:
        identifier = derived_identifier(position, name, timestamp, payload)
    return {
        "event_name": name,
        "payload": payload,
        "identifier": identifier,
        "timestamp": timestamp,
    }


def _add_object(builder: Builder, value: object, position: int, line: int) -> None:
    item = object_item(value, position)
    if type(item) is dict:
        builder.add_item(item, line)
        return
    builder.rows += 1
    if item is None:
        builder.skipped += 1
    else:
        field, code, message = item
        builder.problem(line, None, None if field == "row" else field, code, message)


def _json_error(error: json.JSONDecodeError | RecursionError) -> str:
    if isinstance(error, RecursionError):
        return "broken JSON: nested too deeply"
    return f"broken JSON: {error.msg}"


def read_jsonl(text: IO[str], builder: Builder) -> Iterator[None]:
    """Rows of a JSON Lines file, one object a line (blank lines skipped)."""
    readline = text.readline
    limit = MAX_ROW_CHARACTERS
    line = position = 0
    while True:
        content = readline(limit + 1)
        if not content:
            return
        line += 1
        builder.line = line
        if len(content) > limit and not content.endswith("\n"):
            while (rest := readline(limit)) and not rest.endswith("\n"):
                pass  # skip the rest of the over-long line, a bounded piece at a time
            position += 1
            builder.rows += 1
            builder.problem(
                line,
                None,
                None,
                "file_row_too_long",
                f"a line longer than {limit:,} characters",
            )
        else:
            body = content.strip()
            if not body:
                continue
            position += 1
            indent = len(content) - len(content.lstrip())
            try:
                value, end = _DECODE(body)
                if end != len(body):
                    raise json.JSONDecodeError("extra data after the object", body, end)
            except (json.JSONDecodeError, RecursionError) as error:
                builder.rows += 1
                column = indent + error.colno if isinstance(error, json.JSONDecodeError) else None
                builder.problem(line, column, None, "file_json_invalid", _json_error(error))
            else:
                _add_object(builder, value, position, line)
        if builder.full:
            yield


class _JsonText:
    """A window onto a JSON text read in pieces, with the line and column of any offset in it."""

    def __init__(self, text: IO[str]) -> None:
        self._read = text.read
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.line = 1
        self._base = 0  # the absolute offset of buffer[0]
        self._line_start = 0  # the absolute offset where the current line starts

    def more(self) -> bool:
        """Read the next piece; False at the end of the file."""
        if self.eof:
            return False
        piece = self._read(_READ_CHARACTERS)
        if not piece:
            self.eof = True
            return False
        if self.pos > _READ_CHARACTERS:  # drop what was read: memory stays a few pieces
            self._base += self.pos
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        self.buffer += piece
        return True

    def advance(self, to: int) -> None:
        """Move to offset `to` of the buffer, counting the lines passed."""
        newlines = self.buffer.count("\n", self.pos, to)
        if newlines:
            self.line += newlines
            self._line_start = self._base + self.buffer.rfind("\n", self.pos, to) + 1
        self.pos = to

    def column(self, at: int | None = None) -> int:
        """The 1-based column of buffer offset `at` (the current position by default)."""
        at = self.pos if at is None else at
        newline = self.buffer.rfind("\n", self.pos, at)
        start = self._base + newline + 1 if newline >= 0 else self._line_start
        return self._base + at - start + 1

    def broken(self, message: str, at: int | None = None) -> Exception:
        """``file_json_invalid`` at buffer offset `at` (the current position by default)."""
        line = self.line if at is None else self.line + self.buffer.count("\n", self.pos, at)
        return fatal(line, self.column(at), None, "file_json_invalid", message)

    def skip_space(self) -> str:
        """Skip whitespace; the next character ('' at the end of the file)."""
        while True:
            buffer, pos = self.buffer, self.pos
            end = len(buffer)
            while pos < end and buffer[pos] in " \t\r\n":
                pos += 1
            self.advance(pos)
            if pos < end:
                return buffer[pos]
            if not self.more():
                return ""


def _element(source: _JsonText) -> tuple[object, int]:
    """The JSON value at the current position and where it ends, reading on until it is whole.

    A number cut at the end of a piece would read short, so a value is whole only when text
    follows it (or the file ends).
    """
    while True:
        try:
            value, end = _DECODE(source.buffer, source.pos)
        except json.JSONDecodeError as error:
            if len(source.buffer) - source.pos > MAX_ROW_CHARACTERS or not source.more():
                raise source.broken(_json_error(error), error.pos) from None
            continue
        except RecursionError:
            raise source.broken(_json_error(RecursionError())) from None
        if end < len(source.buffer) or not source.more():
            if end - source.pos > MAX_ROW_CHARACTERS:
                raise source.broken(f"an element longer than {MAX_ROW_CHARACTERS:,} characters")
            return value, end


def read_json(text: IO[str], builder: Builder) -> Iterator[None]:
    """Rows of a file holding one JSON array of objects, read a piece at a time."""
    source = _JsonText(text)
    if source.skip_space() != "[":
        raise source.broken("a JSON file must hold one array of objects (expected '[')")
    source.advance(source.pos + 1)
    position = 0
    closed = source.skip_space() == "]"
    while not closed:
        if not source.skip_space():
            raise source.broken("the JSON array is not closed")
        builder.line = source.line
        value, end = _element(source)
        position += 1
        _add_object(builder, value, position, source.line)
        source.advance(end)
        if builder.full:
            yield
        following = source.skip_space()
        if following not in (",", "]"):
            raise source.broken("expected ',' or ']' after an element of the JSON array")
        closed = following == "]"
        if not closed:
            source.advance(source.pos + 1)
    source.advance(source.pos + 1)
    if source.skip_space():
        raise source.broken("data after the JSON array")


READERS: dict[Format, Callable[[IO[str], Builder], Iterator[None]]] = {
    "csv": read_csv,
    "json": read_json,
    "jsonl": read_jsonl,
}


def chunks(kind: Format, text: IO[str], builder: Builder, *, compressed: bool) -> Iterator[Chunk]:
    """The file's rows in chunks of at most the builder's batch size, in file order.

    A fatal problem (or a read that fails: a truncated gzip stream, an I/O error) raises only
    after the rows read before it were handed on.
    """
    rows = READERS[kind](text, builder)
    while True:
        try:
            next(rows)
        except StopIteration:
            if builder.pending:
                yield builder.take()
            return
        except InvalidRequestError:
            if builder.pending:
                yield builder.take()
            raise
        except (OSError, EOFError, zlib.error) as error:
            if builder.pending:
                yield builder.take()
            broken = compressed and isinstance(error, EOFError | zlib.error | gzip.BadGzipFile)
            raise unreadable(
                f"line {builder.line} of the {'gzip ' if compressed else ''}file",
                error,
                code="file_compression_invalid" if broken else "file_unreadable",
            ) from error
        yield builder.take()
