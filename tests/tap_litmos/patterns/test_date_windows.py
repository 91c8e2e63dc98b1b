"""The `/org/*` date-window streams: windows, edges, paging, state, first run.

Litmos's delta endpoints need `since` and `to` at most 7 days apart, and do not say
whether either bound is inclusive. A run walks [start, run start) in windows of
7 days less 2 seconds, each asked one second wider on both sides, so a user predicts
the window edges as ``start_date + k * (7 days - 2 s)``; the tests put rows exactly on
those edges and next to them, under all four bound semantics the sandbox can play.
Every expectation comes from the sandbox's ground truth and request log.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import typing as t

import pytest

from tests.helpers.catalog import catalog_selecting, requests_to
from tests.helpers.expect import canonical, comparable, key_of, pages_needed, parse_utc, since_text
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox
    from tests.helpers.tap import TapRun

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc
SECOND = dt.timedelta(seconds=1)
MILLI = dt.timedelta(milliseconds=1)
#: Litmos refuses `to - since` over 7 days; a window asks for one second more each side.
MAX_SPAN = dt.timedelta(days=7)
#: What every incremental run re-reads before its bookmark (the overlap_minutes default).
OVERLAP = dt.timedelta(minutes=10)
WINDOW = MAX_SPAN - 2 * SECOND
#: The sandbox's /org/* changes fall in the year before its anchor (today's midnight),
#: an assignment's CreatedDate (its UpdatedDate if never changed) up to 90 days earlier:
#: a start_date this far back is well before all of them.
DAYS_BEFORE_ANCHOR = 470
STREAM = "course_results"  # UpdatedDate, key (UserId, Id)
LOGINS = "login_activity"  # LoginDate, key (UserId, LoginDate)
PROBE = {"sort": "CreatedDate", "dir": "ASC"}
PROBE_LOG = "No start_date and no bookmark: date-window streams start at"


# --- Helpers ------------------------------------------------------------------------------


def start_of(sandbox: LitmosSandbox) -> dt.datetime:
    """A midnight well before every change the sandbox holds."""
    anchor = sandbox.world.anchor.replace(tzinfo=UTC)
    return anchor - dt.timedelta(days=DAYS_BEFORE_ANCHOR)


def configured(config: dict, start: dt.datetime | None, **extra: t.Any) -> dict:
    with_start = {"start_date": start.date().isoformat()} if start else {}
    return {**config, **with_start, **extra}


def edge(start: dt.datetime, k: int) -> dt.datetime:
    """Where window k begins (and window k-1 ends), as a user predicts it."""
    return start + k * WINDOW


def window_count(start: dt.datetime, run_start: dt.datetime) -> int:
    return math.ceil((run_start - start) / WINDOW)


def date_field(sandbox: LitmosSandbox, stream: str) -> str:
    return sandbox.spec(stream).date_field  # type: ignore[return-value]


def truth_between(
    sandbox: LitmosSandbox, stream: str, start: dt.datetime, end: dt.datetime
) -> dict[tuple, dict]:
    """The truth rows a run covering [start, end) must emit, by key, as emitted."""
    spec = sandbox.spec(stream)
    rows = [comparable(r) for r in sandbox.truth(stream) if start <= r[spec.date_field] < end]
    return {key_of(r, spec.key): r for r in rows}


def emitted(run: TapRun, sandbox: LitmosSandbox, stream: str) -> dict[tuple, dict]:
    """The run's records of `stream` by key; no key twice."""
    records = run.records(stream)
    keys = [key_of(r, sandbox.spec(stream).key) for r in records]
    duplicates = {k for k in keys if keys.count(k) > 1}
    assert not duplicates, f"emitted twice: {sorted(duplicates, key=repr)[:5]}"
    return dict(zip(keys, records, strict=True))


def run_start_of(run: TapRun, stream: str, before: dt.datetime) -> dt.datetime:
    """The run's start for `stream`: its final bookmark (the last window's end)."""
    value = parse_utc(run.bookmark(stream))  # type: ignore[arg-type]
    # Litmos's clock ends the walk: its Date header, in whole seconds.
    assert before - SECOND <= value <= dt.datetime.now(UTC)
    return value


