"""The meterlib error hierarchy: every failure of the public API is a `MeterlibError`."""

from __future__ import annotations


class MeterlibError(Exception):
    """Base class of every error meterlib raises on purpose.

    Attributes mirror Stripe's error object: a human `message`, a machine `code`, the offending
    `param` (Stripe's bracket notation, e.g. ``payload[value]``) and the `http_status` Stripe
    would answer with.
    """

    http_status: int = 400

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        if http_status is not None:
            self.http_status = http_status

    def __str__(self) -> str:
        details = ", ".join(
            f"{name}={value}"
            for name, value in (("code", self.code), ("param", self.param))
            if value
        )
        return f"{self.message} ({details})" if details else self.message


class InvalidRequestError(MeterlibError):
    """A request was rejected: bad parameters, an unknown resource, or a broken rule."""


class ConfigurationError(MeterlibError):
    """meterlib was set up wrongly, e.g. with a storage URL whose scheme nobody registered."""


class StorageError(MeterlibError):
    """The storage backend failed (locked, corrupt or foreign file, driver error)."""

    http_status = 500
