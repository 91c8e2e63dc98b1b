"""The five marts of transform/ computed in Python from the sandbox's ground truth.

Written from the marts' documentation (transform/models/marts/marts.yml, docs/dbt.md),
never from their SQL: tests/test_dbt.py compares every row the warehouse holds with these.
Input is what a load could read (`Loaded`: the truth of each stream, the windowed ones
from the start date on); output is, per mart, its rows by primary key, with values as the
warehouse returns them (zone-less UTC date-times, decimals, dates). One call computes
one account: a warehouse of several holds each account's marts side by side, told apart
by `source_relation` (docs/accounts.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
import typing as t
from collections import defaultdict

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

Row = dict[str, t.Any]
Mart = dict[tuple, Row]

ROUTES = ("direct", "team", "learning_path", "team_learning_path")
#: The account of every row when the dbt project reads its one default schema.
DEFAULT_SOURCE_RELATION = "litmos"
NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)")


@dataclasses.dataclass
class Loaded:
    """The rows of every stream a load could read, as the sandbox's truth has them."""

    streams: dict[str, list[Row]]
    #: The fan-outs that were selected (their counts are null otherwise).
    rollcall_loaded: bool
    attendance_loaded: bool

    @classmethod
    def from_sandbox(
        cls, sandbox: LitmosSandbox, start: dt.datetime, *, ilt_fan_outs: bool
    ) -> Loaded:
        streams = {}
        for stream in sandbox.streams():
            spec = sandbox.spec(stream)
            rows = sandbox.truth(stream)
            if spec.family in ("org", "achievements"):
                rows = [r for r in rows if r[spec.date_field] >= start]
            streams[stream] = rows
        return cls(streams, ilt_fan_outs, ilt_fan_outs)

    def rows(self, stream: str) -> list[Row]:
        return self.streams[stream]

    def current(self, stream: str) -> list[Row]:
        """A link stream's current links (the removed ones have Active = false)."""
        return [r for r in self.streams[stream] if r["Active"]]

    def by_id(self, stream: str) -> dict[str, Row]:
        return {r["Id"]: r for r in self.streams[stream]}


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """An aware truth date-time as the zone-less UTC timestamp the marts hold."""
    return None if value is None else value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def number(text: str | None) -> decimal.Decimal | None:
    """A score written as text: a number, or None when blank or not numeric."""
    if text is None or not NUMBER.fullmatch(text.strip()):
        return None
    return decimal.Decimal(text.strip())


def rounded(value: decimal.Decimal, places: int) -> decimal.Decimal:
    return value.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)


def share(part: int, whole: int) -> decimal.Decimal:
    return rounded(decimal.Decimal(part) / decimal.Decimal(whole), 4)


def _later(*dates: dt.datetime) -> dt.datetime:
    return max(dates)


class Routes(defaultdict):
    """(user, thing) -> route -> the earliest instant that route assigned it."""

    def __init__(self) -> None:
        super().__init__(dict)

    def add(self, user: str, thing: str, route: str, at: dt.datetime) -> None:
        known = self[user, thing].get(route)
        self[user, thing][route] = at if known is None else min(known, at)


def grouped(rows: list[Row], field: str) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row[field]].append(row)
    return groups


def course_routes(loaded: Loaded) -> Routes:
    """(user, course) -> route -> the earliest instant that route assigned it."""
    routes = Routes()
    members = grouped(loaded.current("team_users"), "TeamId")
    path_courses = grouped(loaded.current("learning_path_courses"), "LearningPathId")
    for link in loaded.current("user_courses"):
        routes.add(link["UserId"], link["Id"], "direct", link["CreatedDate"])
    for team_course in loaded.current("team_courses"):
        for member in members[team_course["TeamId"]]:
            at = _later(member["CreatedDate"], team_course["CreatedDate"])
            routes.add(member["Id"], team_course["Id"], "team", at)
    for user_path in loaded.current("user_learning_paths"):
        for path_course in path_courses[user_path["LearningPathId"]]:
            at = _later(user_path["CreatedDate"], path_course["CreatedDate"])
            routes.add(user_path["Id"], path_course["Id"], "learning_path", at)
    for team_path in loaded.current("team_learning_paths"):
        for member in members[team_path["TeamId"]]:
            for path_course in path_courses[team_path["Id"]]:
                dates = (member, team_path, path_course)
                at = _later(*(link["CreatedDate"] for link in dates))
                routes.add(member["Id"], path_course["Id"], "team_learning_path", at)
    return routes


