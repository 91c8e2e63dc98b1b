"""Learning paths, their courses and who is assigned to them."""

from __future__ import annotations

from tap_litmos.patterns import DateWindowStream, SnapshotStream
from tap_litmos.streams.fields import BOOL, DATE, DECIMAL, ECOMMERCE, INT, LINK, TEXT, schema


class LearningPathsStream(SnapshotStream):
    """`GET /learningpaths`: every learning path."""

    name = "learning_paths"
    path = "/learningpaths"
    wrappers = ("LearningPaths", "LearningPath")
    primary_keys = ("Id",)
    schema = schema(
        Id=TEXT, Name=TEXT, Description=TEXT, Active=BOOL, OriginalId=INT, ForSale=BOOL,
        Price=DECIMAL, **ECOMMERCE, AccessTillDate=DATE, AccessTillDays=INT,
        IsEquivalency=BOOL, LearningPathTeamLibrary=BOOL,
    )  # fmt: skip


class LearningPathCoursesStream(DateWindowStream):
    """`GET /org/learningpaths/courses`: courses added to (or removed from) paths."""

    name = "learning_path_courses"
    path = "/org/learningpaths/courses"
    wrappers = ("LearningPathCourses", "LearningPathCourse")
    primary_keys = ("LearningPathId", "Id")
    schema = schema(
        LearningPathId=TEXT, Id=TEXT, OriginalLearningPathId=INT, OriginalCourseId=INT, **LINK
    )


class UserLearningPathsStream(DateWindowStream):
    """`GET /org/learningpaths/users`: learning paths assigned to (or removed from) users."""

    name = "user_learning_paths"
    path = "/org/learningpaths/users"
    wrappers = ("LearningPathUsers", "LearningPathUser")
    primary_keys = ("LearningPathId", "Id")
    schema = schema(
        LearningPathId=TEXT, Id=TEXT, OriginalLearningPathId=INT, OriginalUserId=INT, **LINK
    )
