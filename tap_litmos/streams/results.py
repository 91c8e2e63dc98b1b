"""Progress and scores: per course, per module attempt and per learning path."""

from __future__ import annotations

from tap_litmos.patterns import DateWindowStream
from tap_litmos.streams.fields import BOOL, DATE, DECIMAL, INT, TEXT, schema


class CourseResultsStream(DateWindowStream):
    """`GET /org/results/details`: one row per user and course whose result changed."""

    name = "course_results"
    path = "/org/results/details"
    wrappers = ("UserResults", "UserResult")
    primary_keys = ("UserId", "Id")
    schema = schema(
        Id=TEXT, UserId=TEXT, OriginalCourseId=INT, OriginalUserId=INT, Name=TEXT,
        Active=BOOL, CreatedDate=DATE, UpdatedDate=DATE, StartedDate=DATE, Completed=BOOL,
        PercentageComplete=DECIMAL, CompletedDate=DATE, UpToDate=BOOL, Overdue=BOOL,
        CompliantTillDate=DATE, DueDate=DATE, LastAttemptDate=DATE, CreatedBy=INT,
        UpdatedBy=INT, Code=TEXT, UserName=TEXT, LearningPathAssignment=BOOL,
        TeamAssignment=BOOL,
    )  # fmt: skip


class ModuleResultsStream(DateWindowStream):
    """`GET /org/modules/results`: one row per module attempt that changed."""

    name = "module_results"
    path = "/org/modules/results"
    wrappers = ("ModuleResults", "ModuleResult")
    primary_keys = ("ModuleResultId",)
    schema = schema(
        Id=TEXT, UserId=TEXT, OriginalModuleId=INT, OriginalUserId=INT, ModuleResultId=INT,
        Active=BOOL, Name=TEXT, Passmark=INT, Score=INT, UserName=TEXT, Completed=BOOL,
        AttemptNumber=INT, CreatedBy=INT, FinishedDate=DATE, CreatedDate=DATE,
        StartedDate=DATE, TimeTaken=TEXT, UpdatedDate=DATE, Code=TEXT,
    )  # fmt: skip


class LearningPathResultsStream(DateWindowStream):
    """`GET /org/learningpaths/results`: one row per user and path whose result changed."""

    name = "learning_path_results"
    path = "/org/learningpaths/results"
    wrappers = ("LearningPathResults", "LearningPathResult")
    primary_keys = ("UserId", "Id")
    schema = schema(
        Id=TEXT, UserId=TEXT, OriginalLearningPathId=INT, OriginalUserId=INT, Active=BOOL,
        Name=TEXT, PercentageComplete=DECIMAL, Completed=BOOL, CreatedDate=DATE,
        UpdatedDate=DATE, CompliantTillDate=DATE, StartDate=DATE, FinishDate=DATE,
        CreatedBy=INT,
    )  # fmt: skip
