"""The world's tables: rows of one spec by primary key, with a date index for /org/*."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from litmos_sandbox import spec as S  # noqa: N812

#: What order an /org/* page lists its rows in (Litmos documents none, docs/litmos-api.md):
#: ascending date then key (the default), descending date, or by key alone.
ORG_ORDERS = ("date", "date_desc", "key")


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
