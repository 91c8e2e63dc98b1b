"""The descending-since pattern (`DescendingSinceStream`), through `achievements`, its stream.

Newest first with a server-side `since`: records, paging, the early stop at rows older
than the cutoff, the bookmark and the boundary second, lookback and overlap, user ids.

Every expectation is derived from the sandbox's ground truth and request log.
"""

from __future__ import annotations

import datetime as dt
import math
import typing as t

import pytest
from singer_sdk.streams.core import Stream

from tests.helpers.expect import API_KEY, canonical, expected_record
from tests.helpers.tap import run_achievements

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc


def truth_since(sandbox: LitmosSandbox, since: dt.datetime | None = None) -> list[dict]:
    rows = [expected_record(r) for r in sandbox.truth()]
    if since is None:
        return rows
    cutoff = canonical(since)
    return [r for r in rows if r["AchievementDate"] >= cutoff]


def by_id(records: list[dict]) -> dict[int, dict]:
    ids = [r["AchievementId"] for r in records]
    assert len(ids) == len(set(ids)), "duplicate primary keys"
    return {r["AchievementId"]: r for r in records}


def api_requests(sandbox: LitmosSandbox) -> list[dict]:
    return [r for r in sandbox.requests if r["path"].lower().endswith("/achievements")]


# --- Full extraction -----------------------------------------------------------------


@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_full_sync_reproduces_the_ground_truth(
    sandbox: LitmosSandbox, config: dict, response_format: str
) -> None:
    run = run_achievements({**config, "response_format": response_format})
    records = run.records()
    expected = truth_since(sandbox)
    assert len(records) == len(expected) == 500
    assert by_id(records) == by_id(expected)
    # field names and order exactly as Litmos spells them
    assert list(records[0]) == list(sandbox.truth()[0])
    # one request: 500 rows fit one page of 1000
    (request,) = api_requests(sandbox)
    assert request["params"]["limit"] == "1000"
    assert request["params"]["start"] == "0"
    assert request["params"]["source"] == "tap-litmos"
    assert ("format" in request["params"]) == (response_format == "json")
    assert "since" not in request["params"]
    assert "apikey" not in request["params"]


def test_json_and_xml_give_identical_records(sandbox: LitmosSandbox, config: dict) -> None:
    from_json = run_achievements({**config, "response_format": "json"}).records()
    from_xml = run_achievements({**config, "response_format": "xml"}).records()
    assert from_json == from_xml
    # the data really exercises entities, nulls and both DST sides
    assert any("&" in (r["Title"] or "") or "'" in (r["LastName"] or "") for r in from_json)
    assert any(r["CompliantTillDate"] is None for r in from_json)
    assert any(r["CompliantTillDate"] is not None for r in from_json)


@pytest.mark.parametrize(
    ("option", "response_format"),
    [({"json_utc_dates": True}, "json"), ({"xml_nil_style": "bare"}, "xml")],
)
def test_other_wire_variants_give_the_same_records(
    sandbox: LitmosSandbox, config: dict, option: dict, response_format: str
) -> None:
    # /Date(ms)/ without an offset (DateTimeKind.Utc), and nil="true" without the prefix
    sandbox.configure(**option)
    run = run_achievements({**config, "response_format": response_format})
    assert by_id(run.records()) == by_id(truth_since(sandbox))


def test_values_are_typed(config: dict) -> None:
    for record in run_achievements(config).records():
        assert isinstance(record["AchievementId"], int)
        assert record["CertificateId"] is None or isinstance(record["CertificateId"], int)
        assert record["Score"] is None or isinstance(record["Score"], str)
        assert record["AchievementDate"].endswith("Z")
        assert len(record["AchievementDate"]) == len("2024-01-01T00:00:00.000Z")


