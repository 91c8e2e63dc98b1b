"""The HTTP server over real sockets: routing, auth, params, paging, log, admin, CLI."""

from __future__ import annotations

import dataclasses
import html
import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
import requests

from litmos_sandbox import LitmosSandbox, Options, spawn
from litmos_sandbox.data import LITMOS_FIELDS, parse_iso_wall
from litmos_sandbox.wire import (
    MSG_400,
    MSG_401,
    MSG_403,
    MSG_406_LIMIT,
    MSG_406_SINCE,
    decode_wcf_json_date,
)

pytestmark = pytest.mark.e2e

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def decode_json_rows(body: bytes) -> list[dict]:
    out = []
    for obj in json.loads(body):
        row = {}
        for name, value in obj.items():
            if name in ("AchievementDate", "CompliantTillDate") and value is not None:
                value = decode_wcf_json_date(value).replace(tzinfo=timezone.utc)
            elif isinstance(value, str):
                value = html.unescape(value)
            row[name] = value
        out.append(row)
    return out


def ids(rows: list[dict]) -> list[int]:
    return [r["AchievementId"] for r in rows]


# --- formats ----------------------------------------------------------------------------


def test_json_page_matches_truth(sandbox, api) -> None:
    r = api(sandbox, {"source": "tests", "format": "json", "limit": 1000})
    assert r.status == 200
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert r.headers["server"] == "Microsoft-IIS/10.0"
    assert r.headers["x-powered-by"] == "ASP.NET"
    assert int(r.headers["content-length"]) == len(r.body)
    assert r.body.startswith(b"[{") and b"\\/Date(" in r.body
    pairs = json.loads(r.body, object_pairs_hook=list)
    assert [k for k, _ in pairs[0]] == list(LITMOS_FIELDS)
    assert decode_json_rows(r.body) == sandbox.truth()
    assert b"&amp;" in r.body and b"&#39;" in r.body  # HTML-encoded strings


@pytest.mark.parametrize("fmt", ["JSON", "Json", "json"])
def test_format_is_case_insensitive(sandbox, api, fmt) -> None:
    r = api(sandbox, {"source": "tests", "format": fmt, "limit": 3})
    assert r.headers["content-type"].startswith("application/json")
    assert len(r.json()) == 3


def test_xml_is_default_and_matches_truth(sandbox, api) -> None:
    r = api(sandbox, {"source": "tests", "limit": 1000})
    assert r.status == 200
    assert r.headers["content-type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(r.body)
    truth = sandbox.truth()
    assert len(root) == len(truth)
    for el, want in zip(root, truth):
        got = {}
        for child in el:
            if child.get(XSI + "nil") == "true":
                got[child.tag] = None
            elif child.tag in ("AchievementDate", "CompliantTillDate"):
                got[child.tag] = parse_iso_wall(child.text).replace(tzinfo=timezone.utc)
            elif child.tag in ("AchievementId", "CertificateId"):
                got[child.tag] = int(child.text)
            else:
                got[child.tag] = child.text or ""
        assert got == want
    assert b"&#39;" not in r.body and b"&amp;amp;" not in r.body


def test_empty_results_both_formats(sandbox, api) -> None:
    j = api(sandbox, {"source": "t", "format": "json", "start": 5000})
    assert (j.status, j.body) == (200, b"[]")
    x = api(sandbox, {"source": "t", "start": 5000})
    assert x.body == b'<Achievements xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'


def test_json_utc_dates_and_bare_nil_options(fresh, api) -> None:
    fresh.configure(json_utc_dates=True, xml_nil_style="bare")
    j = api(fresh, {"source": "t", "format": "json", "limit": 1})
    first = fresh.truth()[0]
    want_ms = int(first["AchievementDate"].timestamp() * 1000)
    assert j.json()[0]["AchievementDate"] == f"/Date({want_ms})/"
    x = api(fresh, {"source": "t", "limit": 50})
    assert b' nil="true"' in x.body and b"i:nil" not in x.body


# --- auth and parameter errors --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "params"),
    [
        ({"key": None}, {"source": "t"}),
        ({"key": "wrong"}, {"source": "t"}),
        ({"key": None}, {"source": "t", "apikey": "test-key"}),  # query keys don't count
    ],
)
def test_401(sandbox, api, kwargs, params) -> None:
    r = api(sandbox, params, **kwargs)
    assert r.status == 401
    assert r.body.decode() == MSG_401
    assert r.reason == MSG_401


