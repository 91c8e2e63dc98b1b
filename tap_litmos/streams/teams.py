"""Teams, their hierarchy and their members, courses and learning paths."""

from __future__ import annotations

from tap_litmos.patterns import DateWindowStream, SnapshotStream
from tap_litmos.streams.fields import AUDIT, BOOL, INT, LINK, TEXT, schema


class TeamsStream(SnapshotStream):
    """`GET /teams`: every team; `ParentTeamId` gives the hierarchy ("" at the top)."""

    name = "teams"
    path = "/teams"
    wrappers = ("Teams", "Team")
    primary_keys = ("Id",)
    schema = schema(Id=TEXT, Name=TEXT, TeamCodeForBulkImport=TEXT, ParentTeamId=TEXT)


class TeamUsersStream(DateWindowStream):
    """`GET /org/teams/users`: team members, leaders and admins."""

    name = "team_users"
    path = "/org/teams/users"
    wrappers = ("TeamUsers", "TeamUser")
    primary_keys = ("TeamId", "Id")
    schema = schema(
        TeamId=TEXT, Id=TEXT, OriginalTeamId=INT, OriginalUserId=INT, Active=BOOL,
        IsTeamLeader=BOOL, IsTeamAdmin=BOOL, **AUDIT,
    )  # fmt: skip


class TeamCoursesStream(DateWindowStream):
    """`GET /org/teams/courses`: courses assigned to teams or in their library."""

    name = "team_courses"
    path = "/org/teams/courses"
    wrappers = ("TeamCourses", "TeamCourse")
    primary_keys = ("TeamId", "Id")
    schema = schema(
        TeamId=TEXT, Id=TEXT, OriginalTeamId=INT, OriginalCourseId=INT, Active=BOOL,
        IsInTeamLibrary=BOOL, LearningPathAssignment=BOOL, **AUDIT,
    )  # fmt: skip


class TeamLearningPathsStream(DateWindowStream):
    """`GET /org/teams/learningpaths`: learning paths assigned to teams."""

    name = "team_learning_paths"
    path = "/org/teams/learningpaths"
    wrappers = ("TeamLearningPaths", "TeamLearningPath")
    primary_keys = ("TeamId", "Id")
    schema = schema(TeamId=TEXT, Id=TEXT, OriginalTeamId=INT, OriginalLearningPathId=INT, **LINK)
