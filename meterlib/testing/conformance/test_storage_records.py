"""The v2 storage records on every backend: meter event sessions and the event log."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib import Metering, StorageError
from meterlib.storage import LogRecord, SessionRecord, Storage

TYPES = ("billing.meter.created", "v1.billing.meter.error_report_triggered", "v1.billing.x")
"""The event types the tests use; the third is rarer in the property below."""
CREATED, ERROR, OTHER = TYPES


def session(number: int, *, expires_at: int = 2_000) -> SessionRecord:
    """Session `number`: id ``mes_<number>``, token ``tok_<number>``."""
    return SessionRecord(
        id=f"mes_{number}", token=f"tok_{number}", created=1_000, expires_at=expires_at
    )


def entry(number: int, kind: str = CREATED, *, created: int = 1_000) -> LogRecord:
    """Log entry `number`: id ``evt_<number>``, a small JSON body naming it."""
    return LogRecord(id=f"evt_{number}", type=kind, created=created, body=f'{{"n": {number}}}')


def ids(page: tuple[Sequence[LogRecord], bool] | None) -> tuple[list[str], bool] | None:
    """A page's entry ids and has_more (None stays None)."""
    return None if page is None else ([record.id for record in page[0]], page[1])


def whole_log(storage: Storage) -> list[LogRecord]:
    """Every entry, newest first."""
    page = storage.list_log_events(limit=10_000)
    assert page is not None
    return list(page[0])


# --- sessions ------------------------------------------------------------------------------


def test_an_added_session_is_found_by_its_token(m: Metering) -> None:
    """find_session returns the stored session, field for field."""
    m.storage.add_session(session(1))
    assert m.storage.find_session("tok_1") == session(1)


def test_an_unknown_token_finds_no_session(m: Metering) -> None:
    """A token nobody stored finds None, also in an empty store."""
    assert m.storage.find_session("tok_1") is None
    m.storage.add_session(session(1))
    assert m.storage.find_session("tok_2") is None
    assert m.storage.find_session("mes_1") is None  # an id is not a token


def test_an_expired_session_is_found_until_purged(m: Metering) -> None:
    """Storage applies no expiry rule: a session is found until purge_sessions deletes it."""
    m.storage.add_session(session(1, expires_at=10))
    assert m.storage.find_session("tok_1") == session(1, expires_at=10)


@pytest.mark.parametrize(
    "clash",
    [
        SessionRecord(id="mes_9", token="tok_1", created=5, expires_at=9),
        SessionRecord(id="mes_1", token="tok_9", created=5, expires_at=9),
    ],
    ids=["token", "id"],
)
def test_a_taken_token_or_id_is_a_conflict_and_stores_nothing(
    m: Metering, clash: SessionRecord
) -> None:
    """A session whose token or id is stored already: storage_conflict, the first one kept."""
    m.storage.add_session(session(1))
    with pytest.raises(StorageError) as raised:
        m.storage.add_session(clash)
    assert raised.value.code == "storage_conflict"
    assert m.storage.find_session("tok_1") == session(1)
    assert m.storage.find_session("tok_9") is None
    assert m.storage.purge_sessions(expired_by=10**10) == 1


def test_purge_deletes_the_sessions_expired_by_the_time_boundary_included(m: Metering) -> None:
    """purge_sessions deletes expires_at <= expired_by (the boundary too) and counts them."""
    for number, expires_at in enumerate((300, 100, 200, 201)):
        m.storage.add_session(session(number, expires_at=expires_at))
    assert m.storage.purge_sessions(expired_by=200) == 2
    assert [m.storage.find_session(f"tok_{number}") is None for number in range(4)] == [
        False,
        True,
        True,
        False,
    ]
    assert m.storage.purge_sessions(expired_by=200) == 0
    assert m.storage.purge_sessions(expired_by=300) == 2


def test_a_purged_sessions_token_and_id_are_free_again(m: Metering) -> None:
    """After a purge the same token and id can be stored again."""
    m.storage.add_session(session(1, expires_at=5))
    m.storage.purge_sessions(expired_by=5)
    m.storage.add_session(session(1, expires_at=50))
    assert m.storage.find_session("tok_1") == session(1, expires_at=50)