def path_routes(loaded: Loaded) -> Routes:
    """(user, learning path) -> route (direct, team) -> the earliest instant."""
    routes = Routes()
    for link in loaded.current("user_learning_paths"):
        routes.add(link["Id"], link["LearningPathId"], "direct", link["CreatedDate"])
    members = grouped(loaded.current("team_users"), "TeamId")
    for team_path in loaded.current("team_learning_paths"):
        for member in members[team_path["TeamId"]]:
            at = _later(member["CreatedDate"], team_path["CreatedDate"])
            routes.add(member["Id"], team_path["Id"], "team", at)
    return routes


def path_status(result: Row | None, courses_completed: int) -> str:
    if result and result["Completed"]:
        return "completed"
    if courses_completed > 0 or (result and (result["PercentageComplete"] or 0) > 0):
        return "in_progress"
    return "not_started"


def compliance_status(
    completed: bool, compliant_till: dt.datetime | None, as_of: dt.datetime, expiring_days: int
) -> str:
    if not completed:
        return "not_completed"
    if compliant_till is None:
        return "compliant"
    if compliant_till <= as_of:
        return "expired"
    if compliant_till <= as_of + dt.timedelta(days=expiring_days):
        return "expiring"
    return "compliant"


def latest_scores(loaded: Loaded) -> dict[tuple[str, str], decimal.Decimal | None]:
    """(user, course) -> the score of the learner's most recent achievement for it."""
    newest: dict[tuple[str, str], Row] = {}
    for achievement in loaded.rows("achievements"):
        key = (achievement["UserId"], achievement["CourseId"])
        order = (achievement["AchievementDate"], achievement["AchievementId"])
        known = newest.get(key)
        if known is None or order > (known["AchievementDate"], known["AchievementId"]):
            newest[key] = achievement
    return {key: number(row["Score"]) for key, row in newest.items()}


def learner_course_assignments(loaded: Loaded, as_of: dt.datetime, expiring_days: int) -> Mart:
    users, courses = loaded.by_id("users"), loaded.by_id("courses")
    results = {(r["UserId"], r["Id"]): r for r in loaded.rows("course_results") if r["Active"]}
    scores = latest_scores(loaded)
    mart = {}
    for (user_id, course_id), routes in course_routes(loaded).items():
        if user_id not in users or course_id not in courses:
            continue
        result = results.get((user_id, course_id))
        completed = bool(result and result["Completed"])
        due = utc(result["DueDate"]) if result else None
        till = utc(result["CompliantTillDate"]) if completed else None
        mart[user_id, course_id] = {
            "user_id": user_id,
            "course_id": course_id,
            "user_full_name": users[user_id]["FullName"],
            "is_user_active": users[user_id]["Active"],
            "course_name": courses[course_id]["Name"],
            "routes": ", ".join(r for r in ROUTES if r in routes),
            "route_count": len(routes),
            "is_assigned_directly": "direct" in routes,
            "is_assigned_via_team": "team" in routes,
            "is_assigned_via_learning_path": "learning_path" in routes,
            "is_assigned_via_team_learning_path": "team_learning_path" in routes,
            "assigned_at": utc(min(routes.values())),
            "started_at": utc(result["StartedDate"]) if result else None,
            "is_completed": completed,
            "completed_at": utc(result["CompletedDate"]) if completed else None,
            "percentage_complete": result["PercentageComplete"] if result else None,
            "score": scores.get((user_id, course_id)),
            "due_at": due,
            "is_overdue": not completed and due is not None and due < as_of,
            "compliant_till": till,
            "status": compliance_status(completed, till, as_of, expiring_days),
            "as_of": as_of,
        }
    return mart


