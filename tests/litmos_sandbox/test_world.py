"""The generated account behind every endpoint: the generic handler over real HTTP."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import requests

from litmos_sandbox import LitmosSandbox
from litmos_sandbox.data import parse_iso_wall
from litmos_sandbox.spec import ENDPOINTS, ORG_STREAMS, SESSION_COURSE, Endpoint
from litmos_sandbox.wire import MSG_401, MSG_403, MSG_406_LIMIT, MSG_406_RANGE, decode_wcf_json_date
from litmos_sandbox.world import ACCOUNT_START, World

pytestmark = pytest.mark.unit

KEY = "world-key"
NOW = datetime(2026, 11, 28, 0, 0, 0)
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
SNAPSHOTS = [e.stream for e in ENDPOINTS.values() if e.family == "snapshot"]
UTC = timezone.utc


@pytest.fixture(scope="module")
def sb() -> LitmosSandbox:
    with LitmosSandbox(seed=7, users=20, achievements=200, api_key=KEY, now=NOW) as box:
        yield box


@pytest.fixture
def mut() -> LitmosSandbox:
    with LitmosSandbox(seed=3, users=10, achievements=50, api_key=KEY, now=NOW) as box:
        yield box


def get(box: LitmosSandbox, path: str, key: str | None = KEY, **params: Any) -> requests.Response:
    headers = {"apikey": key} if key else {}
    return requests.get(
        box.base_url + path, params={"source": "t", **params}, headers=headers, timeout=10
    )


# --- decoding (independent of the sandbox's own renderer) ------------------------------------


def _date(text: str) -> datetime:
    return parse_iso_wall(text).replace(tzinfo=UTC)


def json_value(kind: str, value: Any, child: Endpoint | None) -> Any:  # noqa: PLR0911 (a kind each)
    if kind == "list":
        return [decode_json(child, v) for v in value]
    if value is None:
        return None
    if kind == "str":
        return html.unescape(value)
    if kind == "wcf":
        return decode_wcf_json_date(value).replace(tzinfo=UTC)
    if kind == "isoz":
        return _date(value) if value else None
    if kind == "org":
        return _date(value)
    return value


def decode_json(ep: Endpoint, obj: dict) -> dict:
    assert list(obj) == list(ep.names)  # names and order exactly as specified
    return {f.name: json_value(f.kind, obj[f.name], f.child) for f in ep.fields}


def xml_value(kind: str, el: ET.Element, child: Endpoint | None) -> Any:  # noqa: PLR0911 (a kind each)
    if el.get(XSI + "nil") == "true":
        return None
    text = el.text or ""
    if kind == "list":
        return [decode_xml(child, c) for c in el]
    if kind == "str":
        return text
    if kind == "int":
        return int(text)
    if kind == "dec":
        return Decimal(text)
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if kind == "isoz":
        return _date(text) if text else None
    return _date(text)


def decode_xml(ep: Endpoint, el: ET.Element) -> dict:
    assert el.tag == ep.row
    assert [c.tag for c in el] == list(ep.names)
    return {f.name: xml_value(f.kind, c, f.child) for f, c in zip(ep.fields, el, strict=True)}


def fetch(box: LitmosSandbox, ep: Endpoint, path: str, fmt: str, **params: Any) -> list[dict]:
    r = get(box, path, format=fmt, limit=1000, **params)
    assert r.status_code == 200, r.text
    if fmt == "json":
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        return [decode_json(ep, o) for o in json.loads(r.content, parse_float=Decimal)]
    root = ET.fromstring(r.content)
    assert root.tag == ep.root
    return [decode_xml(ep, el) for el in root]


def wire_truth(box: LitmosSandbox, stream: str) -> list[dict]:
    ep = ENDPOINTS[stream]
    return [{n: r[n] for n in ep.names} for r in box.truth(stream)]


def org_windows(box: LitmosSandbox, stream: str, fmt: str, **params: Any) -> list[dict]:
    ep = ENDPOINTS[stream]
    date_field = ep.date_field or "UpdatedDate"
    first = min(r[date_field] for r in box.truth(stream))
    lo = first.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    rows: list[dict] = []
    while lo < NOW + timedelta(days=2):
        hi = lo + timedelta(days=7)
        rows += fetch(
            box,
            ep,
            ep.path,
            fmt,
            since=f"{lo:%Y-%m-%d %H:%M:%S}",
            to=f"{hi:%Y-%m-%d %H:%M:%S}",
            **params,
        )
        lo = hi
    return rows


# --- every endpoint, both formats, equals the truth ----------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("stream", SNAPSHOTS)
def test_snapshots_equal_truth(sb, stream, fmt) -> None:
    ep = ENDPOINTS[stream]
    rows = fetch(sb, ep, ep.path, fmt)
    assert rows == wire_truth(sb, stream)
    assert rows


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("stream", ORG_STREAMS)
def test_org_windows_cover_the_truth_exactly_once(sb, stream, fmt) -> None:
    rows = org_windows(sb, stream, fmt)
    truth = wire_truth(sb, stream)
    assert rows == truth  # ascending date then key, and no row in two windows
    assert truth


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_ilt_tree_flattens_to_the_truth(sb, fmt) -> None:
    sessions, days = [], []
    for side in ("past", "future"):
        for course in fetch(sb, SESSION_COURSE, f"/sessions/{side}", fmt):
            for module in course["Modules"]:
                for s in module["Sessions"]:
                    assert (s["EndDate"] < NOW.replace(tzinfo=UTC)) == (side == "past")
                    days += [{**d, "SessionId": s["Id"]} for d in s["Days"]]
                    flat = {k: v for k, v in s.items() if k != "Days"}
                    sessions.append({**flat, "CourseId": course["Id"], "ModuleId": module["Id"]})
    key = lambda r: r["Id"]  # noqa: E731
    assert sorted(sessions, key=key) == sorted(sb.truth("ilt_sessions"), key=key)
    assert sorted(days, key=key) == sorted(sb.truth("ilt_session_days"), key=key)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_fan_out_endpoints_equal_truth(sb, fmt) -> None:
    badges = []
    for user in sb.truth("users"):
        ep = ENDPOINTS["user_badges"]
        badges += [
            {**b, "UserId": user["Id"]} for b in fetch(sb, ep, f"/users/{user['Id']}/badges", fmt)
        ]
    assert badges == sb.truth("user_badges")
    for stream, tail in (("ilt_rollcall", "rollcall"), ("ilt_attendance", "attendance")):
        got = []
        for s in sb.truth("ilt_sessions"):
            path = f"/courses/{s['CourseId']}/modules/{s['ModuleId']}/sessions/{s['Id']}/{tail}"
            got += [
                {**r, "CourseId": s["CourseId"], "ModuleId": s["ModuleId"], "SessionId": s["Id"]}
                for r in fetch(sb, ENDPOINTS[stream], path, fmt)
            ]
        assert sorted(got, key=str) == sorted(sb.truth(stream), key=str)


def test_fan_out_404s(sb) -> None:
    assert get(sb, "/users/nope/badges").status_code == 404
    s = sb.truth("ilt_sessions")[0]
    base = f"/courses/{s['CourseId']}/modules/{s['ModuleId']}/sessions/{s['Id']}/rollcall"
    assert get(sb, base).status_code == 200
    for bad in (
        base.replace(s["CourseId"], "nope"),
        base.replace(s["ModuleId"], "nope"),
        base.replace(s["Id"], "nope"),
    ):
        assert get(sb, bad).status_code == 404


# --- auth, paging, errors --------------------------------------------------------------------

ALL_PATHS = (
    [ENDPOINTS[s].path for s in SNAPSHOTS]
    + [ENDPOINTS[s].path for s in ORG_STREAMS]
    + ["/sessions/past", "/sessions/future"]
)
WEEK = {"since": "2026-11-01 00:00:00", "to": "2026-11-08 00:00:00"}


@pytest.mark.parametrize("path", ALL_PATHS)
def test_auth_source_and_limit_everywhere(sb, path) -> None:
    r = get(sb, path, key=None, **WEEK)
    assert (r.status_code, r.text) == (401, MSG_401)
    assert get(sb, path, key="wrong", **WEEK).status_code == 401
    r = requests.get(sb.base_url + path, params=WEEK, headers={"apikey": KEY}, timeout=10)
    assert (r.status_code, r.text) == (403, MSG_403)
    r = get(sb, path, limit=1001, **WEEK)
    assert (r.status_code, r.text) == (406, MSG_406_LIMIT)
    assert get(sb, path, limit="x", **WEEK).status_code == 400
    assert get(sb, path.upper(), **WEEK).status_code == 200  # WCF: case-insensitive


@pytest.fixture(scope="module")
def dense() -> LitmosSandbox:
    with LitmosSandbox(
        seed=2, users=20, achievements=10, api_key=KEY, now=NOW, course_results=300, logins=600
    ) as box:
        yield box


@pytest.mark.parametrize("stream", ["users", "course_results", "login_activity"])
def test_paging_splits_the_same_list(dense, stream) -> None:
    sb = dense
    ep = ENDPOINTS[stream]
    params = {"since": "2025-11-29", "to": "2025-12-06"} if ep.family == "org" else {}
    params["format"] = "json"
    whole = get(sb, ep.path, limit=1000, **params).json()
    assert len(whole) >= 3
    pages = [get(sb, ep.path, limit=2, start=s, **params).json() for s in range(0, len(whole), 2)]
    assert [r for p in pages for r in p] == whole
    assert get(sb, ep.path, start=len(whole), **params).json() == []
    assert len(get(sb, ep.path, **{**params, "limit": ""}).json()) == min(len(whole), 100)
    r = get(sb, ep.path, limit=0, **{k: v for k, v in params.items() if k != "format"})
    assert r.text == f'<{ep.root} xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'


def test_extra_rows_quirk_on_generic_lists(mut) -> None:
    mut.configure(extra_rows=2)
    assert len(get(mut, "/users/details", limit=3, format="json").json()) == 5


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"since": "2026-11-01"},
        {"to": "2026-11-02"},
        {"since": "x", "to": "2026-11-02"},
        {"since": "2026-11-01", "to": "2026-11-08 00:00:01"},
        {"since": "2026-11-08", "to": "2026-11-01"},
        {"since": "2026-11-01", "to": "2026/11/02"},
    ],
)
def test_org_range_errors(sb, params) -> None:
    r = get(sb, "/org/teams/users", **params)
    assert (r.status_code, r.text, r.reason) == (406, MSG_406_RANGE, MSG_406_RANGE)


@pytest.mark.parametrize(
    "params",
    [
        {"since": "2026-11-01", "to": "2026-11-08"},
        {"since": "2026-11-01T10:00:00", "to": "2026-11-08T10:00:00"},
        {"since": "2026-11-01 10:00", "to": "2026-11-02 10:00"},
    ],
)
def test_org_range_formats(sb, params) -> None:
    assert get(sb, "/org/teams/users", **params).status_code == 200


def test_ilt_since_to_is_optional_but_checked(sb) -> None:
    assert get(sb, "/sessions/past", since="2026-01-01").status_code == 406
    everything = get(sb, "/sessions/past", format="json").json()
    first = min(s["StartDate"] for c in everything for m in c["Modules"] for s in m["Sessions"])
    start = decode_wcf_json_date(first)
    window = get(
        sb,
        "/sessions/past",
        format="json",
        since=f"{start:%Y-%m-%d %H:%M:%S}",
        to=f"{start + timedelta(days=7):%Y-%m-%d %H:%M:%S}",
    ).json()
    sessions = [s for c in window for m in c["Modules"] for s in m["Sessions"]]
    assert first in [s["StartDate"] for s in sessions]


@pytest.mark.parametrize("since_incl", [True, False])
@pytest.mark.parametrize("to_incl", [True, False])
def test_org_bound_switches(mut, since_incl, to_incl) -> None:
    mut.configure(org_since_inclusive=since_incl, org_to_inclusive=to_incl)
    lo, hi = datetime(2026, 3, 1), datetime(2026, 3, 8)
    rows = mut.truth("team_users")
    on_lo = mut.touch("team_users", (rows[0]["TeamId"], rows[0]["Id"]), UpdatedDate=lo)
    on_hi = mut.touch("team_users", (rows[1]["TeamId"], rows[1]["Id"]), UpdatedDate=hi)
    inside = mut.touch(
        "team_users", (rows[2]["TeamId"], rows[2]["Id"]), UpdatedDate=lo + timedelta(milliseconds=1)
    )
    got = get(
        mut,
        "/org/teams/users",
        format="json",
        since=f"{lo:%Y-%m-%d %H:%M:%S}",
        to=f"{hi:%Y-%m-%d %H:%M:%S}",
    ).json()
    ids = {(r["TeamId"], r["Id"]) for r in got}
    assert ((on_lo["TeamId"], on_lo["Id"]) in ids) == since_incl
    assert ((on_hi["TeamId"], on_hi["Id"]) in ids) == to_incl
    assert (inside["TeamId"], inside["Id"]) in ids
    assert got[0]["UpdatedDate"] == (
        "2026-03-01T00:00:00" if since_incl else "2026-03-01T00:00:00.001"
    )


@pytest.mark.parametrize("order", ["date", "date_desc", "key"])
def test_org_order_orders_the_same_rows_and_pages_them(mut, order) -> None:
    mut.configure(org_order=order)
    stream = "course_results"
    spec = mut.spec(stream)
    since, to = datetime(2025, 1, 1), datetime(2025, 1, 1) + timedelta(days=7)
    rows = mut.truth(stream)
    for i, row in enumerate(rows[:9]):  # nine rows in the window, dates against key order
        at = since + timedelta(hours=(i * 7) % 9 + 1)
        mut.touch(stream, tuple(row[k] for k in spec.key), UpdatedDate=at)
    query = {"since": f"{since:%Y-%m-%d %H:%M:%S}", "to": f"{to:%Y-%m-%d %H:%M:%S}"}
    pages = [
        get(mut, "/org/results/details", format="json", start=start, limit=4, **query).json()
        for start in (0, 4, 8)
    ]
    assert [len(p) for p in pages] == [4, 4, 1]
    got = [r for page in pages for r in page]
    keys = [tuple(r[k] for k in spec.key) for r in got]
    dates = [(_date(r["UpdatedDate"]), key) for r, key in zip(got, keys, strict=True)]
    expected = {
        "date": sorted(dates),
        "date_desc": sorted(dates, reverse=True),
        "key": sorted(dates, key=lambda d: d[1]),
    }[order]
    assert dates == expected
    assert len(set(keys)) == 9


def test_org_order_is_checked(mut) -> None:
    with pytest.raises(ValueError, match="org_order"):
        mut.configure(org_order="random")


# --- the world: joins, dates, users/details ------------------------------------------------------


def test_ids_join_across_endpoints(sb) -> None:
    keys = {
        s: {r[ENDPOINTS[s].key[0]] for r in sb.truth(s)}
        for s in ("users", "courses", "teams", "learning_paths", "locations", "ilt_sessions")
    }
    modules = {r["Id"] for r in sb.truth("course_modules")}
    checked = 0
    for ep in ENDPOINTS.values():
        if ep.stream == "achievements":
            continue
        for f in ep.fields + ep.parents:
            target = {"modules": modules}.get(f.ref or "", keys.get(f.ref or ""))
            if target is None:
                continue
            for row in sb.truth(ep.stream):
                value = row[f.name]
                if value in (None, "") or (f.name == "InstructorUserId" and value == "0"):
                    continue
                assert value in target, (ep.stream, f.name, value)
                checked += 1
    assert checked > 500
    for a in sb.truth():
        assert a["UserId"] in keys["users"]
        assert a["CourseId"] in keys["courses"] | keys["learning_paths"]
    assert {s["InstructorUserId"] for s in sb.truth("ilt_sessions")} - {"0"} <= {
        r["Id"] for r in sb.truth("instructors")
    }
    assert {s["LocationId"] for s in sb.truth("ilt_sessions")} <= keys["locations"]
    teams = {t["Id"]: t["ParentTeamId"] for t in sb.truth("teams")}
    assert "" in teams.values() and set(teams.values()) - {""} <= set(teams)


def test_users_created_dates_and_sort(sb) -> None:
    users = sb.truth("users")
    created = [u["CreatedDate"] for u in users]
    assert min(created) == ACCOUNT_START.replace(tzinfo=UTC) == created[0]
    assert any(u["LastLogin"] is None for u in users)
    assert any(not u["Active"] for u in users)
    first = get(sb, "/users/details", format="json", limit=1, sort="CreatedDate", dir="ASC")
    assert first.json()[0]["CreatedDate"] == "2023-01-02T08:00:00Z"
    desc = get(sb, "/users/details", format="json", sort="CreatedDate", dir="DESC").json()
    assert [u["Id"] for u in desc] == [
        u["Id"] for u in sorted(users, key=lambda u: u["CreatedDate"], reverse=True)
    ]
    never = next(u for u in get(sb, "/users/details", format="json").json() if u["LastLogin"] == "")
    assert never["LastLogin"] == ""
    cut = created[10]
    since = get(sb, "/users/details", format="json", since=f"{cut:%Y-%m-%d %H:%M:%S}").json()
    assert [u["Id"] for u in since] == [u["Id"] for u in users if u["CreatedDate"] >= cut]
    assert get(sb, "/users/details", since="yesterday").status_code == 406


def test_entities_and_nulls_on_the_wire(sb) -> None:
    body = get(sb, "/users/details", format="json").text
    assert "&amp;" in body and "&#39;" in body and "&lt;" in body
    courses = get(sb, "/courses", format="json").text
    assert '"Price":0.00' in courses and '"AccessTillDays":null' in courses
    org = get(sb, "/org/results/details", format="json", since="2026-11-01", to="2026-11-08")
    assert "\\/Date" not in org.text and 'Z"' not in org.text


def test_generation_is_deterministic() -> None:
    a = LitmosSandbox(seed=5, users=8, achievements=10, now=NOW)
    b = LitmosSandbox(seed=5, users=8, achievements=10, now=NOW)
    c = LitmosSandbox(seed=6, users=8, achievements=10, now=NOW)
    for stream in ENDPOINTS:
        assert a.truth(stream) == b.truth(stream)
    assert a.truth("users") != c.truth("users")


def test_one_id_seed_gives_two_accounts_the_same_ids_and_different_data() -> None:
    # Two accounts whose keys collide (tests/test_dbt_accounts.py): every id made in a fixed
    # number is shared, the values behind it are not.
    us = LitmosSandbox(seed=5, id_seed=9, users=12, achievements=60, now=NOW)
    eu = LitmosSandbox(seed=6, id_seed=9, users=12, achievements=60, now=NOW)
    for stream, key in (
        ("users", "Id"),
        ("courses", "Id"),
        ("teams", "Id"),
        ("learning_paths", "Id"),
        ("locations", "LocationId"),
        ("achievements", "AchievementId"),
    ):
        ids = [sorted(r[key] for r in box.truth(stream)) for box in (us, eu)]
        assert ids[0] == ids[1], stream
    assert us.truth("users") != eu.truth("users")
    assert us.truth("achievements") != eu.truth("achievements")
    assert us.truth("team_users") != eu.truth("team_users")
    # Without it, the ids are drawn with the data: the default accounts are unchanged.
    plain = LitmosSandbox(seed=5, users=12, achievements=60, now=NOW)
    assert plain.truth("users") != us.truth("users")
    assert plain.truth("users") == LitmosSandbox(seed=5, users=12, achievements=60, now=NOW).truth(
        "users"
    )


def test_world_sizes_are_options() -> None:
    box = LitmosSandbox(
        users=30,
        achievements=0,
        teams=9,
        courses=20,
        learning_paths=5,
        course_results=50,
        module_results=7,
        logins=11,
        now=NOW,
    )
    sizes = {
        s: len(box.truth(s))
        for s in (
            "users",
            "teams",
            "courses",
            "learning_paths",
            "course_results",
            "module_results",
            "login_activity",
        )
    }
    assert sizes == {
        "users": 30,
        "teams": 9,
        "courses": 20,
        "learning_paths": 5,
        "course_results": 50,
        "module_results": 7,
        "login_activity": 11,
    }


def test_spec_api(sb) -> None:
    ep = sb.spec("team_users")
    assert ep.path == "/org/teams/users" and ep.key == ("TeamId", "Id")
    assert "IsTeamLeader" in ep.names
    assert sb.spec("users").names[:3] == ("Id", "UserName", "FirstName")
    assert sb.spec("user_badges").names[0] == "ID"
    assert set(sb.streams()) == set(ENDPOINTS)
    with pytest.raises(ValueError, match="unknown stream"):
        sb.spec("nope")
    r = requests.get(sb.base_url.replace("/v1.svc", "/_sandbox/spec"), timeout=5)
    assert {d["stream"] for d in r.json()} == set(ENDPOINTS)


# --- mutations ----------------------------------------------------------------------------------


def test_delete_user(mut) -> None:
    victim = mut.truth("users")[3]["Id"]
    mut.delete_user(victim)
    ids = [u["Id"] for u in get(mut, "/users/details", format="json").json()]
    assert victim not in ids and len(ids) == 9
    assert get(mut, f"/users/{victim}/badges").status_code == 404
    with pytest.raises(KeyError):
        mut.delete_user(victim)


def test_touch_moves_a_row_to_a_new_window(mut) -> None:
    row = mut.truth("course_results")[0]
    when = datetime(2026, 11, 27, 12, 0, 0, 250000, tzinfo=UTC)
    new = mut.touch(
        "course_results",
        (row["UserId"], row["Id"]),
        UpdatedDate=when,
        PercentageComplete="100.0",
        Completed=True,
    )
    assert new["UpdatedDate"] == when and new["PercentageComplete"] == Decimal("100.0")
    got = get(
        mut, "/org/results/details", format="json", since="2026-11-25", to="2026-11-28"
    ).json()
    mine = [r for r in got if (r["UserId"], r["Id"]) == (row["UserId"], row["Id"])]
    assert mine and mine[0]["UpdatedDate"] == "2026-11-27T12:00:00.25"
    assert mine[0]["Completed"] is True
    assert (
        len(
            [
                r
                for r in mut.truth("course_results")
                if r["Id"] == row["Id"] and r["UserId"] == row["UserId"]
            ]
        )
        == 1
    )  # latest version only
    user = mut.truth("users")[1]
    mut.touch("users", user["Id"], FirstName="Renamed & Co")
    assert mut.truth("users")[1]["FirstName"] == "Renamed & Co"


def test_touch_defaults_updated_date_to_now(mut) -> None:
    row = mut.truth("team_courses")[0]
    new = mut.touch("team_courses", [row["TeamId"], row["Id"]])
    assert new["UpdatedDate"] == NOW.replace(tzinfo=UTC)


def test_remove_link(mut) -> None:
    row = mut.truth("team_users")[0]
    removed = mut.remove_link("team_users", (row["TeamId"], row["Id"]))
    assert removed["Active"] is False and removed["UpdatedDate"] == NOW.replace(tzinfo=UTC)
    got = get(mut, "/org/teams/users", format="json", since="2026-11-27", to="2026-11-29").json()
    assert [(r["TeamId"], r["Id"], r["Active"]) for r in got] == [(row["TeamId"], row["Id"], False)]
    with pytest.raises(ValueError, match="Active"):
        mut.remove_link("users", row["Id"])


def test_add_rows_keep_joins(mut) -> None:
    user = mut.add(
        "users", FirstName="New", LastName="O'Person", CreatedDate="2026-11-27T10:00:00Z"
    )
    assert user["Id"] in {u["Id"] for u in mut.truth("users")}
    link = mut.add("team_users", Id=user["Id"])
    assert link["TeamId"] in {t["Id"] for t in mut.truth("teams")}
    assert link["OriginalUserId"] == user["OriginalId"] is None or link["Active"] is True
    result = mut.add("course_results", UserId=user["Id"], Completed=True)
    course = next(c for c in mut.truth("courses") if c["Id"] == result["Id"])
    assert result["Name"] == course["Name"] and result["Code"] == course["Code"]
    assert result["UpdatedDate"] == NOW.replace(tzinfo=UTC)
    got = get(
        mut, "/org/results/details", format="json", since="2026-11-27", to="2026-11-29"
    ).json()
    assert (result["UserId"], result["Id"]) in {(r["UserId"], r["Id"]) for r in got}
    mr = mut.add("module_results")
    assert mr["ModuleResultId"] > max(
        r["ModuleResultId"]
        for r in mut.truth("module_results")
        if r is not mr and r["ModuleResultId"] != mr["ModuleResultId"]
    )
    with pytest.raises(ValueError, match="already has"):
        mut.add("team_users", TeamId=link["TeamId"], Id=link["Id"])
    with pytest.raises(ValueError, match="no field"):
        mut.add("teams", Nope=1)


def test_admin_mutation_routes(mut) -> None:
    admin = mut.base_url.replace("/v1.svc", "/_sandbox")
    row = mut.truth("team_users")[0]
    r = requests.post(
        admin + "/remove-link",
        json={"stream": "team_users", "key": [row["TeamId"], row["Id"]]},
        timeout=5,
    )
    assert r.status_code == 200 and r.json()["Active"] is False
    assert r.json()["UpdatedDate"] == "2026-11-28T00:00:00.000Z"
    r = requests.post(
        admin + "/add", json={"stream": "teams", "fields": {"Name": "Added"}}, timeout=5
    )
    assert r.status_code == 201
    r = requests.post(
        admin + "/touch",
        json={"stream": "teams", "key": r.json()["Id"], "fields": {"Name": "Renamed"}},
        timeout=5,
    )
    assert r.json()["Name"] == "Renamed"
    user = mut.truth("users")[2]["Id"]
    assert requests.post(admin + "/delete-user", json={"user_id": user}, timeout=5).ok
    truth = requests.get(admin + "/truth", params={"stream": "users"}, timeout=5).json()
    assert user not in {u["Id"] for u in truth}
    assert (
        requests.post(
            admin + "/touch", json={"stream": "teams", "key": "nope"}, timeout=5
        ).status_code
        == 400
    )
    r = requests.post(
        admin + "/set-raw",
        json={"stream": "teams", "key": truth[0]["Id"], "field": "Name", "raw": "x"},
        timeout=5,
    )
    assert r.ok and requests.post(admin + "/clear-raw", timeout=5).ok


def test_set_raw_and_extra_fields_on_world_streams(mut) -> None:
    row = mut.truth("course_results")[0]
    mut.set_raw("/org/results/details", (row["UserId"], row["Id"]), "UpdatedDate", "garbage")
    session = mut.truth("ilt_sessions")[0]
    mut.set_raw("ilt_sessions", session["Id"], "Slots", "many")
    mut.configure(extra_fields={"Brand2": "b"})
    window = {
        "since": f"{row['UpdatedDate']:%Y-%m-%d}",
        "to": f"{row['UpdatedDate'] + timedelta(days=1):%Y-%m-%d}",
    }
    got = get(mut, "/org/results/details", format="json", **window).json()
    mine = next(r for r in got if (r["UserId"], r["Id"]) == (row["UserId"], row["Id"]))
    assert mine["UpdatedDate"] == "garbage" and mine["Brand2"] == "b"
    root = ET.fromstring(get(mut, "/org/results/details", **window).content)
    el = next(
        e for e in root if e.findtext("UserId") == row["UserId"] and e.findtext("Id") == row["Id"]
    )
    assert el.findtext("UpdatedDate") == "garbage" and el[-1].tag == "Brand2"
    side = "past" if session["EndDate"] < NOW.replace(tzinfo=UTC) else "future"
    body = get(mut, f"/sessions/{side}", format="json").json()
    slots = [
        s["Slots"]
        for c in body
        for m in c["Modules"]
        for s in m["Sessions"]
        if s["Id"] == session["Id"]
    ]
    assert slots == ["many"]
    mut.clear_raw()
    assert "garbage" not in get(mut, "/org/results/details", format="json", **window).text


def test_benchmark_scale_world_generates() -> None:
    # No timing assertion: this only proves the large world builds and serves a page.
    from litmos_sandbox.data import Dataset
    from litmos_sandbox.world import Sizes

    ds = Dataset.generate(1, 2000, 1000)
    w = World.generate(
        ds,
        1,
        Sizes(users=2000, teams=50, courses=100, learning_paths=20, course_results=20_000),
        NOW,
    )
    assert len(w.tables["course_results"].rows) == 20_000
    rows = w.tables["course_results"].window(
        datetime(2026, 1, 1), datetime(2026, 1, 8), lo_incl=True, hi_incl=False, count=1000
    )
    assert 0 < len(rows) <= 1000
