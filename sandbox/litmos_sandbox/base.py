"""The world's state and the helpers every generator and mutation shares.

:class:`WorldBase` holds the tables, the id generator and the row builder; the
generators (``gen_people.py``, ``gen_catalog.py``, ``gen_ilt.py``, ``gen_org.py``,
``gen_history.py``), the mutations (``mutations.py``) and the reads (``world.py``) build
on it.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime
from typing import Any

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox.tables import Table

#: Every user's CreatedDate is at or after this instant (user 0, the owner, is created then).
ACCOUNT_START = datetime(2023, 1, 2, 8, 0, 0)
_DAY_MS = 86_400_000
_YEAR_MS = 365 * _DAY_MS
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
LOGIN_URL = "https://sandbox.litmos.com/login.aspx?loginkey="
_ZONES = ("Pacific Standard Time", "GMT Standard Time", "UTC", "AUS Eastern Standard Time")


class WorldBase:
    """Every table of one account, the id generator and the row builder."""

    def __init__(self, anchor: datetime) -> None:
        """An empty world; use :meth:`generate`."""
        self.anchor = anchor
        self.tables: dict[str, Table] = {ep.stream: Table(ep) for ep in S.TABLES}
        self.lock = threading.RLock()
        self._rng = random.Random(0)
        #: The ids' own generator (the `id_seed` option); None: drawn with the data.
        self._id_rng: random.Random | None = None
        self._used: set[str] = set()
        self._next_int: dict[tuple[str, str], int] = {}
        #: (stream, field) -> key -> value, for values no endpoint of that stream shows.
        self.hidden: dict[tuple[str, str], dict[Any, Any]] = {}
        self._module_course: dict[str, str] = {}
        self._owner = -1

    # --- helpers ------------------------------------------------------------------------

    def new_id(self, lo: int = 12, hi: int = 22, rng: random.Random | None = None) -> str:
        """A fresh Litmos-like encrypted id (may start with '-' or contain '_').

        ``rng``: another random stream than the world's, so that a generator added later
        leaves every other generator's ids where they were. With ``id_seed`` every id comes
        from the ids' own stream (two accounts get the same ids).
        """
        rng = self._id_rng or rng or self._rng
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

    def _user_fields(self, stream: str, user: tuple) -> dict[str, Any]:
        uep = self.tables["users"].ep
        return {n: user[uep.pos(n)] for n in self.tables[stream].ep.names if n in uep._pos}  # noqa: SLF001