def team_course_compliance(loaded: Loaded, assignments: Mart) -> Mart:
    users, teams = loaded.by_id("users"), loaded.by_id("teams")
    by_user = defaultdict(list)
    for row in assignments.values():
        by_user[row["user_id"]].append(row)
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for member in loaded.current("team_users"):
        team_id, user_id = member["TeamId"], member["Id"]
        if team_id not in teams or user_id not in users or not users[user_id]["Active"]:
            continue
        for row in by_user[user_id]:
            groups[team_id, row["course_id"]].append(row)
    mart = {}
    for (team_id, course_id), rows in groups.items():
        compliant = sum(r["status"] in ("compliant", "expiring") for r in rows)
        mart[team_id, course_id] = {
            "team_id": team_id,
            "course_id": course_id,
            "team_name": teams[team_id]["Name"],
            "course_name": rows[0]["course_name"],
            "learners_assigned": len(rows),
            "learners_completed": sum(r["is_completed"] for r in rows),
            "learners_overdue": sum(r["is_overdue"] for r in rows),
            "learners_compliant": compliant,
            "learners_expiring": sum(r["status"] == "expiring" for r in rows),
            "learners_expired": sum(r["status"] == "expired" for r in rows),
            "compliant_share": share(compliant, len(rows)),
        }
    return mart


def course_completions_by_month(loaded: Loaded) -> Mart:
    courses = loaded.by_id("courses")
    groups: dict[tuple[str, dt.date], list[Row]] = defaultdict(list)
    for achievement in loaded.rows("achievements"):
        if achievement["CourseId"] in courses:
            when = utc(achievement["AchievementDate"])
            groups[achievement["CourseId"], dt.date(when.year, when.month, 1)].append(achievement)
    mart = {}
    for (course_id, month), rows in groups.items():
        scores = [s for s in (number(r["Score"]) for r in rows) if s is not None]
        mart[course_id, month] = {
            "course_id": course_id,
            "completion_month": month,
            "course_name": courses[course_id]["Name"],
            "completions": len(rows),
            "distinct_learners": len({r["UserId"] for r in rows}),
            "scored_completions": len(scores),
            "mean_score": rounded(sum(scores) / len(scores), 2) if scores else None,
        }
    return mart


def learning_path_progress(loaded: Loaded) -> Mart:
    users, paths, courses = (loaded.by_id(s) for s in ("users", "learning_paths", "courses"))
    path_courses = defaultdict(set)
    for link in loaded.current("learning_path_courses"):
        if link["Id"] in courses:
            path_courses[link["LearningPathId"]].add(link["Id"])
    completed = {
        (r["UserId"], r["Id"])
        for r in loaded.rows("course_results")
        if r["Active"] and r["Completed"]
    }
    results = {
        (r["UserId"], r["Id"]): r for r in loaded.rows("learning_path_results") if r["Active"]
    }
    mart = {}
    for (user_id, path_id), routes in path_routes(loaded).items():
        if user_id not in users or path_id not in paths:
            continue
        result = results.get((user_id, path_id))
        done = sum((user_id, c) in completed for c in path_courses[path_id])
        path_done = bool(result and result["Completed"])
        mart[user_id, path_id] = {
            "user_id": user_id,
            "learning_path_id": path_id,
            "user_full_name": users[user_id]["FullName"],
            "is_user_active": users[user_id]["Active"],
            "learning_path_name": paths[path_id]["Name"],
            "is_assigned_directly": "direct" in routes,
            "is_assigned_via_team": "team" in routes,
            "assigned_at": utc(min(routes.values())),
            "courses_total": len(path_courses[path_id]),
            "courses_completed": done,
            "percentage_complete": result["PercentageComplete"] if result else None,
            "started_at": utc(result["StartDate"]) if result else None,
            "completed_at": utc(result["FinishDate"]) if path_done else None,
            "compliant_till": utc(result["CompliantTillDate"]) if path_done else None,
            "status": path_status(result, done),
        }
    return mart


