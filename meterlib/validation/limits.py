"""Every limit the rules enforce, named once: lengths, counts, windows and enums."""

from __future__ import annotations

from meterlib.timeutil import DAY, MINUTE, WINDOW_SECONDS

MAX_DISPLAY_NAME = 250
MAX_NAME = 100
"""Event names, identifiers and payload keys (Stripe's request limit)."""
MAX_ID = 5_000
"""Ids, cursors and a summary's ``customer`` (Stripe's limit for ids in paths and queries)."""
MAX_PAYLOAD_STRING = 100
"""Each payload value, the customer and the value included (Stripe's response schema caps them)."""
MAX_PAYLOAD_ENTRIES = 100
"""Entries in one payload: more is refused before any is read."""
MAX_BATCH = 100_000
"""Items in one ``create_many`` call."""
MAX_WINDOWS = 100_000
"""Windows in one ``usage_series`` call (11 years of hours)."""
MAX_SIGNIFICANT_DIGITS = 15
VALUE_EXPONENT_RANGE = 40
"""Values must not need digits beyond 10**±40, which keeps every sum exact (see aggregation)."""
PAST_LIMIT = 35 * DAY
FUTURE_LIMIT = 5 * MINUTE
IDENTIFIER_WINDOW = DAY
CANCEL_WINDOW = DAY
MAX_LIMIT = 100
SESSION_LIFETIME = 15 * MINUTE
"""How long a meter event session's token authenticates stream calls (Stripe: 15 minutes)."""
MAX_STREAM_EVENTS = 100
"""Events in one meter event stream call (Stripe: up to 100)."""
MAX_REPORT_SAMPLES = 5
"""Sample errors an error report keeps per code; its counts stay exact."""
MAX_EVENT_TYPES = 20
"""Event types one event log listing filters on (Stripe: up to 20)."""
MAX_PAGE_TOKEN = 16_000
"""A v2 ``page`` token: room for the longest query one can carry (an id and 20 types)."""
LOG_RETENTION = 30 * DAY
"""How long the event log keeps an event (Stripe keeps events 30 days)."""
IDEMPOTENCY_WINDOW = DAY
"""How long an ``Idempotency-Key`` replays its first answer (Stripe: 24 hours)."""
IDEMPOTENCY_LEASE = MINUTE
"""How long a claimed key whose request never answered (its process died) stays in use."""
MAX_IDEMPOTENCY_KEY = 255
"""Characters in an ``Idempotency-Key`` (Stripe: up to 255)."""
MAX_EXPAND = 5_000
"""Characters in one ``expand`` entry (Stripe's limit)."""
WINDOW_NAMES = tuple(WINDOW_SECONDS)
"""``event_time_window`` and ``value_grouping_window`` names: ``("hour", "day")``."""
METER_STATUSES = ("active", "inactive")
CUSTOMER_MAPPING_TYPES = ("by_id",)
ADJUSTMENT_TYPES = ("cancel",)
