"""The admin API (``/_sandbox/*``): no auth, not logged, no faults (docs in README.md)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox.core import SandboxCore
from litmos_sandbox.data import truth_to_json
from litmos_sandbox.server import Reply, json_reply


class AdminApi(SandboxCore):
    """Answers ``/_sandbox/*`` requests (the handler calls :meth:`_admin`)."""

    def _admin(self, method: str, path: str, body: bytes, query: str = "") -> Reply:
        route = (method, path.rstrip("/"))
        stream = dict(parse_qsl(query)).get("stream", "achievements")
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            return json_reply({"error": f"invalid JSON body: {exc}"}, 400)
        try:
            if route == ("GET", "/_sandbox/requests"):
                return json_reply(self.requests)
            if route == ("POST", "/_sandbox/reset-log"):
                self.reset_log()
                return json_reply({"ok": True})
            if route == ("GET", "/_sandbox/truth"):
                return json_reply([_jsonable(t) for t in self.truth(stream)])
            if route == ("GET", "/_sandbox/spec"):
                if "stream" in dict(parse_qsl(query)):
                    return json_reply(self.spec(stream).describe())
                return json_reply([ep.describe() for ep in S.ENDPOINTS.values()])
            if route == ("POST", "/_sandbox/add"):
                row = self.add(str(payload["stream"]), **payload.get("fields", {}))
                return json_reply(_jsonable(row), 201)
            if route == ("POST", "/_sandbox/touch"):
                row = self.touch(
                    str(payload["stream"]), payload["key"], **payload.get("fields", {})
                )
                return json_reply(_jsonable(row))
            if route == ("POST", "/_sandbox/remove-link"):
                row = self.remove_link(str(payload["stream"]), payload["key"])
                return json_reply(_jsonable(row))
            if route == ("POST", "/_sandbox/delete-user"):
                self.delete_user(str(payload["user_id"]))
                return json_reply({"ok": True})
            if route == ("POST", "/_sandbox/set-raw"):
                self.set_raw(
                    str(payload["stream"]),
                    payload["key"],
                    str(payload["field"]),
                    str(payload["raw"]),
                )
                return json_reply({"ok": True})
            if route == ("POST", "/_sandbox/clear-raw"):
                self.clear_raw()
                return json_reply({"ok": True})
            if route == ("GET", "/_sandbox/users"):
                return json_reply(
                    [
                        {"UserId": u, "FirstName": f, "LastName": la}
                        for u, f, la in self._dataset.users
                    ]
                )
            if route == ("POST", "/_sandbox/achievements"):
                fields = dict(payload)
                count = int(fields.pop("count", 1))
                created = self.add_achievements(count, **fields)
                return json_reply([truth_to_json(a.to_truth()) for a in created], 201)
            if route == ("GET", "/_sandbox/configure"):
                return json_reply(self._options.to_json())
            if route == ("POST", "/_sandbox/configure"):
                self.configure(**payload)
                return json_reply(self._options.to_json())
            if route == ("POST", "/_sandbox/inject"):
                self.inject(
                    str(payload.get("kind", "")),
                    int(payload.get("count", 1)),
                    after=int(payload.get("after", 0)),
                )
                return json_reply({"pending": self.pending_faults})
            if route == ("POST", "/_sandbox/clear-faults"):
                self.clear_faults()
                return json_reply({"pending": []})
        except (TypeError, ValueError, KeyError) as exc:
            return json_reply({"error": str(exc)}, 400)
        return json_reply({"error": f"no sandbox route {method} {path}"}, 404)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A truth row for JSON: dates ``YYYY-MM-DDTHH:MM:SS.mmmZ``, decimals as text."""
    out = truth_to_json(row) if "AchievementDate" in row else dict(row)
    for name, value in out.items():
        if isinstance(value, datetime):
            out[name] = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
        elif isinstance(value, Decimal):
            out[name] = str(value)
    return out
