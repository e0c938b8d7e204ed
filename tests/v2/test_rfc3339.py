"""to_rfc3339: Stripe's v2 time strings, UTC with milliseconds and Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib.timeutil import to_rfc3339
from tests.v2 import schemas


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.integers(-14 * 60, 14 * 60).map(
            lambda minutes: timezone(timedelta(minutes=minutes))
        ),
    )
)
def test_any_aware_time_formats_and_parses_back(moment: datetime) -> None:
    """Any aware time gives the date-time pattern and parses back to itself, floored to ms."""
    text = to_rfc3339(moment)
    schemas.check(text, schemas.DATE_TIME)
    floored = moment - timedelta(microseconds=moment.microsecond % 1000)
    assert datetime.fromisoformat(text) == floored


def test_four_digit_years_and_trailing_zeros() -> None:
    """Years below 1000 are padded to four digits and whole seconds keep .000."""
    assert to_rfc3339(datetime(5, 1, 2, 3, 4, 5, tzinfo=UTC)) == "0005-01-02T03:04:05.000Z"


def test_naive_time_is_refused() -> None:
    """A naive datetime is a ValueError: it has no UTC meaning."""
    with pytest.raises(ValueError, match="aware"):
        to_rfc3339(datetime(2024, 6, 1))
