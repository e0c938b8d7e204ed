"""``m.idempotency_keys``: Stripe's ``Idempotency-Key``, kept in the storage for 24 hours.

The key's first request runs; its successful answer is stored and replayed to every later
request with the same key and parameters for `IDEMPOTENCY_WINDOW`; another request with the key
is an ``idempotency_error``. Keys live in the storage, so they hold across a restart and across
the processes sharing a durable store. ``meterlib.server`` calls this for every POST.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from meterlib import validation as rules
from meterlib.context import Context
from meterlib.storage import IdempotencyRecord


@attrs.frozen(kw_only=True)
class IdempotentAnswer:
    """What a request gets: the answer's status and text, and whether it was replayed."""

    status: int
    response: str
    replayed: bool


class IdempotencyKeys:
    """Run each request once per key; replay its answer to the same request for 24 hours.

    >>> from meterlib import Metering
    >>> m = Metering()
    >>> runs = []
    >>> def respond():
    ...     runs.append(1)
    ...     return 200, '{"ok": true}'
    >>> first = m.idempotency_keys.run("key-1", request="POST /x a=1", respond=respond)
    >>> again = m.idempotency_keys.run("key-1", request="POST /x a=1", respond=respond)
    >>> again.response, again.replayed, len(runs)
    ('{"ok": true}', True, 1)
    """

    def __init__(self, context: Context) -> None:
        self._context = context
        self._purged_at: int | None = None

    def run(
        self, key: object, *, request: str, respond: Callable[[], tuple[int, str]]
    ) -> IdempotentAnswer:
        """Answer `request` under `key`: replay the key's stored answer, or `respond` and keep it.

        `request` describes the call (method, path, parameters) so a key reused for another
        one is caught: ``idempotency_error`` (400). A key whose first request is still running
        is ``idempotency_key_in_use`` (409). `respond` returns ``(status, text)``; a 2xx answer
        is kept (`is_replayed`), any other is not, nor is anything when `respond` raises.
        Records older than 24 hours are purged as keys are claimed. O(log n) storage calls.
        """
        valid = rules.validate_idempotency_key(key)
        fingerprint = rules.request_fingerprint(request)
        context = self._context
        with context.lock:
            now = context.now()
            if self._purged_at != now:
                context.storage.purge_idempotency_keys(
                    created_before=now - rules.IDEMPOTENCY_WINDOW
                )
                self._purged_at = now
            claim = IdempotencyRecord(key=valid, fingerprint=fingerprint, created=now)
            found = context.storage.claim_idempotency_key(
                claim,
                answered_after=now - rules.IDEMPOTENCY_WINDOW,
                pending_after=now - rules.IDEMPOTENCY_LEASE,
            )
        if found is not None:
            rules.check_replay(found, fingerprint)
            return IdempotentAnswer(
                status=int(found.status or 0), response=found.response or "", replayed=True
            )
        try:
            status, response = respond()
        except BaseException:
            with context.lock:
                context.storage.release_idempotency_key(claim)
            raise
        with context.lock:
            if rules.is_replayed(status):
                context.storage.answer_idempotency_key(
                    attrs.evolve(claim, status=status, response=response)
                )
            else:
                context.storage.release_idempotency_key(claim)
        return IdempotentAnswer(status=status, response=response, replayed=False)
