"""Deterministic achievement dataset and its ground truth.

Everything here is plain Python values: the *truth* the tap must reproduce. The
achievements are not a table of the world (``world.py``): a million of them are stored
as compact tuples, bisectable by date, and rendered like every other endpoint's rows
(``render.py``, from the spec ``spec.ACHIEVEMENTS``) once each.

Dates are naive ``datetime`` objects holding the UTC wall clock with millisecond
precision. That is how Litmos stores them (docs/litmos-api.md, "Project decision: how
tap-litmos reads Litmos dates"): UTC values of .NET kind *Unspecified*.
"""

from __future__ import annotations

import gc
import math
import random
import threading
from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from litmos_sandbox.achievement import (
    LITMOS_FIELDS,
    LITMOS_TO_PYTHON,
    PYTHON_FIELDS,
    Achievement,
    as_row,
    materialise,
    stored_id,
    truth_to_json,
)
from litmos_sandbox.pools import (
    COURSE_RESULTS,
    COURSE_SCORES,
    COURSES,
    FIRST_NAMES,
    LAST_NAMES,
    LEARNING_PATHS,
    LP_SCORES,
    SPECIAL_DATES,
    SPECIAL_NAMES,
)
from litmos_sandbox.values import EPOCH, from_ms, parse_iso_wall, to_ms

__all__ = [  # the achievement's names and the date helpers, as before they moved
    "EPOCH",
    "LITMOS_FIELDS",
    "LITMOS_TO_PYTHON",
    "PYTHON_FIELDS",
    "SPECIAL_DATES",
    "Achievement",
    "Dataset",
    "as_row",
    "from_ms",
    "materialise",
    "parse_iso_wall",
    "stored_id",
    "to_ms",
    "truth_to_json",
]

if TYPE_CHECKING:
    from collections.abc import Iterable


# AchievementDate range of the generated data (all in the past).
RANGE_START = datetime(2024, 1, 1)
RANGE_END = datetime(2026, 6, 30, 23, 59, 59, 999000)

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


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
    def generate(
        cls, seed: int, users: int, achievements: int, id_seed: int | None = None
    ) -> Dataset:
        """Generate a dataset fully determined by ``seed`` (never the clock/global RNG).

        With ``id_seed`` the ids (users', the catalog's, the AchievementIds) are drawn from
        a generator of their own: two datasets of one ``id_seed`` and size share them.
        """
        if users < 1 and achievements > 0:
            msg = "achievements need at least one user"
            raise ValueError(msg)
        rng = random.Random(seed)
        ids = rng if id_seed is None else random.Random(f"litmos-ids-{id_seed}")
        used: set[str] = set()
        user_list: list[User] = []
        for i in range(users):
            if i < len(SPECIAL_NAMES):
                first, last = SPECIAL_NAMES[i]
            else:
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            user_list.append((_make_id(ids, used), first, last))

        # Catalog rows: course id, title, description, type, is-a-learning-path flag.
        catalog = [(_make_id(ids, used), t, d, "Course Completed", False) for t, d in COURSES] + [
            (_make_id(ids, used), t, d, "Learning Path Completed", True) for t, d in LEARNING_PATHS
        ]
        # Learning-path completions are rarer than course completions.
        weighted = [c for c in catalog for _ in range(1 if c[4] else 4)]

        # Unique ids not correlated with the date (a late backfill gets a high id):
        # a multiplicative permutation of range(modulus) is unique and cheap.
        modulus = 3 * achievements + 11
        step = 1_000_003
        while math.gcd(step, modulus) != 1:
            step += 2
        offset = ids.randrange(modulus)
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
                score = LP_SCORES[int(r2 * 30) % 3]
                result = "Complete"
            else:
                score = COURSE_SCORES[int(r2 * 1200) % 12]
                result = COURSE_RESULTS[int(r2 * 700) % 7]
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

        The server renders from these: a page whose rows' texts are cached then costs no
        object creation at all (see ``render.PageRenderer.cache_rows``).
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
            values.get("first_name", rng.choice(FIRST_NAMES)),
            values.get("last_name", rng.choice(LAST_NAMES)),
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
