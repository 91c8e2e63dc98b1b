"""Users: learners and administrators, their badges and their logins."""

from __future__ import annotations

import sys
import typing as t

from tap_litmos.client import LitmosStream
from tap_litmos.patterns import DateWindowStream, FanOutStream, SnapshotStream
from tap_litmos.streams.fields import BOOL, DATE, INT, TEXT, schema

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override

USER_FIELDS = dict(  # noqa: C408 (keywords keep the wire names readable)
    Id=TEXT, UserName=TEXT, FirstName=TEXT, LastName=TEXT, FullName=TEXT, Email=TEXT,
    AccessLevel=TEXT, DisableMessages=BOOL, Active=BOOL, Skype=TEXT, PhoneWork=TEXT,
    PhoneMobile=TEXT, LastLogin=DATE, LoginKey=TEXT, IsCustomUsername=BOOL,
    SkipFirstLogin=BOOL, TimeZone=TEXT, SalesforceId=TEXT, OriginalId=INT, Street1=TEXT,
    Street2=TEXT, City=TEXT, State=TEXT, PostalCode=TEXT, Country=TEXT, CompanyName=TEXT,
    JobTitle=TEXT, CustomField1=TEXT, CustomField2=TEXT, CustomField3=TEXT, Culture=TEXT,
    CustomField4=TEXT, CustomField5=TEXT, CustomField6=TEXT, CustomField7=TEXT,
    CustomField8=TEXT, CustomField9=TEXT, CustomField10=TEXT, SalesforceContactId=TEXT,
    SalesforceAccountId=TEXT, CreatedDate=DATE, Points=INT, Brand=TEXT, ManagerId=TEXT,
    ManagerName=TEXT, JobRole=TEXT, ExternalEmployeeId=TEXT,
)  # fmt: skip


class UsersStream(SnapshotStream):
    """`GET /users/details`: every user with every detail, inactive users included."""

    name = "users"
    path = "/users/details"
    wrappers = ("Users", "User")
    primary_keys = ("Id",)
    schema = schema(**USER_FIELDS)
    child_context_keys: t.ClassVar = {"UserId": "Id"}


class UserBadgesStream(FanOutStream, SnapshotStream):
    """`GET /users/{id}/badges`: gamification badges; a fan-out, one request per user."""

    name = "user_badges"
    path = "/users/{UserId}/badges"
    wrappers = ("Badges", "Badge")
    parent_stream_type = UsersStream
    primary_keys = ("UserId", "ID")
    schema = schema(
        ID=INT, Title=TEXT, Description=TEXT, Icon=TEXT, IconBgColor=TEXT, IconDisplayUrl=TEXT,
        UserId=TEXT,
    )  # fmt: skip


class LoginActivityStream(DateWindowStream):
    """`GET /org/activities/logins`: one row per login."""

    name = "login_activity"
    path = "/org/activities/logins"
    wrappers = ("LoginActivities", "LoginActivity")
    # Litmos documents no key for a login: a user logs in once at a given instant.
    primary_keys = ("UserId", "LoginDate")
    replication_key = "LoginDate"
    schema = schema(
        ActivityType=TEXT, UserId=TEXT, OriginalUserId=INT, UserName=TEXT, IPAddress=TEXT,
        LoginDate=DATE,
    )  # fmt: skip


class EarliestUsersProbe(LitmosStream):
    """`GET /users/details` oldest first, one page: when the account began to hold data.

    Not a catalog stream: the date-window streams start their first run here when no
    `start_date` is set, rather than walk decades of empty weeks. Litmos documents
    `sort`/`dir` on this endpoint but not which fields it sorts by, so the earliest
    CreatedDate of the whole first page is taken, not just its first row.
    """

    name = "earliest_users_probe"
    path = "/users/details"
    wrappers = ("Users", "User")
    primary_keys = ("Id",)
    schema = schema(Id=TEXT, CreatedDate=DATE)
    known_fields = frozenset(USER_FIELDS)

    @override
    def filter_params(self, context: Context | None) -> dict[str, t.Any]:
        return {"sort": "CreatedDate", "dir": "ASC"}

    @override
    def page_reaches_end(self, rows: list[dict[str, t.Any]]) -> bool:
        return True  # one page is enough
