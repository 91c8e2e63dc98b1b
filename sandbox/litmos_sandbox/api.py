"""The Litmos API: faults and throttle first, then auth, paging and every list endpoint.

Behaviour follows docs/litmos-api.md: auth and ``source`` (§2), formats (§3), paging (§4),
the date-range family (§5.1), ``since``/``userid`` (§5.2, §6.4), rate limits (§7),
errors (§8). One generic handler serves every spec'd endpoint; ``/achievements``, whose
rows live in ``data.py`` rather than the world, has its own (its checks come in another
order); every page is rendered by ``render.py``.
"""

from __future__ import annotations

import email.utils
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote

from litmos_sandbox import spec as S  # noqa: N812
from litmos_sandbox import wire
from litmos_sandbox.core import SandboxCore
from litmos_sandbox.data import as_row, stored_id
from litmos_sandbox.options import Options
from litmos_sandbox.render import PageRenderer
from litmos_sandbox.routes import ACHIEVEMENTS_PATH, ROUTES
from litmos_sandbox.server import Reply, json_reply, text_error

MAX_LIMIT = 1000  # §4: "Total records to return (max 1000)"
DEFAULT_LIMIT = 100  # §4, §9 item 3
MAX_SOURCE = 50  # §2: "String, max length 50"
_INT32_MAX = 2**31 - 1

# §5.2 / SAP-OAS 406 text: "yyyy-MM-dd HH:mm:ss" or "yyyy-MM-dd HH:mm" or "yyyy-MM-dd";
# the docs also write the date-time with a "T" (§9 item 6), so both separators pass.
_SINCE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?", re.ASCII)
# .NET int.Parse: optional surrounding blanks and sign, digits only.
_INT_RE = re.compile(r"\s*([+-]?)(\d+)\s*", re.ASCII)
MAX_RANGE = timedelta(days=7)  # §5.1 "The date range must be equal or less than 7 days."
_SEARCH_FIELDS = ("UserName", "FirstName", "LastName", "Email", "CompanyName", "Name", "Title")


def _parse_int(text: str) -> int | None:
    """A non-negative 32-bit int as .NET would bind it, or None (-> 400)."""
    m = _INT_RE.fullmatch(text)
    if m is None:
        return None
    value = int(m.group(2))
    if m.group(1) == "-" and value != 0:
        return None
    if value > _INT32_MAX:
        return None
    return value


def _int_param(params: dict[str, str], name: str, default: int) -> int | None:
    """An integer query parameter: the default when absent or empty, None when malformed."""
    text = params.get(name)
    return default if not text else _parse_int(text)


def parse_since(text: str) -> datetime | None:
    """Parse a ``since`` value (a UTC wall clock); None when the format is not accepted."""
    m = _SINCE_RE.fullmatch(text)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) if g is not None else 0 for g in m.groups())
    try:
        return datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None


def _method_not_allowed() -> Reply:
    return Reply(
        405, wire.METHOD_NOT_ALLOWED_HTML, "text/html; charset=UTF-8", headers={"Allow": "GET"}
    )


def _search(ep: S.Endpoint, rows: list[tuple], text: str) -> list[tuple]:
    """``search``: case-insensitive substring of a name-like field (§4)."""
    if not text:
        return rows
    needle = text.lower()
    cols = [ep.pos(n) for n in _SEARCH_FIELDS if n in ep.names]
    return [r for r in rows if any(needle in (r[c] or "").lower() for c in cols)]


