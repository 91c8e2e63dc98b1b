"""One generated Litmos account ("world"): every table behind every endpoint.

Rows are tuples in their spec's ``columns`` order (``spec.py``); dates are naive UTC wall
clocks with millisecond precision (what Litmos stores), decimals :class:`Decimal`. The
world reuses the achievements dataset's users and course catalog (``data.py``), so every
achievement's UserId/CourseId is a user/course/learning path here, and every id joins:
team_users.TeamId is a team, results point at users/courses/modules, and so on.

Generation is seeded (``random.Random(f"litmos-world-{seed}")``, never the clock) and
anchored at ``anchor`` (the ``now`` option, else today's UTC midnight): org changes fall
in the year before the anchor, ILT sessions from 300 days before to 120 days after it.
The ``/org/*`` tables keep only the latest version of each key, like real tables.
"""

from __future__ import annotations

import random
import re
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox.data import EPOCH, parse_iso_wall, to_ms

if TYPE_CHECKING:
    from collections.abc import Iterable

    from litmos_sandbox.data import Dataset

#: Every user's CreatedDate is at or after this instant (user 0, the owner, is created then).
ACCOUNT_START = datetime(2023, 1, 2, 8, 0, 0)
_DAY_MS = 86_400_000
_YEAR_MS = 365 * _DAY_MS
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
LOGIN_URL = "https://sandbox.litmos.com/login.aspx?loginkey="


@dataclass
class Sizes:
    """World sizes. ``None`` means "derived from users" (see :meth:`resolved`)."""

    users: int = 20
    teams: int = 6
    courses: int = 16
    learning_paths: int = 4
    course_results: int | None = None
    module_results: int | None = None
    logins: int | None = None

    def resolved(self) -> Sizes:
        """Fill the derived sizes.

        Results 4 per user, module results half the course results, logins 5 per user
        (all capped by what the account can hold).
        """
        n_courses = max(self.courses, 16)
        cr = self.course_results
        cr = min(self.users * 4, self.users * n_courses) if cr is None else cr
        cr = min(cr, self.users * n_courses)
        mr = cr // 2 if self.module_results is None else self.module_results
        lg = self.users * 5 if self.logins is None else self.logins
        return Sizes(self.users, self.teams, n_courses, max(self.learning_paths, 4), cr, mr, lg)