# --- the event log: appending and listing ----------------------------------------------------


def test_an_empty_log_lists_nothing(m: Metering) -> None:
    """A new store's log is an empty page without more, filtered or not."""
    assert m.storage.list_log_events(limit=10) == ([], False)
    assert m.storage.list_log_events(limit=10, types=frozenset({CREATED})) == ([], False)


def test_the_log_lists_newest_received_first_whatever_created_says(m: Metering) -> None:
    """Entries list in reverse order of receipt (batch order, then later batches), not created."""
    m.storage.add_log_events([entry(1, created=50), entry(2, created=10), entry(3, created=30)])
    m.storage.add_log_events([entry(4, created=5)])
    m.storage.add_log_events([entry(5, created=99), entry(6, created=1)])
    assert ids(m.storage.list_log_events(limit=10)) == (
        ["evt_6", "evt_5", "evt_4", "evt_3", "evt_2", "evt_1"],
        False,
    )


def test_an_empty_batch_stores_nothing(m: Metering) -> None:
    """add_log_events([]) is accepted and changes nothing."""
    m.storage.add_log_events([entry(1)])
    m.storage.add_log_events([])
    assert ids(m.storage.list_log_events(limit=10)) == (["evt_1"], False)


def test_limit_and_has_more(m: Metering) -> None:
    """The first page holds `limit` entries; has_more says whether older ones remain."""
    m.storage.add_log_events([entry(number) for number in range(3)])
    assert ids(m.storage.list_log_events(limit=2)) == (["evt_2", "evt_1"], True)
    assert ids(m.storage.list_log_events(limit=3)) == (["evt_2", "evt_1", "evt_0"], False)
    assert ids(m.storage.list_log_events(limit=4)) == (["evt_2", "evt_1", "evt_0"], False)


def test_starting_after_pages_towards_older_entries(m: Metering) -> None:
    """starting_after gives the `limit` entries received just before the cursor, and has_more."""
    m.storage.add_log_events([entry(number) for number in range(5)])
    assert ids(m.storage.list_log_events(limit=2, starting_after="evt_4")) == (
        ["evt_3", "evt_2"],
        True,
    )
    assert ids(m.storage.list_log_events(limit=2, starting_after="evt_2")) == (
        ["evt_1", "evt_0"],
        False,
    )
    assert ids(m.storage.list_log_events(limit=2, starting_after="evt_0")) == ([], False)


def test_ending_before_pages_towards_newer_entries(m: Metering) -> None:
    """ending_before gives the `limit` entries just newer than the cursor, newest first."""
    m.storage.add_log_events([entry(number) for number in range(5)])
    assert ids(m.storage.list_log_events(limit=2, ending_before="evt_0")) == (
        ["evt_2", "evt_1"],
        True,
    )
    assert ids(m.storage.list_log_events(limit=2, ending_before="evt_2")) == (
        ["evt_4", "evt_3"],
        False,
    )
    assert ids(m.storage.list_log_events(limit=2, ending_before="evt_4")) == ([], False)


def test_a_type_filter_lists_only_those_types_newest_first(m: Metering) -> None:
    """A filter keeps the entries of its types, in the same order, merged across the types."""
    kinds = [CREATED, ERROR, OTHER, ERROR, CREATED, OTHER, ERROR]
    m.storage.add_log_events([entry(number, kind) for number, kind in enumerate(kinds)])
    assert ids(m.storage.list_log_events(limit=10, types=frozenset({ERROR}))) == (
        ["evt_6", "evt_3", "evt_1"],
        False,
    )
    assert ids(m.storage.list_log_events(limit=3, types=frozenset({CREATED, OTHER}))) == (
        ["evt_5", "evt_4", "evt_2"],
        True,
    )
    assert ids(m.storage.list_log_events(limit=10, types=frozenset(TYPES))) == (
        [f"evt_{number}" for number in reversed(range(7))],
        False,
    )


