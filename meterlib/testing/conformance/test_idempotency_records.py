"""Idempotency-key records on every backend: claim once, answer or release one's own, purge."""

from __future__ import annotations

from meterlib import Metering
from meterlib.storage import IdempotencyRecord


def test_storage_claims_answers_releases_and_purges(m: Metering) -> None:
    """Claim stores once, answer and release touch only their own claim, purge by created."""
    storage = m.storage
    claim = IdempotencyRecord(key="a", fingerprint="f", created=100)
    assert storage.claim_idempotency_key(claim, answered_after=0, pending_after=0) is None
    assert storage.claim_idempotency_key(claim, answered_after=0, pending_after=0) == claim
    stale = IdempotencyRecord(key="a", fingerprint="f", created=99)
    assert not storage.answer_idempotency_key(
        IdempotencyRecord(key="a", fingerprint="f", created=99, status=200, response="x")
    )
    assert not storage.release_idempotency_key(stale)
    answer = IdempotencyRecord(key="a", fingerprint="f", created=100, status=200, response="x")
    assert storage.answer_idempotency_key(answer)
    assert not storage.answer_idempotency_key(answer)  # no longer pending
    assert not storage.release_idempotency_key(claim)  # an answer is not a claim
    assert storage.claim_idempotency_key(claim, answered_after=99, pending_after=200) == answer
    newer = IdempotencyRecord(key="a", fingerprint="g", created=300)
    assert storage.claim_idempotency_key(newer, answered_after=100, pending_after=0) is None
    other = IdempotencyRecord(key="b", fingerprint="f", created=200)
    assert storage.claim_idempotency_key(other, answered_after=0, pending_after=0) is None
    assert storage.release_idempotency_key(other)
    assert storage.claim_idempotency_key(other, answered_after=0, pending_after=0) is None
    assert storage.purge_idempotency_keys(created_before=300) == 1
    assert storage.claim_idempotency_key(other, answered_after=0, pending_after=0) is None
    assert storage.purge_idempotency_keys(created_before=301) == 2
