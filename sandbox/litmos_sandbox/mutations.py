"""Changes to a running world: add, touch and deactivate rows, hard-delete users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litmos_sandbox.base import WorldBase
from litmos_sandbox.values import coerce, truth_value

if TYPE_CHECKING:
    from datetime import datetime

    from litmos_sandbox import spec as S  # noqa: N812


class Mutations(WorldBase):
    """Runtime changes, each under the world's lock; they return the truth row."""

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