# --- Paging --------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [100, 99, 250, 500, 501, 1000])
def test_paging_request_counts(sandbox: LitmosSandbox, config: dict, page_size: int) -> None:
    run = run_achievements({**config, "page_size": page_size})
    assert len(by_id(run.records())) == 500
    requests = api_requests(sandbox)
    # ceil(N / page): a page shorter than the limit ends the walk; only when N is an
    # exact multiple does one (empty) request more tell the end.
    expected = math.ceil(500 / page_size) + (1 if 500 % page_size == 0 else 0)
    assert len(requests) == expected
    assert [int(r["params"]["start"]) for r in requests] == [i * page_size for i in range(expected)]
    assert all(r["params"]["limit"] == str(page_size) for r in requests)


def test_more_rows_than_limit_quirk(sandbox: LitmosSandbox, config: dict) -> None:
    sandbox.configure(extra_rows=3)  # each page holds limit + 3 rows
    run = run_achievements({**config, "page_size": 100})
    assert by_id(run.records()) == by_id(truth_since(sandbox))
    starts = [int(r["params"]["start"]) for r in api_requests(sandbox)]
    # `start` advances by the rows really returned: 0, 103, 206, 309, 412 (88 rows: last)
    assert starts == [0, 103, 206, 309, 412]
    assert [r["rows"] for r in api_requests(sandbox)] == [103, 103, 103, 103, 88]


# --- Incremental state ------------------------------------------------------------


def test_first_run_bookmark_is_the_max_date(sandbox: LitmosSandbox, config: dict) -> None:
    start = dt.datetime(2025, 6, 1, tzinfo=UTC)
    run = run_achievements({**config, "start_date": "2025-06-01"})
    expected = truth_since(sandbox, start)
    assert by_id(run.records()) == by_id(expected)
    assert run.bookmark() == max(r["AchievementDate"] for r in expected)
    (request,) = api_requests(sandbox)
    assert request["params"]["since"] == "2025-06-01 00:00:00"
    # flat state: no partitions, no leftover progress markers
    assert set(run.final_state["bookmarks"]["achievements"]) == {
        "replication_key",
        "replication_key_value",
    }


def test_second_run_sends_the_bookmark_and_emits_only_new_and_boundary(
    sandbox: LitmosSandbox, config: dict
) -> None:
    config = {**config, "overlap_minutes": 0}  # the exact boundary, without the overlap
    first = run_achievements(config)
    bookmark = first.bookmark()
    assert bookmark == max(r["AchievementDate"] for r in truth_since(sandbox))
    boundary = {
        r["AchievementId"] for r in truth_since(sandbox) if r["AchievementDate"] == bookmark
    }

    later = dt.datetime.fromisoformat(bookmark.replace("Z", "+00:00")) + dt.timedelta(hours=5)
    added = sandbox.add_achievements(count=3, achievement_date=later.replace(tzinfo=None))
    sandbox.reset_log()

    second = run_achievements(config, state=first.final_state)
    emitted = {r["AchievementId"] for r in second.records()}
    assert emitted == boundary | {a.achievement_id for a in added}
    (request,) = api_requests(sandbox)
    assert request["params"]["since"] == bookmark[:19].replace("T", " ")
    assert second.bookmark() == canonical(later)


def test_a_run_with_nothing_new_emits_only_the_boundary_instant(
    sandbox: LitmosSandbox, config: dict
) -> None:
    first = run_achievements(config)
    second = run_achievements(config, state=first.final_state)
    assert second.records()  # the boundary instant is re-sent (Singer: at least once)
    assert {r["AchievementDate"] for r in second.records()} == {first.bookmark()}
    assert second.bookmark() == first.bookmark()