def test_header_name_is_case_insensitive(sandbox, api, key) -> None:
    r = api(sandbox, {"source": "t"}, key=None, headers={"APIKey": key})
    assert r.status == 200


@pytest.mark.parametrize("params", [{}, {"source": ""}, {"source": "x" * 51}])
def test_403_source(sandbox, api, params) -> None:
    r = api(sandbox, params)
    assert (r.status, r.body.decode(), r.reason) == (403, MSG_403, MSG_403)


def test_source_of_50_chars_is_fine(sandbox, api) -> None:
    assert api(sandbox, {"source": "x" * 50}).status == 200


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "abc"},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"start": "x"},
        {"start": "-5"},
        {"limit": "99999999999"},
    ],
)
def test_400_paging(sandbox, api, params) -> None:
    r = api(sandbox, {"source": "t", **params})
    assert (r.status, r.body.decode()) == (400, MSG_400)


def test_406_limit_and_1000_ok(sandbox, api) -> None:
    r = api(sandbox, {"source": "t", "limit": 1001})
    assert (r.status, r.body.decode(), r.reason) == (406, MSG_406_LIMIT, MSG_406_LIMIT)
    assert "maxminum" in r.body.decode()
    assert api(sandbox, {"source": "t", "limit": 1000, "format": "json"}).status == 200


def test_error_precedence(sandbox, api) -> None:
    # auth before source before limit before since before userid
    assert api(sandbox, {"limit": "x"}, key="bad").status == 401
    assert api(sandbox, {"limit": "x"}).status == 403
    assert api(sandbox, {"source": "t", "limit": "x", "since": "bad"}).status == 400
    assert api(sandbox, {"source": "t", "since": "bad", "userid": "nobody"}).status == 406


# --- since ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wall"),
    [
        ("2025-01-15 12:00:00", datetime(2025, 1, 15, 12)),
        ("2025-01-15 12:00", datetime(2025, 1, 15, 12)),
        ("2025-01-15", datetime(2025, 1, 15)),
        ("2025-01-15T12:00:00", datetime(2025, 1, 15, 12)),
        ("2025-01-15T12:00", datetime(2025, 1, 15, 12)),
    ],
)
def test_since_valid_formats(sandbox, api, text, wall) -> None:
    r = api(sandbox, {"source": "t", "format": "json", "since": text, "limit": 1000})
    assert r.status == 200
    want = [t for t in sandbox.truth() if t["AchievementDate"] >= wall.replace(tzinfo=timezone.utc)]
    assert decode_json_rows(r.body) == want
    assert want  # the seed-fixed data has rows on both sides


@pytest.mark.parametrize(
    "text",
    [
        "2025/01/15",
        "15-01-2025",
        "2025-01-15 12",
        "2025-13-01",
        "yesterday",
        "2025-01-15T12:00:00Z",
        "2025-01-15 12:00:00.000",
        "2025-1-5",
    ],
)
def test_since_invalid_formats(sandbox, api, text) -> None:
    r = api(sandbox, {"source": "t", "since": text})
    assert (r.status, r.body.decode(), r.reason) == (406, MSG_406_SINCE, MSG_406_SINCE)


def test_since_is_inclusive_on_the_full_value(fresh, api) -> None:
    (row,) = fresh.add_achievements(AchievementDate="2025-02-03T04:05:06")
    (later,) = fresh.add_achievements(AchievementDate="2025-02-03T04:05:06.500")
    q = {"source": "t", "format": "json", "limit": 1000, "since": "2025-02-03 04:05:06"}
    got = ids(api(fresh, q).json())
    assert row.achievement_id in got and later.achievement_id in got
    q["since"] = "2025-02-03 04:05:07"
    got = ids(api(fresh, q).json())
    assert row.achievement_id not in got and later.achievement_id not in got
    # a since inside the second excludes nothing finer than the format allows
    q["since"] = "2025-02-03T04:05"
    assert row.achievement_id in ids(api(fresh, q).json())


# --- userid, ordering, ignored params ----------------------------------------------------


