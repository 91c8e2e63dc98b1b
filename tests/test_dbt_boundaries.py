"""The marts at their boundaries: rows that sit exactly on each edge of a definition.

One sandbox account, changed through its mutation API so that it holds a row on every
edge the marts' documentation draws (transform/models/marts/marts.yml), is loaded
through Meltano into DuckDB and `dbt build` runs with `litmos_as_of` and
`litmos_expiring_days` set. Every row of every mart is compared with
tests/helpers/marts_reference.py, and the boundary rows one by one:

- compliance ending exactly `litmos_expiring_days` after `as_of` is `expiring`, a
  millisecond later `compliant`; ending exactly at `as_of` is `expired`, a millisecond
  later `expiring`;
- a due date exactly at `as_of` is not yet overdue, a millisecond before it is;
- a removed team-course link (Active = false) is no route;
- a learner completing a course twice in one month is two completions, one learner.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import typing as t

import duckdb
import pytest

from litmos_sandbox import LitmosSandbox
from tests.helpers import marts_reference as reference
from tests.helpers.expect import API_KEY
from tests.helpers.meltano import meltano_cli, meltano_env

if t.TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.platform

UTC = dt.timezone.utc
START_DATE = (dt.datetime.now(UTC) - dt.timedelta(days=370)).date()
START = dt.datetime.combine(START_DATE, dt.time(), UTC)
#: The instant statuses are judged at: whole seconds, an hour ago (zone-less UTC).
AS_OF = (dt.datetime.now(UTC) - dt.timedelta(hours=1)).replace(microsecond=0, tzinfo=None)
EXPIRING_DAYS = 45
MS = dt.timedelta(milliseconds=1)
MARTS_SCHEMA = "analytics_litmos"


@dataclasses.dataclass
class Boundaries:
    """The assignments (user, course) placed on each edge, and the other cases."""

    compliance: dict[tuple[str, str], str]  # key -> the status it must have
    overdue: dict[tuple[str, str], bool]  # key -> is_overdue
    removed_team_course: tuple[str, str]  # (team, course)
    lost_team_route: tuple[str, str]  # (user, course) the removal took the team route of
    repeated: tuple[str, dt.date]  # (course, month) a learner completed twice


@dataclasses.dataclass
class Outcome:
    marts: dict[str, reference.Mart]
    expected: dict[str, reference.Mart]
    boundaries: Boundaries


def aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC)


def place_boundaries(sandbox: LitmosSandbox) -> Boundaries:
    """Change the account so that rows sit on every edge (through the mutation API)."""
    loaded = reference.Loaded.from_sandbox(sandbox, START, ilt_fan_outs=False)
    assignments = reference.learner_course_assignments(loaded, AS_OF, EXPIRING_DAYS)
    results = {(r["UserId"], r["Id"]) for r in sandbox.truth("course_results") if r["Active"]}
    with_results = sorted(k for k in assignments if k in results)

    # Team courses: a link whose removal takes the team route of some assignment away.
    members: dict[str, set[str]] = {}
    for link in sandbox.truth("team_users"):
        if link["Active"]:
            members.setdefault(link["TeamId"], set()).add(link["Id"])
    team_links = [(r["TeamId"], r["Id"]) for r in sandbox.truth("team_courses") if r["Active"]]
    courses_of_team: dict[str, set[str]] = {}
    for team, course in team_links:
        courses_of_team.setdefault(team, set()).add(course)
    removed, lost = next(
        ((team, course), (user, course))
        for team, course in sorted(team_links)
        for user in sorted(members.get(team, ()))
        if (user, course) in assignments
        and "team" in assignments[user, course]["routes"]
        # no other team of this user assigns the course
        and not any(
            user in users and course in courses_of_team.get(other, ())
            for other, users in members.items()
            if other != team
        )
    )
    sandbox.remove_link("team_courses", removed)

    picked = [k for k in with_results if k[0] != lost[0]][:6]
    till = {
        "expiring_edge": (AS_OF + dt.timedelta(days=EXPIRING_DAYS), "expiring"),
        "past_expiring_edge": (AS_OF + dt.timedelta(days=EXPIRING_DAYS) + MS, "compliant"),
        "expired_edge": (AS_OF, "expired"),
        "past_expired_edge": (AS_OF + MS, "expiring"),
    }
    compliance = {}
    for key, (when, status) in zip(picked[:4], till.values(), strict=True):
        sandbox.touch(
            "course_results",
            key,
            Completed=True,
            CompletedDate=aware(AS_OF - dt.timedelta(days=100)),
            PercentageComplete=100,
            CompliantTillDate=aware(when),
        )
        compliance[key] = status
    overdue = {}
    for key, (due, late) in zip(picked[4:], ((AS_OF, False), (AS_OF - MS, True)), strict=True):
        sandbox.touch("course_results", key, Completed=False, DueDate=aware(due))
        overdue[key] = late

    # One learner completes a course twice in one month (UTC), a month with no other
    # completion of it.
    course = min(r["Id"] for r in sandbox.truth("courses"))
    user = sandbox.truth("users")[0]["Id"]
    when = dt.datetime(START.year, START.month, 1) + dt.timedelta(days=40, hours=3)
    for offset in (dt.timedelta(0), dt.timedelta(days=2)):
        sandbox.add_achievements(
            count=1, user_id=user, course_id=course, achievement_date=when + offset, score="70"
        )
    month = dt.date(when.year, when.month, 1)
    return Boundaries(compliance, overdue, removed, lost, (course, month))


def duckdb_marts(path: Path) -> dict[str, reference.Mart]:
    marts = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for mart, keys in reference.KEYS.items():
            cursor = con.execute(f"select * from {MARTS_SCHEMA}.{mart}")  # noqa: S608
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
            marts[mart] = {tuple(row[k] for k in keys): row for row in rows}
    return marts


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    tmp = tmp_path_factory.mktemp("dbt-boundaries")
    warehouse = tmp / "warehouse.duckdb"
    with LitmosSandbox(seed=11, users=40, achievements=400, api_key=API_KEY) as sandbox:
        boundaries = place_boundaries(sandbox)
        env = meltano_env(
            tmp / "meltano.db",
            TAP_LITMOS_API_URL=sandbox.base_url,
            TAP_LITMOS_API_KEY=API_KEY,
            TAP_LITMOS_START_DATE=START_DATE.isoformat(),
            TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",
            TARGET_DUCKDB_FILEPATH=str(warehouse),
            DBT_DUCKDB_PATH=str(warehouse),
            DBT_DUCKDB_TARGET_PATH=str(tmp / "dbt"),
            DBT_DUCKDB_LOG_PATH=str(tmp / "dbt"),
        )
        meltano = meltano_cli(env)
        meltano("install", "tap-litmos", "target-duckdb", "dbt-duckdb")
        meltano("run", "tap-litmos", "target-duckdb")
        variables = {"litmos_as_of": str(AS_OF), "litmos_expiring_days": EXPIRING_DAYS}
        meltano("invoke", "dbt-duckdb", "build", "--vars", json.dumps(variables))
        loaded = reference.Loaded.from_sandbox(sandbox, START, ilt_fan_outs=False)
        yield Outcome(
            duckdb_marts(warehouse),
            reference.marts(loaded, AS_OF, EXPIRING_DAYS),
            boundaries,
        )


@pytest.mark.parametrize("mart", list(reference.KEYS))
def test_every_row_of_the_mart_is_the_truth(outcome: Outcome, mart: str) -> None:
    got, want = outcome.marts[mart], outcome.expected[mart]
    assert want
    assert set(got) == set(want)
    wrong = {k: (got[k], want[k]) for k in want if {c: got[k].get(c) for c in want[k]} != want[k]}
    assert not wrong, list(wrong.items())[:3]


def test_compliance_at_its_edges(outcome: Outcome) -> None:
    for source in (outcome.marts, outcome.expected):
        rows = source["learner_course_assignments"]
        got = {key: rows[key]["status"] for key in outcome.boundaries.compliance}
        assert got == outcome.boundaries.compliance


def test_a_due_date_at_as_of_is_not_yet_overdue(outcome: Outcome) -> None:
    for source in (outcome.marts, outcome.expected):
        rows = source["learner_course_assignments"]
        got = {key: rows[key]["is_overdue"] for key in outcome.boundaries.overdue}
        assert got == outcome.boundaries.overdue


def test_a_removed_team_course_is_no_route(outcome: Outcome) -> None:
    rows = outcome.marts["learner_course_assignments"]
    user, course = outcome.boundaries.lost_team_route
    assert "team" not in (rows.get((user, course)) or {"routes": ""})["routes"].split(", ")
    team, _ = outcome.boundaries.removed_team_course
    compliance = outcome.marts["team_course_compliance"]
    assert (team, course) not in compliance or (team, course) in outcome.expected[
        "team_course_compliance"
    ]


def test_completions_count_completions_not_learners(outcome: Outcome) -> None:
    for source in (outcome.marts, outcome.expected):
        row = source["course_completions_by_month"][outcome.boundaries.repeated]
        assert row["completions"] == row["distinct_learners"] + 1
