"""Litmos streams, grouped by Litmos domain (one module per domain)."""

from __future__ import annotations

from tap_litmos.streams.achievements import AchievementsStream
from tap_litmos.streams.courses import (
    CourseCustomFieldsStream,
    CourseCustomFieldValuesStream,
    CourseModulesStream,
    CoursesStream,
    UserCoursesStream,
)
from tap_litmos.streams.ilt import (
    IltAttendanceStream,
    IltRollcallStream,
    IltSessionDaysStream,
    IltSessionsStream,
    InstructorsStream,
    LocationsStream,
)
from tap_litmos.streams.learning_paths import (
    LearningPathCoursesStream,
    LearningPathsStream,
    UserLearningPathsStream,
)
from tap_litmos.streams.results import (
    CourseResultsStream,
    LearningPathResultsStream,
    ModuleResultsStream,
)
from tap_litmos.streams.teams import (
    TeamCoursesStream,
    TeamLearningPathsStream,
    TeamsStream,
    TeamUsersStream,
)
from tap_litmos.streams.users import LoginActivityStream, UserBadgesStream, UsersStream

#: Every stream, in the order a run syncs them: snapshots, then the date-window streams,
#: then achievements. Child streams run under their parents.
STREAM_TYPES = [
    UsersStream,
    UserBadgesStream,
    TeamsStream,
    CoursesStream,
    CourseCustomFieldsStream,
    CourseCustomFieldValuesStream,
    LearningPathsStream,
    InstructorsStream,
    LocationsStream,
    IltSessionsStream,
    IltSessionDaysStream,
    IltRollcallStream,
    IltAttendanceStream,
    CourseResultsStream,
    ModuleResultsStream,
    LearningPathResultsStream,
    UserCoursesStream,
    UserLearningPathsStream,
    TeamUsersStream,
    TeamCoursesStream,
    TeamLearningPathsStream,
    LearningPathCoursesStream,
    CourseModulesStream,
    LoginActivityStream,
    AchievementsStream,
]

__all__ = ["STREAM_TYPES"]