def test_userid_filter_and_unknown_user(sandbox, api) -> None:
    uid = sandbox.dataset.users[0][0]
    r = api(sandbox, {"source": "t", "format": "json", "userid": uid, "limit": 1000})
    rows = decode_json_rows(r.body)
    assert rows and rows == [t for t in sandbox.truth() if t["UserId"] == uid]
    bad = api(sandbox, {"source": "t", "userid": "noSuchUser123"})
    assert bad.status == 404
    assert bad.body.decode() == "User - noSuchUser123 was not found"
    assert bad.reason == "User - noSuchUser123 was not found"


def test_order_and_ignored_sort_dir_search(sandbox, api) -> None:
    base = {"source": "t", "format": "json", "limit": 1000}
    plain = api(sandbox, base).body
    truth = sandbox.truth()
    keys = [(t["AchievementDate"], t["AchievementId"]) for t in truth]
    assert keys == sorted(keys, reverse=True)
    for extra in ({"sort": "AchievementDate", "dir": "ASC"}, {"search": "zzz"}, {"dir": "desc"}):
        assert api(sandbox, {**base, **extra}).body == plain


def test_query_parameter_names_case_insensitive(sandbox, api) -> None:
    r = api(sandbox, {"Source": "t", "Format": "json", "Limit": 2})
    assert r.status == 200 and len(r.json()) == 2


# --- paging ----------------------------------------------------------------------------


def test_default_limit_and_paging_walk(sandbox, api) -> None:
    assert len(api(sandbox, {"source": "t", "format": "json"}).json()) == 100
    truth_ids = [t["AchievementId"] for t in sandbox.truth()]
    got, start = [], 0
    while True:
        page = api(sandbox, {"source": "t", "format": "json", "limit": 70, "start": start}).json()
        if not page:
            break
        got += ids(page)
        start += len(page)
    assert got == truth_ids
    assert api(sandbox, {"source": "t", "format": "json", "limit": 0}).json() == []


def test_extra_rows_quirk(fresh, api) -> None:
    fresh.configure(extra_rows=3)
    truth_ids = [t["AchievementId"] for t in fresh.truth()]
    page = api(fresh, {"source": "t", "format": "json", "limit": 50}).json()
    assert len(page) == 53 and ids(page) == truth_ids[:53]
    got, start = [], 0
    while True:
        page = api(fresh, {"source": "t", "format": "json", "limit": 50, "start": start}).json()
        if not page:
            break
        got += ids(page)
        start += len(page)
    assert got == truth_ids
    last = api(fresh, {"source": "t", "format": "json", "limit": 50, "start": 100}).json()
    assert len(last) == 20


# --- routing -----------------------------------------------------------------------------


def test_unknown_endpoint_and_method(sandbox, api) -> None:
    r = api(sandbox, {"source": "t"}, path="/users")
    assert r.status == 404 and b"Endpoint not found." in r.body
    assert r.headers["content-type"].startswith("text/html")
    assert api(sandbox, {"source": "t"}, path="/ACHIEVEMENTS/").status == 200
    p = api(sandbox, {"source": "t"}, method="POST", body=b"<x/>")
    assert p.status == 405


# --- request log, admin, runtime changes ----------------------------------------------------


def test_request_log(fresh, api) -> None:
    fresh.reset_log()
    api(fresh, {"source": "t", "format": "json", "limit": 5, "since": "2024-01-01 00:00"})
    api(fresh, {"source": "t"}, key="bad")
    api(fresh, {}, path="/_sandbox/requests")  # admin: not logged
    log = fresh.requests
    assert len(log) == 2
    first, second = log
    assert set(first) == {
        "method",
        "path",
        "params",
        "status",
        "rows",
        "time",
        "fault",
        "connection",
    }
    assert first["method"] == "GET" and first["path"] == "/v1.svc/achievements"
    assert first["params"] == {
        "source": "t",
        "format": "json",
        "limit": "5",
        "since": "2024-01-01 00:00",
    }
    assert (first["status"], first["rows"], first["fault"]) == (200, 5, None)
    assert (second["status"], second["rows"]) == (401, 0)
    assert first["time"] <= second["time"]
    fresh.reset_log()
    assert fresh.requests == []