def test_cursors_page_within_the_type_filter(m: Metering) -> None:
    """Both cursors count only the entries of the filtered types."""
    kinds = [CREATED, ERROR, CREATED, ERROR, CREATED, ERROR]
    m.storage.add_log_events([entry(number, kind) for number, kind in enumerate(kinds)])
    errors = frozenset({ERROR})
    assert ids(m.storage.list_log_events(limit=1, starting_after="evt_5", types=errors)) == (
        ["evt_3"],
        True,
    )
    assert ids(m.storage.list_log_events(limit=1, ending_before="evt_1", types=errors)) == (
        ["evt_3"],
        True,
    )
    assert ids(m.storage.list_log_events(limit=5, ending_before="evt_1", types=errors)) == (
        ["evt_5", "evt_3"],
        False,
    )


@pytest.mark.parametrize("types", [frozenset(), frozenset({"v2.never.seen"})], ids=repr)
def test_a_filter_no_entry_matches_lists_nothing(m: Metering, types: frozenset[str]) -> None:
    """An empty set of types, or only types never stored, is an empty page."""
    m.storage.add_log_events([entry(1), entry(2, ERROR)])
    assert m.storage.list_log_events(limit=10, types=types) == ([], False)


def page_from(
    storage: Storage, cursor: str, value: str, *, types: frozenset[str] | None = None
) -> tuple[Sequence[LogRecord], bool] | None:
    """`list_log_events` with `value` as the cursor named `cursor`."""
    after = value if cursor == "starting_after" else None
    before = value if cursor == "ending_before" else None
    return storage.list_log_events(
        limit=10, starting_after=after, ending_before=before, types=types
    )


@pytest.mark.parametrize("cursor", ["starting_after", "ending_before"])
def test_an_unknown_cursor_is_none(m: Metering, cursor: str) -> None:
    """A cursor that is no entry's id gives None, filtered or not."""
    m.storage.add_log_events([entry(1)])
    assert page_from(m.storage, cursor, "evt_nope") is None
    assert page_from(m.storage, cursor, "evt_2", types=frozenset(TYPES)) is None


@pytest.mark.parametrize("cursor", ["starting_after", "ending_before"])
def test_a_cursor_of_a_filtered_out_type_is_none(m: Metering, cursor: str) -> None:
    """A cursor that is an entry, but not of the requested types, gives None."""
    m.storage.add_log_events([entry(1, CREATED), entry(2, ERROR), entry(3, CREATED)])
    assert page_from(m.storage, cursor, "evt_2", types=frozenset({CREATED})) is None
    assert page_from(m.storage, cursor, "evt_2", types=frozenset()) is None
    assert page_from(m.storage, cursor, "evt_2", types=frozenset({ERROR})) == ([], False)


def test_starting_after_wins_when_both_cursors_are_given(m: Metering) -> None:
    """With both cursors (the API refuses that first), storage pages from starting_after."""
    m.storage.add_log_events([entry(number) for number in range(4)])
    assert ids(m.storage.list_log_events(limit=1, starting_after="evt_2", ending_before="x")) == (
        ["evt_1"],
        True,
    )


# --- the event log: reading by id, retention ------------------------------------------------


def test_get_returns_the_entry_with_its_body_as_given(m: Metering) -> None:
    """get_log_event returns the stored record; the body text comes back byte for byte."""
    odd = LogRecord(
        id="evt_odd", type=ERROR, created=7, body='{ "b":1,\n  "a": "é\\u00e9 😀" ,"z":[ ] }'
    )
    m.storage.add_log_events([entry(1), odd])
    assert m.storage.get_log_event("evt_odd") == odd
    assert m.storage.get_log_event("evt_1") == entry(1)
    assert whole_log(m.storage) == [odd, entry(1)]


def test_get_of_an_unknown_id_is_none(m: Metering) -> None:
    """An id no entry has gives None."""
    assert m.storage.get_log_event("evt_1") is None
    m.storage.add_log_events([entry(1)])
    assert m.storage.get_log_event("evt_2") is None


