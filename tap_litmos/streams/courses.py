"""Courses, their modules and who is assigned to them."""

from __future__ import annotations

from tap_litmos.patterns import DateWindowStream, SnapshotStream
from tap_litmos.streams.fields import BOOL, DATE, DECIMAL, ECOMMERCE, INT, LINK, TEXT, schema


class CoursesStream(SnapshotStream):
    """`GET /courses`: every course."""

    name = "courses"
    path = "/courses"
    wrappers = ("Courses", "Course")
    primary_keys = ("Id",)
    schema = schema(
        Id=TEXT, Code=TEXT, Name=TEXT, Active=BOOL, ForSale=BOOL, OriginalId=INT,
        Description=TEXT, **ECOMMERCE, CourseCodeForBulkImport=TEXT, Price=DECIMAL,
        AccessTillDate=DATE, AccessTillDays=INT, CourseTeamLibrary=BOOL, CreatedBy=INT,
        SeqId=INT,
    )  # fmt: skip


class CourseModulesStream(DateWindowStream):
    """`GET /org/courses/modules`: modules added to (or removed from) courses."""

    name = "course_modules"
    path = "/org/courses/modules"
    wrappers = ("CourseModules", "CourseModule")
    primary_keys = ("CourseId", "Id")
    schema = schema(CourseId=TEXT, Id=TEXT, OriginalCourseId=INT, OriginalModuleId=INT, **LINK)


class UserCoursesStream(DateWindowStream):
    """`GET /org/users/courses`: courses assigned to (or removed from) users."""

    name = "user_courses"
    path = "/org/users/courses"
    wrappers = ("UserCourses", "UserCourse")
    primary_keys = ("UserId", "Id")
    schema = schema(UserId=TEXT, Id=TEXT, OriginalUserId=INT, OriginalCourseId=INT, **LINK)
