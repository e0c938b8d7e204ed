"""Storage backends, chosen by URL: ``memory://``, ``sqlite:///path.db``, or your own scheme.

Third-party backends register a scheme in the entry-point group ``meterlib.storage`` with a
value ``"package.module:StorageClass"``; the class is called with the URL.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, NoReturn
from urllib.parse import SplitResult, urlsplit

from meterlib.errors import ConfigurationError, describe
from meterlib.storage.base import (
    EventRecord,
    IdempotencyRecord,
    LogRecord,
    MeterInactive,
    NewEvent,
    Point,
    SessionRecord,
    Storage,
    SummaryQuery,
    page_of,
)

__all__ = [
    "EventRecord",
    "IdempotencyRecord",
    "LogRecord",
    "MeterInactive",
    "NewEvent",
    "Point",
    "SessionRecord",
    "Storage",
    "SummaryQuery",
    "known_schemes",
    "page_of",
    "split_storage_url",
    "storage_from_url",
]

MAX_URL = 4_096
"""The longest storage URL accepted (PATH_MAX on Linux)."""

_BUILTIN_SCHEMES: dict[str, str] = {
    "memory": "meterlib.storage.memory:MemoryStorage",
    "sqlite": "meterlib.storage.sqlite:SQLiteStorage",
    "postgresql": "meterlib.storage.postgres:PostgresStorage",
    "postgres": "meterlib.storage.postgres:PostgresStorage",
}


def _schemes() -> dict[str, str]:
    schemes = dict(_BUILTIN_SCHEMES)
    for entry in entry_points(group="meterlib.storage"):
        schemes.setdefault(entry.name, entry.value)
    return schemes


def known_schemes() -> list[str]:
    """Every URL scheme a storage is registered for, built-in and from entry points."""
    return sorted(_schemes())


def storage_from_url(url: str) -> Storage:
    """Build the storage a URL names, importing its module only now.

    >>> storage_from_url("memory://")  # doctest: +ELLIPSIS
    <meterlib.storage.memory.MemoryStorage object at ...>
    """
    text = str.__str__(url) if isinstance(url, str) else ""
    if "://" not in text:
        _invalid_url(
            f"storage must be a URL such as 'memory://' or a Storage instance; got {describe(url)}"
        )
    url = text
    scheme = split_storage_url(url).scheme
    # built-in schemes first: reading every installed package's entry points costs milliseconds
    target = _BUILTIN_SCHEMES.get(scheme) or _schemes().get(scheme)
    if target is None:
        raise ConfigurationError(
            f"unknown storage scheme {scheme!r}; known schemes: {', '.join(known_schemes())}",
            code="storage_scheme_unknown",
            param="storage",
        )
    module_name, _, class_name = target.partition(":")
    factory: Any = getattr(importlib.import_module(module_name), class_name)
    return factory(url)  # type: ignore[no-any-return]


def split_storage_url(url: str) -> SplitResult:
    """A storage URL's parts, or ``storage_url_invalid``.

    Refused: too long, not text a file system takes (a NUL or a lone surrogate), or malformed
    (``memory://[::1``).

    >>> split_storage_url("sqlite:///usage.db?timeout=5").query
    'timeout=5'
    """
    if len(url) > MAX_URL:
        _invalid_url(f"storage URLs are at most {MAX_URL} characters; got {len(url)}")
    if "\x00" in url:
        _invalid_url("storage URLs must not contain NUL characters")
    try:
        url.encode("utf-8")
        return urlsplit(url)
    except (UnicodeEncodeError, ValueError) as error:
        _invalid_url(f"malformed storage URL {describe(url)}: {error}")


def _invalid_url(message: str) -> NoReturn:
    raise ConfigurationError(message, code="storage_url_invalid", param="storage")
