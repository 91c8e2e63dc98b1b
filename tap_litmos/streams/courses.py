"""Courses, their modules and who is assigned to them."""

from __future__ import annotations

import typing as t

from tap_litmos.patterns import DateWindowStream, FanOutStream, SnapshotStream
from tap_litmos.streams.fields import (
    BOOL,
    DATE,
    DECIMAL,
    ECOMMERCE,
    INT,
    LINK,
    TEXT,
    TEXT_LIST,
    schema,
)


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
    child_context_keys: t.ClassVar = {"CourseId": "Id"}


class CourseCustomFieldsStream(SnapshotStream):
    """`GET /coursecustomfields`: the custom fields courses can carry (their definitions)."""

    name = "course_custom_fields"
    path = "/coursecustomfields"
    wrappers = ("CourseCustomFields", "CourseCustomField")
    primary_keys = ("CustomFieldId",)
    # Dropdown: the choices of a dropdown field, as texts (docs/litmos-api.md §10: the
    # shape of its items is not documented).
    schema = schema(
        CustomFieldId=TEXT, Label=TEXT, DefaultValue=TEXT, Mandatory=BOOL,
        VisibleToLearner=BOOL, Type=TEXT, Dropdown=TEXT_LIST,
    )  # fmt: skip


class CourseCustomFieldValuesStream(FanOutStream, SnapshotStream):
    """`GET /courses/{id}/coursecustomfields`: field values; a fan-out, one request per course."""

    name = "course_custom_field_values"
    path = "/courses/{CourseId}/coursecustomfields"
    wrappers = ("Parameters", "Parameter")
    parent_stream_type = CoursesStream
    # A value names its field by `fieldname` (the field's Label), not by CustomFieldId.
    primary_keys = ("CourseId", "fieldname")
    schema = schema(fieldname=TEXT, Value=TEXT, CourseId=TEXT)


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