def windows_of(sandbox: LitmosSandbox, stream: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """(since, to) of each logged request for `stream`, parsed."""
    return [
        (parse_utc(r["params"]["since"]), parse_utc(r["params"]["to"]))
        for r in requests_to(sandbox, stream)
    ]


def bookmarks_in_states(run: TapRun, stream: str) -> list[str]:
    values = [s["bookmarks"].get(stream, {}).get("replication_key_value") for s in run.states]
    return [v for v, _ in itertools.groupby(values) if v is not None]


def probe_requests(sandbox: LitmosSandbox) -> list[dict]:
    return [
        r for r in requests_to(sandbox, "users") if {k: r["params"].get(k) for k in PROBE} == PROBE
    ]


def first_since(sandbox: LitmosSandbox, stream: str) -> str:
    return requests_to(sandbox, stream)[0]["params"]["since"]


# --- Walking the windows --------------------------------------------------------------


@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_windows_are_contiguous_within_7_days_and_cover_start_to_run_start(
    sandbox: LitmosSandbox, config: dict, response_format: str
) -> None:
    start = start_of(sandbox)
    before = dt.datetime.now(UTC)
    cfg = configured(config, start, response_format=response_format)
    run = run_tap(cfg, catalog=catalog_selecting(cfg, STREAM))
    run_start = run_start_of(run, STREAM, before)

    requests = requests_to(sandbox, STREAM)
    assert len(sandbox.requests) == len(requests)  # only this stream, and no probe
    windows = windows_of(sandbox, STREAM)
    n = window_count(start, run_start)
    assert n > 60  # a long backfill ...
    assert len(windows) == n  # ... one request a window: no window holds 1000 rows
    assert all(r["params"]["start"] == "0" for r in requests)
    for since, to in windows:
        assert dt.timedelta(0) < to - since <= MAX_SPAN
    # Contiguous: each window begins where the previous one ended, each asked 1 s wider.
    for (_, previous_to), (since, _) in itertools.pairwise(windows):
        assert since == previous_to - 2 * SECOND
    # The edges a user predicts from start_date, and the last `to` in the future.
    expected = [
        (since_text(edge(start, k) - SECOND), since_text(edge(start, k + 1) + SECOND))
        for k in range(n - 1)
    ]
    last_since = edge(start, n - 1) - SECOND
    expected.append((since_text(last_since), since_text(last_since + MAX_SPAN)))
    assert [(r["params"]["since"], r["params"]["to"]) for r in requests] == expected
    assert windows[0][0] + SECOND <= start
    assert edge(start, n - 1) < run_start <= edge(start, n)
    assert windows[-1][1] > dt.datetime.now(UTC)  # `to` in the future includes today
    assert emitted(run, sandbox, STREAM) == truth_between(sandbox, STREAM, start, run_start)


def test_a_state_after_each_window_holds_that_window_end(
    sandbox: LitmosSandbox, config: dict
) -> None:
    start = start_of(sandbox)
    before = dt.datetime.now(UTC)
    cfg = configured(config, start)
    run = run_tap(cfg, catalog=catalog_selecting(cfg, STREAM))
    run_start = run_start_of(run, STREAM, before)
    n = window_count(start, run_start)
    ends = [canonical(edge(start, k)) for k in range(1, n)] + [canonical(run_start)]
    assert bookmarks_in_states(run, STREAM) == ends  # quiet windows included

    # Every record precedes the STATE that covers it, and follows the one before.
    low, pending, records = canonical(start), [], 0
    for message in run.messages:
        if message["type"] == "RECORD":
            pending.append(message["record"]["UpdatedDate"])
        elif message["type"] == "STATE":
            value = message["value"]["bookmarks"][STREAM].get("replication_key_value")
            if value is not None and value != low:
                assert all(low <= d < value for d in pending), (low, value, pending)
                low, records, pending = value, records + len(pending), []
    assert not pending
    assert records == len(truth_between(sandbox, STREAM, start, run_start)) > 40
    # One flat bookmark: no partitions, nothing per parent, no unresumable markers.
    for state in run.states:
        entry = state["bookmarks"][STREAM]
        assert not {"partitions", "progress_markers", "context"} & set(entry)
    assert run.final_state["bookmarks"][STREAM] == {
        "replication_key": "UpdatedDate",
        "replication_key_value": canonical(run_start),
    }


BOUNDS = list(itertools.product([True, False], [True, False]))
#: Rows on a window edge, on the widened request bounds (edge - 1 s is the next
#: window's `since`, edge + 1 s the previous window's `to`) and 1 ms to either side.
OFFSETS_MS = (-1001, -1000, -999, -1, 0, 1, 999, 1000, 1001)
EDGES = (1, 2, 3)


#: Where the first window begins: a start_date (a midnight, so edges fall on whole
#: seconds) or a bookmark with milliseconds (edges between two seconds, which the
#: whole-second `since` and `to` must still cover).
ORIGINS = {
    "start_date": dt.timedelta(0),
    "bookmark": dt.timedelta(hours=12, minutes=34, seconds=56, milliseconds=789),
}


@pytest.mark.parametrize("origin", list(ORIGINS))
@pytest.mark.parametrize(("since_inclusive", "to_inclusive"), BOUNDS)
def test_rows_on_and_around_window_edges_are_emitted_exactly_once(
    sandbox: LitmosSandbox,
    config: dict,
    since_inclusive: bool,
    to_inclusive: bool,
    origin: str,
) -> None:
    sandbox.configure(org_since_inclusive=since_inclusive, org_to_inclusive=to_inclusive)
    start = start_of(sandbox) + ORIGINS[origin]
    placed = [edge(start, k) + ms * MILLI for k in EDGES for ms in OFFSETS_MS]
    key = sandbox.spec(STREAM).key
    on_edges: dict[str, set[tuple]] = {STREAM: set(), LOGINS: set()}
    for row, when in zip(sandbox.truth(STREAM), placed, strict=False):
        moved = sandbox.touch(STREAM, key_of(row, key), UpdatedDate=when)
        on_edges[STREAM].add(key_of(comparable(moved), key))
    users = sandbox.truth("users")
    for i, when in enumerate(placed):
        added = sandbox.add(LOGINS, UserId=users[i % len(users)]["Id"], LoginDate=when)
        on_edges[LOGINS].add(key_of(comparable(added), sandbox.spec(LOGINS).key))
    assert len(on_edges[STREAM]) == len(on_edges[LOGINS]) == len(placed) == 27

    before = dt.datetime.now(UTC)
    if origin == "start_date":
        cfg, state = configured(config, start), None
    else:
        cfg = {**config, "overlap_minutes": 0}  # the walk starts exactly at the bookmark
        state = {
            "bookmarks": {
                s: {
                    "replication_key": date_field(sandbox, s),
                    "replication_key_value": canonical(start),
                }
                for s in (STREAM, LOGINS)
            }
        }
    run = run_tap(cfg, state=state, catalog=catalog_selecting(cfg, STREAM, LOGINS))
    for stream in (STREAM, LOGINS):
        assert first_since(sandbox, stream) == since_text(start - SECOND)
        got = emitted(run, sandbox, stream)  # no key twice
        expected = truth_between(sandbox, stream, start, run_start_of(run, stream, before))
        assert on_edges[stream] <= set(expected)
        assert got == expected  # none lost, every value as the truth has it


def test_paging_inside_a_window_restarts_at_zero_in_the_next(
    sandbox: LitmosSandbox, config: dict
) -> None:
    page = 3
    start = start_of(sandbox)
    key = sandbox.spec(STREAM).key
    rows = sandbox.truth(STREAM)
    # 7 rows in window 2 (3 pages: 3, 3, 1) and 3 in window 5 (an exact multiple).
    for i, row in enumerate(rows[:7]):
        sandbox.touch(
            STREAM, key_of(row, key), UpdatedDate=edge(start, 2) + i * dt.timedelta(hours=5)
        )
    for i, row in enumerate(rows[7:10]):
        sandbox.touch(
            STREAM, key_of(row, key), UpdatedDate=edge(start, 5) + i * dt.timedelta(days=1)
        )

    before = dt.datetime.now(UTC)
    cfg = configured(config, start, page_size=page)
    run = run_tap(cfg, catalog=catalog_selecting(cfg, STREAM))
    run_start = run_start_of(run, STREAM, before)
    assert emitted(run, sandbox, STREAM) == truth_between(sandbox, STREAM, start, run_start)

    # What the server holds between each window's `since` (inclusive) and `to`
    # (exclusive), at the edges a user predicts: that many rows, paged by 3.
    n = window_count(start, run_start)
    dates = [r["UpdatedDate"] for r in sandbox.truth(STREAM)]
    expected = []
    for k in range(n):
        since = parse_utc(since_text(edge(start, k) - SECOND))
        to = since + MAX_SPAN if k == n - 1 else parse_utc(since_text(edge(start, k + 1) + SECOND))
        rows_in = sum(since <= d < to for d in dates)
        expected += [(since_text(since), str(i * page)) for i in range(pages_needed(rows_in, page))]
    requests = requests_to(sandbox, STREAM)
    assert [(r["params"]["since"], r["params"]["start"]) for r in requests] == expected
    assert all(r["params"]["limit"] == str(page) for r in requests)
    # The planted windows really paged: 0, 3, 6 and 0, 3.
    by_window = {s: [int(st) for s2, st in expected if s2 == s] for s, _ in expected}
    assert by_window[since_text(edge(start, 2) - SECOND)] == [0, 3, 6]
    assert by_window[since_text(edge(start, 5) - SECOND)] == [0, 3]
    assert len(requests) > n


@pytest.mark.parametrize("order", ["date_desc", "key"])
def test_rows_served_in_any_order_are_emitted_in_date_order(
    sandbox: LitmosSandbox, config: dict, order: str
) -> None:
    # Litmos documents no order for /org/* lists. A window's pages are read whole, then
    # sorted, so the SDK (which checks that a sorted stream never goes back) and the
    # bookmark see ascending dates whatever the server's order.
    sandbox.configure(org_order=order)
    start = start_of(sandbox)
    key = sandbox.spec(STREAM).key
    users = sandbox.truth("users")
    for i, row in enumerate(sandbox.truth(STREAM)[:8]):  # 8 rows in window 2: 3 pages
        when = edge(start, 2) + ((i * 5) % 8 + 1) * dt.timedelta(hours=3)
        sandbox.touch(STREAM, key_of(row, key), UpdatedDate=when)
        sandbox.add(LOGINS, UserId=users[i % len(users)]["Id"], LoginDate=when)

    before = dt.datetime.now(UTC)
    cfg = configured(config, start, page_size=3)
    run = run_tap(cfg, catalog=catalog_selecting(cfg, STREAM, LOGINS))
    for stream in (STREAM, LOGINS):
        run_start = run_start_of(run, stream, before)
        assert emitted(run, sandbox, stream) == truth_between(sandbox, stream, start, run_start)
        dates = [r[date_field(sandbox, stream)] for r in run.records(stream)]
        assert dates == sorted(dates), stream


# --- The next run ----------------------------------------------------------------------


def test_a_second_run_reads_only_what_changed_since_the_bookmark(
    sandbox: LitmosSandbox, config: dict
) -> None:
    links = "user_courses"
    start = start_of(sandbox)
    before = dt.datetime.now(UTC)
    cfg = configured(config, start)
    catalog = catalog_selecting(cfg, STREAM, links)
    first = run_tap(cfg, catalog=catalog)
    bookmark = run_start_of(first, STREAM, before)
    first_links = emitted(first, sandbox, links)

    result_key, link_key = sandbox.spec(STREAM).key, sandbox.spec(links).key
    done, on_bookmark = sandbox.truth(STREAM)[10:12]
    # A result that changes now, one stamped a second before the first run's end but
    # visible only after that run (a late commit: the overlap reads it) ...
    changed = sandbox.touch(
        STREAM,
        key_of(done, result_key),
        PercentageComplete="12.5",
        Completed=False,
        CompletedDate=None,
    )
    at_start = sandbox.touch(
        STREAM,
        key_of(on_bookmark, result_key),
        UpdatedDate=bookmark - SECOND,
        Name="Renamed & moved",
    )
    # ... and an assignment removed: the same key comes back with Active false.
    link = next(r for r in sandbox.truth(links) if r["Active"])
    removed = sandbox.remove_link(links, key_of(link, link_key))
    assert first_links[key_of(comparable(link), link_key)]["Active"] is True
    sandbox.reset_log()

    second_start = dt.datetime.now(UTC)
    second = run_tap(cfg, state=first.final_state, catalog=catalog)
    # What changed, and what the overlap before the bookmark re-reads.
    assert emitted(second, sandbox, STREAM) == {
        key_of(comparable(r), result_key): comparable(r) for r in (changed, at_start)
    } | truth_between(sandbox, STREAM, bookmark - OVERLAP, bookmark)
    (again,) = second.records(links)
    assert key_of(again, link_key) == key_of(comparable(link), link_key)
    assert again == comparable(removed)
    assert again["Active"] is False
    assert again["UpdatedDate"] > first_links[key_of(again, link_key)]["UpdatedDate"]
    # Each stream starts at its own bookmark, less the overlap (and the second either side).
    assert first_since(sandbox, STREAM) == since_text(bookmark - OVERLAP - SECOND)
    link_bookmark = parse_utc(first.bookmark(links))  # type: ignore[arg-type]
    assert first_since(sandbox, links) == since_text(link_bookmark - OVERLAP - SECOND)
    assert run_start_of(second, STREAM, second_start) >= bookmark
    assert not probe_requests(sandbox)


def test_a_run_with_nothing_new_emits_nothing_and_moves_the_bookmark_on(
    sandbox: LitmosSandbox, config: dict
) -> None:
    start = start_of(sandbox)
    cfg = configured(config, start)
    catalog = catalog_selecting(cfg, STREAM)
    first = run_tap(cfg, catalog=catalog)
    sandbox.reset_log()
    second_start = dt.datetime.now(UTC)
    second = run_tap(cfg, state=first.final_state, catalog=catalog)
    bookmark = parse_utc(first.bookmark(STREAM))  # type: ignore[arg-type]
    # Only what the overlap before the bookmark re-reads.
    assert emitted(second, sandbox, STREAM) == truth_between(
        sandbox, STREAM, bookmark - OVERLAP, bookmark
    )
    assert len(requests_to(sandbox, STREAM)) == 1  # one window, from the bookmark to now
    # Moved on to Litmos's clock (whole seconds: equal if both runs fall in one second).
    assert run_start_of(second, STREAM, second_start) >= bookmark


@pytest.mark.parametrize("days", [3, 30])
def test_lookback_days_re_reads_the_last_days_before_the_bookmark(
    sandbox: LitmosSandbox, config: dict, days: int
) -> None:
    start = start_of(sandbox)
    cfg = configured(config, start)
    catalog = catalog_selecting(cfg, STREAM)
    first = run_tap(cfg, catalog=catalog)
    bookmark = parse_utc(first.bookmark(STREAM))  # type: ignore[arg-type]
    sandbox.reset_log()

    second_start = dt.datetime.now(UTC)
    second = run_tap({**cfg, "lookback_days": days}, state=first.final_state, catalog=catalog)
    run_start = run_start_of(second, STREAM, second_start)
    cutoff = bookmark - dt.timedelta(days=days) - OVERLAP
    expected = truth_between(sandbox, STREAM, cutoff, run_start)
    if days == 30:
        assert expected  # the last month holds changes: they are read again
    assert emitted(second, sandbox, STREAM) == expected
    assert first_since(sandbox, STREAM) == since_text(cutoff - SECOND)
    assert len(requests_to(sandbox, STREAM)) == window_count(cutoff, run_start)
    assert parse_utc(second.bookmark(STREAM)) >= bookmark  # type: ignore[arg-type]


def test_lookback_days_never_reach_before_start_date(sandbox: LitmosSandbox, config: dict) -> None:
    start = start_of(sandbox)
    cfg = configured(config, start)
    catalog = catalog_selecting(cfg, STREAM)
    first = run_tap(cfg, catalog=catalog)
    bookmark = parse_utc(first.bookmark(STREAM))  # type: ignore[arg-type]
    later_start = (bookmark - dt.timedelta(days=10)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    sandbox.reset_log()

    second_start = dt.datetime.now(UTC)
    cfg2 = configured(config, later_start, lookback_days=60)
    second = run_tap(cfg2, state=first.final_state, catalog=catalog)
    run_start = run_start_of(second, STREAM, second_start)
    assert first_since(sandbox, STREAM) == since_text(later_start - SECOND)
    assert emitted(second, sandbox, STREAM) == truth_between(
        sandbox, STREAM, later_start, run_start
    )


# --- The first run without start_date -------------------------------------------------------


def test_without_start_date_or_bookmark_one_probe_finds_where_to_start(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = dt.datetime.now(UTC)
    run = run_tap(config)  # the default catalog: every date-window stream, no start_date
    (probe,) = probe_requests(sandbox)  # once per run, not once per stream
    assert probe["params"]["start"] == "0"
    first_user = min(u["CreatedDate"] for u in sandbox.truth("users"))
    start = first_user - dt.timedelta(days=1)
    windows = [s for s in sandbox.streams() if sandbox.spec(s).family == "org"]
    assert len(windows) == 11
    for stream in windows:
        assert first_since(sandbox, stream) == since_text(start - SECOND)
        run_start = run_start_of(run, stream, before)
        expected = truth_between(sandbox, stream, start, run_start)
        assert len(expected) == len(sandbox.truth(stream))  # the whole history
        assert emitted(run, sandbox, stream) == expected
    # The probe comes before any window is asked for.
    paths = [r["path"] for r in sandbox.requests]
    org = [i for i, p in enumerate(paths) if "/org/" in p]
    assert sandbox.requests.index(probe) < org[0]
    messages = [r.getMessage() for r in caplog.records if PROBE_LOG in r.getMessage()]
    assert messages == [
        f"{PROBE_LOG} {canonical(start)} (the earliest user CreatedDate, less a day)"
    ]


#: A bookmark with milliseconds: 10:00:00.250 on the day 60 days before the anchor.
BOOKMARK_BEFORE_ANCHOR = dt.timedelta(days=60, hours=-10, milliseconds=-250)


def bookmark_in(sandbox: LitmosSandbox) -> str:
    return canonical(sandbox.world.anchor.replace(tzinfo=UTC) - BOOKMARK_BEFORE_ANCHOR)  # type: ignore[return-value]


@pytest.mark.parametrize("case", ["start_date", "bookmarks", "snapshots_only"])
def test_no_probe_when_no_date_window_stream_needs_one(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    caplog.set_level(logging.INFO)
    streams = ("users", "teams") if case == "snapshots_only" else ("team_users", LOGINS)
    state = None
    cfg = config
    if case == "start_date":
        cfg = configured(config, start_of(sandbox))
    elif case == "bookmarks":
        state = {
            "bookmarks": {
                s: {
                    "replication_key": date_field(sandbox, s),
                    "replication_key_value": bookmark_in(sandbox),
                }
                for s in streams
            }
        }
    before = dt.datetime.now(UTC)
    run = run_tap(cfg, state=state, catalog=catalog_selecting(cfg, *streams))
    assert not probe_requests(sandbox)
    assert not [r for r in caplog.records if PROBE_LOG in r.getMessage()]
    for stream in streams:
        if case == "snapshots_only":
            assert len(run.records(stream)) == len(sandbox.truth(stream))
            continue
        begin = (
            start_of(sandbox)
            if case == "start_date"
            else parse_utc(bookmark_in(sandbox)) - OVERLAP  # the overlap is re-read
        )
        assert first_since(sandbox, stream) == since_text(begin - SECOND)
        expected = truth_between(sandbox, stream, begin, run_start_of(run, stream, before))
        assert expected
        assert emitted(run, sandbox, stream) == expected


def test_one_stream_with_a_bookmark_and_one_without_make_one_probe(
    sandbox: LitmosSandbox, config: dict
) -> None:
    bookmark = bookmark_in(sandbox)
    state = {
        "bookmarks": {
            "team_users": {
                "replication_key": "UpdatedDate",
                "replication_key_value": bookmark,
            }
        }
    }
    before = dt.datetime.now(UTC)
    run = run_tap(config, state=state, catalog=catalog_selecting(config, "team_users", LOGINS))
    assert len(probe_requests(sandbox)) == 1  # for the one stream without a bookmark
    resumed = parse_utc(bookmark) - OVERLAP
    assert first_since(sandbox, "team_users") == since_text(resumed - SECOND)
    first_user = min(u["CreatedDate"] for u in sandbox.truth("users"))
    assert first_since(sandbox, LOGINS) == since_text(first_user - dt.timedelta(days=1) - SECOND)
    assert len(run.records(LOGINS)) == len(sandbox.truth(LOGINS))
    run_start = run_start_of(run, "team_users", before)
    expected = truth_between(sandbox, "team_users", resumed, run_start)
    assert emitted(run, sandbox, "team_users") == expected


def test_an_account_without_users_starts_a_day_ago_and_says_why(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for user in sandbox.truth("users"):
        sandbox.delete_user(user["Id"])
    before = dt.datetime.now(UTC)
    run = run_tap(config, catalog=catalog_selecting(config, LOGINS))
    after = dt.datetime.now(UTC)
    assert len(probe_requests(sandbox)) == 1
    (request,) = requests_to(sandbox, LOGINS)  # one window: yesterday to now
    since = parse_utc(request["params"]["since"])
    day = dt.timedelta(days=1)
    assert before - day - 2 * SECOND <= since <= after - day
    (message,) = [r.getMessage() for r in caplog.records if PROBE_LOG in r.getMessage()]
    assert message.endswith("(the account has no users)")
    assert run.records(LOGINS) == []  # every login is older than a day


# --- Late commits and clock skew ---------------------------------------------------------


def test_a_change_committed_late_is_read_by_the_next_run(
    sandbox: LitmosSandbox, config: dict
) -> None:
    cfg = configured(config, start_of(sandbox))
    catalog = catalog_selecting(cfg, STREAM)
    first = run_tap(cfg, catalog=catalog)
    bookmark = parse_utc(first.bookmark(STREAM))  # type: ignore[arg-type]
    # Litmos stamps a change 3 minutes before the first run's end, but it becomes
    # visible only after that run has finished (a long transaction, a replica behind).
    row = sandbox.truth(STREAM)[5]
    late = sandbox.touch(
        STREAM, key_of(row, sandbox.spec(STREAM).key), UpdatedDate=bookmark - 3 * 60 * SECOND
    )
    key = key_of(comparable(late), sandbox.spec(STREAM).key)

    second = run_tap(cfg, state=first.final_state, catalog=catalog)
    assert emitted(second, sandbox, STREAM)[key] == comparable(late)
    # The overlap is what reads it: without one the change is lost for good.
    without = run_tap({**cfg, "overlap_minutes": 0}, state=first.final_state, catalog=catalog)
    assert key not in emitted(without, sandbox, STREAM)


@pytest.mark.parametrize("overlap_minutes", [0, 10])
def test_a_worker_whose_clock_runs_ten_minutes_ahead_loses_nothing(
    sandbox: LitmosSandbox, config: dict, overlap_minutes: int
) -> None:
    sandbox.configure(clock_offset_seconds=-600)  # Litmos's clock 10 minutes behind ours
    cfg = configured(config, start_of(sandbox), overlap_minutes=overlap_minutes)
    catalog = catalog_selecting(cfg, STREAM)
    first = run_tap(cfg, catalog=catalog)
    bookmark = parse_utc(first.bookmark(STREAM))  # type: ignore[arg-type]
    litmos_now = sandbox.now().replace(tzinfo=UTC)
    # The bookmark is Litmos's time, not this machine's (which is 10 minutes later).
    assert bookmark <= litmos_now + 2 * SECOND
    assert bookmark < dt.datetime.now(UTC) - 9 * 60 * SECOND

    row = sandbox.truth(STREAM)[7]
    changed = sandbox.touch(STREAM, key_of(row, sandbox.spec(STREAM).key), Name="Changed now")
    second = run_tap(cfg, state=first.final_state, catalog=catalog)
    got = emitted(second, sandbox, STREAM)
    assert got[key_of(comparable(changed), sandbox.spec(STREAM).key)] == comparable(changed)