def ilt_session_attendance(loaded: Loaded, as_of: dt.datetime) -> Mart:
    courses = loaded.by_id("courses")
    registered = defaultdict(int)
    for row in loaded.rows("ilt_rollcall"):
        registered[row["SessionId"]] += 1
    attended = defaultdict(int)
    for row in loaded.rows("ilt_attendance"):
        attended[row["SessionId"]] += 1
    mart = {}
    for session in loaded.rows("ilt_sessions"):
        if session["CourseId"] not in courses:
            continue
        sid = session["Id"]
        past = utc(session["EndDate"]) < as_of
        came = attended[sid] if loaded.attendance_loaded else None
        listed = registered[sid] if loaded.rollcall_loaded else None
        mart[(sid,)] = {
            "session_id": sid,
            "session_name": session["Name"],
            "course_id": session["CourseId"],
            "course_name": courses[session["CourseId"]]["Name"],
            "module_id": session["ModuleId"],
            "module_name": session["ModuleName"],
            "instructor_user_id": session["InstructorUserId"],
            "instructor_name": session["InstructorName"],
            "location_id": session["LocationId"],
            "location_name": session["Location"],
            "starts_at": utc(session["StartDate"]),
            "ends_at": utc(session["EndDate"]),
            "is_past": past,
            "slots": session["Slots"],
            "accepted": session["Accepted"],
            "learners_registered": listed,
            "learners_attended": came,
            "attendance_rate": share(came, listed)
            if past and listed and came is not None
            else None,
        }
    return mart


def marts(
    loaded: Loaded,
    as_of: dt.datetime,
    expiring_days: int = 30,
    source_relation: str = DEFAULT_SOURCE_RELATION,
) -> dict[str, Mart]:
    """Every mart of one account, by name, as of `as_of` (zone-less UTC): its rows carry
    the account's `source_relation` first, and are keyed by KEYS (within the account)."""
    assignments = learner_course_assignments(loaded, as_of, expiring_days)
    computed = {
        "learner_course_assignments": assignments,
        "team_course_compliance": team_course_compliance(loaded, assignments),
        "course_completions_by_month": course_completions_by_month(loaded),
        "learning_path_progress": learning_path_progress(loaded),
        "ilt_session_attendance": ilt_session_attendance(loaded, as_of),
    }
    return {
        name: {key: {"source_relation": source_relation, **row} for key, row in mart.items()}
        for name, mart in computed.items()
    }


#: Each mart's primary key columns within one account.
KEYS = {
    "learner_course_assignments": ("user_id", "course_id"),
    "team_course_compliance": ("team_id", "course_id"),
    "course_completions_by_month": ("course_id", "completion_month"),
    "learning_path_progress": ("user_id", "learning_path_id"),
    "ilt_session_attendance": ("session_id",),
}

#: Each mart's primary key in a warehouse of several accounts: the account, then KEYS.
ACCOUNT_KEYS = {mart: ("source_relation", *keys) for mart, keys in KEYS.items()}


def differences(got: Mart, want: Mart) -> list[str]:
    """The first differences between two marts' rows by key, for an assertion's message."""
    lines = [f"missing {k}" for k in sorted(set(want) - set(got), key=str)[:5]]
    lines += [f"unexpected {k}" for k in sorted(set(got) - set(want), key=str)[:5]]
    for key in sorted(set(got) & set(want), key=str):
        wrong = {c: (got[key].get(c), v) for c, v in want[key].items() if got[key].get(c) != v}
        extra = set(got[key]) - set(want[key])
        if wrong or extra:
            lines.append(f"{key}: (got, want) {wrong}, columns not expected {sorted(extra)}")
        if len(lines) > 12:
            break
    return lines