class LitmosApi(SandboxCore):
    """Answers ``/v1.svc/*`` requests (the handler calls :meth:`_api`)."""

    def _api(self, method: str, path: str, query: str, headers: Any, connection_id: int) -> Reply:
        arrived = time.time()
        pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
        params: dict[str, str] = {}
        for name, value in pairs:  # first occurrence wins
            params.setdefault(name, value)
        fault: str | None = None
        try:
            reply, fault = self._api_reply(method, path, query, params, headers)
        except Exception:  # noqa: BLE001 - a bug here should look like a WCF 500, not hang
            reply = Reply(500, wire.REQUEST_ERROR_HTML, "text/html; charset=UTF-8")
        self._record(
            {
                "method": method,
                "path": path,
                "params": params,
                "status": 0 if reply.action == "drop" else reply.status,
                "rows": reply.rows,
                "time": arrived,
                "fault": fault,
                "connection": connection_id,
            }
        )
        return reply

    def _api_reply(
        self, method: str, path: str, query: str, params: dict[str, str], headers: Any
    ) -> tuple[Reply, str | None]:
        # 1. faults that apply before auth: injected ones first (exactly the next
        #    requests), then the rate limiter, then random faults.
        _, fault = self._faults.next_injected()
        if fault is None:
            if not self._throttle.allow(headers.get("apikey") or ""):
                return self._throttle_reply(self._options.throttle_status), "throttle"
            fault = self._faults.next_random()
        if fault == "slow":
            time.sleep(float(self._options.slow_seconds))
        elif fault == "stall":
            # Nothing has been sent yet; stop() wakes the wait so it never blocks shutdown.
            self._stopping.wait(float(self._options.stall_seconds))
        elif fault in ("redirect", "redirect_301"):
            return self._redirect_reply(fault, path, query), fault
        elif fault is not None and fault not in ("truncate", "truncate_json"):
            return self._fault_reply(fault, params, headers), fault
        reply = self._route(method, path, params, headers)
        if fault in ("truncate", "truncate_json"):
            reply.action = fault
        return reply, fault

    def _throttle_reply(self, status: int) -> Reply:
        """A 503 (Litmos) or 429 throttle answer, with Retry-After when configured."""
        if status == 429:
            reply = Reply(
                429, wire.MSG_429.encode(), "text/plain; charset=utf-8", reason="Too Many Requests"
            )
        else:
            reply = Reply(503, wire.THROTTLED_HTML, "text/html; charset=utf-8", reason=wire.MSG_503)
        retry_after = self._options.retry_after
        if retry_after == "http-date":
            when = datetime.now(timezone.utc) + timedelta(
                seconds=int(self._options.retry_after_seconds)
            )
            reply.headers["Retry-After"] = email.utils.format_datetime(when, usegmt=True)
        elif retry_after is not None:
            reply.headers["Retry-After"] = str(int(retry_after))
        return reply

    def _redirect_reply(self, kind: str, path: str, query: str) -> Reply:
        base = self._options.redirect_base
        if base is None:
            base = f"http://{self._options.host}:{self.port}"
        location = base.rstrip("/") + path + ("?" + query if query else "")
        status = 301 if kind == "redirect_301" else 302
        body = (
            f"<html><head><title>Object moved</title></head><body><h2>Object moved to "
            f'<a href="{location}">here</a>.</h2></body></html>'
        ).encode()
        return Reply(status, body, "text/html; charset=utf-8", headers={"Location": location})

    def _fault_reply(self, kind: str, params: dict[str, str], headers: Any) -> Reply:
        if kind == "error_envelope":
            # A gateway or an auth layer answering 200 with an error object, not rows.
            message = "Authorization has been denied for this request."
            if params.get("format", "").lower() == "json":
                return json_reply({"Errors": [{"Message": message}]})
            body = f"<Errors><Error><Message>{message}</Message></Error></Errors>".encode()
            return Reply(200, body, "application/xml; charset=utf-8")
        if kind == "echo_key_500":
            # An error page that quotes the request back, the API key with it.
            key = headers.get("apikey") or ""
            text = f"Request failed: apikey: {key}; url-encoded: {quote(key, safe='')}"
            return Reply(500, text.encode(), "text/plain; charset=utf-8", reason=text[:60])
        if kind == "drop":
            return Reply(0, action="drop")
        if kind == "500":
            return Reply(500, wire.REQUEST_ERROR_HTML, "text/html; charset=UTF-8")
        if kind in ("503", "429"):
            return self._throttle_reply(int(kind))
        if kind == "504":
            return Reply(504, wire.GATEWAY_TIMEOUT_HTML, "text/html")
        if kind == "401":
            return text_error(401, wire.MSG_401)
        if kind == "403":
            return text_error(403, wire.MSG_403)
        if kind == "404":
            return text_error(404, wire.MSG_404)
        if kind == "200_garbage":
            return Reply(200, wire.REQUEST_ERROR_HTML, "text/html; charset=UTF-8")
        msg = f"no reply for fault {kind!r}"  # pragma: no cover
        raise ValueError(msg)  # pragma: no cover

    def _route(self, method: str, path: str, params: dict[str, str], headers: Any) -> Reply:
        # WCF matches URI templates case-insensitively; a trailing slash is tolerated.
        lowered = path.lower().rstrip("/")
        if lowered == ACHIEVEMENTS_PATH:
            if method != "GET":
                return _method_not_allowed()
            return self._forbid("achievements", headers) or self._achievements(params, headers)
        for pattern, ep, side in ROUTES:
            m = pattern.fullmatch(path.rstrip("/"))
            if m is not None:
                if method != "GET":
                    return _method_not_allowed()
                stream = "ilt_sessions" if side is not None else ep.stream
                return self._forbid(stream, headers) or self._list(
                    ep, m.groupdict(), side, params, headers
                )
        return Reply(404, wire.ENDPOINT_NOT_FOUND_HTML, "text/html; charset=UTF-8")

    def _forbid(self, stream: str, headers: Any) -> Reply | None:
        """403 for an endpoint this key may not read (``forbidden``), after a valid key."""
        if stream in self._options.forbidden and headers.get("apikey") == self.api_key:
            return text_error(403, wire.MSG_403_PERMISSION)
        return None

    def _common(
        self, raw: dict[str, str], headers: Any
    ) -> tuple[Reply | None, dict[str, str], int, int]:
        """Auth, source and paging shared by every list (§2, §4).

        Returns (error reply or None, lower-cased params, start, limit).
        """
        if headers.get("apikey") != self._options.api_key:
            return text_error(401, wire.MSG_401), {}, 0, 0
        params: dict[str, str] = {}
        for name, value in raw.items():  # WCF binds query names case-insensitively
            params.setdefault(name.lower(), value)
        source = params.get("source", "")
        if not source or len(source) > MAX_SOURCE:
            return text_error(403, wire.MSG_403), params, 0, 0
        limit = _int_param(params, "limit", DEFAULT_LIMIT)
        start = _int_param(params, "start", 0)
        if limit is None or start is None:
            return text_error(400, wire.MSG_400), params, 0, 0
        if limit > MAX_LIMIT:
            return text_error(406, wire.MSG_406_LIMIT), params, 0, 0
        return None, params, start, limit

    def _range(
        self, params: dict[str, str], *, required: bool
    ) -> tuple[Reply | None, datetime | None, datetime | None]:
        """since/to of the date-range family (§5.1): both, valid formats, <= 7 days."""
        since_text, to_text = params.get("since", ""), params.get("to", "")
        if not required and not since_text and not to_text:
            return None, None, None
        since = parse_since(since_text) if since_text else None
        until = parse_since(to_text) if to_text else None
        if since is None or until is None or until < since or until - since > MAX_RANGE:
            return text_error(406, wire.MSG_406_RANGE), None, None
        return None, since, until

    def _list(
        self,
        ep: S.Endpoint,
        path_params: dict[str, str],
        side: bool | None,
        raw: dict[str, str],
        headers: Any,
    ) -> Reply:
        """The one generic list handler: every endpoint but achievements."""
        error, params, start, limit = self._common(raw, headers)
        if error is not None:
            return error
        opts = self._options
        world = self._world
        count = limit + opts.extra_rows if limit > 0 else 0
        with world.lock:
            if ep.family == "org":
                error, since, until = self._range(params, required=True)
                if error is not None:
                    return error
                rows = world.tables[ep.stream].window(
                    since,
                    until,
                    lo_incl=opts.org_since_inclusive,  # type: ignore[arg-type]
                    hi_incl=opts.org_to_inclusive,
                    start=start,
                    count=count,
                    order=opts.org_order,
                )
            else:
                if ep.family == "ilt":
                    error, since, until = self._range(params, required=False)
                    if error is not None:
                        return error
                    rows = world.sessions_tree(
                        past=bool(side), now=self.now(), since=since, until=until
                    )
                elif ep.family == "child":
                    error, rows = self._child_rows(ep, path_params)
                    if error is not None:
                        return error
                else:
                    rows = world.tables[ep.stream].ordered()
                    if ep.sortable:
                        error, rows = self._snapshot_filters(ep, rows, params)
                        if error is not None:
                            return error
                rows = _search(ep, rows, params.get("search", ""))
                rows = rows[start : start + count]
        renderer = self._page_renderer()
        extra = opts.extra_fields
        if params.get("format", "").lower() == "json":
            body = self._wrap(ep.root, renderer.json_page(ep, rows, self._raw, extra))
            return Reply(200, body, wire.JSON_CONTENT_TYPE, rows=len(rows))
        body = renderer.xml_page(ep, rows, self._raw, extra)
        return Reply(200, body, wire.XML_CONTENT_TYPE, rows=len(rows))

    def _child_rows(
        self, ep: S.Endpoint, path_params: dict[str, str]
    ) -> tuple[Reply | None, list[tuple]]:
        world = self._world
        if ep.stream == "user_badges":
            user_id = path_params["UserId"]
            if user_id not in world.tables["users"].rows:
                return text_error(404, wire.msg_user_not_found(user_id)), []
            pos = ep.pos("UserId")
            return None, [r for r in world.tables[ep.stream].ordered() if r[pos] == user_id]
        if ep.stream == "course_custom_field_values":
            course_id = path_params["CourseId"]
            if course_id not in world.tables["courses"].rows:
                return text_error(404, f"The course {course_id} does not exist."), []
            pos = ep.pos("CourseId")
            return None, [r for r in world.tables[ep.stream].ordered() if r[pos] == course_id]
        cid, mid, sid = path_params["CourseId"], path_params["ModuleId"], path_params["SessionId"]
        problem = world.session_parent_ok(cid, mid, sid)
        if problem is not None:
            return text_error(404, problem), []
        pos = ep.pos("SessionId")
        return None, [r for r in world.tables[ep.stream].ordered() if r[pos] == sid]

    @staticmethod
    def _snapshot_filters(
        ep: S.Endpoint, rows: list[tuple], params: dict[str, str]
    ) -> tuple[Reply | None, list[tuple]]:
        """/users/details: since (CreatedDate >= since, §5.2) and sort/dir (§4)."""
        if params.get("since"):
            since = parse_since(params["since"])
            if since is None:
                return text_error(406, wire.MSG_406_SINCE), []
            pos = ep.pos(ep.date_field or "CreatedDate")
            rows = [r for r in rows if r[pos] is not None and r[pos] >= since]
        sort = params.get("sort", "")
        names = {n.lower(): n for n in ep.names}
        if sort.lower() in names and ep.field(names[sort.lower()]).kind != "list":
            pos = ep.pos(names[sort.lower()])
            desc = params.get("dir", "").upper() == "DESC"
            present = sorted(
                (r for r in rows if r[pos] is not None), key=lambda r: r[pos], reverse=desc
            )
            missing = [r for r in rows if r[pos] is None]
            rows = present + missing if not desc else missing + present
        return None, rows

    def _wrap(self, root: str, body: bytes) -> bytes:
        """With ``json_wrapped``, a JSON page as ``{"<XML root>": [...]}`` (SAP-OAS's shape)."""
        if not self._options.json_wrapped:
            return body
        return b'{"' + root.encode() + b'":' + body + b"}"

    def _page_renderer(self) -> PageRenderer:
        key = tuple(getattr(self._options, k) for k in Options.names("wire"))
        renderer = self._page_renderers.get(key)
        if renderer is None:
            renderer = self._page_renderers[key] = PageRenderer(
                **{k: getattr(self._options, k) for k in Options.names("wire")}
            )
            # Achievements never change once stored: each is rendered once.
            renderer.cache_rows("achievements", stored_id, as_row)
        return renderer

    def _achievements(self, raw: dict[str, str], headers: Any) -> Reply:
        opts = self._options
        # 2. the key travels only in the `apikey` header (§2: query keys stopped in 2019).
        if headers.get("apikey") != opts.api_key:
            return text_error(401, wire.MSG_401)
        # Query names are matched case-insensitively, like WCF's UriTemplate.
        params = {}
        for name, value in raw.items():
            params.setdefault(name.lower(), value)
        # 3. source: required, 1..50 characters (§2).
        source = params.get("source", "")
        if not source or len(source) > MAX_SOURCE:
            return text_error(403, wire.MSG_403)
        # 4. paging (§4). An empty value counts as absent.
        limit = _int_param(params, "limit", DEFAULT_LIMIT)
        if limit is None:
            return text_error(400, wire.MSG_400)
        if limit > MAX_LIMIT:
            return text_error(406, wire.MSG_406_LIMIT)
        start = _int_param(params, "start", 0)
        if start is None:
            return text_error(400, wire.MSG_400)
        # 5. since: a UTC wall clock, inclusive (§5.2; "Project decision").
        since = None
        if params.get("since"):
            since = parse_since(params["since"])
            if since is None:
                return text_error(406, wire.MSG_406_SINCE)
        # 6. userid (§6.4).
        user_id = params.get("userid") or None
        if user_id is not None and not self._dataset.has_user(user_id):
            return text_error(404, wire.msg_user_not_found(user_id))
        # 7. sort, dir and search are accepted and ignored: the order is always newest
        #    first, ties by AchievementId desc (§4 "Ordering guarantees").
        # "More rows than limit" quirk (§4, §9 item 2): extra_rows > 0 adds rows.
        count = limit + opts.extra_rows if limit > 0 else 0
        rows = self._dataset.query_stored(user_id=user_id, since=since, start=start, count=count)
        renderer = self._page_renderer()
        ep, extra = S.ACHIEVEMENTS, opts.extra_fields
        if params.get("format", "").lower() == "json":
            body = self._wrap(ep.root, renderer.json_page(ep, rows, self._raw, extra))
            return Reply(200, body, wire.JSON_CONTENT_TYPE, rows=len(rows))
        body = renderer.xml_page(ep, rows, self._raw, extra)
        return Reply(200, body, wire.XML_CONTENT_TYPE, rows=len(rows))
