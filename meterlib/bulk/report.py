"""What an import did: `ImportReport`, and `ImportRejection` for each row it turned away."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from meterlib.errors import InvalidRequestError
from meterlib.validation.limits import MAX_NAME

MAX_FIELD = len("payload_") + MAX_NAME
"""The longest field name a rejection keeps: a payload column of the longest key meterlib takes."""


def shown_field(name: str | None) -> str | None:
    r"""`name` as a rejection's field: None unless printable text no longer than `MAX_FIELD`.

    A field comes from the file itself (an unknown column's header), so it may be huge or not
    text at all; the message describes such a name, the field leaves it out.

    >>> shown_field("payload_value"), shown_field("x" * 200), shown_field("ex\udcfftra")
    ('payload_value', None, None)
    """
    if name is None or len(name) > MAX_FIELD or not name.isprintable():
        return None
    return name


def where(line: int, column: int | None, field: str | None) -> str:
    """``line 7, column 3 (payload_value)``: a place in a file, as errors and reports say it.

    >>> where(7, 3, "payload_value"), where(2, None, None)
    ('line 7, column 3 (payload_value)', 'line 2')
    """
    place = f"line {line}" if column is None else f"line {line}, column {column}"
    return place if field is None else f"{place} ({field})"


@attrs.frozen(kw_only=True)
class ImportRejection:
    """One row an import did not record, and why: where it is, Stripe-style code, message.

    >>> rejection = ImportRejection(line=3, column=5, field="payload_value",
    ...                             code="payload_invalid_value", message="not a number")
    >>> str(rejection)
    'line 3, column 5 (payload_value): not a number'
    """

    line: int
    """The line of the file the row starts on (1 is the first)."""
    column: int | None
    """The CSV column (1 is the first), or a JSON text's character column; None if unknown."""
    field: str | None = attrs.field(converter=shown_field)
    """The file's own name for what was wrong (``timestamp``, ``payload_value``), if one was
    and it is printable and short (`shown_field`)."""
    code: str
    message: str
    """What was wrong, without the place (`str` adds it)."""

    def __str__(self) -> str:
        return f"{where(self.line, self.column, self.field)}: {self.message}"

    def error(self) -> InvalidRequestError:
        """The `InvalidRequestError` a stopped import raises for this row.

        Its message names the place; its param is the file's field (``source`` for the file
        as a whole).
        """
        return InvalidRequestError(str(self), code=self.code, param=self.field or "source")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the fields."""
        return attrs.asdict(self)


def _frozen_counts(counts: Mapping[str, int]) -> Mapping[str, int]:
    """A read-only copy of counts by code, in code order."""
    return MappingProxyType(dict(sorted(counts.items())))


@attrs.frozen(kw_only=True)
class ImportReport:
    """What `Metering.import_events` did with a file's rows.

    Every row read is exactly one of: recorded, a duplicate (its identifier was received in
    the last 24 hours, by an earlier import or within this file), rejected, or skipped (an
    exported row marked cancelled).

    >>> report = ImportReport(rows=3, recorded=2, duplicates=1, rejected=0, skipped=0,
    ...                       rejected_by_code={}, rejections=())
    >>> report.ok, report.to_dict()["recorded"]
    (True, 2)
    """

    rows: int
    """Data rows read (blank lines and the header are not rows)."""
    recorded: int
    duplicates: int
    rejected: int
    skipped: int
    """Rows of an export with ``include_cancelled`` that are marked cancelled: not recorded."""
    rejected_by_code: Mapping[str, int]
    """How many rows each error code rejected, by code."""
    rejections: tuple[ImportRejection, ...]
    """The first rejected rows (at most `import_events`' ``max_rejections``), in file order."""

    @property
    def ok(self) -> bool:
        """Whether no row was rejected."""
        return self.rejected == 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the counts, ``rejected_by_code`` and the ``rejections``."""
        return {
            "rows": self.rows,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "rejected_by_code": dict(self.rejected_by_code),
            "rejections": [rejection.to_dict() for rejection in self.rejections],
        }


@attrs.define
class Tally:
    """The running counts of an import, made into an `ImportReport` at the end (or on progress)."""

    max_rejections: int
    rows: int = 0
    recorded: int = 0
    duplicates: int = 0
    skipped: int = 0
    by_code: dict[str, int] = attrs.field(factory=dict)
    rejections: list[ImportRejection] = attrs.field(factory=list)

    @property
    def rejected(self) -> int:
        """Rows rejected so far."""
        return sum(self.by_code.values())

    def reject(self, rejection: ImportRejection) -> None:
        """Count a rejected row, keeping it if fewer than `max_rejections` are kept.

        Callers reject in file order, so the kept ones are the first.
        """
        self.by_code[rejection.code] = self.by_code.get(rejection.code, 0) + 1
        if len(self.rejections) < self.max_rejections:
            self.rejections.append(rejection)

    def report(self) -> ImportReport:
        """The report of what was counted so far."""
        return ImportReport(
            rows=self.rows,
            recorded=self.recorded,
            duplicates=self.duplicates,
            rejected=self.rejected,
            skipped=self.skipped,
            rejected_by_code=_frozen_counts(self.by_code),
            rejections=tuple(self.rejections),
        )
