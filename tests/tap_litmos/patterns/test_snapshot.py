"""The snapshot pattern (`SnapshotStream`): streams read whole on every run.

ACTIVATE_VERSION after their records (and their children's), records carrying that
version, none from a run that dies, a deleted user gone from the next run, one request
per page; ILT sessions paged past and future apart. Expectations come from the
sandbox's ground truth, specs and request log. The per-parent fan-out tests
(`test_per_parent_fan_out.py`) share this module's helpers.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from tap_litmos.streams import STREAM_TYPES
from tests.helpers.catalog import API_PREFIX, catalog_selecting, requests_to
from tests.helpers.expect import comparable, key_of, pages_needed
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from pathlib import Path

    from litmos_sandbox import LitmosSandbox
    from tests.helpers.tap import TapRun

pytestmark = pytest.mark.unit

#: Read whole every run; `users` ... `locations` are plain lists.
FLAT_SNAPSHOTS = ("users", "teams", "courses", "learning_paths", "instructors", "locations")
SNAPSHOTS = (*FLAT_SNAPSHOTS, "ilt_sessions", "ilt_session_days")
FAN_OUT = tuple(s.name for s in STREAM_TYPES if not s.selected_by_default)
PARENT = {
    "user_badges": "users",
    "course_custom_field_values": "courses",
    "ilt_rollcall": "ilt_sessions",
    "ilt_attendance": "ilt_sessions",
    "ilt_session_days": "ilt_sessions",
}


def recent_start(sandbox: LitmosSandbox) -> str:
    """A start_date before every /org/* change (a default run then needs no probe)."""
    return (sandbox.world.anchor - dt.timedelta(days=470)).date().isoformat()


def by_key(sandbox: LitmosSandbox, stream: str, records: list[dict]) -> dict[tuple, dict]:
    key = sandbox.spec(stream).key
    keys = [key_of(r, key) for r in records]
    assert len(keys) == len(set(keys)), f"{stream}: a key was emitted twice"
    return dict(zip(keys, records, strict=True))


def truth_by_key(sandbox: LitmosSandbox, stream: str) -> dict[tuple, dict]:
    key = sandbox.spec(stream).key
    return {key_of(r, key): r for r in map(comparable, sandbox.truth(stream))}


def messages_of(run: TapRun, stream: str) -> list[dict]:
    return [m for m in run.messages if m.get("stream") == stream]


# --- Snapshots ------------------------------------------------------------------------------


@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_each_run_activates_a_version_after_the_records_that_carry_it(
    sandbox: LitmosSandbox, config: dict, response_format: str
) -> None:
    # After: a target with hard_delete deletes the older version's rows when it reads the
    # message, so before the records it would empty the table for the whole read.
    cfg = {**config, "response_format": response_format, "start_date": recent_start(sandbox)}
    catalog = catalog_selecting(cfg, *SNAPSHOTS, *FAN_OUT, "team_users")
    first = run_tap(cfg, catalog=catalog)
    second = run_tap(cfg, state=first.final_state, catalog=catalog)
    for run in (first, second):
        for stream in (*SNAPSHOTS, *FAN_OUT):
            tree = {stream, PARENT.get(stream, stream)}
            types = [m["type"] for m in messages_of(run, stream)]
            assert types.count("ACTIVATE_VERSION") == 1, stream
            (activate,) = [m for m in messages_of(run, stream) if m["type"] == "ACTIVATE_VERSION"]
            last_record = max(
                i
                for i, m in enumerate(run.messages)
                if m["type"] == "RECORD" and m["stream"] in tree
            )
            assert run.messages.index(activate) > last_record, stream
            records = [m for m in messages_of(run, stream) if m["type"] == "RECORD"]
            assert len(records) == len(sandbox.truth(stream)), stream
            assert {m.get("version") for m in records} == {activate["version"]}, stream
        # An incremental stream has no versions: its rows are never all re-sent.
        assert "ACTIVATE_VERSION" not in [m["type"] for m in messages_of(run, "team_users")]
        assert all("version" not in m for m in messages_of(run, "team_users"))
    versions = [
        next(m["version"] for m in messages_of(run, "users") if m["type"] == "ACTIVATE_VERSION")
        for run in (first, second)
    ]
    assert versions[0] <= versions[1]


def test_a_run_that_dies_in_a_snapshot_activates_no_version_of_it(
    sandbox: LitmosSandbox, config: dict
) -> None:
    # users' second page fails (a 401, which is not retried): a version of users would tell
    # the target to delete every user not read yet, and one of user_badges every badge of
    # those users. teams (read first, in full) keeps its version.
    cfg = {**config, "page_size": 5}
    catalog = catalog_selecting(cfg, "teams", "users", "user_badges")
    run_tap(cfg, catalog=catalog)  # a clean run, to find the request that will fail
    users_page_2 = next(
        i
        for i, r in enumerate(sandbox.requests)
        if r["path"].lower().endswith("/users/details") and r["params"].get("start") == "5"
    )
    sandbox.reset_log()
    sandbox.inject("401", after=users_page_2)

    run = run_tap(cfg, catalog=catalog, allow_failure=True)
    assert run.error is not None
    assert len(run.records("users")) == 5
    assert len(run.records("teams")) == len(sandbox.truth("teams"))
    activated = [m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert activated == ["teams"]


def test_with_batch_files_the_version_goes_first(
    sandbox: LitmosSandbox, config: dict, tmp_path: Path
) -> None:
    # A batch file's rows reach the target without a version: a version activated after
    # them would delete them all. So it goes where the SDK sends it, before the files.
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": tmp_path.as_uri()},
    }
    cfg = {**config, "batch_config": batch_config}
    run = run_tap(cfg, catalog=catalog_selecting(cfg, "users", "user_badges"))
    for stream in ("users", "user_badges"):
        types = [m["type"] for m in messages_of(run, stream)]
        assert types.count("ACTIVATE_VERSION") == 1, stream
        assert types.index("ACTIVATE_VERSION") < types.index("BATCH"), stream
        assert "RECORD" not in types, stream


def test_a_deleted_user_is_gone_from_the_next_run(sandbox: LitmosSandbox, config: dict) -> None:
    streams = ("users", "instructors", "user_badges")
    catalog = catalog_selecting(config, *streams)
    badged = {r["UserId"] for r in sandbox.truth("user_badges")}
    (gone,) = [r["Id"] for r in sandbox.truth("instructors") if r["Id"] in badged][:1]
    first = run_tap(config, catalog=catalog)
    assert gone in {r["Id"] for r in first.records("users")}
    assert gone in {r["Id"] for r in first.records("instructors")}
    assert gone in {r["UserId"] for r in first.records("user_badges")}

    sandbox.delete_user(gone)
    sandbox.reset_log()
    second = run_tap(config, state=first.final_state, catalog=catalog)
    for stream in streams:
        expected = truth_by_key(sandbox, stream)
        assert by_key(sandbox, stream, second.records(stream)) == expected
    assert len(second.records("users")) == len(first.records("users")) - 1
    assert gone not in {r["Id"] for r in second.records("users")}
    assert gone not in {r["Id"] for r in second.records("instructors")}
    assert gone not in {r["UserId"] for r in second.records("user_badges")}
    assert not [r for r in requests_to(sandbox, "user_badges") if gone in r["path"]]


@pytest.mark.parametrize("page_size", [4, 5, 1000])
def test_snapshot_requests_are_one_per_page(
    sandbox: LitmosSandbox, config: dict, page_size: int
) -> None:
    cfg = {**config, "page_size": page_size}
    run = run_tap(cfg, catalog=catalog_selecting(cfg, *FLAT_SNAPSHOTS))
    exact_multiples = 0
    for stream in FLAT_SNAPSHOTS:
        rows = len(sandbox.truth(stream))
        requests = requests_to(sandbox, stream)
        # A short page ends the walk; after an exact multiple one empty page is needed.
        assert len(requests) == pages_needed(rows, page_size), stream
        assert [int(r["params"]["start"]) for r in requests] == [
            i * page_size for i in range(len(requests))
        ]
        assert {r["params"]["limit"] for r in requests} == {str(page_size)}
        assert by_key(sandbox, stream, run.records(stream)) == truth_by_key(sandbox, stream)
        exact_multiples += rows % page_size == 0
    assert len(sandbox.requests) == sum(
        len(requests_to(sandbox, s)) for s in FLAT_SNAPSHOTS
    )  # nothing else was asked for
    if page_size == 4:
        assert exact_multiples >= 3  # users 20, courses 16, learning_paths 4, locations 4


@pytest.mark.parametrize("response_format", ["json", "xml"])
@pytest.mark.parametrize(
    "streams",
    [("ilt_sessions",), ("ilt_sessions", "ilt_session_days"), ("ilt_session_days",)],
)
def test_sessions_cost_two_requests_and_their_days_none(
    sandbox: LitmosSandbox, config: dict, streams: tuple[str, ...], response_format: str
) -> None:
    cfg = {**config, "response_format": response_format}
    run = run_tap(cfg, catalog=catalog_selecting(cfg, *streams))
    requests = sandbox.requests
    assert sorted(r["path"] for r in requests) == [
        f"{API_PREFIX}/sessions/future",
        f"{API_PREFIX}/sessions/past",
    ]
    assert all(r["params"]["start"] == "0" for r in requests)
    for stream in ("ilt_sessions", "ilt_session_days"):
        if stream in streams:
            assert by_key(sandbox, stream, run.records(stream)) == truth_by_key(sandbox, stream)
        else:
            assert messages_of(run, stream) == []  # read for its days, never written


def test_session_paging_walks_past_and_future_separately(
    sandbox: LitmosSandbox, config: dict
) -> None:
    # Each page of /sessions/* holds courses (each with its modules and sessions).
    now = sandbox.now()  # naive UTC, as the sandbox splits past from future
    courses: dict[str, set[str]] = {"past": set(), "future": set()}
    for session in sandbox.truth("ilt_sessions"):
        side = "past" if session["EndDate"].replace(tzinfo=None) < now else "future"
        courses[side].add(session["CourseId"])
    assert courses["past"]
    assert courses["future"]
    cfg = {**config, "page_size": 1}
    run = run_tap(cfg, catalog=catalog_selecting(cfg, "ilt_sessions", "ilt_session_days"))
    for side, ids in courses.items():
        requests = [r for r in sandbox.requests if r["path"].endswith(f"/sessions/{side}")]
        assert [r["params"]["start"] for r in requests] == [
            str(i) for i in range(pages_needed(len(ids), 1))
        ]
    for stream in ("ilt_sessions", "ilt_session_days"):
        assert by_key(sandbox, stream, run.records(stream)) == truth_by_key(sandbox, stream)