def test_records_before_the_bookmark_in_the_same_second_are_dropped(
    sandbox: LitmosSandbox, config: dict
) -> None:
    config = {**config, "overlap_minutes": 0}  # the exact boundary, without the overlap
    second = dt.datetime(2026, 7, 1, 10, 0, 0)
    early, late = sandbox.add_achievements(
        count=1, achievement_date=second.replace(microsecond=200_000)
    ) + sandbox.add_achievements(count=1, achievement_date=second.replace(microsecond=700_000))
    state = {
        "bookmarks": {
            "achievements": {
                "replication_key": "AchievementDate",
                "replication_key_value": "2026-07-01T10:00:00.500Z",
            }
        }
    }
    run = run_achievements(config, state=state)
    emitted = {r["AchievementId"] for r in run.records()}
    assert late.achievement_id in emitted
    assert early.achievement_id not in emitted  # the server's `since` is seconds-floored
    assert api_requests(sandbox)[0]["params"]["since"] == "2026-07-01 10:00:00"


def test_paging_stops_at_rows_older_than_the_cutoff(sandbox: LitmosSandbox, config: dict) -> None:
    config = {**config, "overlap_minutes": 0}  # the exact boundary, without the overlap
    base = dt.datetime(2026, 7, 2, 8, 0, 0)
    old = sandbox.add_achievements(count=3, achievement_date=base.replace(microsecond=100_000))
    new = sandbox.add_achievements(count=4, achievement_date=base + dt.timedelta(hours=1))
    state = {
        "bookmarks": {
            "achievements": {
                "replication_key": "AchievementDate",
                "replication_key_value": "2026-07-02T08:00:00.900Z",
            }
        }
    }
    # The server returns the 4 new rows and the 3 same-second older ones (7 rows);
    # with 5 rows a page, page one is full but ends with an older row: stop there.
    run = run_achievements({**config, "page_size": 5}, state=state)
    assert {r["AchievementId"] for r in run.records()} == {a.achievement_id for a in new}
    assert len(api_requests(sandbox)) == 1
    assert all(a.achievement_id not in {r["AchievementId"] for r in run.records()} for a in old)


def test_lookback_days_widens_the_window(sandbox: LitmosSandbox, config: dict) -> None:
    config = {**config, "overlap_minutes": 0}  # the exact boundary, without the overlap
    first = run_achievements(config)
    bookmark = dt.datetime.fromisoformat(first.bookmark().replace("Z", "+00:00"))
    sandbox.reset_log()
    run = run_achievements({**config, "lookback_days": 30}, state=first.final_state)
    since = bookmark - dt.timedelta(days=30)
    assert by_id(run.records()) == by_id(truth_since(sandbox, since))
    assert api_requests(sandbox)[0]["params"]["since"] == since.strftime("%Y-%m-%d %H:%M:%S")
    assert run.bookmark() == first.bookmark()


def test_every_incremental_run_re_reads_the_overlap_before_the_bookmark(
    sandbox: LitmosSandbox, config: dict
) -> None:
    first = run_achievements(config)
    bookmark = dt.datetime.fromisoformat(first.bookmark().replace("Z", "+00:00"))
    # An achievement Litmos stamped 3 minutes before the bookmark but showed only after
    # the first run had read its page: the default 10-minute overlap still reads it.
    late = sandbox.add_achievements(
        count=1, achievement_date=(bookmark - dt.timedelta(minutes=3)).replace(tzinfo=None)
    )
    sandbox.reset_log()
    second = run_achievements(config, state=first.final_state)
    since = bookmark - dt.timedelta(minutes=10)
    assert late[0].achievement_id in {r["AchievementId"] for r in second.records()}
    assert by_id(second.records()) == by_id(truth_since(sandbox, since))
    assert api_requests(sandbox)[0]["params"]["since"] == since.strftime("%Y-%m-%d %H:%M:%S")
    without = run_achievements({**config, "overlap_minutes": 0}, state=first.final_state)
    assert late[0].achievement_id not in {r["AchievementId"] for r in without.records()}


def test_lookback_never_reaches_before_start_date(sandbox: LitmosSandbox, config: dict) -> None:
    first = run_achievements(config)
    start = first.bookmark()[:10]  # the bookmark's own day
    sandbox.reset_log()
    run_achievements({**config, "lookback_days": 400, "start_date": start}, state=first.final_state)
    assert api_requests(sandbox)[0]["params"]["since"] == f"{start} 00:00:00"


