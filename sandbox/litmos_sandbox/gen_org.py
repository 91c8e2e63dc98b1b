"""Generation of the /org/* tables: results, assignments, links and logins.

Every row's UpdatedDate falls in the year before the anchor (some on midnights, some
tied); course results then get due dates and compliance relative to the anchor.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from litmos_sandbox.base import _DAY_MS, _YEAR_MS, WorldBase
from litmos_sandbox.data import to_ms
from litmos_sandbox.values import ms_dt

if TYPE_CHECKING:
    import random
    from datetime import datetime

    from litmos_sandbox.world import Sizes

_PERCENTS = (Decimal("0.0"), Decimal("25.0"), Decimal("50.0"), Decimal("66.67"), Decimal("12.5"))


class _Draw:
    """The org generator's shared draws: one RNG, its recent stamps, the account owner."""

    def __init__(self, world: WorldBase, rng: random.Random, anchor_ms: int, owner: int) -> None:
        self.world = world
        self.rng = rng
        self.rand = rng.random
        self.anchor_ms = anchor_ms
        self.owner = owner
        self.recent: list[int] = []

    def stamp(self) -> int:
        return self.world._stamp(self.rng, self.anchor_ms, self.recent)  # noqa: SLF001

    def dates(self, created_back: int = 90) -> tuple[datetime, datetime, int, int]:
        up = self.stamp()
        made = up - int(self.rand() * created_back * _DAY_MS)
        return ms_dt(made), ms_dt(up), made, up

    def link(self, stream: str, a: str, b: str, **extra: Any) -> tuple:
        made, up, _, _ = self.dates()
        ep = self.world.tables[stream].ep
        pa, pb = ep.fields[0].name, ep.fields[1].name
        return self.world.row(
            stream,
            {
                pa: a,
                pb: b,
                "Active": self.rand() > 0.05,
                "CreatedDate": made,
                "UpdatedDate": up,
                "CreatedBy": self.owner,
                "UpdatedBy": self.owner,
                **extra,
            },
        )


