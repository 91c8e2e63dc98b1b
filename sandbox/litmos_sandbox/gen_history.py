"""History the account lived through: learners who moved from one team to another.

The other kinds of history are already in the generated tables: assignments and links
made and removed over the year (`Active = false` with the removal's `UpdatedDate`),
completions whose `CompliantTillDate` lapses and later ones that renew them (the
achievements, the completed course results), due dates that pass (overdue results). A
move is what was missing: the old membership removed on the day of the move and a new
one made that same instant, so the team a learner counts in changes half-way through the
year. Its own random stream, drawn after everything else, so no other value changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litmos_sandbox.base import _DAY_MS, WorldBase
from litmos_sandbox.data import to_ms
from litmos_sandbox.values import ms_dt

if TYPE_CHECKING:
    import random

#: One learner in this many moves team during the year (at least one when two teams exist).
MOVE_ONE_IN = 12


class HistoryGenerator(WorldBase):
    """Team moves: a removed membership and a new one made at the same instant."""

    def _gen_team_moves(self, rng: random.Random, anchor_ms: int) -> None:
        table = self.tables["team_users"]
        pos = table.ep.pos
        made_at, updated_at, active = pos("CreatedDate"), pos("UpdatedDate"), pos("Active")
        teams = list(self.tables["teams"].rows)
        memberships: dict[str, list[tuple]] = {}
        for row in table.ordered():
            if row[active]:
                memberships.setdefault(row[1], []).append(row)
        movers = [user for user, rows in memberships.items() if len(rows) == 1]
        if len(teams) < 2 or not movers:
            return
        count = max(1, len(movers) // MOVE_ONE_IN)
        moved = []
        for user in sorted(rng.sample(movers, count), key=movers.index):
            (old,) = memberships[user]
            joined = to_ms(old[made_at])
            # The move: between the old membership's start and ten days before the anchor.
            earliest = max(joined + _DAY_MS, anchor_ms - 300 * _DAY_MS)
            latest = anchor_ms - 10 * _DAY_MS
            if earliest >= latest:
                continue
            when = ms_dt(earliest + int(rng.random() * (latest - earliest)) // 1000 * 1000)
            new_team = rng.choice([t for t in teams if t != old[0]])
            left = list(old)
            left[active], left[updated_at] = False, when
            moved.append(tuple(left))
            moved.append(
                self.row(
                    "team_users",
                    {
                        "TeamId": new_team,
                        "Id": user,
                        "Active": True,
                        "IsTeamLeader": False,
                        "IsTeamAdmin": False,
                        "CreatedDate": when,
                        "UpdatedDate": when,
                        "CreatedBy": self._owner,
                        "UpdatedBy": self._owner,
                    },
                )
            )
        table.load(moved)