def test_purge_deletes_entries_created_before_the_boundary_and_keeps_it(m: Metering) -> None:
    """purge_log_events deletes created < created_before (created == created_before kept)."""
    createds = [300, 100, 200, 199, 50, 201]
    m.storage.add_log_events(
        [entry(number, created=created) for number, created in enumerate(createds)]
    )
    assert m.storage.purge_log_events(created_before=200) == 3
    assert ids(m.storage.list_log_events(limit=10)) == (["evt_5", "evt_2", "evt_0"], False)
    assert [m.storage.get_log_event(f"evt_{number}") is None for number in range(6)] == [
        False,
        True,
        False,
        True,
        True,
        False,
    ]
    assert m.storage.purge_log_events(created_before=200) == 0


def test_purged_entries_leave_every_list_and_cursor(m: Metering) -> None:
    """After a purge, filtered lists skip the purged entries and their ids are no cursors."""
    m.storage.add_log_events(
        [entry(number, (CREATED, ERROR)[number % 2], created=number) for number in range(6)]
    )
    m.storage.purge_log_events(created_before=3)
    errors = frozenset({ERROR})
    assert ids(m.storage.list_log_events(limit=10, types=errors)) == (["evt_5", "evt_3"], False)
    assert m.storage.list_log_events(limit=10, starting_after="evt_1") is None
    assert m.storage.list_log_events(limit=10, ending_before="evt_1", types=errors) is None
    assert ids(m.storage.list_log_events(limit=1, ending_before="evt_3", types=errors)) == (
        ["evt_5"],
        False,
    )


def test_entries_added_after_purging_the_newest_still_list_first(m: Metering) -> None:
    """Purging the newest entries does not let later ones list behind older survivors."""
    m.storage.add_log_events([entry(1, created=500), entry(2, created=10), entry(3, created=10)])
    assert m.storage.purge_log_events(created_before=100) == 2
    m.storage.add_log_events([entry(4, created=10)])
    assert ids(m.storage.list_log_events(limit=10)) == (["evt_4", "evt_1"], False)
    assert ids(m.storage.list_log_events(limit=10, types=frozenset({CREATED}))) == (
        ["evt_4", "evt_1"],
        False,
    )


def test_a_purged_entrys_id_can_be_stored_again(m: Metering) -> None:
    """Retention frees ids: a purged entry's id is accepted again, as the newest entry."""
    m.storage.add_log_events([entry(1, created=1), entry(2, created=900)])
    m.storage.purge_log_events(created_before=100)
    m.storage.add_log_events([entry(1, created=950)])
    assert ids(m.storage.list_log_events(limit=10)) == (["evt_1", "evt_2"], False)


# --- the event log: duplicate ids ------------------------------------------------------------


def test_a_batch_whose_third_record_repeats_a_stored_id_stores_none_of_it(m: Metering) -> None:
    """A stored id in a batch: storage_conflict, and none of the batch is stored."""
    m.storage.add_log_events([entry(1), entry(2, ERROR)])
    before = whole_log(m.storage)
    with pytest.raises(StorageError) as raised:
        m.storage.add_log_events([entry(3), entry(4, ERROR), entry(1, OTHER), entry(5)])
    assert raised.value.code == "storage_conflict"
    assert whole_log(m.storage) == before
    assert [m.storage.get_log_event(f"evt_{number}") for number in (3, 4, 5)] == [None] * 3
    assert m.storage.get_log_event("evt_1") == entry(1)
    assert m.storage.list_log_events(limit=10, types=frozenset({OTHER})) == ([], False)
    assert m.storage.list_log_events(limit=10, starting_after="evt_3") is None


def test_a_batch_repeating_an_id_within_itself_stores_none_of_it(m: Metering) -> None:
    """Two records with one id in the same batch: storage_conflict, nothing stored."""
    with pytest.raises(StorageError) as raised:
        m.storage.add_log_events([entry(1), entry(2), entry(1, ERROR)])
    assert raised.value.code == "storage_conflict"
    assert m.storage.list_log_events(limit=10) == ([], False)
    assert m.storage.get_log_event("evt_2") is None


