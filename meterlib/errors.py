"""The meterlib error hierarchy: every failure of the public API is a `MeterlibError`."""

from __future__ import annotations

from decimal import Decimal


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


_SHOWN_CHARACTERS = 40
_SHOWN_INT_BITS = 128


def describe(value: object) -> str:
    """A short description of any caller value for an error message, in bounded time.

    Never calls the value's own ``__repr__``/``__str__`` (a hostile or self-referencing object
    could raise or recurse) and never prints more than a few dozen characters of it.

    >>> describe("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (100 characters)"
    >>> describe(10**5000)
    'an int of 16610 bits'
    >>> describe([[1]])
    'a list'
    """
    if value is None or type(value) is bool:
        return repr(value)
    if isinstance(value, str):
        return _describe_text(str.__str__(value))
    if isinstance(value, int):
        number = int.__int__(value)
        bits = number.bit_length()
        return str(number) if bits <= _SHOWN_INT_BITS else f"an int of {bits} bits"
    if isinstance(value, float):
        return float.__repr__(value)
    if isinstance(value, Decimal):
        return f"Decimal({_describe_text(Decimal.__str__(value))})"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _describe_text(text: str) -> str:
    if len(text) <= _SHOWN_CHARACTERS:
        return repr(text)
    return f"{text[:_SHOWN_CHARACTERS]!r}... ({len(text)} characters)"
