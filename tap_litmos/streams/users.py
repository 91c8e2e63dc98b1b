"""Users: learners and administrators (Litmos "Users via API")."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from tap_litmos.client import LitmosStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

try:
    from typing import override  # type: ignore[attr-defined]
except ImportError:  # Python < 3.12
    from typing_extensions import override


class EarliestUsersProbe(LitmosStream):
    """`GET /users/details` oldest first, one page: when the account began to hold data.

    Not a catalog stream: the date-window streams start their first run here when no
    `start_date` is set, rather than walk decades of empty weeks. Litmos documents
    `sort`/`dir` on this endpoint but not which fields it sorts by, so the earliest
    CreatedDate of the whole first page is taken, not just its first row.
    """

    name = "earliest_users_probe"
    path = "/users/details"
    primary_keys = ("Id",)
    schema = th.PropertiesList(
        th.Property("Id", th.StringType),
        th.Property("CreatedDate", th.DateTimeType),
    ).to_dict()

    @override
    def filter_params(self, context: Context | None) -> dict[str, t.Any]:
        return {"sort": "CreatedDate", "dir": "ASC"}

    @override
    def page_reaches_end(self, rows: list[dict]) -> bool:
        return True  # one page is enough

    @override
    def _warn_unknown_fields(self, row: t.Mapping[str, object]) -> None:
        pass  # reads two of the many user fields on purpose