def test_the_log_works_on_after_a_refused_batch(m: Metering) -> None:
    """After a refused batch, later batches are stored and list after the earlier entries."""
    m.storage.add_log_events([entry(1)])
    with pytest.raises(StorageError):
        m.storage.add_log_events([entry(2), entry(1)])
    m.storage.add_log_events([entry(2), entry(3, ERROR)])
    assert ids(m.storage.list_log_events(limit=10)) == (["evt_3", "evt_2", "evt_1"], False)
    assert ids(m.storage.list_log_events(limit=10, types=frozenset({ERROR}))) == (
        ["evt_3"],
        False,
    )


# --- the property: pages equal slicing a plain list ------------------------------------------


def expected_page(
    log: list[LogRecord],
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    types: frozenset[str] | None,
) -> tuple[list[LogRecord], bool] | None:
    """The page Stripe's rules name, by slicing the filtered list (`log` is oldest first)."""
    listed = [record for record in reversed(log) if types is None or record.type in types]
    positions = {record.id: index for index, record in enumerate(listed)}
    if starting_after is not None:
        if starting_after not in positions:
            return None
        first = positions[starting_after] + 1
        return listed[first : first + limit], first + limit < len(listed)
    if ending_before is not None:
        if ending_before not in positions:
            return None
        stop = positions[ending_before]
        return listed[max(0, stop - limit) : stop], stop - limit > 0
    return listed[:limit], limit < len(listed)


def log_batches() -> st.SearchStrategy[list[list[tuple[str, int]]]]:
    """Batches of (type, created) pairs; the third type is rare, so some filters match little."""
    kinds = st.sampled_from(TYPES[:2] * 4 + TYPES[2:])
    return st.lists(st.lists(st.tuples(kinds, st.integers(0, 9)), max_size=6), max_size=5)


def page_queries() -> st.SearchStrategy[tuple[int, str, int, frozenset[str] | None]]:
    """(limit, which cursor, a cursor position, filter): positions past the log are unknown ids."""
    filters = st.none() | st.frozensets(st.sampled_from((*TYPES, "v2.never.seen")))
    return st.tuples(
        st.integers(0, 8), st.sampled_from(("none", "after", "before")), st.integers(0, 24), filters
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=log_batches(),
    purge_before=st.none() | st.integers(0, 10),
    queries=st.lists(page_queries(), min_size=1, max_size=12),
)
def test_every_page_equals_slicing_the_whole_log(
    m: Metering,
    batches: list[list[tuple[str, int]]],
    purge_before: int | None,
    queries: list[tuple[int, str, int, frozenset[str] | None]],
) -> None:
    """Random batches, a purge, then random pages (limits, cursors, filters) equal list slices."""
    storage = m.storage
    storage.purge_log_events(created_before=10**9)  # the same store serves every example
    log: list[LogRecord] = []
    for batch in batches:
        records = [
            LogRecord(id=f"evt_{len(log) + offset}", type=kind, created=created, body="{}")
            for offset, (kind, created) in enumerate(batch)
        ]
        storage.add_log_events(records)
        log.extend(records)
    every_id = [record.id for record in log]
    if purge_before is not None:
        purged = storage.purge_log_events(created_before=purge_before)
        kept = [record for record in log if record.created >= purge_before]
        assert purged == len(log) - len(kept)
        log = kept
    assert [storage.get_log_event(record_id) for record_id in every_id] == [
        next((record for record in log if record.id == record_id), None) for record_id in every_id
    ]
    for limit, which, position, types in queries:
        cursor = every_id[position] if position < len(every_id) else f"evt_x{position}"
        after = cursor if which == "after" else None
        before = cursor if which == "before" else None
        found = storage.list_log_events(
            limit=limit, starting_after=after, ending_before=before, types=types
        )
        expected = expected_page(
            log, limit=limit, starting_after=after, ending_before=before, types=types
        )
        assert (None if found is None else (list(found[0]), found[1])) == expected
