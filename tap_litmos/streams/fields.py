"""Schema fragments shared by the stream modules.

A stream's schema is its fields in Litmos's wire order, each with the JSON type the tap
emits: ``schema(Id=TEXT, Active=BOOL, UpdatedDate=DATE)``. Field names stay exactly as
Litmos spells them for that endpoint (they differ between endpoints: `Complete` and
`Completed`, `ID` and `Id` ...), so each stream lists its own; only the groups that
really repeat are named here.
"""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

if t.TYPE_CHECKING:
    from collections.abc import Callable

    FieldType = Callable[[str], th.Property[t.Any]]


def _kind(json_type: type[th.JSONTypeHelper[t.Any]]) -> FieldType:
    return lambda name: th.Property(name, json_type)


#: Text: names, codes, encrypted ids ("Id", "UserId" ...).
TEXT = _kind(th.StringType)
#: Whole numbers: OriginalId and the other numeric ids, counts, scores.
INT = _kind(th.IntegerType)
#: Exact decimals (Price, PercentageComplete): emitted as JSON numbers, never floats.
DECIMAL = _kind(th.NumberType)
BOOL = _kind(th.BooleanType)
#: A date-time, read by the WCF rule and emitted as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
DATE = _kind(th.DateTimeType)


def TEXT_LIST(name: str) -> th.Property[t.Any]:  # noqa: N802 (a field kind, like TEXT)
    """A list of texts: a JSON array of strings, or XML child elements holding one text each."""
    return th.Property(name, th.ArrayType(th.StringType))


def schema(**fields: FieldType) -> dict[str, t.Any]:
    """A stream schema from `Name=TYPE` pairs, in the order given (Litmos's wire order)."""
    return th.PropertiesList(*(kind(name) for name, kind in fields.items())).to_dict()


#: When a row of the `/org/*` family was created and last changed, and by whom (the
#: users' OriginalId; -1 or 0 for the system).
AUDIT: dict[str, FieldType] = {
    "CreatedDate": DATE,
    "UpdatedDate": DATE,
    "CreatedBy": INT,
    "UpdatedBy": INT,
}
#: The tail of every `/org/*` link row: a removal arrives as `Active = false` on the
#: same key, with a newer UpdatedDate.
LINK: dict[str, FieldType] = {"Active": BOOL, **AUDIT}
#: The user columns `/instructors` shares with `/users`.
USER_SUMMARY: dict[str, FieldType] = {
    "Id": TEXT,
    "UserName": TEXT,
    "FirstName": TEXT,
    "LastName": TEXT,
    "Active": BOOL,
    "Email": TEXT,
    "AccessLevel": TEXT,
    "Brand": TEXT,
}
#: A person on an instructor-led session's roll call or attendance list.
EVENT_USER: dict[str, FieldType] = {
    "Id": TEXT,
    "EventStatus": INT,
    "FirstName": TEXT,
    "LastName": TEXT,
    "Email": TEXT,
    "CompanyName": TEXT,
    "Score": INT,
    "Completed": BOOL,
}
#: What courses and learning paths say about selling them.
ECOMMERCE: dict[str, FieldType] = {
    "EcommerceShortDescription": TEXT,
    "EcommerceLongDescription": TEXT,
}
