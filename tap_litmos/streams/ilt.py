"""Instructor-led training: instructors, locations, sessions, session days, roll calls."""

from __future__ import annotations

import sys
import typing as t

from tap_litmos.parsing import nested_rows
from tap_litmos.patterns import FanOutStream, SnapshotStream
from tap_litmos.streams.fields import (
    BOOL,
    DATE,
    EVENT_USER,
    INT,
    TEXT,
    USER_SUMMARY,
    schema,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context, Record

    from tap_litmos.api import Rows

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override


class InstructorsStream(SnapshotStream):
    """`GET /instructors`: users who teach sessions."""

    name = "instructors"
    path = "/instructors"
    wrappers = ("Instructors", "Instructor")
    primary_keys = ("Id",)
    schema = schema(**USER_SUMMARY)


class LocationsStream(SnapshotStream):
    """`GET /locations`: where sessions take place."""

    name = "locations"
    path = "/locations"
    wrappers = ("Locations", "Location")
    primary_keys = ("LocationId",)
    schema = schema(
        LocationId=TEXT, Location=TEXT, Description=TEXT, Street1=TEXT, Street2=TEXT,
        City=TEXT, State=TEXT, PostalCode=TEXT, Country=TEXT, Phone=TEXT,
    )  # fmt: skip


class IltSessionsStream(SnapshotStream):
    """`GET /sessions/past` and `/sessions/future`: every session, with its course and module.

    Litmos answers a tree, course > module > session > day; each page's rows are
    courses. A session row is flattened out of it with the ids of its course and
    module; its days go to `ilt_session_days` without another request, through the
    run's hand-off (`RunContext.session_days`).
    """

    name = "ilt_sessions"
    path = "/sessions/{when}"
    wrappers = ("SessionCourses", "SessionCourse")
    primary_keys = ("Id",)
    schema = schema(
        Id=TEXT, Name=TEXT, InstructorUserId=TEXT, InstructorName=TEXT, SessionType=INT,
        TimeZone=TEXT, Location=TEXT, LocationId=TEXT, StartDate=DATE, EndDate=DATE,
        CourseName=TEXT, ModuleName=TEXT, Slots=INT, Accepted=INT, EnableWaitList=BOOL,
        CourseId=TEXT, ModuleId=TEXT,
    )  # fmt: skip
    known_fields = frozenset({"Days"})  # read by ilt_session_days
    child_context_keys: t.ClassVar = {
        "CourseId": "CourseId",
        "ModuleId": "ModuleId",
        "SessionId": "Id",
    }

    @property
    @override
    def partitions(self) -> list[dict[str, t.Any]]:
        return [{"when": "past"}, {"when": "future"}]

    @override
    def flatten(self, rows: Rows) -> Rows:
        sessions = []
        for course in rows:
            for module in nested_rows(course.get("Modules")):
                for session in nested_rows(module.get("Sessions")):
                    session["CourseId"] = course.get("Id")
                    session["ModuleId"] = module.get("Id")
                    sessions.append(session)
        return sessions

    @override
    def to_record(self, row: t.Mapping[str, object], context: Context | None) -> Record | None:
        record = super().to_record(row, context)
        if record is not None:
            self.run.session_days.put(record["Id"], nested_rows(row.get("Days")))
        return record


class IltSessionDaysStream(SnapshotStream):
    """The days of each session, from the same answer as `ilt_sessions` (no request)."""

    name = "ilt_session_days"
    parent_stream_type = IltSessionsStream
    path = "/sessions/{when}"  # never requested: the days come with their sessions
    primary_keys = ("Id",)
    schema = schema(
        Id=TEXT, StartDate=DATE, EndDate=DATE, StartTime=TEXT, EndTime=TEXT,
        SendReminder=BOOL, ReminderValue=INT, ReminderMetric=TEXT, CreatedDate=DATE,
        SessionId=TEXT,
    )  # fmt: skip

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        session_id = (context or {})["SessionId"]
        for day in self.run.session_days.take(session_id):
            record = self.to_record({**day, "SessionId": session_id}, context)
            if record is not None:
                yield record


class _SessionPeopleStream(FanOutStream, SnapshotStream):
    """People of one session: a fan-out, one request per session."""

    parent_stream_type = IltSessionsStream
    wrappers = ("EventUsers", "EventUser")
    primary_keys = ("SessionId", "Id")
    schema = schema(**EVENT_USER, CourseId=TEXT, ModuleId=TEXT, SessionId=TEXT)


class IltRollcallStream(_SessionPeopleStream):
    """`GET /courses/{c}/modules/{m}/sessions/{s}/rollcall`: who registered."""

    name = "ilt_rollcall"
    path = "/courses/{CourseId}/modules/{ModuleId}/sessions/{SessionId}/rollcall"


class IltAttendanceStream(_SessionPeopleStream):
    """`GET /courses/{c}/modules/{m}/sessions/{s}/attendance`: who attended."""

    name = "ilt_attendance"
    path = "/courses/{CourseId}/modules/{ModuleId}/sessions/{SessionId}/attendance"
