"""``Idempotency-Key``: replays, conflicts, 24 hours, restarts and two servers on one store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import stripe

from meterlib import InvalidRequestError, ManualClock, Metering
from meterlib.server import StripeServer, running, stripe_client
from meterlib.storage import IdempotencyRecord
from tests.server.conftest import START, event_params, meter_params
from tests.sqlite.old_stores import write_old_store

NOON = 1_773_144_000
DAY = 86_400


def once(key: str) -> dict[str, str]:
    """SDK request options sending `key` as the Idempotency-Key."""
    return {"idempotency_key": key}


def test_the_same_key_and_body_replays_the_first_answer(served: StripeServer) -> None:
    """A retry with the key gets the first answer, marked replayed; the event counts once."""
    meter = served.client.v1.billing.meters.create(meter_params())
    first = served.client.v1.billing.meter_events.create(event_params(), once("k1"))
    again = served.client.v1.billing.meter_events.create(event_params(), once("k1"))
    assert again.identifier == first.identifier  # the generated identifier, replayed
    headers = again.last_response.headers
    assert headers["Idempotent-Replayed"] == "true"
    assert headers["Original-Request"] == first.last_response.request_id
    assert headers["Idempotency-Key"] == "k1"
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert served.metering.usage(meter.id, "cus_1", NOON, NOON + 1) == 25


def test_the_same_key_with_another_body_is_an_idempotency_error(served: StripeServer) -> None:
    """Reusing a key for other parameters raises the SDK's IdempotencyError (400), v1 and v2."""
    served.client.v1.billing.meters.create(meter_params())
    served.client.v1.billing.meter_events.create(event_params("1"), once("k2"))
    with pytest.raises(stripe.IdempotencyError) as v1:
        served.client.v1.billing.meter_events.create(event_params("2"), once("k2"))
    assert v1.value.http_status == 400
    assert v1.value.error is not None
    assert v1.value.error.type == "idempotency_error"
    served.client.v2.billing.meter_events.create(event_params("1"), once("k3"))
    with pytest.raises(stripe.IdempotencyError) as v2:
        served.client.v2.billing.meter_event_adjustments.create(
            {"event_name": "api_calls", "type": "cancel", "cancel": {"identifier": "x"}},
            once("k3"),
        )
    assert v2.value.http_status == 400


def test_a_failed_request_keeps_no_answer(served: StripeServer) -> None:
    """A 4xx is not kept: once the meter exists, the same key and body succeed."""
    with pytest.raises(stripe.InvalidRequestError):
        served.client.v1.billing.meter_events.create(event_params(), once("k4"))
    served.client.v1.billing.meters.create(meter_params())
    event = served.client.v1.billing.meter_events.create(event_params(), once("k4"))
    assert "Idempotent-Replayed" not in event.last_response.headers


def test_a_key_holds_for_24_hours_of_the_clock(served: StripeServer) -> None:
    """86,399 s later the key still conflicts; at 86,400 s it is free for a new request."""
    served.client.v1.billing.meters.create(meter_params("m1"), once("k5"))
    served.client.raw_request("post", "/_meterlib/clock/advance", seconds=DAY - 1)
    with pytest.raises(stripe.IdempotencyError):
        served.client.v1.billing.meters.create(meter_params("m2"), once("k5"))
    served.client.raw_request("post", "/_meterlib/clock/advance", seconds=1)
    meter = served.client.v1.billing.meters.create(meter_params("m2"), once("k5"))
    assert meter.event_name == "m2"


def test_keys_survive_a_restart_on_sqlite(tmp_path: Path) -> None:
    """A key answered before a restart replays after it, from the SQLite file."""
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    clock = ManualClock(START)
    with Metering(url, clock=clock) as metering, running(metering) as address:
        first = stripe_client(address).v1.billing.meters.create(meter_params(), once("k6"))
    with Metering(url, clock=clock) as metering, running(metering) as address:
        again = stripe_client(address).v1.billing.meters.create(meter_params(), once("k6"))
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"


def test_two_servers_on_one_store_share_their_keys(tmp_path: Path) -> None:
    """A key answered by one server replays from another serving the same SQLite file."""
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    with (
        Metering(url, clock=ManualClock(START)) as left,
        Metering(url, clock=ManualClock(START)) as right,
        running(left) as left_url,
        running(right) as right_url,
    ):
        made = stripe_client(left_url).v1.billing.meters.create(meter_params(), once("k7"))
        again = stripe_client(right_url).v1.billing.meters.create(meter_params(), once("k7"))
        with pytest.raises(stripe.IdempotencyError):
            stripe_client(right_url).v1.billing.meters.create(meter_params("x"), once("k7"))
    assert again.id == made.id


