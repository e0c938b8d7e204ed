"""Re-runs record nothing twice: derived identifiers, and the 24-hour window that bounds them."""

from __future__ import annotations

import io
import json

from meterlib import ManualClock, Metering
from tests.files.conftest import NOW, stored_count, total

NO_IDS = "timestamp,event_name,payload_stripe_customer_id,payload_value\n"


def test_a_rerun_records_nothing_twice(m: Metering) -> None:
    """The same file again: every row is a duplicate, with or without identifiers."""
    text = NO_IDS + f"{NOW},api,cus_1,1\n{NOW},api,cus_1,2\n"
    first = m.import_events(io.StringIO(text))
    again = m.import_events(io.StringIO(text))
    assert (first.recorded, again.recorded, again.duplicates) == (2, 0, 2)
    assert total(m) == 3


def test_equal_rows_at_different_places_are_different_events(memory: Metering) -> None:
    """Two identical rows are two events (two calls in one second), and stay two on a re-run."""
    text = NO_IDS + f"{NOW},api,cus_1,1\n" * 2
    assert memory.import_events(io.StringIO(text)).recorded == 2
    assert memory.import_events(io.StringIO(text)).duplicates == 2


def test_derived_identifiers_do_not_depend_on_the_format(memory: Metering) -> None:
    """The same rows as CSV and as JSON Lines derive the same identifiers (numbers or text)."""
    memory.import_events(io.StringIO(NO_IDS + f"{NOW},api,cus_1,5\n"))
    row = {"timestamp": NOW, "event_name": "api", "payload_stripe_customer_id": "cus_1"}
    again = memory.import_events(io.StringIO(json.dumps({**row, "payload_value": 5}) + "\n"))
    assert again.duplicates == 1
    (event,) = memory.storage.list_events(limit=10)
    assert event.identifier.startswith("mtrimp_")


def test_given_identifiers_are_kept(memory: Metering) -> None:
    """A row's own identifier is the event's, and an empty cell means none."""
    header = "identifier," + NO_IDS
    memory.import_events(io.StringIO(header + f"req_9,{NOW},api,cus_1,1\n,{NOW},api,cus_1,1\n"))
    identifiers = [event.identifier for event in memory.storage.list_events(limit=10)]
    assert identifiers[0] == "req_9"
    assert identifiers[1].startswith("mtrimp_")


def test_after_24_hours_a_rerun_records_again(clock: ManualClock) -> None:
    """Identifiers are unique for 24 hours of receipt: a re-run a day later records again."""
    with Metering(clock=clock) as metering:
        metering.meters.create(
            display_name="API", event_name="api", default_aggregation={"formula": "sum"}
        )
        text = NO_IDS + f"{NOW},api,cus_1,1\n"
        metering.import_events(io.StringIO(text))
        clock.advance(86_399)
        assert metering.import_events(io.StringIO(text)).duplicates == 1
        clock.advance(1)
        assert metering.import_events(io.StringIO(text)).recorded == 1
        assert stored_count(metering) == 2
