"""The storage conformance suite: every rule meterlib keeps, run against your backend.

A pytest suite shipped in the package, which a backend author runs as meterlib runs it on its
own memory, SQLite and PostgreSQL backends. Give it the backend through a ``storage_factory``
fixture in a pytest plugin (a fixture of a plugin is seen by every test, wherever its module
lives), then collect the suite from the installed package::

    # my_backend/conformance.py
    import pytest

    from my_backend import ListStorage


    @pytest.fixture(params=[pytest.param(lambda directory: ListStorage(), id="lists")])
    def storage_factory(request):
        return request.param

    # then: pytest -p my_backend.conformance --pyargs meterlib.testing.conformance

The fixture returns a `StorageFactory`: called with a fresh directory, it returns a storage
URL or a `meterlib.Storage` for an empty store there (called twice with one directory, a
durable backend must reopen the same store). The suite needs pytest and Hypothesis (the
``meterlib[testing]`` extra); importing `meterlib.testing` alone never imports it.
"""

from __future__ import annotations

from meterlib.testing.conformance.fixtures import StorageFactory

__all__ = ["StorageFactory"]
