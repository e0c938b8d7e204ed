"""Storage backends, chosen by URL: ``memory://``, ``sqlite:///path.db``, or your own scheme.

Third-party backends register a scheme in the entry-point group ``meterlib.storage`` with a
value ``"package.module:StorageClass"``; the class is called with the URL.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import urlsplit

from meterlib.errors import ConfigurationError
from meterlib.storage.base import EventRecord, NewEvent, Point, Storage

__all__ = ["EventRecord", "NewEvent", "Point", "Storage", "known_schemes", "storage_from_url"]

_BUILTIN_SCHEMES: dict[str, str] = {
    "memory": "meterlib.storage.memory:MemoryStorage",
    "sqlite": "meterlib.storage.sqlite:SQLiteStorage",
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
    if not isinstance(url, str) or "://" not in url:
        raise ConfigurationError(
            f"storage must be a URL such as 'memory://' or a Storage instance; got {url!r}",
            code="storage_url_invalid",
            param="storage",
        )
    scheme = urlsplit(url).scheme
    target = _schemes().get(scheme)
    if target is None:
        raise ConfigurationError(
            f"unknown storage scheme {scheme!r}; known schemes: {', '.join(known_schemes())}",
            code="storage_scheme_unknown",
            param="storage",
        )
    module_name, _, class_name = target.partition(":")
    factory: Any = getattr(importlib.import_module(module_name), class_name)
    return factory(url)  # type: ignore[no-any-return]