def test_added_achievements_are_visible_at_once(fresh, api) -> None:
    created = fresh.add_achievements(2, Title="Brand & New")
    page = api(fresh, {"source": "t", "format": "json", "limit": 2}).json()
    assert sorted(ids(page)) == sorted(a.achievement_id for a in created)
    assert all(html.unescape(p["Title"]) == "Brand & New" for p in page)


def test_admin_routes(fresh, api) -> None:
    uid = fresh.dataset.users[1][0]
    body = json.dumps(
        {"count": 2, "UserId": uid, "AchievementDate": "2026-07-01T10:00:00.250Z", "score": "99"}
    ).encode()
    r = api(fresh, path="/_sandbox/achievements", method="POST", body=body, key=None)
    assert r.status == 201
    made = r.json()
    assert len(made) == 2 and made[0]["AchievementDate"] == "2026-07-01T10:00:00.250Z"
    assert made[0]["UserId"] == uid and made[0]["Score"] == "99"
    truth = api(fresh, path="/_sandbox/truth", key=None).json()
    assert truth[0]["AchievementId"] == max(m["AchievementId"] for m in made)
    assert len(truth) == 122
    users = api(fresh, path="/_sandbox/users", key=None).json()
    assert users[1]["UserId"] == uid
    r = api(
        fresh,
        path="/_sandbox/configure",
        method="POST",
        key=None,
        body=json.dumps({"extra_rows": 1}).encode(),
    )
    assert r.status == 200 and r.json()["extra_rows"] == 1
    assert len(api(fresh, {"source": "t", "format": "json", "limit": 4}).json()) == 5
    bad = api(
        fresh,
        path="/_sandbox/configure",
        method="POST",
        key=None,
        body=json.dumps({"nope": 1}).encode(),
    )
    assert bad.status == 400
    log = api(fresh, path="/_sandbox/requests", key=None).json()
    assert log[-1]["rows"] == 5
    assert api(fresh, path="/_sandbox/reset-log", method="POST", key=None).status == 200
    assert fresh.requests == []
    assert api(fresh, path="/_sandbox/nothing", key=None).status == 404


def test_configure_regenerates_and_rejects_unknown(fresh) -> None:
    before = fresh.truth()
    fresh.configure(seed=12)
    assert fresh.truth() != before and len(fresh.truth()) == 120
    with pytest.raises(TypeError):
        fresh.configure(bogus=1)
    with pytest.raises(ValueError):
        fresh.configure(xml_nil_style="x")


def test_keep_alive_reuses_the_connection(fresh, key) -> None:
    fresh.reset_log()
    url = fresh.base_url + "/achievements"
    with requests.Session() as s:
        for _ in range(3):
            r = s.get(
                url, params={"source": "t", "format": "json", "limit": 10}, headers={"apikey": key}
            )
            assert r.status_code == 200 and len(r.json()) == 10
    conns = [e["connection"] for e in fresh.requests]
    assert len(conns) == 3 and len(set(conns)) == 1


def test_sandbox_lifecycle() -> None:
    sb = LitmosSandbox(achievements=10)
    with pytest.raises(RuntimeError):
        _ = sb.base_url
    sb.start()
    try:
        assert sb.base_url.startswith("http://127.0.0.1:") and sb.base_url.endswith("/v1.svc")
        r = requests.get(
            sb.base_url + "/achievements",
            params={"source": "t"},
            headers={"apikey": "sandbox-key"},
            timeout=5,
        )
        assert r.status_code == 200
    finally:
        sb.stop()
    sb.stop()  # idempotent


def test_cli_starts_prints_and_stops() -> None:
    sandbox = spawn(
        "--port", "0", "--achievements", "30", "--api-key", "cli-key", "--extra-rows", "1",
        stderr=subprocess.PIPE,
    )  # fmt: skip
    proc = sandbox.process
    try:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.base_url.endswith("/v1.svc")
        assert sandbox.api_key == "cli-key"
        r = requests.get(
            sandbox.base_url + "/achievements",
            params={"source": "t", "format": "json", "limit": 2},
            headers={"apikey": "cli-key"},
            timeout=5,
        )
        assert r.status_code == 200 and len(r.json()) == 3
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert out == "" and err == ""


def test_cli_help_lists_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "litmos_sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for f in dataclasses.fields(Options):
        flag = f.metadata["cli"].get("flag", "--" + f.name.replace("_", "-"))
        assert flag in out.stdout, f.name
