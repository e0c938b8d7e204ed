"""Stripe's bulk file formats: names, columns, how a cell spells a time, derived identifiers.

These are rules of the file formats, not of meter events: what a column is called, how a CSV
cell writes a Unix time or a date. Whether the event those cells make is valid is the ingest
pipeline's business alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Final, Literal

from meterlib.validation import fail

Format = Literal["csv", "json", "jsonl"]
FORMATS: Final[tuple[Format, ...]] = ("csv", "json", "jsonl")
"""``csv``; ``json``, one array of objects; ``jsonl``, JSON Lines (one object a line)."""
SUFFIXES: Final[Mapping[str, Format]] = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
"""File name endings and the format they mean (after any ``.gz``)."""
GZIP_SUFFIX = ".gz"
GZIP_MAGIC = b"\x1f\x8b"

IDENTIFIER = "identifier"
TIMESTAMP = "timestamp"
EVENT_NAME = "event_name"
CANCELLED = "cancelled"
"""meterlib's own column: an export with ``include_cancelled`` marks cancelled rows ``true``."""
PAYLOAD_PREFIX = "payload_"
REQUIRED: Final[tuple[str, ...]] = (TIMESTAMP, EVENT_NAME)
"""Columns every file must have; ``identifier`` and the payload columns are optional."""
COLUMNS: Final[tuple[str, ...]] = (IDENTIFIER, TIMESTAMP, EVENT_NAME, CANCELLED)

MAX_ROW_CHARACTERS = 1 << 17
"""A row (a CSV record, a JSON Lines line, an element of a JSON array) longer than this is
refused unread: 131,072 characters, five times the longest valid event's row (100 payload
entries of 100 characters, and the rest), and `csv`'s own field limit."""
MAX_TIMESTAMP_DIGITS = 20
"""Longer digit strings are handed on as text (and refused as a time) rather than converted."""
IDENTIFIER_PREFIX = "mtrimp_"
"""Derived identifiers: this prefix and 32 hex digits."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def format_from_name(name: str) -> tuple[Format | None, bool]:
    """The format a file name says (None if it says none), and whether it ends in ``.gz``.

    >>> format_from_name("usage-2026-03.jsonl.gz")
    ('jsonl', True)
    >>> format_from_name("usage.txt")
    (None, False)
    """
    lowered = name.lower()
    compressed = lowered.endswith(GZIP_SUFFIX)
    if compressed:
        lowered = lowered[: -len(GZIP_SUFFIX)]
    for suffix, kind in SUFFIXES.items():
        if lowered.endswith(suffix):
            return kind, compressed
    return None, compressed


def validate_format(value: object, param: str = "format") -> Format:
    """A format name: ``csv``, ``json`` or ``jsonl``."""
    if isinstance(value, str) and str.__str__(value) in FORMATS:
        kind: Format = str.__str__(value)  # type: ignore[assignment]  # checked just above
        return kind
    fail(
        f"{param} must be one of {', '.join(FORMATS)}; got {value!r}"[:200],
        code="parameter_invalid_enum",
        param=param,
    )


def timestamp_input(text: str) -> object:
    """A file's timestamp text as the time input the ingest pipeline takes.

    Unix seconds (``1711656000``, ``-5``) become an int; a bare date (``2024-09-25``, as the
    Dashboard's uploads write it) the ISO-8601 time of its UTC midnight; anything else stays
    text, for the pipeline's own time rules (ISO-8601 with an offset, or an error).

    >>> timestamp_input("1711656000"), timestamp_input("2024-09-25")
    (1711656000, '2024-09-25T00:00:00Z')
    >>> timestamp_input("2024-09-25T12:00:00+02:00")
    '2024-09-25T12:00:00+02:00'
    """
    digits = text[1:] if text[:1] == "-" else text
    if digits.isascii() and digits.isdigit() and len(digits) <= MAX_TIMESTAMP_DIGITS:
        return int(text)
    if _DATE.fullmatch(text):
        return text + "T00:00:00Z"
    return text


def _canonical(value: object) -> object:
    """A value as the derived identifier hashes it: text and numbers as text.

    So the same row read from CSV (all text) and from JSON (numbers) gets the same identifier.
    """
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float) or type(value).__name__ == "Decimal":
        return str(value)
    return repr(value)


def derived_identifier(
    position: int, event_name: object, timestamp: object, payload: Mapping[str, object]
) -> str:
    """The identifier of a row that has none: a digest of the row and its place in the file.

    `position` is the row's number among the file's data rows (1 is the first). The same row
    at the same place gets the same identifier on every run, so a re-run finds it a duplicate;
    equal rows at different places stay distinct events.

    >>> derived_identifier(1, "api", 1711656000, {"value": "1", "stripe_customer_id": "c"})
    'mtrimp_96567cea5d8e916049de886f91b9e970'
    >>> derived_identifier(1, "api", 1711656000, {"stripe_customer_id": "c", "value": 1})
    'mtrimp_96567cea5d8e916049de886f91b9e970'
    """
    text = json.dumps(
        [
            position,
            _canonical(event_name),
            _canonical(timestamp),
            sorted((key, _canonical(value)) for key, value in payload.items()),
        ],
        ensure_ascii=True,
        default=repr,
    )
    digest = hashlib.blake2b(text.encode("ascii"), digest_size=16).hexdigest()
    return IDENTIFIER_PREFIX + digest
