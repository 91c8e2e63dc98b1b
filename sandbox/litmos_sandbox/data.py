"""Deterministic achievement dataset and its ground truth.

Everything here is plain Python values: the *truth* the tap must reproduce.
How Litmos puts those values on the wire lives in ``wire.py``.

Dates are naive ``datetime`` objects holding the UTC wall clock with millisecond
precision. That is how Litmos stores them (docs/litmos-api.md, "Project decision: how
tap-litmos reads Litmos dates"): UTC values of .NET kind *Unspecified*.
"""

from __future__ import annotations

import gc
import math
import random
import re
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

EPOCH = datetime(1970, 1, 1)  # naive: all our wall clocks are naive UTC
_MS = timedelta(milliseconds=1)

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

# AchievementDate range of the generated data (all in the past).
RANGE_START = datetime(2024, 1, 1)
RANGE_END = datetime(2026, 6, 30, 23, 59, 59, 999000)

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


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


def to_ms(wall: datetime) -> int:
    """Milliseconds since the epoch of a naive UTC wall clock."""
    return (wall - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """Inverse of :func:`to_ms`."""
    return EPOCH + timedelta(milliseconds=ms)


def parse_iso_wall(text: str) -> datetime:
    """Parse ISO 8601 text to a naive UTC wall clock truncated to milliseconds.

    Zone-less text is taken as UTC; ``Z`` and offsets are honoured.
    """
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat wants exactly 3 or 6 fractional digits.
    text = re.sub(r"\.(\d{1,6})\d*", lambda m: "." + m.group(1).ljust(6, "0"), text, count=1)
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _sort_key(date_ms: int, achievement_id: int) -> int:
    """Ascending key for the server order: AchievementDate desc, AchievementId desc.

    One int per row keeps the million-row index small. Rows with date >= since form a
    prefix, found with ``bisect_right(keys, _since_key(since_ms))``.
    """
    return -((date_ms << 32) | achievement_id)


def _since_key(since_ms: int) -> int:
    return -(since_ms << 32)


def _row_key(row: Achievement | tuple) -> int:
    if type(row) is tuple:
        return _sort_key(row[3], row[11])
    return _sort_key(to_ms(row.achievement_date), row.achievement_id)


def _row_user(row: Achievement | tuple) -> str:
    return row[0] if type(row) is tuple else row.user_id


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


# --- pools for generated values ---------------------------------------------------------

# The first users are the awkward ones, so even tiny datasets contain them.
_SPECIAL_NAMES: tuple[tuple[str, str], ...] = (
    ("Zoë", "O'Brien"),
    ("José", "Smith & Sons"),
    ('Ann "Nan"', "<Admin> & Co"),
    ("Siobhán", "D'Arcy"),
    ("Björn", "Müller-Lüdenscheidt"),
    ("Renée", "Tran"),
)
_FIRST = (
    "Alice",
    "Bob",
    "Carol",
    "Dan",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
    "Walter",
    "Chloé",
    "Søren",
    "Łukasz",
    "Mary-Kate",
    "Jean-Luc",
    "Amélie",
    "Paul",
    "Max",
    "Li",
)
_LAST = (
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "O'Neil",
    "D'Souza",
    "García",
    "Núñez",
    "Hirst",
    "Chandler",
    "Nguyen",
    "Kowalski",
    "Johnson & Johnson",
    "Lee",
    "Walker",
    "Wright",
    "Hall",
    "Allen",
    "Young",
)
# (title, description) for courses. Descriptions "" for some (nulls/empties, §3.3).
_COURSES: tuple[tuple[str, str], ...] = (
    ("Health & Safety 101", "Workplace health & safety basics"),
    ("Manager's Toolkit", "Tools for new managers & team leads"),
    ("Data Privacy & You", ""),
    ("Q&A: Writing <Clean> Code", "Don't repeat yourself & other rules"),
    ("Café Service Basics", "Serving customers at the café"),
    ("Fire Safety/Evacuation", "What to do when the alarm sounds"),
    ("Anti-Bribery & Corruption", ""),
    ('Customer "Delight" Training', "It's all about the customer"),
    ("Onboarding", "Welcome aboard"),
    ("Excel: Formulas & Functions", "SUM, IF & VLOOKUP"),
    ("Conflict Resolution", ""),
    ("Forklift Operator's Certificate", "Operating a forklift safely"),
    ("Code of Conduct 2025", "Annual code of conduct refresher"),
    ("Diversity, Equity & Inclusion", ""),
    ("Time Management", "Getting things done & staying sane"),
    ("First Aid", "CPR & AED basics"),
)
_LEARNING_PATHS: tuple[tuple[str, str], ...] = (
    ("New Hire Path", "Everything a new hire needs"),
    ("Leadership & Management Path", ""),
    ("Sales Rep's Journey", "From prospecting to closing"),
    ("Compliance Essentials", "Mandatory compliance courses"),
)
_COURSE_RESULTS = ("Complete", "Complete", "Complete", "Complete", "Passed", "Passed", "Failed")
_COURSE_SCORES = ("85", "92.5", "100", "70", "", None, "88.75", "0", "100", "", None, "64")
_LP_SCORES = (None, None, "")

# Wall clocks placed on purpose (as UTC wall clocks, read as America/Los_Angeles for JSON):
# both sides of the US-Pacific DST changes, inside the nonexistent hour (2024-03-10 02:xx)
# and the ambiguous hour (2024-11-03 01:xx), the hand-computed example of the brief, and
# tie groups sharing one exact AchievementDate.
SPECIAL_DATES: tuple[datetime, ...] = (
    datetime(2024, 3, 10, 1, 59, 59, 997000),  # last ms-ish before the spring-forward gap
    datetime(2024, 3, 10, 2, 30, 0),  # nonexistent local hour
    datetime(2024, 3, 10, 3, 0, 0),  # first wall clock after the gap (PDT)
    datetime(2024, 11, 3, 0, 59, 59, 990000),  # before the ambiguous hour (PDT)
    datetime(2024, 11, 3, 1, 30, 0),  # ambiguous local hour
    datetime(2024, 11, 3, 2, 0, 0),  # after fall-back (PST)
    datetime(2025, 3, 9, 2, 30, 0, 123000),  # nonexistent hour, 2025
    datetime(2025, 11, 2, 1, 30, 0, 500000),  # ambiguous hour, 2025
    datetime(2024, 7, 1, 12, 0, 0),  # summer example: /Date(1719860400000-0700)/
    datetime(2024, 1, 15, 12, 0, 0),  # winter
    datetime(2025, 1, 15, 12, 0, 0),  # tie group of 3
    datetime(2025, 1, 15, 12, 0, 0),
    datetime(2025, 1, 15, 12, 0, 0),
    datetime(2025, 8, 20, 8, 15, 30, 997000),  # tie group of 2, .997
    datetime(2025, 8, 20, 8, 15, 30, 997000),
    datetime(2026, 6, 30, 23, 59, 59, 990000),  # newest possible generated value
)

User = tuple[str, str, str]  # (user_id, first_name, last_name)


def _make_id(rng: random.Random, used: set[str], lo: int = 12, hi: int = 22) -> str:
    """A Litmos-like encrypted id: URL-safe base64-ish, may start with '-' (§6.10)."""
    alphabet = _ID_ALPHABET
    while True:
        n = rng.randint(lo, hi)
        ident = "".join(rng.choice(alphabet) for _ in range(n))
        if ident not in used:
            used.add(ident)
            return ident


class Dataset:
    """Achievements ordered newest first, with per-user indexes and bisectable keys."""

    def __init__(
        self, users: list[User], achievements: Iterable[Achievement | tuple], seed: int = 0
    ) -> None:
        """Build indexes over ``achievements`` (any order) for ``users``.

        Rows may be :class:`Achievement` objects or compact tuples in field order with
        both dates as epoch-millisecond ints (what :meth:`generate` stores).
        """
        self._lock = threading.RLock()
        self._users: list[User] = list(users)
        self._user_map: dict[str, User] = {u[0]: u for u in self._users}
        rows = list(achievements)
        keys = [_row_key(r) for r in rows]
        order = sorted(range(len(rows)), key=keys.__getitem__)
        self._rows: list[Achievement | tuple] = [rows[i] for i in order]
        self._keys: list[int] = [keys[i] for i in order]
        del rows, keys, order
        self._by_user: dict[str, tuple[list[Achievement | tuple], list[int]]] = {
            u[0]: ([], []) for u in self._users
        }
        by_user = self._by_user
        for row, key in zip(self._rows, self._keys, strict=False):
            per_user = by_user.get(row[0] if type(row) is tuple else row.user_id)
            if per_user is None:
                per_user = by_user[_row_user(row)] = ([], [])
            per_user[0].append(row)
            per_user[1].append(key)
        # Ids live in the low 32 bits of the keys.
        self._next_id = max((-k & 0xFFFFFFFF for k in self._keys), default=90_000_000) + 1
        self._all_ids: set[int] | None = None  # built lazily by add(achievement_id=...)
        self._add_rng = random.Random(f"litmos-sandbox-add-{seed}")
        self._used_ids: set[str] = set(self._user_map)
        self._catalog: list[tuple] = []

    # --- generation -------------------------------------------------------------------

    @classmethod
    def generate(cls, seed: int, users: int, achievements: int) -> Dataset:
        """Generate a dataset fully determined by ``seed`` (never the clock/global RNG)."""
        if users < 1 and achievements > 0:
            msg = "achievements need at least one user"
            raise ValueError(msg)
        rng = random.Random(seed)
        used: set[str] = set()
        user_list: list[User] = []
        for i in range(users):
            if i < len(_SPECIAL_NAMES):
                first, last = _SPECIAL_NAMES[i]
            else:
                first, last = rng.choice(_FIRST), rng.choice(_LAST)
            user_list.append((_make_id(rng, used), first, last))

        # Catalog rows: course id, title, description, type, is-a-learning-path flag.
        catalog = [(_make_id(rng, used), t, d, "Course Completed", False) for t, d in _COURSES] + [
            (_make_id(rng, used), t, d, "Learning Path Completed", True) for t, d in _LEARNING_PATHS
        ]
        # Learning-path completions are rarer than course completions.
        weighted = [c for c in catalog for _ in range(1 if c[4] else 4)]

        # Unique ids not correlated with the date (a late backfill gets a high id):
        # a multiplicative permutation of range(modulus) is unique and cheap.
        modulus = 3 * achievements + 11
        step = 1_000_003
        while math.gcd(step, modulus) != 1:
            step += 2
        offset = rng.randrange(modulus)
        id_base = 90_000_000

        start_ms = to_ms(RANGE_START)
        span_s = (to_ms(RANGE_END) - start_ms) // 1000
        ms_choices = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 990, 997, 123, 500, 10, 120, 999)
        n_ms = len(ms_choices)
        year_ms = 365 * 24 * 3600 * 1000
        recent: list[int] = []
        rand = rng.random
        n_users = len(user_list)
        n_weighted = len(weighted)
        # Rows are stored as compact tuples (dates as epoch-ms ints) and turned into
        # Achievement objects only when read: a million frozen dataclass instances take
        # several seconds to build, a million tuples a fraction of that.
        rows: list[tuple] = []
        append = rows.append
        cert_base = 1_000_000
        specials = [to_ms(d) for d in SPECIAL_DATES]
        n_specials = len(specials)
        for i in range(achievements):
            user = user_list[int(rand() * n_users)]
            course = weighted[int(rand() * n_weighted)]
            r = rand()
            if i < n_specials:
                when = specials[i]
            elif r < 0.03 and recent:
                when = recent[int(r * 1000) % len(recent)]
            else:
                when = start_ms + int(rand() * span_s) * 1000 + ms_choices[int(r * 7919) % n_ms]
                if r > 0.99:
                    recent.append(when)
                    if len(recent) > 64:
                        recent.pop(0)
            r2 = rand()
            if course[4]:
                score = _LP_SCORES[int(r2 * 30) % 3]
                result = "Complete"
            else:
                score = _COURSE_SCORES[int(r2 * 1200) % 12]
                result = _COURSE_RESULTS[int(r2 * 700) % 7]
            append(
                (
                    user[0],
                    course[1],
                    course[2],
                    when,
                    course[0],
                    when + year_ms if r2 < 0.15 else None,
                    score,
                    result,
                    course[3],
                    user[1],
                    user[2],
                    id_base + (offset + i * step) % modulus,
                    None if r2 > 0.75 else cert_base + int(r2 * 8_000_000),
                )
            )
        ds = cls(user_list, rows, seed=seed)
        ds._catalog = catalog
        del rows
        if achievements >= 100_000:
            # One full collection now untracks the million atom-only tuples; otherwise
            # the first few API requests each pay for it (~0.3 s).
            gc.collect()
        return ds

    # --- read access ------------------------------------------------------------------

    @property
    def users(self) -> list[User]:
        """All users as (user_id, first_name, last_name), in creation order."""
        with self._lock:
            return list(self._users)

    def has_user(self, user_id: str) -> bool:
        """True if a user with exactly this id exists (ids are case-sensitive)."""
        return user_id in self._user_map

    def __len__(self) -> int:
        """Number of achievements."""
        return len(self._rows)

    def rows(self) -> list[Achievement]:
        """All achievements in server order (newest first), as objects."""
        with self._lock:
            return [materialise(r) for r in self._rows]

    def truth(self) -> list[dict[str, Any]]:
        """``to_truth()`` of every row, in server order."""
        return [a.to_truth() for a in self.rows()]

    def count(self, *, user_id: str | None = None, since: datetime | None = None) -> int:
        """Number of rows matching the filters."""
        with self._lock:
            rows, keys = self._select(user_id)
            return len(rows) if since is None else bisect_right(keys, _since_key(to_ms(since)))

    def query(
        self,
        *,
        user_id: str | None = None,
        since: datetime | None = None,
        start: int = 0,
        count: int | None = None,
    ) -> list[Achievement]:
        """Rows matching the filters, in server order, sliced ``[start:start+count]``.

        ``since`` is inclusive on the full millisecond value (AchievementDate >= since).
        """
        page = self.query_stored(user_id=user_id, since=since, start=start, count=count)
        return [materialise(r) for r in page]

    def query_stored(
        self,
        *,
        user_id: str | None = None,
        since: datetime | None = None,
        start: int = 0,
        count: int | None = None,
    ) -> list[Achievement | tuple]:
        """Like :meth:`query`, but rows as stored (compact tuples or objects).

        The server renders from these: a page whose fragments are cached then costs no
        object creation at all (see ``wire.Renderer``).
        """
        with self._lock:
            rows, keys = self._select(user_id)
            end = len(rows) if since is None else bisect_right(keys, _since_key(to_ms(since)))
            stop = end if count is None else min(end, start + count)
            return rows[start:stop] if start < stop else []

    def _select(self, user_id: str | None) -> tuple[list, list[int]]:
        if user_id is None:
            return self._rows, self._keys
        return self._by_user.get(user_id, ([], []))

    # --- runtime additions ------------------------------------------------------------

    def add(self, count: int = 1, **fields_: Any) -> list[Achievement]:
        """Append ``count`` achievements, keeping the order; return them.

        ``fields_`` may use python names (``achievement_date``) or Litmos names
        (``AchievementDate``). Missing fields get generated defaults; ids are always new
        and greater than every existing id (unless ``achievement_id`` is given, which
        must then be unique). The default AchievementDate is one minute after the
        newest existing row, so a new row is the newest.
        """
        values = _normalise_fields(fields_)
        if count < 0:
            msg = "count must be >= 0"
            raise ValueError(msg)
        if "achievement_id" in values and count != 1:
            msg = "achievement_id can only be given with count=1"
            raise ValueError(msg)
        created: list[Achievement] = []
        with self._lock:
            rng = self._add_rng
            for _ in range(count):
                created.append(self._add_one(rng, values))
        return created

    def _add_one(self, rng: random.Random, values: dict[str, Any]) -> Achievement:
        user_id = values.get("user_id")
        if user_id is None:
            user = self._users[rng.randrange(len(self._users))] if self._users else None
            if user is None:
                user = self._new_user(rng, values)
        elif user_id in self._user_map:
            user = self._user_map[user_id]
        else:
            user = self._new_user(rng, values, user_id)
        catalog = self._catalog or [
            ("c" + "0" * 11, "Sandbox Course & Co", "", "Course Completed", False)
        ]
        course = catalog[rng.randrange(len(catalog))]
        if "achievement_date" in values:
            when = values["achievement_date"]
        else:
            newest = materialise(self._rows[0]).achievement_date if self._rows else RANGE_END
            when = newest + timedelta(minutes=1)
        if "achievement_id" in values:
            ach_id = int(values["achievement_id"])
            if self._all_ids is None:
                self._all_ids = {-k & 0xFFFFFFFF for k in self._keys}
            if ach_id in self._all_ids:
                msg = f"achievement_id {ach_id} already exists"
                raise ValueError(msg)
            self._next_id = max(self._next_id, ach_id + 1)
        else:
            ach_id = self._next_id
            self._next_id += 1
        defaults = {
            "user_id": user[0],
            "title": course[1],
            "description": course[2],
            "achievement_date": when,
            "course_id": course[0],
            "compliant_till_date": None,
            "score": None if course[4] else "100",
            "result": "Complete",
            "type": course[3],
            "first_name": user[1],
            "last_name": user[2],
            "achievement_id": ach_id,
            "certificate_id": 5_000_000 + ach_id % 1_000_000,
        }
        defaults.update({k: v for k, v in values.items() if k != "achievement_id"})
        row = Achievement(**defaults)
        if not 0 <= row.achievement_id <= 0xFFFFFFFF:
            msg = "achievement_id must fit in 32 bits"
            raise ValueError(msg)
        if self._all_ids is not None:
            self._all_ids.add(row.achievement_id)
        key = _sort_key(to_ms(row.achievement_date), row.achievement_id)
        pos = bisect_left(self._keys, key)
        self._keys.insert(pos, key)
        self._rows.insert(pos, row)
        rows, keys = self._by_user.setdefault(row.user_id, ([], []))
        pos = bisect_left(keys, key)
        keys.insert(pos, key)
        rows.insert(pos, row)
        return row

    def _new_user(
        self, rng: random.Random, values: dict[str, Any], user_id: str | None = None
    ) -> User:
        if user_id is None:
            user_id = _make_id(rng, self._used_ids)
        self._used_ids.add(user_id)
        user = (
            user_id,
            values.get("first_name", rng.choice(_FIRST)),
            values.get("last_name", rng.choice(_LAST)),
        )
        self._users.append(user)
        self._user_map[user_id] = user
        self._by_user.setdefault(user_id, ([], []))
        return user


def _normalise_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """Map Litmos or python field names to python names; parse ISO date text."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        key = LITMOS_TO_PYTHON.get(name, name)
        if key not in PYTHON_FIELDS:
            msg = f"unknown achievement field: {name!r}"
            raise ValueError(msg)
        if key in ("achievement_date", "compliant_till_date") and value is not None:
            if isinstance(value, str):
                value = parse_iso_wall(value)
            elif isinstance(value, datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(timezone.utc).replace(tzinfo=None)
                value = value.replace(microsecond=value.microsecond // 1000 * 1000)
            else:
                msg = f"{name} must be a datetime or ISO 8601 text"
                raise TypeError(msg)
        if key == "achievement_date" and value is None:
            msg = "AchievementDate cannot be null"
            raise ValueError(msg)
        out[key] = value
    return out
