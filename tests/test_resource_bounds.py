"""Every call, valid or not, answers in bounded time and memory: measured in a fresh process.

Each case runs its set-up, then the measured call, in a child interpreter that reports the
call's wall time and how far it raised the process's peak RSS. The limits are far below what
the unbounded code took (seconds and hundreds of MB, issue 12) and far above what the bounded
code takes, so the machine's noise does not decide.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

CHILD = """
import json, time
from datetime import datetime, timezone
from meterlib import ManualClock, Metering, MeterlibError
def peak_kib():  # this process's own high-water RSS (ru_maxrss counts the parent's at fork)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
clock = ManualClock(datetime(2026, 3, 10, tzinfo=timezone.utc))
m = Metering(storage={storage!r}, clock=clock)
meter = m.meters.create(
    display_name="x", event_name="api", default_aggregation={{"formula": "sum"}}
)
for hour in range(48):
    m.record("api", customer="c1", value=1, timestamp=1773100800 - hour * 3600)
{setup}
peak = peak_kib()
begin = time.perf_counter()
try:
    outcome = repr({call})[:80]
except MeterlibError as error:
    outcome = error.code
seconds = time.perf_counter() - begin
grown = peak_kib() - peak
print(json.dumps({{"seconds": seconds, "grown_mib": grown / 1024, "outcome": outcome}}))
"""

YEAR = 365 * 86_400

SERIES = 'm.usage_series(meter.id, "c1", {start}, {end}, value_grouping_window="hour")'
PAYLOAD = '{"stripe_customer_id": "c", "value": "1", "note": LONG}'
CASES = {
    "value of 10**7 characters": (
        "",
        'm.record("api", customer="c1", value=LONG)',
        "payload_invalid_value",
    ),
    "value of 3,000,000 bits": (
        "",
        'm.record("api", customer="c1", value=2**3_000_000)',
        "payload_invalid_value",
    ),
    "payload entry of 10**7 characters": (
        "",
        f'm.meter_events.create(event_name="api", payload={PAYLOAD})',
        "parameter_invalid_string_length",
    ),
    "timestamp of 10**7 characters": (
        "",
        'm.record("api", customer="c1", value=1, timestamp=LONG)',
        "parameter_invalid_timestamp",
    ),
    "meter id of 10**7 characters": (
        "",
        "m.meters.retrieve(LONG)",
        "parameter_invalid_string_length",
    ),
    "batch of 100,001": (
        "batch = [{}] * 100_001",
        "m.meter_events.create_many(batch)",
        "parameter_invalid_length",
    ),
    "series of 1,000 years by hour": (
        "",
        SERIES.format(start=0, end=1000 * YEAR),
        "parameter_invalid_range",
    ),
    "series of 100,000 hours": (
        "",
        f"len({SERIES.format(start=1773100800 - 99_999 * 3600, end=1773104400)})",
        "100000",
    ),
    "usage over 8,000 years": ("", f'm.usage(meter.id, "c1", 0, {8000 * YEAR})', "Decimal('48')"),
    "summary over 8,000 years": (
        "",
        'm.meters.list_event_summaries(meter.id, customer="c1", start_time=0, '
        f"end_time={8000 * YEAR}).data[0].aggregated_value",
        "Decimal('48')",
    ),
}


@pytest.mark.parametrize("storage", ["memory://", "sqlite://"])
@pytest.mark.parametrize(("setup", "call", "outcome"), CASES.values(), ids=CASES)
def test_bounded_time_and_memory(storage: str, setup: str, call: str, outcome: str) -> None:
    """The call answers (or refuses) in under a second, growing the peak RSS by under 64 MiB."""
    script = CHILD.format(storage=storage, setup=f'LONG = "1" * 10**7\n{setup}', call=call)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)
    assert measured["outcome"] == outcome
    assert measured["seconds"] < 1.0, measured
    assert measured["grown_mib"] < 64, measured