class OrgGenerator(WorldBase):
    """The /org/* tables, drawn in one fixed order from one RNG."""

    def _gen_org(self, rng: random.Random, sz: Sizes, anchor_ms: int) -> None:
        d = _Draw(self, rng, anchor_ms, self._owner)
        users = list(self.tables["users"].rows)
        courses = list(self.tables["courses"].rows)
        results = self._gen_course_results(d, sz, users, courses)
        self._gen_module_results(d, sz, results)
        self._gen_learning_path_rows(d, users)
        self._gen_links(d, users, courses)
        self._gen_logins(d, sz, users)

    def _gen_course_results(
        self, d: _Draw, sz: Sizes, users: list[str], courses: list[str]
    ) -> list[tuple]:
        # course results and assignments: unique (user, course) pairs
        n_c = len(courses)
        pairs = d.rng.sample(range(len(users) * n_c), sz.course_results or 0) if users else []
        results, assigned = [], []
        for p in pairs:
            uid, cid = users[p // n_c], courses[p % n_c]
            made, up, made_ms, up_ms = d.dates()
            done = d.rand() < 0.6
            r = d.rand()
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
                        "CreatedBy": d.owner,
                        "UpdatedBy": -1 if r > 0.5 else d.owner,
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
                        "CreatedBy": d.owner,
                        "UpdatedBy": d.owner,
                    },
                )
            )
        self.tables["course_results"].load(results)
        self.tables["user_courses"].load(assigned)
        return results

    def _gen_module_results(self, d: _Draw, sz: Sizes, results: list[tuple]) -> None:
        mods_by_course: dict[str, list[str]] = {}
        for mid, cid in self._module_course.items():
            mods_by_course.setdefault(cid, []).append(mid)
        # module results: attempts on modules of courses with a result
        mres = []
        attempts: dict[tuple[str, str], int] = {}
        for i in range(sz.module_results or 0):
            res = results[int(d.rand() * len(results))] if results else None
            if res is None:
                break
            cid, uid = res[0], res[1]
            mods = mods_by_course.get(cid) or []
            if not mods:
                continue
            mid = mods[int(d.rand() * len(mods))]
            n = attempts[uid, mid] = attempts.get((uid, mid), 0) + 1
            made, up, made_ms, up_ms = d.dates(30)
            done = d.rand() < 0.7
            secs = int(d.rand() * 3600)
            mres.append(
                self.row(
                    "module_results",
                    {
                        "Id": mid,
                        "UserId": uid,
                        "ModuleResultId": 50_000_000 + i * 7 % 1_000_003,
                        "Active": True,
                        "Score": int(d.rand() * 101) if d.rand() > 0.3 else None,
                        "Completed": done,
                        "AttemptNumber": n,
                        "CreatedBy": d.owner,
                        "FinishedDate": up if done else None,
                        "CreatedDate": made,
                        "StartedDate": ms_dt(made_ms + (up_ms - made_ms) // 2),
                        "TimeTaken": f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}",
                        "UpdatedDate": up,
                    },
                )
            )
        self.tables["module_results"].load(mres)

    def _gen_learning_path_rows(self, d: _Draw, users: list[str]) -> None:
        lps = list(self.tables["learning_paths"].rows)
        # learning paths: assignments and results on the same pairs
        n_l = len(lps)
        lp_pairs = d.rng.sample(range(len(users) * n_l), min(len(users) * n_l, len(users) // 2 + 1))
        lp_users, lp_results = [], []
        for p in lp_pairs:
            uid, lid = users[p // n_l], lps[p % n_l]
            row = d.link("user_learning_paths", lid, uid)
            lp_users.append(row)
            made, up = row[5], row[6]
            done = d.rand() < 0.4
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
                        "CreatedBy": d.owner,
                    },
                )
            )
        self.tables["user_learning_paths"].load(lp_users)
        self.tables["learning_path_results"].load(lp_results)

    def _gen_links(self, d: _Draw, users: list[str], courses: list[str]) -> None:
        lps = list(self.tables["learning_paths"].rows)
        teams = list(self.tables["teams"].rows)
        # team membership and team assignments
        team_users = []
        for uid in users:
            for tid in d.rng.sample(teams, min(len(teams), 1 + (d.rand() < 0.3))):
                team_users.append(
                    d.link(
                        "team_users",
                        tid,
                        uid,
                        IsTeamLeader=d.rand() < 0.05,
                        IsTeamAdmin=d.rand() < 0.03,
                    )
                )
        self.tables["team_users"].load(team_users)
        self.tables["team_courses"].load(
            d.link(
                "team_courses",
                tid,
                cid,
                IsInTeamLibrary=d.rand() < 0.5,
                LearningPathAssignment=d.rand() < 0.2,
            )
            for tid in teams
            for cid in d.rng.sample(courses, min(len(courses), 1 + d.rng.randrange(5)))
        )
        self.tables["team_learning_paths"].load(
            d.link("team_learning_paths", tid, lid)
            for tid in teams
            for lid in d.rng.sample(lps, min(len(lps), d.rng.randrange(3)))
        )
        self.tables["learning_path_courses"].load(
            d.link("learning_path_courses", lid, cid)
            for lid in lps
            for cid in d.rng.sample(courses, min(len(courses), 2 + d.rng.randrange(4)))
        )
        self.tables["course_modules"].load(
            d.link("course_modules", cid, mid) for mid, cid in self._module_course.items()
        )

    def _gen_logins(self, d: _Draw, sz: Sizes, users: list[str]) -> None:
        # logins: one row per login, unique per (user, instant)
        seen: set[tuple[str, int]] = set()
        logins = []
        for _ in range(sz.logins or 0):
            if not users:
                break
            uid = users[int(d.rand() * len(users))]
            ms = d.stamp()
            while (uid, ms) in seen:
                ms += 1
            seen.add((uid, ms))
            logins.append(
                self.row(
                    "login_activity",
                    {
                        "ActivityType": "Login",
                        "UserId": uid,
                        "IPAddress": "10." + ".".join(str(int(d.rand() * 256)) for _ in range(3)),
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
