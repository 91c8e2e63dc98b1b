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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox.base import ACCOUNT_START, LOGIN_URL
from litmos_sandbox.data import to_ms
from litmos_sandbox.gen_catalog import CatalogGenerator
from litmos_sandbox.gen_history import HistoryGenerator
from litmos_sandbox.gen_ilt import IltGenerator
from litmos_sandbox.gen_org import OrgGenerator
from litmos_sandbox.gen_people import PeopleGenerator
from litmos_sandbox.mutations import Mutations
from litmos_sandbox.tables import ORG_ORDERS, Table
from litmos_sandbox.values import coerce, ms_dt, truth_value, wall

if TYPE_CHECKING:
    from datetime import datetime

    from litmos_sandbox.data import Dataset

__all__ = [
    "ACCOUNT_START",
    "LOGIN_URL",
    "ORG_ORDERS",
    "Sizes",
    "Table",
    "World",
    "coerce",
    "ms_dt",
    "truth_value",
    "wall",
]


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


class World(
    PeopleGenerator, CatalogGenerator, IltGenerator, OrgGenerator, HistoryGenerator, Mutations
):
    """Every table of one account: its generation, reads and mutations."""

    @classmethod
    def generate(
        cls,
        dataset: Dataset,
        seed: int,
        sizes: Sizes,
        anchor: datetime,
        id_seed: int | None = None,
    ) -> World:
        """Build the whole account around ``dataset``'s users and catalog.

        With ``id_seed`` the ids are drawn from a generator of their own: those made in a
        fixed number (the teams', the modules', the locations') are then the same in every
        world of that ``id_seed`` and size.
        """
        w = cls(anchor)
        w._rng = rng = random.Random(f"litmos-world-{seed}")
        if id_seed is not None:
            w._id_rng = random.Random(f"litmos-world-ids-{id_seed}")
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
        w._gen_team_moves(random.Random(f"litmos-history-{seed}"), anchor_ms)
        w._gen_course_custom_fields(random.Random(f"litmos-custom-fields-{seed}"))
        return w

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