def test_a_key_over_255_characters_is_refused(served: StripeServer) -> None:
    """An Idempotency-Key longer than Stripe's 255 characters is an idempotency_error."""
    with pytest.raises(stripe.IdempotencyError) as raised:
        served.client.v1.billing.meters.create(meter_params(), once("k" * 256))
    assert raised.value.error is not None
    assert raised.value.error.code == "idempotency_key_invalid"


def test_the_stream_replays_without_recording_twice(served: StripeServer) -> None:
    """A stream call retried with its key records its events once."""
    meter = served.client.v1.billing.meters.create(meter_params())
    token = served.client.v2.billing.meter_event_session.create().authentication_token
    streamer = served.client_for(token)
    events = [event_params("3")]
    streamer.v2.billing.meter_event_stream.create({"events": events}, once("k8"))
    streamer.v2.billing.meter_event_stream.create({"events": events}, once("k8"))
    assert served.metering.usage(meter.id, "cus_1", NOON, NOON + 1) == 3


# --- the library service ------------------------------------------------------------------------


def respond_ok() -> tuple[int, str]:
    """An answer worth keeping."""
    return 200, "{}"


def test_a_key_in_use_is_a_409_until_it_answers() -> None:
    """While the first request runs, the same request with its key is idempotency_key_in_use."""
    m = Metering(clock=ManualClock(START))

    def reenter() -> tuple[int, str]:
        with pytest.raises(InvalidRequestError) as raised:
            m.idempotency_keys.run("busy", request="r", respond=respond_ok)
        assert (raised.value.http_status, raised.value.code) == (409, "idempotency_key_in_use")
        assert raised.value.type == "idempotency_error"
        return respond_ok()

    assert not m.idempotency_keys.run("busy", request="r", respond=reenter).replayed
    assert m.idempotency_keys.run("busy", request="r", respond=respond_ok).replayed


def test_an_abandoned_claim_is_taken_over_after_its_lease() -> None:
    """A claim whose process died (no answer) blocks its key for 60 seconds, then not."""
    clock = ManualClock(START)
    m = Metering(clock=clock)
    claim = IdempotencyRecord(key="lost", fingerprint="f", created=NOON)
    assert m.storage.claim_idempotency_key(claim, answered_after=0, pending_after=0) is None
    with pytest.raises(InvalidRequestError):
        m.idempotency_keys.run("lost", request="r", respond=respond_ok)
    clock.advance(60)
    assert not m.idempotency_keys.run("lost", request="r", respond=respond_ok).replayed


def test_a_raising_respond_releases_the_key() -> None:
    """If the call raises, nothing is kept and the key is free at once."""
    m = Metering(clock=ManualClock(START))

    def boom() -> tuple[int, str]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        m.idempotency_keys.run("k", request="r", respond=boom)
    assert not m.idempotency_keys.run("k", request="other", respond=respond_ok).replayed


def test_a_version_3_store_gains_the_idempotency_table(tmp_path: Path) -> None:
    """A store made by schema 3 migrates forward: its data kept, idempotency keys usable."""
    path = tmp_path / "old.db"
    made = write_old_store(path, 3)
    with Metering(f"sqlite:///{path}", clock=ManualClock(START)) as m:
        assert m.meters.retrieve(made[0].id) == made[0]
        answer = m.idempotency_keys.run("k", request="r", respond=respond_ok)
        assert (answer.status, json.loads(answer.response)) == (200, {})
    db = sqlite3.connect(path)
    try:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()
    assert {"idempotency_keys", "idempotency_keys_by_created"} <= names


def test_keys_are_not_sent_on_gets_and_gets_are_not_replayed(served: StripeServer) -> None:
    """A GET with an Idempotency-Key header runs anew: only POSTs are idempotent."""
    meter = served.client.v1.billing.meters.create(meter_params())
    first = served.client.v1.billing.meters.retrieve(
        meter.id, options={"headers": {"Idempotency-Key": "g"}}
    )
    served.client.v1.billing.meters.update(meter.id, {"display_name": "New"})
    again = served.client.v1.billing.meters.retrieve(
        meter.id, options={"headers": {"Idempotency-Key": "g"}}
    )
    assert (first.display_name, again.display_name) == ("API calls", "New")


def test_the_api_key_is_checked_before_any_replay(served: StripeServer) -> None:
    """A replay needs the API key: a wrong key with a used Idempotency-Key is a 401."""
    served.client.v1.billing.meters.create(meter_params(), once("k9"))
    with pytest.raises(stripe.AuthenticationError):
        stripe_client(served.url, "sk_test_other").v1.billing.meters.create(
            meter_params(), once("k9")
        )
