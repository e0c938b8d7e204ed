"""Opening what an import reads and an export writes: paths or file objects, gzip, the format.

Inputs are read as bytes through a counter (so progress can say how far it got), decompressed
when they start with gzip's magic bytes, and decoded as UTF-8 with ``surrogateescape``: a byte
that is not UTF-8 becomes a lone surrogate, which every string rule of the ingest pipeline
refuses, so the bad row is rejected and the rest of the file still read.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any, BinaryIO, cast

import attrs

from meterlib.bulk.formats import GZIP_MAGIC, Format, format_from_name
from meterlib.errors import InvalidRequestError, describe
from meterlib.validation import fail

SNIFF_BYTES = 1 << 16
"""How much of an input is read ahead to tell its format when neither caller nor name says."""
_READ_SIZE = 1 << 16


def unreadable(
    what: str, error: BaseException, *, code: str = "file_unreadable", param: str = "source"
) -> InvalidRequestError:
    """``file_unreadable`` (or `code`): the file could not be opened or read, and why."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return InvalidRequestError(
        f"{what} could not be read: {reason or type(error).__name__}", code=code, param=param
    )


class _Counting(io.RawIOBase):
    """A raw stream over a caller's binary (or text) file that counts the bytes it gave."""

    def __init__(self, inner: Any, *, text: bool) -> None:
        super().__init__()
        self._inner = inner
        self._text = text
        self._pending = b""
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wanted = len(buffer)
        if self._text:  # a text file: its characters as UTF-8, bad ones kept as they were
            while not self._pending:
                text = self._inner.read(_READ_SIZE)
                if not text:
                    return 0
                self._pending = str(text).encode("utf-8", "surrogateescape")
            data, self._pending = self._pending[:wanted], self._pending[wanted:]
        else:
            data = self._inner.read(wanted)
            if not data:
                return 0
            if not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(f"read() gave {type(data).__name__}, not bytes")
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size


class _Prefixed(io.RawIOBase):
    """`head`, then the rest of `stream`: what was read ahead to sniff, put back in front."""

    def __init__(self, head: bytes, stream: Any) -> None:
        super().__init__()
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            data, self._head = self._head[: len(buffer)], self._head[len(buffer) :]
        else:
            data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def sniff(head: bytes) -> Format:
    r"""The format the first bytes of a (decompressed) file look like.

    A JSON array starts with ``[``, JSON Lines with ``{``; anything else is read as CSV.

    >>> sniff(b'\xef\xbb\xbf  [{"event_name": "api"}]'), sniff(b"timestamp,event_name\n")
    ('json', 'csv')
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        return "jsonl"
    return "csv"


@attrs.define
class Input:
    """An opened input: its decoded text, its format, and how many bytes it has given so far."""

    text: IO[str]
    format: Format
    compressed: bool
    _counter: _Counting

    @property
    def bytes_read(self) -> int:
        """Bytes read from the file itself (compressed ones, for a gzip file)."""
        return self._counter.count


def _name_of(source: object) -> str | None:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source) if isinstance(os.fspath(source), str) else None
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


@contextmanager
def open_input(source: object, format: Format | None) -> Iterator[Input]:
    """Open a path (str or `os.PathLike`) or use an open file (binary or text) to read.

    Raises ``file_unreadable`` when it cannot be opened, ``parameter_invalid_type`` for anything
    else. A path is closed afterwards; a caller's file is left open.
    """
    with ExitStack() as stack:
        if isinstance(source, str | os.PathLike):
            path = os.fspath(source)
            try:
                raw: Any = stack.enter_context(open(path, "rb"))
            except (OSError, ValueError) as error:
                raise unreadable(f"the file {describe(path)}", error) from error
            text_source = False
        elif callable(getattr(source, "read", None)):
            raw = source
            try:
                text_source = isinstance(raw.read(0), str)
            except Exception as error:  # the caller's own file object failed
                raise unreadable("the source", error) from error
        else:
            fail(
                f"source must be a path or a file opened for reading; got {describe(source)}",
                code="parameter_invalid_type",
                param="source",
            )
        counter = _Counting(raw, text=text_source)
        stream: Any = io.BufferedReader(counter, buffer_size=_READ_SIZE)
        compressed = False
        try:
            compressed = stream.peek(2)[:2] == GZIP_MAGIC
            if compressed:
                stream = gzip.GzipFile(fileobj=stream, mode="rb")
            named, _ = format_from_name(_name_of(source) or "")
            chosen = format or named
            if chosen is None:
                head = stream.read(SNIFF_BYTES)
                chosen = sniff(head)
                stream = io.BufferedReader(_Prefixed(head, stream), buffer_size=_READ_SIZE)
        except (OSError, EOFError, ValueError, zlib.error) as error:
            broken = compressed and isinstance(error, EOFError | zlib.error | gzip.BadGzipFile)
            raise unreadable(
                "line 1 of the gzip file" if broken else "the source",
                error,
                code="file_compression_invalid" if broken else "file_unreadable",
            ) from error
        text = io.TextIOWrapper(
            cast(BinaryIO, stream), encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        try:
            yield Input(text, chosen, compressed, counter)
        finally:
            text.detach()  # leave the caller's file open: only the wrappers go


def open_output(target: object, *, compress: bool) -> tuple[IO[str], Any]:
    """A text stream writing to a caller's file (binary or text); and what must be flushed.

    Paths are opened by the caller (`exporting` writes them atomically).
    """
    if not callable(getattr(target, "write", None)):
        fail(
            f"target must be a path or a file opened for writing; got {describe(target)}",
            code="parameter_invalid_type",
            param="target",
        )
    if isinstance(target, io.TextIOBase):
        if compress:
            fail(
                "gzip output needs a binary file (or a path); got a text file",
                code="parameter_invalid_type",
                param="target",
            )
        return cast(IO[str], target), None
    binary: Any = target
    if compress:
        binary = gzip.GzipFile(fileobj=binary, mode="wb", mtime=0)
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)
    return text, binary if compress else None
