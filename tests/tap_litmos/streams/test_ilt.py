"""Instructor-led training: what the flattened session tree does at its corners.

The catalog-wide contract (`test_catalog_contract.py`) checks every ILT stream against
the ground truth; these are the cases a generated account only shows by chance.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from tests.helpers.catalog import catalog_selecting, requests_to
from tests.helpers.expect import comparable
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc


@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_a_session_without_days_or_people_is_emitted_alone(
    sandbox: LitmosSandbox, config: dict, response_format: str
) -> None:
    model = sandbox.truth("ilt_sessions")[0]
    start = dt.datetime.now(UTC) + dt.timedelta(days=30)
    added = sandbox.add(
        "ilt_sessions",
        Name="Added & empty",
        CourseId=model["CourseId"],
        ModuleId=model["ModuleId"],
        StartDate=start,
        EndDate=start + dt.timedelta(hours=8),
    )
    cfg = {**config, "response_format": response_format}
    streams = ("ilt_sessions", "ilt_session_days", "ilt_rollcall", "ilt_attendance")
    run = run_tap(cfg, catalog=catalog_selecting(cfg, *streams))

    sessions = {r["Id"]: r for r in run.records("ilt_sessions")}
    assert sessions[added["Id"]] == comparable(added)
    for stream in ("ilt_session_days", "ilt_rollcall", "ilt_attendance"):
        assert added["Id"] not in {r["SessionId"] for r in run.records(stream)}
        assert len(run.records(stream)) == len(sandbox.truth(stream))
    # Its roll call and attendance are still asked for, once each, and are empty.
    for stream in ("ilt_rollcall", "ilt_attendance"):
        (request,) = [r for r in requests_to(sandbox, stream) if added["Id"] in r["path"]]
        assert request["rows"] == 0


def test_past_and_future_sessions_both_arrive_and_keep_their_days_in_order(config: dict) -> None:
    run = run_tap(config, catalog=catalog_selecting(config, "ilt_sessions", "ilt_session_days"))
    now = dt.datetime.now(UTC)
    ends = [
        dt.datetime.fromisoformat(r["EndDate"].replace("Z", "+00:00"))
        for r in run.records("ilt_sessions")
    ]
    assert any(e < now for e in ends)
    assert any(e > now for e in ends)
    days: dict[str, list[str]] = {}
    for day in run.records("ilt_session_days"):
        days.setdefault(day["SessionId"], []).append(day["StartDate"])
    assert any(len(v) > 1 for v in days.values())  # multi-day sessions exist ...
    assert all(v == sorted(v) for v in days.values())  # ... and their days come in order
    for session in run.records("ilt_sessions"):
        if session["Id"] in days:
            assert session["StartDate"] == days[session["Id"]][0]
