"""Achievements: course and learning-path completions (Litmos "Achievements via API")."""

from __future__ import annotations

import sys
import typing as t

from singer_sdk import typing as th

from tap_litmos.patterns import DescendingSinceStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override


class AchievementsStream(DescendingSinceStream):
    """`GET /achievements`: newest first, filtered on the server by `since` and `userid`."""

    name = "achievements"
    path = "/achievements"
    wrappers = ("Achievements", "Achievement")
    primary_keys = ("AchievementId",)
    replication_key = "AchievementDate"

    schema = th.PropertiesList(
        th.Property("UserId", th.StringType, description="Encrypted id of the learner."),
        th.Property("Title", th.StringType, description="Course or learning path title."),
        th.Property("Description", th.StringType),
        th.Property(
            "AchievementDate",
            th.DateTimeType,
            required=True,
            description="When it was achieved (UTC). Replication key.",
        ),
        th.Property("CourseId", th.StringType, description="Encrypted id of the course."),
        th.Property(
            "CompliantTillDate",
            th.DateTimeType,
            description="End of compliance (UTC); null when the course has none.",
        ),
        th.Property("Score", th.StringType, description="Litmos types the score as text."),
        th.Property("Result", th.StringType, description='For example "Complete".'),
        th.Property("Type", th.StringType, description='For example "Course Completed".'),
        th.Property("FirstName", th.StringType),
        th.Property("LastName", th.StringType),
        th.Property("AchievementId", th.IntegerType, required=True, description="Primary key."),
        th.Property("CertificateId", th.IntegerType),
    ).to_dict()

    @property
    @override
    def partitions(self) -> list[dict[str, t.Any]] | None:
        # With `user_ids`, one pass per user (`userid=`); the bookmark stays flat.
        user_ids = self.config.get("user_ids")
        if not user_ids:
            return None
        return [{"userid": user_id} for user_id in dict.fromkeys(user_ids)]

    @override
    def filter_params(self, context: Context | None) -> dict[str, t.Any]:
        params = super().filter_params(context)
        if context and context.get("userid"):
            params["userid"] = context["userid"]
        return params
