"""One achievement (``GET /achievements``, docs/litmos-api.md §6.4) and its forms.

Its fields in wire order, its ground truth, and the compact tuple the dataset stores it
as (``data.py``) turned back into an object or into its spec's row.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from litmos_sandbox.values import EPOCH

#: Wire order of the fields (docs/litmos-api.md §6.4, Achievements page).
LITMOS_FIELDS: tuple[str, ...] = (
    "UserId",
    "Title",
    "Description",
    "AchievementDate",
    "CourseId",
    "CompliantTillDate",
    "Score",
    "Result",
    "Type",
    "FirstName",
    "LastName",
    "AchievementId",
    "CertificateId",
)


@dataclass(frozen=True, slots=True)
class Achievement:
    """One row of ``GET /achievements`` as ground truth (docs/litmos-api.md §6.4)."""

    user_id: str
    title: str
    description: str
    achievement_date: datetime  # naive UTC wall clock, ms precision
    course_id: str
    compliant_till_date: datetime | None  # naive UTC wall clock, ms precision
    score: str | None  # Litmos types Score as a string (§9 item 12)
    result: str
    type: str
    first_name: str
    last_name: str
    achievement_id: int
    certificate_id: int | None

    def to_truth(self) -> dict[str, Any]:
        """Return the row keyed by Litmos field names, dates as aware UTC datetimes."""
        ctd = self.compliant_till_date
        return {
            "UserId": self.user_id,
            "Title": self.title,
            "Description": self.description,
            "AchievementDate": self.achievement_date.replace(tzinfo=timezone.utc),
            "CourseId": self.course_id,
            "CompliantTillDate": None if ctd is None else ctd.replace(tzinfo=timezone.utc),
            "Score": self.score,
            "Result": self.result,
            "Type": self.type,
            "FirstName": self.first_name,
            "LastName": self.last_name,
            "AchievementId": self.achievement_id,
            "CertificateId": self.certificate_id,
        }


PYTHON_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Achievement))
#: Litmos field name -> python attribute name (same order).
LITMOS_TO_PYTHON: dict[str, str] = dict(zip(LITMOS_FIELDS, PYTHON_FIELDS, strict=False))


def truth_to_json(truth: dict[str, Any]) -> dict[str, Any]:
    """Make a ``to_truth()`` dict JSON-ready: dates as ISO 8601 UTC text (ms, ``Z``)."""
    out = dict(truth)
    for name in ("AchievementDate", "CompliantTillDate"):
        value = out[name]
        if value is not None:
            out[name] = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return out


def stored_id(row: Achievement | tuple) -> int:
    """AchievementId of a stored row, without materialising it."""
    return row[11] if type(row) is tuple else row.achievement_id


def materialise(row: Achievement | tuple) -> Achievement:
    """Turn a compact generated tuple into an :class:`Achievement` (objects pass through)."""
    if type(row) is not tuple:
        return row
    ctd = row[5]
    return Achievement(
        row[0],
        row[1],
        row[2],
        EPOCH + timedelta(milliseconds=row[3]),
        row[4],
        None if ctd is None else EPOCH + timedelta(milliseconds=ctd),
        *row[6:],
    )


def as_row(row: Achievement | tuple) -> tuple:
    """A stored row as its spec's tuple (``spec.ACHIEVEMENTS``: wire order, datetimes)."""
    if type(row) is not tuple:
        a = row
        return (
            a.user_id,
            a.title,
            a.description,
            a.achievement_date,
            a.course_id,
            a.compliant_till_date,
            a.score,
            a.result,
            a.type,
            a.first_name,
            a.last_name,
            a.achievement_id,
            a.certificate_id,
        )
    ctd = row[5]
    return (
        *row[:3],
        EPOCH + timedelta(milliseconds=row[3]),
        row[4],
        None if ctd is None else EPOCH + timedelta(milliseconds=ctd),
        *row[6:],
    )


User = tuple[str, str, str]  # (user_id, first_name, last_name)
