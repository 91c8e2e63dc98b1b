"""The per-parent fan-out pattern (`FanOutStream`): one request (or none) per parent record.

The fan-outs (`user_badges`, `ilt_rollcall`, `ilt_attendance`) are off by default
and cost one request per parent when selected, also when their parent is not selected; a
parent gone between its list and its child request is skipped; the state stays flat.
Expectations come from the sandbox's ground truth, specs and request log.
(`ilt_session_days`, which comes with its sessions at no request, is tested with them in
`test_snapshot.py`.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t

import pytest

from tap_litmos.streams import STREAM_TYPES
from tests.helpers.catalog import API_PREFIX, catalog_selecting, requests_to, stream_metadata
from tests.helpers.tap import run_tap
from tests.tap_litmos.patterns.test_snapshot import (
    FAN_OUT,
    PARENT,
    SNAPSHOTS,
    by_key,
    messages_of,
    recent_start,
    truth_by_key,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from litmos_sandbox import LitmosSandbox

# --- Opt-in children ----------------------------------------------------------------------


@pytest.mark.e2e
def test_fan_out_streams_are_not_selected_by_default_in_discovery(
    tmp_path: Path, config: dict
) -> None:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    result = subprocess.run(
        [sys.executable, "-m", "tap_litmos", "--config", str(config_file), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    catalog = json.loads(result.stdout)
    by_default = {
        e["tap_stream_id"]: stream_metadata(catalog, e["tap_stream_id"])["selected-by-default"]
        for e in catalog["streams"]
    }
    assert {s for s, on in by_default.items() if not on} == set(FAN_OUT)
    assert len(by_default) == len(STREAM_TYPES)


@pytest.mark.unit
def test_a_default_run_leaves_the_fan_out_streams_out(sandbox: LitmosSandbox, config: dict) -> None:
    run = run_tap({**config, "start_date": recent_start(sandbox)})  # no catalog: the defaults
    for stream in FAN_OUT:
        assert messages_of(run, stream) == []
        assert requests_to(sandbox, stream) == []
    for stream in ("users", "ilt_sessions", "ilt_session_days", "course_results"):
        assert run.records(stream)  # while the default streams did run
    assert not {
        s for m in run.messages if m["type"] == "STATE" for s in m["value"]["bookmarks"]
    } & set(FAN_OUT)


@pytest.mark.unit
@pytest.mark.parametrize("response_format", ["json", "xml"])
@pytest.mark.parametrize("child", FAN_OUT)
@pytest.mark.parametrize("with_parent", [True, False], ids=["with-parent", "alone"])
def test_a_fan_out_child_costs_one_request_per_parent(
    sandbox: LitmosSandbox,
    config: dict,
    child: str,
    with_parent: bool,
    response_format: str,
) -> None:
    parent = PARENT[child]
    cfg = {**config, "response_format": response_format}
    selected = (parent, child) if with_parent else (child,)
    run = run_tap(cfg, catalog=catalog_selecting(cfg, *selected))
    assert by_key(sandbox, child, run.records(child)) == truth_by_key(sandbox, child)
    if with_parent:
        assert by_key(sandbox, parent, run.records(parent)) == truth_by_key(sandbox, parent)
    else:  # the parent is read for its ids, and writes nothing
        assert messages_of(run, parent) == []
    # One request per parent record, each parent once, with that parent's ids.
    requests = requests_to(sandbox, child)
    if child == "user_badges":
        wanted = sorted(f"{API_PREFIX}/users/{u['Id']}/badges" for u in sandbox.truth("users"))
    elif child == "course_custom_field_values":
        wanted = sorted(
            f"{API_PREFIX}/courses/{c['Id']}/coursecustomfields" for c in sandbox.truth("courses")
        )
    else:
        tail = "rollcall" if child == "ilt_rollcall" else "attendance"
        wanted = sorted(
            f"{API_PREFIX}/courses/{s['CourseId']}/modules/{s['ModuleId']}"
            f"/sessions/{s['Id']}/{tail}"
            for s in sandbox.truth("ilt_sessions")
        )
    assert sorted(r["path"] for r in requests) == wanted
    assert all(r["status"] == 200 for r in requests)
    parent_requests = requests_to(sandbox, parent)
    assert len(sandbox.requests) == len(requests) + len(parent_requests)
    assert len(parent_requests) == (2 if parent == "ilt_sessions" else 1)  # past and future


@pytest.mark.unit
def test_the_state_stays_flat_with_every_child_selected(
    sandbox: LitmosSandbox, config: dict
) -> None:
    cfg = {**config, "start_date": recent_start(sandbox), "page_size": 7}
    streams = (*SNAPSHOTS, *FAN_OUT, "team_users", "achievements")
    run = run_tap(cfg, catalog=catalog_selecting(cfg, *streams))
    parents = len(sandbox.truth("users")) + len(sandbox.truth("ilt_sessions"))
    assert len(requests_to(sandbox, "ilt_rollcall")) > 10
    for state in run.states:
        for stream, entry in state["bookmarks"].items():
            assert "partitions" not in entry, stream  # nothing per parent or per context
            assert "progress_markers" not in entry, stream
            if stream in (*SNAPSHOTS, *FAN_OUT):
                assert entry == {}, stream  # a full copy each run: nothing to remember
    final = run.final_state["bookmarks"]
    assert set(final) == set(streams)
    for stream in ("team_users", "achievements"):
        assert set(final[stream]) == {"replication_key", "replication_key_value"}
    assert len(json.dumps(run.final_state)) < 40 * parents  # does not grow with parents


@pytest.mark.unit
def test_a_parent_deleted_between_its_list_and_its_child_request_is_skipped(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    # The users list is read, then one badge request per user: the third request (the
    # second user's badges) finds the user gone, as if deleted in between.
    sandbox.inject("404", count=1, after=2)
    run = run_tap(config, catalog=catalog_selecting(config, "user_badges"))
    assert run.error is None
    paths = [r["path"] for r in sandbox.requests]
    assert paths[0].endswith("/users/details")
    gone = paths[2].split("/")[-2]
    truth = {(r["UserId"], r["ID"]) for r in sandbox.truth("user_badges") if r["UserId"] != gone}
    assert {(r["UserId"], r["ID"]) for r in run.records("user_badges")} == truth
    assert len(paths) == 1 + len(sandbox.truth("users"))  # every other user was still read
    assert any(
        "Skipped user_badges" in r.getMessage() and gone in r.getMessage() for r in caplog.records
    )
