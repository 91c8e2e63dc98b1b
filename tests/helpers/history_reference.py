"""The history marts of transform/ computed in Python from the sandbox's ground truth.

Written from docs/dbt.md ("Compliance over time") and the marts' yml, never from the SQL:
tests/test_dbt_history.py compares every row of `team_course_compliance_daily` and
`compliance_by_month` with these. The input is what a load could read
(`marts_reference.Loaded`); each figure of day d is judged at the end of that day (UTC
midnight after it), the last day's at `as_of` itself, from the dates of the events:

- a link (a membership, an assignment) holds from its CreatedDate until the UpdatedDate of
  its removal (the Active = false version), or for good while it is active;
- a learner is assigned a course on d when any route (direct, team, learning path, a
  team's learning path) has all its links holding then;
- the learner's course result is the state from the instant it took effect (its
  CompletedDate when completed, else its UpdatedDate: a reset or a first attempt) on;
  before that, the learner's latest achievement of the course is (a completion, with its
  CompliantTillDate), and with none the course is not completed;
- overdue: not completed, and the result's due date is before the instant.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections import defaultdict

from tests.helpers.marts_reference import (
    DEFAULT_SOURCE_RELATION,
    Loaded,
    Mart,
    Row,
    grouped,
    share,
    utc,
)

#: The variables' defaults (transform/dbt_project.yml).
HISTORY_DAYS = 365
EXPIRING_DAYS = 30

Interval = tuple[dt.datetime, dt.datetime | None]


def holds(interval: Interval, at: dt.datetime) -> bool:
    start, end = interval
    return start <= at and (end is None or end > at)


def by_as_of(instant: dt.datetime | None, as_of: dt.datetime | None) -> dt.datetime | None:
    """A change stamped after as_of counts as made at as_of (as today's marts count it)."""
    if instant is None or as_of is None:
        return instant
    return min(instant, as_of)


def link_interval(link: Row, as_of: dt.datetime | None = None) -> Interval:
    """When a link held: from its creation until its removal (or for good)."""
    start = by_as_of(utc(link["CreatedDate"]), as_of)
    assert start is not None
    return start, None if link["Active"] else by_as_of(utc(link["UpdatedDate"]), as_of)


def intersection(*intervals: Interval) -> Interval | None:
    start = max(i[0] for i in intervals)
    ends = [i[1] for i in intervals if i[1] is not None]
    end = min(ends) if ends else None
    return None if end is not None and end <= start else (start, end)


def route_intervals(
    loaded: Loaded, as_of: dt.datetime | None = None
) -> dict[tuple[str, str], list[Interval]]:
    """(user, course) -> when each route of every link loaded (removed ones too) held."""
    routes: dict[tuple[str, str], list[Interval]] = defaultdict(list)
    for user, course, links in route_links(loaded):
        held = intersection(*(link_interval(link, as_of) for link in links))
        if held is not None:
            routes[user, course].append(held)
    return routes


def route_links(loaded: Loaded) -> t.Iterator[tuple[str, str, tuple[Row, ...]]]:
    """(user, course, the links of one route) for every route the links loaded make."""
    members = grouped(loaded.rows("team_users"), "TeamId")
    path_courses = grouped(loaded.rows("learning_path_courses"), "LearningPathId")
    for link in loaded.rows("user_courses"):
        yield link["UserId"], link["Id"], (link,)
    for team_course in loaded.rows("team_courses"):
        for member in members[team_course["TeamId"]]:
            yield member["Id"], team_course["Id"], (member, team_course)
    for user_path in loaded.rows("user_learning_paths"):
        for path_course in path_courses[user_path["LearningPathId"]]:
            yield user_path["Id"], path_course["Id"], (user_path, path_course)
    for team_path in loaded.rows("team_learning_paths"):
        for member in members[team_path["TeamId"]]:
            for path_course in path_courses[team_path["Id"]]:
                yield member["Id"], path_course["Id"], (member, team_path, path_course)


class Learner:
    """One user's state in one course at any instant: the result, else the achievements."""

    def __init__(
        self, result: Row | None, achievements: list[Row], as_of: dt.datetime | None = None
    ) -> None:
        self.result = result
        self.completions = sorted(
            (
                (utc(a["AchievementDate"]), a["AchievementId"], utc(a["CompliantTillDate"]))
                for a in achievements
            ),
            key=lambda c: (c[0], c[1]),
        )
        self.since: dt.datetime | None = None
        if result is not None:
            self.since = by_as_of(
                utc(
                    (result["CompletedDate"] or result["UpdatedDate"])
                    if result["Completed"]
                    else result["UpdatedDate"]
                ),
                as_of,
            )
        self.due = utc(result["DueDate"]) if result else None

    def state(self, at: dt.datetime) -> tuple[bool, dt.datetime | None]:
        """(completed, compliant till) at `at`."""
        if self.result is None:
            return False, None
        if self.since is None or at >= self.since:
            completed = bool(self.result["Completed"])
            return completed, utc(self.result["CompliantTillDate"]) if completed else None
        done = [c for c in self.completions if c[0] <= at]
        return (True, done[-1][2]) if done else (False, None)


def status(completed: bool, till: dt.datetime | None, at: dt.datetime, expiring_days: int) -> str:
    if not completed:
        return "not_completed"
    if till is None:
        return "compliant"
    if till <= at:
        return "expired"
    if till <= at + dt.timedelta(days=expiring_days):
        return "expiring"
    return "compliant"


def days(as_of: dt.datetime, history_days: int) -> list[tuple[dt.date, dt.datetime]]:
    """(calendar date, the instant its figures are judged at), oldest first."""
    last = as_of.date()
    out = []
    for back in range(history_days - 1, -1, -1):
        day = last - dt.timedelta(days=back)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
        out.append((day, min(end, as_of)))
    return out


def team_course_compliance_daily(
    loaded: Loaded,
    as_of: dt.datetime,
    history_days: int = HISTORY_DAYS,
    expiring_days: int = EXPIRING_DAYS,
    source_relation: str = DEFAULT_SOURCE_RELATION,
) -> Mart:
    """One account's daily mart, keyed by KEYS; its rows carry `source_relation` first."""
    users, courses, teams = (loaded.by_id(s) for s in ("users", "courses", "teams"))
    results = {(r["UserId"], r["Id"]): r for r in loaded.rows("course_results") if r["Active"]}
    achieved: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for achievement in loaded.rows("achievements"):
        achieved[achievement["UserId"], achievement["CourseId"]].append(achievement)
    routes = route_intervals(loaded, as_of)
    courses_of: dict[str, list[str]] = defaultdict(list)
    for user, course in routes:
        if user in users and course in courses:
            courses_of[user].append(course)
    memberships = [
        (m["TeamId"], m["Id"], link_interval(m, as_of))
        for m in loaded.rows("team_users")
        if m["TeamId"] in teams and m["Id"] in users and users[m["Id"]]["Active"]
    ]
    learners = {
        key: Learner(results.get(key), achieved[key], as_of)
        for user, mine in courses_of.items()
        for key in ((user, c) for c in mine)
    }
    counts: dict[tuple[str, str, dt.date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    judged: dict[dt.date, dt.datetime] = {}
    for day, at in days(as_of, history_days):
        judged[day] = at
        for team, user, membership in memberships:
            if not holds(membership, at):
                continue
            for course in courses_of[user]:
                if not any(holds(r, at) for r in routes[user, course]):
                    continue
                learner = learners[user, course]
                completed, till = learner.state(at)
                state = status(completed, till, at, expiring_days)
                figures = counts[team, course, day]
                figures["assigned"] += 1
                figures["completed"] += completed
                figures["overdue"] += not completed and learner.due is not None and learner.due < at
                figures["compliant"] += state in ("compliant", "expiring")
                figures["expiring"] += state == "expiring"
                figures["expired"] += state == "expired"
    mart = {}
    for (team, course, day), figures in counts.items():
        mart[team, course, day] = {
            "source_relation": source_relation,
            "team_id": team,
            "course_id": course,
            "calendar_date": day,
            "judged_at": judged[day],
            "team_name": teams[team]["Name"],
            "course_name": courses[course]["Name"],
            "learners_assigned": figures["assigned"],
            "learners_completed": figures["completed"],
            "learners_overdue": figures["overdue"],
            "learners_compliant": figures["compliant"],
            "learners_expiring": figures["expiring"],
            "learners_expired": figures["expired"],
            "compliant_share": share(figures["compliant"], figures["assigned"]),
        }
    return mart


def month_end(month: dt.date, as_of: dt.datetime) -> dt.date:
    """The last day of `month` the daily mart holds: the month's end, or as_of's date."""
    following = (month + dt.timedelta(days=32)).replace(day=1)
    return min(following - dt.timedelta(days=1), as_of.date())


def compliance_by_month(daily: Mart, as_of: dt.datetime) -> Mart:
    """Each month's figures as they stood on its last day (as_of's date for this month)."""
    mart = {}
    for (team, course, day), row in daily.items():
        month = day.replace(day=1)
        if day != month_end(month, as_of):
            continue
        figures = {
            k: v
            for k, v in row.items()
            if k not in ("source_relation", "team_id", "course_id", "calendar_date", "judged_at")
        }
        mart[team, course, month] = {
            "source_relation": row["source_relation"],
            "team_id": team,
            "course_id": course,
            "month": month,
            "month_end_date": day,
            **figures,
        }
    return mart


def last_day(daily: Mart, as_of: dt.datetime) -> dict[tuple, dict[str, t.Any]]:
    """The daily mart's rows of `as_of`'s date, keyed and shaped as team_course_compliance."""
    return {
        (team, course): {k: v for k, v in row.items() if k not in ("calendar_date", "judged_at")}
        for (team, course, day), row in daily.items()
        if day == as_of.date()
    }


#: Each history mart's primary key columns within one account (the mart's grain adds
#: source_relation first).
KEYS = {
    "team_course_compliance_daily": ("team_id", "course_id", "calendar_date"),
    "compliance_by_month": ("team_id", "course_id", "month"),
}