def ms_dt(ms: int) -> datetime:
    """Naive UTC wall clock from epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def wall(value: Any) -> datetime | None:
    """A naive UTC wall clock (ms) from a datetime (aware or naive) or ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_iso_wall(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    msg = f"not a date: {value!r}"
    raise TypeError(msg)


def coerce(kind: str, value: Any) -> Any:
    """A user-supplied value as stored for ``kind``."""
    if value is None:
        return None
    if kind in ("wcf", "isoz", "org"):
        return wall(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    if kind == "dec":
        return Decimal(str(value))
    return value


def truth_value(value: Any) -> Any:
    """A stored value as ground truth (aware UTC datetimes)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc)
    return value


class Table:
    """Rows of one spec by primary key; ``org`` tables also keep a (date, key) index."""

    def __init__(self, ep: S.Endpoint) -> None:
        """An empty table for ``ep``."""
        self.ep = ep
        self.rows: dict[Any, tuple] = {}
        self.dated = ep.family == "org"
        self._dpos = ep.pos(ep.date_field) if self.dated and ep.date_field else 0
        self._idx: list[tuple[datetime, Any]] = []
        self._stamps: list[datetime] = []

    def load(self, rows: Iterable[tuple]) -> None:
        """Bulk insert (later rows with the same key replace earlier ones)."""
        key_of = self.ep.key_of
        for row in rows:
            self.rows[key_of(row)] = row
        if self.dated:
            d = self._dpos
            self._idx = sorted((row[d], k) for k, row in self.rows.items())
            self._stamps = [s for s, _ in self._idx]

    def put(self, row: tuple) -> None:
        """Insert or replace one row."""
        key = self.ep.key_of(row)
        old = self.rows.get(key)
        if self.dated and old is not None:
            self._unindex(old[self._dpos], key)
        self.rows[key] = row
        if self.dated:
            entry = (row[self._dpos], key)
            pos = bisect_left(self._idx, entry)
            self._idx.insert(pos, entry)
            self._stamps.insert(pos, entry[0])

    def delete(self, key: Any) -> tuple | None:
        """Remove one row; return it (None if absent)."""
        old = self.rows.pop(key, None)
        if old is not None and self.dated:
            self._unindex(old[self._dpos], key)
        return old

    def _unindex(self, stamp: datetime, key: Any) -> None:
        pos = bisect_left(self._idx, (stamp, key))
        if pos < len(self._idx) and self._idx[pos] == (stamp, key):
            del self._idx[pos]
            del self._stamps[pos]

    def window(
        self,
        lo: datetime,
        hi: datetime,
        *,
        lo_incl: bool,
        hi_incl: bool,
        start: int = 0,
        count: int | None = None,
        order: str = "date",
    ) -> list[tuple]:
        """Rows with lo <(=) date <(=) hi, sliced, in ``order`` (see ``ORG_ORDERS``)."""
        first = bisect_left(self._stamps, lo) if lo_incl else bisect_right(self._stamps, lo)
        last = bisect_right(self._stamps, hi) if hi_incl else bisect_left(self._stamps, hi)
        rows = self.rows
        if order != "date":
            picked = self._idx[first:last]
            if order == "date_desc":
                picked.reverse()
            else:  # "key"
                picked.sort(key=lambda entry: entry[1])
            page = picked[start:] if count is None else picked[start : start + count]
            return [rows[k] for _, k in page]
        begin = first + start
        end = last if count is None else min(last, begin + count)
        return [rows[k] for _, k in self._idx[begin:end]] if begin < end else []

    def ordered(self) -> list[tuple]:
        """All rows in server order (insertion order; org: ascending date, key)."""
        if self.dated:
            return [self.rows[k] for _, k in self._idx]
        return list(self.rows.values())


#: What order an /org/* page lists its rows in (Litmos documents none, docs/litmos-api.md):
#: ascending date then key (the default), descending date, or by key alone.
ORG_ORDERS = ("date", "date_desc", "key")


def _clean(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower()) or "x"


_CITIES = (
    ("Seattle", "WA", "US"),
    ("London", "", "GB"),
    ("Sydney", "NSW", "AU"),
    ("Zürich", "ZH", "CH"),
    ("Montréal", "QC", "CA"),
    ("Austin", "TX", "US"),
)
_COMPANIES = ("Acme & Co", "O'Reilly <Media>", "Globex", "Initech", "Müller GmbH", "")
_JOBS = ("Engineer", "Sales Rep", "Manager", "Nurse", "Driver", "Barista & Trainer", "")
_ZONES = ("Pacific Standard Time", "GMT Standard Time", "UTC", "AUS Eastern Standard Time")
_TEAM_NAMES = (
    "Sales",
    "R&D",
    "Customer Success",
    "O'Hare Depot",
    "Finance",
    "<Ops>",
    "Support",
    "Marketing",
)
_TOPICS = (
    "Safety",
    "Compliance",
    "Leadership",
    "Excel",
    "Privacy & Security",
    "Onboarding",
    "Customer Care",
    "Sales Skills",
    "Writing",
    "Ethics",
)
_LOCATIONS = (
    (
        "Room 1 & 2",
        "Ground floor",
        "1 Main St",
        "",
        "Seattle",
        "WA",
        "98101",
        "US",
        "+1 206 555 0100",
    ),
    (
        "London HQ",
        "O'Connell suite",
        "10 Downing St",
        "Floor 2",
        "London",
        "",
        "SW1A 2AA",
        "GB",
        "",
    ),
    ("Online", "", "", "", "", "", "", "", ""),
    ("Sydney <Annex>", "Harbour view", "1 George St", "", "Sydney", "NSW", "2000", "AU", ""),
)
_BADGES = (
    (1201, "First Steps", "Completed a first course", "footsteps", "#FFAA00"),
    (1202, "Quiz Master", "Scored 100% & more", "star", "#00AAFF"),
    (1203, "Night Owl", "Learned after midnight", "owl", "#222222"),
    (1204, "Team Player", "Helped a colleague", "people", "#33CC33"),
    (1205, "Streak: 7 days", "", "fire", "#FF3300"),
    (1206, "Graduate", "Finished a learning path", "cap", "#7744FF"),
)
_PERCENTS = (Decimal("0.0"), Decimal("25.0"), Decimal("50.0"), Decimal("66.67"), Decimal("12.5"))


class World:
    """Every table of one account plus the mutation and query helpers."""

    def __init__(self, anchor: datetime) -> None:
        """An empty world; use :meth:`generate`."""
        self.anchor = anchor
        self.tables: dict[str, Table] = {ep.stream: Table(ep) for ep in S.TABLES}
        self.lock = threading.RLock()
        self._rng = random.Random(0)
        self._used: set[str] = set()
        self._next_int: dict[tuple[str, str], int] = {}
        #: (stream, field) -> key -> value, for values no endpoint of that stream shows.
        self.hidden: dict[tuple[str, str], dict[Any, Any]] = {}
        self._module_course: dict[str, str] = {}
        self._owner = -1

    # --- helpers ------------------------------------------------------------------------

    def new_id(self, lo: int = 12, hi: int = 22) -> str:
        """A fresh Litmos-like encrypted id (may start with '-' or contain '_')."""
        rng = self._rng
        while True:
            ident = "".join(rng.choice(_ID_ALPHABET) for _ in range(rng.randint(lo, hi)))
            if ident not in self._used:
                self._used.add(ident)
                return ident

    def row(self, stream: str, values: dict[str, Any]) -> tuple:
        """A stored tuple from ``values``; ``copy`` fields missing are taken from refs."""
        ep = self.tables[stream].ep
        out = []
        for f in ep.fields + ep.parents:
            if f.name in values:
                out.append(values[f.name])
            elif f.copy is not None:
                ref_field, source = f.copy
                ref = ep.field(ref_field).ref
                rkey = values.get(ref_field)
                target = self.tables[ref].rows.get(rkey) if ref else None
                if target is None:
                    out.append(None)
                elif source in self.tables[ref].ep.columns:
                    out.append(target[self.tables[ref].ep.pos(source)])
                else:  # not on that endpoint's wire (a team's OriginalId)
                    out.append(self.hidden.get((ref, source), {}).get(rkey))
            else:
                out.append(None)
        return tuple(out)

    def table(self, stream: str) -> Table:
        """The table of ``stream`` (ValueError if unknown)."""
        try:
            return self.tables[stream]
        except KeyError:
            msg = f"unknown stream {stream!r}; known: {sorted(self.tables)}"
            raise ValueError(msg) from None

    # --- generation -------------------------------------------------------------------

    @classmethod
    def generate(cls, dataset: Dataset, seed: int, sizes: Sizes, anchor: datetime) -> World:
        """Build the whole account around ``dataset``'s users and catalog."""
        w = cls(anchor)
        w._rng = rng = random.Random(f"litmos-world-{seed}")
        sz = sizes.resolved()
        users = dataset.users
        w._used.update(u[0] for u in users)
        catalog = list(getattr(dataset, "_catalog", []))
        w._used.update(c[0] for c in catalog)
        anchor_ms = to_ms(anchor)
        w._gen_users(rng, users, anchor_ms)
        owner = w.tables["users"].ep.pos("OriginalId")
        w._owner = next(iter(w.tables["users"].rows.values()))[owner] if users else -1
        w._gen_catalog(rng, catalog, sz)
        w._gen_teams(rng, sz.teams)
        w._gen_ilt(rng, anchor_ms)
        w._gen_badges(rng)
        w._gen_org(rng, sz, anchor_ms)
        w._shape_compliance(random.Random(f"litmos-compliance-{seed}"), anchor_ms)
        return w

    def _stamp(self, rng: random.Random, anchor_ms: int, recent: list[int]) -> int:
        """An UpdatedDate in the year before the anchor: some on midnights, some tied."""
        r = rng.random()
        if r < 0.03 and recent:
            return recent[int(r * 10_000) % len(recent)]
        ms = anchor_ms - 1 - int(rng.random() * _YEAR_MS)
        if r > 0.97:
            ms -= ms % _DAY_MS
        elif r > 0.5:
            ms -= ms % 10  # .xx0 milliseconds, so trimmed fractions show up
        if r > 0.99 or len(recent) < 8:
            recent.append(ms)
        return ms

    def _gen_users(self, rng: random.Random, users: list, anchor_ms: int) -> None:
        start_s = to_ms(ACCOUNT_START) // 1000
        span_s = max((anchor_ms - _DAY_MS) // 1000 - start_s, 1)
        offsets = sorted(rng.randrange(span_s) for _ in range(max(len(users) - 1, 0)))
        created = [start_s, *(start_s + o for o in offsets)]
        rows = []
        full_names: list[str] = []
        for i, (uid, first, last) in enumerate(users):
            made = ms_dt(created[i] * 1000)
            full = f"{first} {last}"
            full_names.append(full)
            email = f"{_clean(first)}.{_clean(last)}.{i}@example.com"
            city, state, country = _CITIES[i % len(_CITIES)]
            r = rng.random()
            if i == 0:
                level = "Account_Owner"
            elif r < 0.08:
                level = "Administrator"
            elif r < 0.2:
                level = "Team_Leader"
            else:
                level = "Learner"
            last_login = None
            if i == 0 or rng.random() > 0.15:
                span = max(anchor_ms - created[i] * 1000, 1000)
                last_login = ms_dt((created[i] * 1000 + rng.randrange(span)) // 1000 * 1000)
            manager = rng.randrange(i) if i and rng.random() < 0.7 else None
            rows.append(
                self.row(
                    "users",
                    {
                        "Id": uid,
                        "UserName": email,
                        "FirstName": first,
                        "LastName": last,
                        "FullName": full,
                        "Email": email,
                        "AccessLevel": level,
                        "DisableMessages": rng.random() < 0.1,
                        "Active": i == 0 or rng.random() > 0.1,
                        "Skype": None,
                        "PhoneWork": "",
                        "PhoneMobile": f"+1 555 01{i % 100:02d}",
                        "LastLogin": last_login,
                        "LoginKey": LOGIN_URL + self.new_id(16, 16),
                        "IsCustomUsername": False,
                        "SkipFirstLogin": rng.random() < 0.2,
                        "TimeZone": _ZONES[i % len(_ZONES)],
                        "SalesforceId": None,
                        "OriginalId": 4_138_947 + i * 13,
                        "Street1": f"{i + 1} Main St",
                        "Street2": "",
                        "City": city,
                        "State": state,
                        "PostalCode": f"{10000 + i}",
                        "Country": country,
                        "CompanyName": _COMPANIES[i % len(_COMPANIES)],
                        "JobTitle": _JOBS[int(r * 100) % len(_JOBS)],
                        "CustomField1": ("Blue", "Green & Gold", "")[i % 3],
                        "CustomField2": "",
                        "CustomField3": "",
                        "Culture": ("en-US", "en-GB", "fr-FR")[i % 3],
                        **{f"CustomField{k}": "" for k in range(4, 11)},
                        "SalesforceContactId": None,
                        "SalesforceAccountId": None,
                        "CreatedDate": made,
                        "Points": int(r * 500),
                        "Brand": "Default",
                        "ManagerId": None if manager is None else users[manager][0],
                        "ManagerName": None if manager is None else full_names[manager],
                        "JobRole": "",
                        "ExternalEmployeeId": f"E{100000 + i}",
                    },
                )
            )
        self.tables["users"].load(rows)
        step = 10
        instructors = [r for i, r in enumerate(rows) if i % step == 4 or i == 0]
        self.tables["instructors"].load(
            self.row("instructors", self._user_fields("instructors", r)) for r in instructors
        )

    def _user_fields(self, stream: str, user: tuple) -> dict[str, Any]:
        uep = self.tables["users"].ep
        return {n: user[uep.pos(n)] for n in self.tables[stream].ep.names if n in uep._pos}  # noqa: SLF001

    def _gen_catalog(self, rng: random.Random, catalog: list, sz: Sizes) -> None:
        courses = [(c[0], c[1], c[2]) for c in catalog if not c[4]]
        lps = [(c[0], c[1], c[2]) for c in catalog if c[4]]
        n = len(courses)
        while len(courses) < sz.courses:
            n += 1
            topic = _TOPICS[n % len(_TOPICS)]
            courses.append((self.new_id(), f"{topic} {n:03d}", f"All about {topic.lower()}"))
        while len(lps) < sz.learning_paths:
            k = len(lps) + 1
            lps.append((self.new_id(), f"Path {k:03d}: {_TOPICS[k % len(_TOPICS)]}", ""))
        owner = self._owner
        crow = []
        for i, (cid, name, desc) in enumerate(courses):
            sale = rng.random() < 0.1
            till = rng.random() < 0.1
            crow.append(
                self.row(
                    "courses",
                    {
                        "Id": cid,
                        "Code": f"C{i + 1:04d}",
                        "Name": name,
                        "Active": rng.random() > 0.1,
                        "ForSale": sale,
                        "OriginalId": 700_000 + i * 7,
                        "Description": desc,
                        "EcommerceShortDescription": "",
                        "EcommerceLongDescription": "",
                        "CourseCodeForBulkImport": f"BULK-{i + 1}" if i % 3 else "",
                        "Price": Decimal("100.0") if sale else Decimal("0.00"),
                        "AccessTillDate": ms_dt(to_ms(self.anchor) + 200 * _DAY_MS)
                        if till
                        else None,
                        "AccessTillDays": 90 if i % 5 == 1 else None,
                        "CourseTeamLibrary": i % 4 == 0,
                        "CreatedBy": owner,
                        "SeqId": i + 1,
                    },
                )
            )
        self.tables["courses"].load(crow)
        self.tables["learning_paths"].load(
            self.row(
                "learning_paths",
                {
                    "Id": lid,
                    "Name": name,
                    "Description": desc,
                    "Active": True,
                    "OriginalId": 800_000 + i * 11,
                    "ForSale": False,
                    "Price": Decimal("0.00"),
                    "EcommerceShortDescription": "",
                    "EcommerceLongDescription": "",
                    "AccessTillDate": None,
                    "AccessTillDays": None,
                    "IsEquivalency": i % 3 == 2,
                    "LearningPathTeamLibrary": i % 2 == 0,
                },
            )
            for i, (lid, name, desc) in enumerate(lps)
        )
        mods = []
        for i, (cid, name, _) in enumerate(courses):
            for k in range(2 + i % 3):
                mods.append(
                    self.row(
                        "modules",
                        {
                            "Id": self.new_id(),
                            "Code": f"M{i + 1:04d}-{k + 1}",
                            "Name": f"{name}: part {k + 1}",
                            "Description": "",
                            "Passmark": (70, 80, 0)[k % 3],
                            "OriginalId": 900_000 + len(mods),
                            "Ilt": False,
                        },
                    )
                    + (cid,)
                )
            if i % 4 == 2:
                mods.append(
                    self.row(
                        "modules",
                        {
                            "Id": self.new_id(),
                            "Code": f"ILT{i + 1:04d}",
                            "Name": f"{name} (classroom)",
                            "Description": "Instructor-led",
                            "Passmark": 0,
                            "OriginalId": 900_000 + len(mods),
                            "Ilt": True,
                        },
                    )
                    + (cid,)
                )
        self._module_course = {m[0]: m[-1] for m in mods}
        self.tables["modules"].load(m[:-1] for m in mods)

    def _gen_teams(self, rng: random.Random, n: int) -> None:
        rows: list[tuple] = []
        for i in range(n):
            parent = "" if i == 0 or rng.random() < 0.25 else rows[rng.randrange(i)][0]
            rows.append(
                self.row(
                    "teams",
                    {
                        "Id": self.new_id(),
                        "Name": f"{_TEAM_NAMES[i % len(_TEAM_NAMES)]} {i + 1}",
                        "TeamCodeForBulkImport": f"T{i + 1:03d}" if i % 4 else "",
                        "ParentTeamId": parent,
                    },
                )
            )
        self.tables["teams"].load(rows)
        self.hidden["teams", "OriginalId"] = {r[0]: 600_000 + i * 3 for i, r in enumerate(rows)}

    def _gen_ilt(self, rng: random.Random, anchor_ms: int) -> None:
        loc_rows = [
            self.row("locations", dict(zip(S.LOCATIONS.names, (self.new_id(), *loc), strict=True)))
            for loc in _LOCATIONS
        ]
        self.tables["locations"].load(loc_rows)
        instructors = list(self.tables["instructors"].rows.values())
        users = list(self.tables["users"].rows.values())
        courses = self.tables["courses"].rows
        upos = self.tables["users"].ep.pos
        sessions, days, rollcall, attendance = [], [], [], []
        for mod in self.tables["modules"].rows.values():
            if not mod[S.MODULES.pos("Ilt")]:
                continue
            cid = self._module_course[mod[0]]
            course = courses[cid]
            for k in range(2 + rng.randrange(3)):
                start_day = anchor_ms // _DAY_MS + rng.randrange(-300, 120)
                start = start_day * _DAY_MS + (9 + k % 3) * 3_600_000
                n_days = 1 + rng.randrange(3)
                sid = self.new_id()
                for d in range(n_days):
                    day0 = start + d * _DAY_MS
                    days.append(
                        self.row(
                            "ilt_session_days",
                            {
                                "Id": self.new_id(),
                                "StartDate": ms_dt(day0),
                                "EndDate": ms_dt(day0 + 8 * 3_600_000),
                                "StartTime": f"{9 + k % 3}:00AM",
                                "EndTime": f"{5 + k % 3}:00PM",
                                "SendReminder": d == 0,
                                "ReminderValue": 1 if d == 0 else None,
                                "ReminderMetric": "Days" if d == 0 else None,
                                "CreatedDate": ms_dt(start - 30 * _DAY_MS + 123),
                                "SessionId": sid,
                            },
                        )
                    )
                end = start + (n_days - 1) * _DAY_MS + 8 * 3_600_000
                if instructors and rng.random() > 0.1:
                    ins = instructors[rng.randrange(len(instructors))]
                    ins_id, ins_name = ins[0], f"{ins[2]} {ins[3]}"
                else:
                    ins_id, ins_name = "0", "Multiple Instructors"
                loc = loc_rows[rng.randrange(len(loc_rows))]
                slots = 10 + rng.randrange(20)
                attendees = rng.sample(users, min(len(users), 3 + rng.randrange(6)))
                sessions.append(
                    self.row(
                        "ilt_sessions",
                        {
                            "Id": sid,
                            "Name": f"{course[2]} - session {k + 1}",
                            "InstructorUserId": ins_id,
                            "InstructorName": ins_name,
                            "SessionType": 1 + rng.randrange(4),
                            "TimeZone": _ZONES[k % len(_ZONES)],
                            "Location": loc[1],
                            "LocationId": loc[0],
                            "StartDate": ms_dt(start),
                            "EndDate": ms_dt(end),
                            "CourseName": course[2],
                            "ModuleName": mod[2],
                            "Slots": slots,
                            "Accepted": len(attendees),
                            "EnableWaitList": k % 2 == 0,
                            "CourseId": cid,
                            "ModuleId": mod[0],
                        },
                    )
                )
                past = end < anchor_ms
                for u in attendees:
                    base = {
                        "Id": u[0],
                        "FirstName": u[upos("FirstName")],
                        "LastName": u[upos("LastName")],
                        "Email": u[upos("Email")],
                        "CompanyName": u[upos("CompanyName")],
                        "CourseId": cid,
                        "ModuleId": mod[0],
                        "SessionId": sid,
                    }
                    attended = past and rng.random() < 0.7
                    done = None if not past or rng.random() < 0.2 else attended
                    rollcall.append(
                        self.row(
                            "ilt_rollcall",
                            {
                                **base,
                                "EventStatus": 1 + int(attended),
                                "Score": None,
                                "Completed": done,
                            },
                        )
                    )
                    if attended:
                        attendance.append(
                            self.row(
                                "ilt_attendance",
                                {
                                    **base,
                                    "EventStatus": 2,
                                    "Score": rng.choice((None, 80, 100)),
                                    "Completed": done,
                                },
                            )
                        )
        self.tables["ilt_sessions"].load(sessions)
        self.tables["ilt_session_days"].load(days)
        self.tables["ilt_rollcall"].load(rollcall)
        self.tables["ilt_attendance"].load(attendance)

    def _gen_badges(self, rng: random.Random) -> None:
        rows = []
        for uid in self.tables["users"].rows:
            for b in rng.sample(_BADGES, rng.randrange(4)):
                rows.append(
                    self.row(
                        "user_badges",
                        {
                            "ID": b[0],
                            "Title": b[1],
                            "Description": b[2],
                            "Icon": b[3],
                            "IconBgColor": b[4],
                            "IconDisplayUrl": f"https://cdn.sandbox.litmos.com/badges/{b[3]}.png",
                            "UserId": uid,
                        },
                    )
                )
        self.tables["user_badges"].load(rows)

    def _gen_org(self, rng: random.Random, sz: Sizes, anchor_ms: int) -> None:
        users = list(self.tables["users"].rows)
        courses = list(self.tables["courses"].rows)
        lps = list(self.tables["learning_paths"].rows)
        teams = list(self.tables["teams"].rows)
        mods_by_course: dict[str, list[str]] = {}
        for mid, cid in self._module_course.items():
            mods_by_course.setdefault(cid, []).append(mid)
        recent: list[int] = []
        owner = self._owner
        rand = rng.random

        def stamp() -> int:
            return self._stamp(rng, anchor_ms, recent)

        def dates(created_back: int = 90) -> tuple[datetime, datetime, int, int]:
            up = stamp()
            made = up - int(rand() * created_back * _DAY_MS)
            return ms_dt(made), ms_dt(up), made, up

        def link(stream: str, a: str, b: str, **extra: Any) -> tuple:
            made, up, _, _ = dates()
            ep = self.tables[stream].ep
            pa, pb = ep.fields[0].name, ep.fields[1].name
            return self.row(
                stream,
                {
                    pa: a,
                    pb: b,
                    "Active": rand() > 0.05,
                    "CreatedDate": made,
                    "UpdatedDate": up,
                    "CreatedBy": owner,
                    "UpdatedBy": owner,
                    **extra,
                },
            )

        # course results and assignments: unique (user, course) pairs
        n_c = len(courses)
        pairs = rng.sample(range(len(users) * n_c), sz.course_results or 0) if users else []
        results, assigned = [], []
        for p in pairs:
            uid, cid = users[p // n_c], courses[p % n_c]
            made, up, made_ms, up_ms = dates()
            done = rand() < 0.6
            r = rand()
            completed = up if done else None
            results.append(
                self.row(
                    "course_results",
                    {
                        "Id": cid,
                        "UserId": uid,
                        "Active": r > 0.03,
                        "CreatedDate": made,
                        "UpdatedDate": up,
                        "StartedDate": ms_dt(made_ms + (up_ms - made_ms) // 3),
                        "Completed": done,
                        "PercentageComplete": Decimal("100.0")
                        if done
                        else _PERCENTS[int(r * 50) % 5],
                        "CompletedDate": completed,
                        "UpToDate": done,
                        "Overdue": not done and r < 0.2,
                        "CompliantTillDate": ms_dt(up_ms + _YEAR_MS) if done and r < 0.15 else None,
                        "DueDate": ms_dt(made_ms + 30 * _DAY_MS) if r > 0.7 else None,
                        "LastAttemptDate": up,
                        "CreatedBy": owner,
                        "UpdatedBy": -1 if r > 0.5 else owner,
                        "LearningPathAssignment": r < 0.2,
                        "TeamAssignment": 0.2 <= r < 0.5,
                    },
                )
            )
            removed = r > 0.95
            assigned.append(
                self.row(
                    "user_courses",
                    {
                        "UserId": uid,
                        "Id": cid,
                        "Active": not removed,
                        "CreatedDate": made,
                        "UpdatedDate": ms_dt(max(made_ms, up_ms - _DAY_MS)) if removed else made,
                        "CreatedBy": owner,
                        "UpdatedBy": owner,
                    },
                )
            )
        self.tables["course_results"].load(results)
        self.tables["user_courses"].load(assigned)

        # module results: attempts on modules of courses with a result
        mres = []
        attempts: dict[tuple[str, str], int] = {}
        for i in range(sz.module_results or 0):
            res = results[int(rand() * len(results))] if results else None
            if res is None:
                break
            cid, uid = res[0], res[1]
            mods = mods_by_course.get(cid) or []
            if not mods:
                continue
            mid = mods[int(rand() * len(mods))]
            n = attempts[uid, mid] = attempts.get((uid, mid), 0) + 1
            made, up, made_ms, up_ms = dates(30)
            done = rand() < 0.7
            secs = int(rand() * 3600)
            mres.append(
                self.row(
                    "module_results",
                    {
                        "Id": mid,
                        "UserId": uid,
                        "ModuleResultId": 50_000_000 + i * 7 % 1_000_003,
                        "Active": True,
                        "Score": int(rand() * 101) if rand() > 0.3 else None,
                        "Completed": done,
                        "AttemptNumber": n,
                        "CreatedBy": owner,
                        "FinishedDate": up if done else None,
                        "CreatedDate": made,
                        "StartedDate": ms_dt(made_ms + (up_ms - made_ms) // 2),
                        "TimeTaken": f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}",
                        "UpdatedDate": up,
                    },
                )
            )
        self.tables["module_results"].load(mres)

        # learning paths: assignments and results on the same pairs
        n_l = len(lps)
        lp_pairs = rng.sample(range(len(users) * n_l), min(len(users) * n_l, len(users) // 2 + 1))
        lp_users, lp_results = [], []
        for p in lp_pairs:
            uid, lid = users[p // n_l], lps[p % n_l]
            row = link("user_learning_paths", lid, uid)
            lp_users.append(row)
            made, up = row[5], row[6]
            done = rand() < 0.4
            lp_results.append(
                self.row(
                    "learning_path_results",
                    {
                        "Id": lid,
                        "UserId": uid,
                        "Active": row[4],
                        "PercentageComplete": Decimal("100.0") if done else Decimal("50.0"),
                        "Completed": done,
                        "CreatedDate": made,
                        "UpdatedDate": up,
                        "CompliantTillDate": None,
                        "StartDate": made,
                        "FinishDate": up if done else None,
                        "CreatedBy": owner,
                    },
                )
            )
        self.tables["user_learning_paths"].load(lp_users)
        self.tables["learning_path_results"].load(lp_results)

        # team membership and team assignments
        team_users = []
        for uid in users:
            for tid in rng.sample(teams, min(len(teams), 1 + (rand() < 0.3))):
                team_users.append(
                    link(
                        "team_users",
                        tid,
                        uid,
                        IsTeamLeader=rand() < 0.05,
                        IsTeamAdmin=rand() < 0.03,
                    )
                )
        self.tables["team_users"].load(team_users)
        self.tables["team_courses"].load(
            link(
                "team_courses",
                tid,
                cid,
                IsInTeamLibrary=rand() < 0.5,
                LearningPathAssignment=rand() < 0.2,
            )
            for tid in teams
            for cid in rng.sample(courses, min(len(courses), 1 + rng.randrange(5)))
        )
        self.tables["team_learning_paths"].load(
            link("team_learning_paths", tid, lid)
            for tid in teams
            for lid in rng.sample(lps, min(len(lps), rng.randrange(3)))
        )
        self.tables["learning_path_courses"].load(
            link("learning_path_courses", lid, cid)
            for lid in lps
            for cid in rng.sample(courses, min(len(courses), 2 + rng.randrange(4)))
        )
        self.tables["course_modules"].load(
            link("course_modules", cid, mid) for mid, cid in self._module_course.items()
        )

        # logins: one row per login, unique per (user, instant)
        seen: set[tuple[str, int]] = set()
        logins = []
        for _ in range(sz.logins or 0):
            if not users:
                break
            uid = users[int(rand() * len(users))]
            ms = stamp()
            while (uid, ms) in seen:
                ms += 1
            seen.add((uid, ms))
            logins.append(
                self.row(
                    "login_activity",
                    {
                        "ActivityType": "Login",
                        "UserId": uid,
                        "IPAddress": "10." + ".".join(str(int(rand() * 256)) for _ in range(3)),
                        "LoginDate": ms_dt(ms),
                    },
                )
            )
        self.tables["login_activity"].load(logins)

    def _shape_compliance(self, rng: random.Random, anchor_ms: int) -> None:
        """Due dates and compliance relative to the anchor, in every state a report needs.

        Not-completed results are overdue (due before the anchor), due later, or have no
        due date, and Overdue says which, as Litmos computes it. Completed ones either
        never lapse or are compliant till a date that has passed (expired), falls within
        the 30 days after the anchor (expiring) or lies further ahead. Its own random
        stream, drawn after everything else, so no other value of the world changes.
        """
        table = self.tables["course_results"]
        pos = table.ep.pos
        done_at, completed, started = pos("CompletedDate"), pos("Completed"), pos("StartedDate")
        due, overdue, till, up_to_date = (
            pos("DueDate"),
            pos("Overdue"),
            pos("CompliantTillDate"),
            pos("UpToDate"),
        )
        rows = []
        for row in table.ordered():
            values = list(row)
            r = rng.random()
            if not row[completed]:
                begun = to_ms(row[started]) if row[started] else anchor_ms - 60 * _DAY_MS
                if r < 0.4:  # overdue: due between the start and the anchor
                    ms = begun + int(rng.random() * max(anchor_ms - begun, 1))
                elif r < 0.75:  # due within the next two months
                    ms = anchor_ms + int((0.05 + rng.random()) * 60 * _DAY_MS)
                else:
                    ms = None
                values[due] = None if ms is None else ms_dt(ms)
                values[overdue] = ms is not None and ms < anchor_ms
                values[till] = None
                values[up_to_date] = False
            else:
                finished = to_ms(row[done_at])
                if r < 0.3:
                    ms = None  # a completion that never lapses
                elif r < 0.55:  # expired: lapsed between completion and the anchor
                    ms = finished + int(rng.random() * max(anchor_ms - finished, 1))
                elif r < 0.8:  # expiring within the 30 days after the anchor
                    ms = anchor_ms + int((0.05 + rng.random() * 0.9) * 30 * _DAY_MS)
                else:  # compliant for longer
                    ms = anchor_ms + int((1.2 + rng.random() * 10) * 30 * _DAY_MS)
                values[till] = None if ms is None else ms_dt(ms)
                values[overdue] = False
                values[up_to_date] = ms is None or ms >= anchor_ms
            rows.append(tuple(values))
        table.load(rows)

    # --- reads ------------------------------------------------------------------------

    def truth(self, stream: str) -> list[dict[str, Any]]:
        """Ground truth of ``stream``: dicts (columns order, typed values), server order."""
        with self.lock:
            table = self.table(stream)
            ep = table.ep
            cols = [f.name for f in ep.fields + ep.parents if f.kind != "list"]
            idx = [ep.pos(c) for c in cols]
            return [
                {c: truth_value(row[i]) for c, i in zip(cols, idx, strict=True)}
                for row in table.ordered()
            ]

    def sessions_tree(
        self,
        *,
        past: bool,
        now: datetime,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[tuple]:
        """SessionCourse rows (with nested Modules/Sessions/Days) on one side of ``now``."""
        with self.lock:
            t = self.tables
            sep, dep = S.SESSION, S.SESSION_DAY
            days: dict[str, list[tuple]] = {}
            for d in t["ilt_session_days"].rows.values():
                days.setdefault(d[dep.pos("SessionId")], []).append(d)
            by_module: dict[str, list[tuple]] = {}
            end_pos, start_pos = sep.pos("EndDate"), sep.pos("StartDate")
            n_wire = len(sep.fields)
            days_pos = sep.pos("Days")
            for s in sorted(t["ilt_sessions"].rows.values(), key=lambda r: (r[start_pos], r[0])):
                if (s[end_pos] < now) != past:
                    continue
                if since is not None and not since <= s[start_pos] < until:  # type: ignore[operator]
                    continue
                ds = sorted(days.get(s[0], []), key=lambda r: (r[1], r[0]))
                wire_row = s[:days_pos] + (ds,) + s[days_pos + 1 : n_wire]
                by_module.setdefault(s[sep.pos("ModuleId")], []).append(wire_row)
            out = []
            mods = t["modules"].rows
            mp = S.MODULES.pos
            for cid, course in t["courses"].rows.items():
                modules = [
                    (
                        mid,
                        mods[mid][mp("Code")],
                        mods[mid][mp("Name")],
                        mods[mid][mp("Description")],
                        by_module[mid],
                    )
                    for mid in mods
                    if mid in by_module and self._module_course.get(mid) == cid
                ]
                if modules:
                    cp = S.COURSES.pos
                    out.append(
                        tuple(course[cp(n)] for n in S.SESSION_COURSE.names[:-1]) + (modules,)
                    )
            return out

    def session_parent_ok(self, course_id: str, module_id: str, session_id: str) -> str | None:
        """None when the session exists under that course/module, else the 404 text."""
        if course_id not in self.tables["courses"].rows:
            return f"The course {course_id} does not exist."
        session = self.tables["ilt_sessions"].rows.get(session_id)
        sep = S.SESSION
        if (
            module_id not in self.tables["modules"].rows
            or session is None
            or session[sep.pos("CourseId")] != course_id
            or session[sep.pos("ModuleId")] != module_id
        ):
            return "Not Found. The record you requested does not exist."
        return None

    # --- mutations --------------------------------------------------------------------

    def norm_key(self, stream: str, key: Any) -> Any:
        """A user-supplied key in stored form (lists -> tuples, dates parsed)."""
        ep = self.table(stream).ep
        parts = list(key) if isinstance(key, (list, tuple)) else [key]
        if len(parts) != len(ep.key):
            msg = f"{stream} keys have {len(ep.key)} part(s): {ep.key}"
            raise ValueError(msg)
        parts = [coerce(ep.field(n).kind, v) for n, v in zip(ep.key, parts, strict=True)]
        return parts[0] if len(parts) == 1 else tuple(parts)

    def _values(self, ep: S.Endpoint, fields: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, value in fields.items():
            try:
                f = ep.field(name)
            except KeyError:
                msg = f"{ep.stream} has no field {name!r}"
                raise ValueError(msg) from None
            out[name] = coerce(f.kind, value)
        return out

    def touch(self, stream: str, key: Any, now: datetime, **fields: Any) -> dict[str, Any]:
        """Update one row; org rows get UpdatedDate = ``now`` unless given."""
        with self.lock:
            table = self.table(stream)
            ep = table.ep
            key = self.norm_key(stream, key)
            old = table.rows.get(key)
            if old is None:
                msg = f"no {stream} row with key {key!r}"
                raise KeyError(msg)
            values = dict(zip(ep.columns, old, strict=True))
            values.update(self._values(ep, fields))
            if table.dated and ep.date_field == "UpdatedDate" and "UpdatedDate" not in fields:
                values["UpdatedDate"] = now
            if ep.key_of(tuple(values[c] for c in ep.columns)) != key:
                msg = "touch cannot change a primary key; use add"
                raise ValueError(msg)
            row = tuple(values[c] for c in ep.columns)
            table.put(row)
            return self._truth_row(ep, row)

    def remove_link(self, stream: str, key: Any, now: datetime) -> dict[str, Any]:
        """Deactivate a link row: Active false, UpdatedDate now."""
        if "Active" not in self.table(stream).ep.names or stream == "users":
            msg = f"{stream} rows have no Active link flag"
            raise ValueError(msg)
        return self.touch(stream, key, now, Active=False)

    def delete_user(self, user_id: str) -> None:
        """Hard delete: the user vanishes from /users/details and /instructors."""
        with self.lock:
            if self.tables["users"].delete(user_id) is None:
                msg = f"no user {user_id!r}"
                raise KeyError(msg)
            self.tables["instructors"].delete(user_id)
            for badge in [k for k in self.tables["user_badges"].rows if k[0] == user_id]:
                self.tables["user_badges"].delete(badge)

    def add(self, stream: str, now: datetime, **fields: Any) -> dict[str, Any]:
        """Add a row; missing fields get defaults (refs: a random existing parent)."""
        with self.lock:
            table = self.table(stream)
            ep = table.ep
            values = self._values(ep, fields)
            for f in ep.fields + ep.parents:
                if f.name in values or f.copy is not None or f.kind == "list":
                    continue
                values[f.name] = self._default(ep, f, now)
            if stream == "instructors" and values["Id"] in self.tables["users"].rows:
                user = self.tables["users"].rows[values["Id"]]
                values.update(
                    {
                        k: v
                        for k, v in self._user_fields("instructors", user).items()
                        if k not in fields
                    }
                )
            row = self.row(stream, values)
            if stream == "ilt_sessions":
                row = row[: ep.pos("Days")] + ([],) + row[ep.pos("Days") + 1 :]
            if stream == "modules":
                self._module_course[row[0]] = fields.get("CourseId", "")
            key = ep.key_of(row)
            if key in table.rows:
                msg = f"{stream} already has a row with key {key!r}"
                raise ValueError(msg)
            table.put(row)
            return self._truth_row(ep, row)

    def _default(self, ep: S.Endpoint, f: S.Field, now: datetime) -> Any:
        rng = self._rng
        if f.ref is not None:
            rows = list(self.tables[f.ref].rows) if f.ref in self.tables else []
            if f.name in ep.key or ep.family in ("org", "child", "node"):
                return rows[rng.randrange(len(rows))] if rows else self.new_id()
            return None
        if f.name in ep.key:
            if f.kind == "int":
                table = self.tables[ep.stream]
                pos = ep.pos(f.name)
                nxt = self._next_int.get((ep.stream, f.name))
                if nxt is None:
                    nxt = max((r[pos] for r in table.rows.values()), default=1000) + 1
                self._next_int[ep.stream, f.name] = nxt + 1
                return nxt
            if f.kind in ("org", "wcf", "isoz"):
                return now
            return self.new_id()
        if f.name in ("CreatedDate", "UpdatedDate", "LoginDate"):
            return now
        if f.kind == "bool":
            return f.name == "Active"
        if f.kind == "int" and f.name.startswith("Original"):
            return 9_000_000 + rng.randrange(1_000_000)
        if f.kind == "str":
            return {
                "UserName": f"new.user.{rng.randrange(10**6)}@example.com",
                "Name": "Added & new",
                "ActivityType": "Login",
                "AccessLevel": "Learner",
            }.get(f.name, "")
        return None

    @staticmethod
    def _truth_row(ep: S.Endpoint, row: tuple) -> dict[str, Any]:
        return {
            f.name: truth_value(v)
            for f, v in zip(ep.fields + ep.parents, row, strict=True)
            if f.kind != "list"
        }
