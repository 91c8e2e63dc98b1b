"""Airbyte state in one process: the shapes `--state` reads, the STATEs the writer sends.

In: Airbyte's STREAM states (what source-litmos writes), GLOBAL and LEGACY (a state
migrated by hand). A LEGACY state is read as the per-stream bookmarks its `data` holds
(a Singer state, or the Airbyte CDK's `{stream: state}`), or refused: a read that
silently started from scratch would re-read every stream. Out: one STREAM state for
every stream whose bookmark moved, however many moved in one step of the tap.
Through real reads: tests/tap_litmos/airbyte/test_state_reads.py.
"""

from __future__ import annotations

import io
import json

import pytest
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import RecordMessage, StateMessage

from tap_litmos.airbyte.catalog import singer_state
from tap_litmos.airbyte.messages import AirbyteWriter

pytestmark = pytest.mark.unit

ACHIEVEMENTS = {
    "replication_key": "AchievementDate",
    "replication_key_value": "2025-03-01T00:00:00.000Z",
}
USERS = {"replication_key": "UpdatedDate", "replication_key_value": "2025-04-01T12:00:00.000Z"}
CONFIGURED = {
    "achievements": {"sync_mode": "incremental"},
    "users": {"sync_mode": "incremental"},
    "teams": {"sync_mode": "full_refresh"},
}
EXPECTED = {"bookmarks": {"achievements": ACHIEVEMENTS, "users": USERS}}


@pytest.mark.parametrize(
    "state",
    [
        # The Singer state in a LEGACY message, in Airbyte's array ...
        [{"type": "LEGACY", "data": {"bookmarks": {"achievements": ACHIEVEMENTS, "users": USERS}}}],
        # ... or alone, as a bare object (the oldest form of --state).
        {"bookmarks": {"achievements": ACHIEVEMENTS, "users": USERS}, "currently_syncing": None},
        # The Airbyte CDK's legacy state: one entry per stream.
        [{"type": "LEGACY", "data": {"achievements": ACHIEVEMENTS, "users": USERS}}],
        {"achievements": ACHIEVEMENTS, "users": USERS},
    ],
    ids=["singer-in-array", "singer-bare", "cdk-in-array", "cdk-bare"],
)
def test_a_legacy_state_is_read_as_its_per_stream_bookmarks(state: object) -> None:
    assert singer_state(state, CONFIGURED) == (EXPECTED, [])


def test_a_legacy_state_leaves_out_streams_read_in_full_or_not_read() -> None:
    state = {"bookmarks": {"achievements": ACHIEVEMENTS, "teams": {"x": 1}, "courses": {"y": 2}}}
    bookmarks, notes = singer_state(state, CONFIGURED)
    assert bookmarks == {"bookmarks": {"achievements": ACHIEVEMENTS}}
    assert notes == ["Ignored the state of teams: it is configured full_refresh"]


def test_global_and_legacy_states_give_the_same_bookmarks() -> None:
    streams = [
        {"stream_descriptor": {"name": "achievements"}, "stream_state": ACHIEVEMENTS},
        {"stream_descriptor": {"name": "users"}, "stream_state": USERS},
    ]
    state = [{"type": "GLOBAL", "global": {"shared_state": {}, "stream_states": streams}}]
    assert singer_state(state, CONFIGURED) == (EXPECTED, [])


@pytest.mark.parametrize(
    "data",
    [
        "bookmarks",  # not an object
        ["achievements"],
        {"bookmarks": ["achievements"]},
        {"bookmarks": {"achievements": "2025-03-01"}},  # a stream's state not an object
        {"achievements": "2025-03-01T00:00:00Z"},
        {"achievements": ACHIEVEMENTS, "currently_syncing": "users"},
    ],
)
def test_a_legacy_state_without_per_stream_bookmarks_is_refused(data: object) -> None:
    with pytest.raises(ConfigValidationError) as caught:
        singer_state([{"type": "LEGACY", "data": data}], CONFIGURED)
    assert "LEGACY state source-litmos cannot read" in caught.value.errors[0]


# --- The writer ---------------------------------------------------------------------------


def states_written(out: io.BytesIO) -> list[dict]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [m["state"] for m in lines if m["type"] == "STATE"]


def test_every_stream_whose_bookmark_moved_in_one_step_gets_its_state() -> None:
    out = io.BytesIO()
    writer = AirbyteWriter(out)
    writer.start_from({"bookmarks": {"achievements": ACHIEVEMENTS, "users": USERS}})
    for stream, count in (("users", 2), ("teams", 3)):
        for n in range(count):
            writer.write_message(RecordMessage(stream=stream, record={"Id": str(n)}))
    moved_users = {**USERS, "replication_key_value": "2025-04-02T00:00:00.000Z"}
    teams = {"replication_key": "UpdatedDate", "replication_key_value": "2025-05-01T00:00:00.000Z"}
    # One step of the tap: two streams' bookmarks moved, one's did not, progress
    # markers (per run only) on another.
    writer.write_message(
        StateMessage(
            value={
                "bookmarks": {
                    "achievements": {**ACHIEVEMENTS, "progress_markers": {"Note": "x"}},
                    "users": moved_users,
                    "teams": teams,
                }
            }
        )
    )
    writer.flush()
    states = states_written(out)
    assert {
        s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"] for s in states
    } == {
        "users": moved_users,
        "teams": teams,
    }
    assert all(s["type"] == "STREAM" for s in states)
    counts = {
        s["stream"]["stream_descriptor"]["name"]: s["sourceStats"]["recordCount"] for s in states
    }
    assert counts == {"users": 2.0, "teams": 3.0}
    # The same state again moves nothing: no STATE.
    out.seek(0)
    out.truncate()
    writer.write_message(StateMessage(value={"bookmarks": {"users": moved_users, "teams": teams}}))
    writer.flush()
    assert states_written(out) == []