def test_an_interrupted_run_keeps_the_old_bookmark(
    sandbox: LitmosSandbox, config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = "2025-01-01T00:00:00.000Z"
    old_state = {
        "bookmarks": {
            "achievements": {
                "replication_key": "AchievementDate",
                "replication_key_value": old,
            }
        }
    }
    expected = truth_since(sandbox, dt.datetime(2025, 1, 1, tzinfo=UTC))
    assert len(expected) > 250
    monkeypatch.setattr(Stream, "STATE_MSG_FREQUENCY", 50)  # interim STATE messages
    sandbox.inject("500", count=1, after=2)  # page 3 fails and retries are off
    run = run_achievements(
        {**config, "page_size": 100, "max_retries": 0}, state=old_state, allow_failure=True
    )
    assert run.error is not None
    assert len(run.records()) == 200  # pages 1 and 2 went out before the failure
    # an interim STATE went out (progress kept aside, not resumable) ...
    assert any("progress_markers" in s["bookmarks"]["achievements"] for s in run.states)
    for state in run.states:  # ... and no STATE ever moved the bookmark
        assert state["bookmarks"]["achievements"]["replication_key_value"] == old
    # Restarting from the last state loses nothing.
    rerun = run_achievements(config, state=run.states[-1])
    assert by_id(rerun.records()) == by_id(expected)
    assert rerun.bookmark() == max(r["AchievementDate"] for r in expected)


def test_user_ids_request_each_user_and_keep_one_flat_bookmark(
    sandbox: LitmosSandbox, config: dict
) -> None:
    users = sorted({r["UserId"] for r in sandbox.truth()})[:3]
    run = run_achievements({**config, "user_ids": [users[0], users[1], users[0], users[2]]})
    expected = [r for r in truth_since(sandbox) if r["UserId"] in users]
    assert by_id(run.records()) == by_id(expected)
    assert [r["params"].get("userid") for r in api_requests(sandbox)] == users[:2] + users[2:]
    state = run.final_state["bookmarks"]["achievements"]
    assert "partitions" not in state
    assert state["replication_key_value"] == max(r["AchievementDate"] for r in expected)


def test_a_future_dated_record_cannot_push_the_bookmark_past_the_run_start(
    sandbox: LitmosSandbox, config: dict
) -> None:
    before = dt.datetime.now(UTC)
    sandbox.add_achievements(count=1, achievement_date=dt.datetime(2099, 1, 1))
    run = run_achievements(config)
    bookmark = run.bookmark()
    assert canonical(before) <= bookmark < "2099"
    assert len(bookmark) == len("2024-01-01T00:00:00.000Z")


def test_the_api_key_travels_only_in_the_header(sandbox: LitmosSandbox, config: dict) -> None:
    run_achievements(config)
    (request,) = api_requests(sandbox)
    assert API_KEY not in str(request["params"])
    assert request["status"] == 200


def test_the_early_stop_keeps_a_tie_that_straddles_a_page_edge(
    sandbox: LitmosSandbox, config: dict
) -> None:
    # start_date falls on an instant three rows share; a page ends after the first of
    # them. That page's oldest row equals the cutoff: it is not past it, so paging goes on.
    tie = dt.datetime(2025, 1, 15, 12, tzinfo=UTC)
    positions = [i for i, r in enumerate(sandbox.truth()) if r["AchievementDate"] == tie]
    assert positions == list(range(positions[0], positions[0] + 3))
    page_size = positions[0] + 1
    run = run_achievements({**config, "start_date": "2025-01-15T12:00:00Z", "page_size": page_size})
    expected = truth_since(sandbox, tie)
    assert len(expected) == positions[0] + 3
    assert by_id(run.records()) == by_id(expected)
    assert [r["params"]["start"] for r in api_requests(sandbox)] == ["0", str(page_size)]
