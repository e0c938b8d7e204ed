"""`UsageSeries`: what ``m.usage_series`` returns, every window's ``(window_start, value)``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import final, overload


@final
class UsageSeries(Sequence[tuple[int, Decimal]]):
    """Every window's ``(window_start, value)``, in time order: a read-only sequence of pairs.

    A pair is built only when it is read, and iterating with unpacking (``for start, value in
    series``) builds none, so a 720-window series costs its values alone. `starts` and
    `values` give the two columns. A series equals any list or tuple of the same pairs.

    >>> series = UsageSeries(range(0, 7200, 3600), [Decimal("1"), Decimal("0")])
    >>> series
    [(0, Decimal('1')), (3600, Decimal('0'))]
    >>> series == [(0, Decimal("1")), (3600, Decimal("0"))], series[-1], series.values
    (True, (3600, Decimal('0')), (Decimal('1'), Decimal('0')))
    """

    __slots__ = ("_starts", "_values")

    def __init__(self, starts: Sequence[int], values: Sequence[Decimal]) -> None:
        if len(starts) != len(values):
            msg = f"{len(starts)} window starts for {len(values)} values"
            raise ValueError(msg)
        self._starts = starts
        self._values = values  # the caller's own list, handed over: never written to

    @property
    def starts(self) -> tuple[int, ...]:
        """Each window's start, in Unix seconds."""
        return tuple(self._starts)

    @property
    def values(self) -> tuple[Decimal, ...]:
        """Each window's aggregated value."""
        return tuple(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> tuple[int, Decimal]: ...

    @overload
    def __getitem__(self, index: slice) -> UsageSeries: ...

    def __getitem__(self, index: int | slice) -> tuple[int, Decimal] | UsageSeries:
        if isinstance(index, slice):
            return UsageSeries(self._starts[index], self._values[index])
        return self._starts[index], self._values[index]

    def __iter__(self) -> Iterator[tuple[int, Decimal]]:
        return zip(self._starts, self._values, strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UsageSeries | list | tuple):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        return repr(list(self))
