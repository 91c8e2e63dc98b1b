"""The generated manifest, run as Airbyte runs a Builder connector, against `source-litmos`.

`source-declarative-manifest` (airbyte-cdk, from PyAirbyte's virtualenv) reads
`airbyte/manifest-only/manifest.yaml`; `source-litmos` reads the same sandbox account.
A first read and an incremental read after changes (new, changed, removed and late rows)
must give the same records, stream by stream and field by field, with the same requests
per stream. Then each safeguard the manifest carries is made to bite, on the sandbox's
faults or a small loopback server.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import typing as t

import pytest

from scripts import airbyte_manifest
from tests.helpers.airbyte_source import run_source
from tests.helpers.catalog import requests_to
from tests.helpers.expect import API_KEY, key_of
from tests.helpers.manifest_source import (
    configured_catalog,
    discover,
    run_manifest,
    stream_state,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from litmos_sandbox import LitmosSandbox
    from tests.helpers.airbyte_source import SourceRun
    from tests.helpers.manifest_source import ManifestRun

pytestmark = pytest.mark.platform

STREAMS = [s.name for s in airbyte_manifest.manifest_streams()]
INCREMENTAL = {
    s.name: airbyte_manifest.replication_key(s)
    for s in airbyte_manifest.manifest_streams()
    if airbyte_manifest.replication_key(s)
}
#: Windows from here: every row of the sandbox's /org/* history (as the protocol tests).
DAYS_BEFORE_ANCHOR = 470
#: tap_litmos.patterns.DateWindowStream.FULL_WINDOW: how far apart the windows start.
WINDOW = dt.timedelta(days=7, seconds=-2)


def first_read_config(sandbox: LitmosSandbox, config: dict) -> dict:
    """A start_date about 470 days back, placed so that now falls mid-window.

    Both clients end their last window at "now" (Litmos's, or the worker's): with now far
    from a window's edge, the seconds between their reads cannot change how many windows
    either makes.
    """
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    windows = DAYS_BEFORE_ANCHOR * dt.timedelta(days=1) // WINDOW
    start = now - windows * WINDOW - WINDOW / 2
    return {**config, "start_date": start.replace(microsecond=0).isoformat()}


def litmos_read(
    tmp_path: Path, config: dict, state: object, label: str, streams: list[str] = STREAMS
) -> SourceRun:
    catalog = run_source("discover", tmp_path, config=config, label=f"{label}-discover")
    (message,) = catalog.of_type("CATALOG")
    configured = configured_catalog(message["catalog"], streams)
    run = run_source("read", tmp_path, config=config, catalog=configured, state=state, label=label)
    assert run.returncode == 0, run.tail()
    return run


_CATALOG: dict[str, dict] = {}


def litmos_read_streams(tmp_path: Path, config: dict, streams: list[str]) -> SourceRun:
    return litmos_read(tmp_path, config, [], "litmos", streams)


def manifest_catalog(tmp_path: Path, config: dict, label: str) -> dict:
    """The manifest's discovered catalog (the same for every config): discovered once."""
    if "catalog" not in _CATALOG:
        _CATALOG["catalog"] = discover(tmp_path, config, label=f"{label}-discover")
    return _CATALOG["catalog"]


def manifest_read(
    tmp_path: Path, config: dict, state: object, label: str, streams: list[str] = STREAMS
) -> ManifestRun:
    catalog = configured_catalog(manifest_catalog(tmp_path, config, label), streams)
    run = run_manifest("read", tmp_path, config=config, catalog=catalog, state=state, label=label)
    assert run.returncode == 0, run.error_text()[:3000]
    return run


def by_key(records: list[dict], keys: list[str]) -> dict[tuple, dict]:
    out = {key_of(r, keys): r for r in records}
    assert len(out) == len(records), "a key twice in one read"
    return out


def requests_per_stream(sandbox: LitmosSandbox) -> dict[str, int]:
    return {s: len(requests_to(sandbox, s)) for s in STREAMS}


def compare(
    litmos: SourceRun, manifest: ManifestRun, litmos_requests: dict, manifest_requests: dict
) -> list[tuple[str, int, int, int, str]]:
    """Each stream's records, field by field, and requests: (stream, rows, requests ...)."""
    table = []
    for stream in STREAMS:
        keys = next(s for s in airbyte_manifest.manifest_streams() if s.name == stream)
        keys = list(keys.primary_keys or ())
        ours = by_key(manifest.records(stream), keys)
        theirs = by_key(litmos.records(stream), keys)
        assert ours.keys() == theirs.keys(), stream
        differing = sorted(
            {f for k, row in theirs.items() for f in row.keys() | ours[k].keys()
             if row.get(f) != ours[k].get(f)}
        )  # fmt: skip
        assert differing == [], (stream, differing)
        assert manifest_requests[stream] == litmos_requests[stream], stream
        table.append(
            (stream, len(ours), litmos_requests[stream], manifest_requests[stream], "none")
        )
    return table


def print_table(title: str, table: list[tuple[str, int, int, int, str]]) -> None:
    lines = [f"{title}: stream | rows | requests source-litmos | requests manifest | differ"]
    lines += [" | ".join(str(c) for c in row) for row in table]
    print("\n".join(lines))  # noqa: T201


def change_litmos(sandbox: LitmosSandbox, bookmark: str) -> dict[str, list[dict]]:
    """New, changed, removed and late rows, the changes each stream must carry."""
    newest = max(r["AchievementDate"] for r in sandbox.truth()).replace(tzinfo=None)
    sandbox.add_achievements(count=3, achievement_date=newest + dt.timedelta(days=1))
    result = sandbox.truth("course_results")[5]
    changed = sandbox.touch(
        "course_results", (result["UserId"], result["Id"]), PercentageComplete=100
    )
    link = sandbox.truth("team_users")[2]
    removed = sandbox.remove_link("team_users", (link["TeamId"], link["Id"]))
    # A late commit: stamped five minutes before the last read's end, visible only now.
    late_stamp = dt.datetime.fromisoformat(bookmark.replace("Z", "+00:00")) - dt.timedelta(
        minutes=5
    )
    course = sandbox.truth("team_courses")[1]
    late = sandbox.touch(
        "team_courses",
        (course["TeamId"], course["Id"]),
        UpdatedDate=late_stamp.replace(tzinfo=None),
        IsInTeamLibrary=not course["IsInTeamLibrary"],
    )
    new_user = sandbox.add("users")
    new_link = sandbox.add("user_courses", UserId=new_user["Id"])
    return {
        "course_results": [changed],
        "team_users": [removed],
        "team_courses": [late],
        "users": [new_user],
        "user_courses": [new_link],
    }


def test_the_manifest_reads_what_source_litmos_reads_first_and_incremental(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    cfg = first_read_config(sandbox, config)
    # Litmos's entities (numeric Latin-1 ones too) in the text both decode.
    sandbox.configure(html_latin1_entities=True)

    sandbox.reset_log()
    litmos = litmos_read(tmp_path, cfg, [], "litmos-first")
    litmos_requests = requests_per_stream(sandbox)
    sandbox.reset_log()
    manifest = manifest_read(tmp_path, cfg, [], "manifest-first")
    manifest_requests = requests_per_stream(sandbox)
    first = compare(litmos, manifest, litmos_requests, manifest_requests)
    assert sum(rows for _, rows, *_ in first) > 500
    print_table("first read", first)

    # The cursor stops at the newest row the read emitted.
    for stream, key in INCREMENTAL.items():
        (value,) = manifest.bookmarks()[stream].values()
        newest = max((r[key] for r in manifest.records(stream)), default=None)
        if newest is not None:
            assert value == newest, stream

    # Changes, then an incremental read of each from the same bookmarks (source-litmos's),
    # given in each client's own state shape.
    bookmarks = litmos.bookmarks()
    changes = change_litmos(sandbox, bookmarks["team_courses"]["replication_key_value"])
    litmos_state = [stream_state(s, b) for s, b in bookmarks.items()]
    manifest_state = [
        stream_state(s, {b["replication_key"]: b["replication_key_value"]})
        for s, b in bookmarks.items()
    ]
    sandbox.reset_log()
    litmos2 = litmos_read(tmp_path, cfg, litmos_state, "litmos-second")
    litmos_requests = requests_per_stream(sandbox)
    sandbox.reset_log()
    manifest2 = manifest_read(tmp_path, cfg, manifest_state, "manifest-second")
    manifest_requests = requests_per_stream(sandbox)
    second = compare(litmos2, manifest2, litmos_requests, manifest_requests)
    print_table("incremental read", second)
    for stream, rows in changes.items():
        keys = list(sandbox.spec(stream).key)
        got = by_key(manifest2.records(stream), keys)
        for row in rows:
            assert key_of(row, keys) in got, (stream, row)

    # The manifest's own state, chained: every change arrives (more re-read, nothing lost).
    own = [stream_state(s, v) for s, v in manifest.bookmarks().items() if s in INCREMENTAL]
    chained = manifest_read(tmp_path, cfg, own, "manifest-chained")
    for stream, rows in changes.items():
        keys = list(sandbox.spec(stream).key)
        got = by_key(chained.records(stream), keys)
        for row in rows:
            assert key_of(row, keys) in got, (stream, row)
    assert API_KEY not in json.dumps([m for m in chained.messages if m["type"] != "LOG"])


#: Raw wire text for fields of one course, as Litmos could send it, and what both read.
ODD_VALUES = {
    "Name": "42",  # text that looks like a number stays text
    "Code": "",  # empty text stays empty text
    "Description": 'say "hi" &amp; caf&#233; &lt;b&gt; &amp;lt; it&#39;s',
    "OriginalId": " 42 ",  # an integer sent as text
    "Active": "False",
    "Price": "12.50",
    "AccessTillDate": "/Date(1710064800000-0800)/",  # the night of a DST change
    "CourseCodeForBulkImport": "&#160;&#255;",
}


def test_text_numbers_dates_and_entities_read_as_source_litmos_reads_them(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    course = sandbox.truth("courses")[3]
    for field, raw in ODD_VALUES.items():
        sandbox.set_raw("courses", course["Id"], field, raw)
    cfg = days_back(config, 3)
    litmos = litmos_read_streams(tmp_path, cfg, ["courses"])
    manifest = manifest_read(tmp_path, cfg, [], "odd", ["courses"])
    theirs = by_key(litmos.records("courses"), ["Id"])
    ours = by_key(manifest.records("courses"), ["Id"])
    assert ours.keys() == theirs.keys()
    for key, row in theirs.items():  # the CDK's writer leaves null fields out
        assert ours[key] == {f: v for f, v in row.items() if v is not None}
    row = ours[(course["Id"],)]
    assert row["Name"] == "42"
    assert row["Code"] == ""
    assert row["Description"] == 'say "hi" & café <b> &lt; it\'s'
    assert row["OriginalId"] == 42
    assert row["Active"] is False
    assert row["Price"] == 12.5
    assert row["AccessTillDate"] == "2024-03-10T02:00:00.000Z"
    assert row["CourseCodeForBulkImport"] == "\u00a0\u00ff"


def test_one_bad_value_fails_the_sync_where_source_litmos_sets_it_to_null(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    course = sandbox.truth("courses")[2]
    sandbox.set_raw("courses", course["Id"], "OriginalId", "12abc")
    cfg = days_back(config, 3)
    litmos = litmos_read_streams(tmp_path, cfg, ["courses"])
    assert by_key(litmos.records("courses"), ["Id"])[(course["Id"],)]["OriginalId"] is None
    run = read_failing(tmp_path, cfg, ["courses"], "bad-value")
    assert run.returncode != 0
    assert "12abc" in run.error_text()
    assert "not a 64-bit integer" in run.error_text()


def test_every_default_stream_is_in_the_manifest_or_left_out_with_a_reason() -> None:
    offered = set(STREAMS) | set(airbyte_manifest.LEFT_OUT)
    defaults = {s.name for s in airbyte_manifest.STREAM_TYPES if s.selected_by_default}
    assert offered == defaults
    assert collections.Counter(STREAMS).most_common(1)[0][1] == 1


# --- the safeguards, each made to bite ------------------------------------------------------


def days_back(config: dict, days: float) -> dict:
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    return {**config, "start_date": start.replace(microsecond=0).isoformat()}


def read_failing(tmp_path: Path, config: dict, streams: list[str], label: str) -> ManifestRun:
    catalog = configured_catalog(manifest_catalog(tmp_path, config, label), streams)
    return run_manifest("read", tmp_path, config=config, catalog=catalog, state=[], label=label)


@pytest.mark.parametrize("fault", ["error_envelope", "200_garbage", "truncate_json"])
def test_a_page_that_is_not_the_list_fails_the_sync(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, fault: str
) -> None:
    # A 200 error envelope, an HTML page, a body cut off with a matching Content-Length:
    # never rows, never an empty snapshot that a full refresh would overwrite a table with.
    cfg = days_back(config, 3)
    sandbox.inject(fault)
    run = read_failing(tmp_path, cfg, ["teams"], fault)
    assert run.returncode != 0
    assert run.records("teams") == []
    assert "not its list of rows" in run.error_text()
    assert API_KEY not in run.error_text()


def test_an_empty_body_is_not_an_empty_snapshot(tmp_path: Path, config: dict) -> None:
    from tests.helpers.loopback import LoopbackServer

    with LoopbackServer(reply=(200, {"Content-Type": "application/json"}, b"")) as server:
        cfg = days_back({**config, "api_url": f"{server.origin}/v1.svc"}, 3)
        run = read_failing(tmp_path, cfg, ["teams"], "empty")
        assert [r.path.split("?")[0] for r in server.seen] == ["/v1.svc/teams"]
    assert run.returncode != 0
    assert run.records("teams") == []
    assert "not its list of rows" in run.error_text()


def test_a_row_dated_ahead_never_moves_the_cursor_past_the_read(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    (ahead,) = sandbox.add_achievements(count=1, achievement_date=now + dt.timedelta(days=30))
    cfg = days_back(config, 400)
    first = manifest_read(tmp_path, cfg, [], "first", ["achievements"])
    got = {r["AchievementId"] for r in first.records("achievements")}
    assert ahead.achievement_id not in got
    (cursor,) = first.bookmarks()["achievements"].values()
    assert cursor <= now.isoformat(timespec="milliseconds") + "Z"
    assert cursor == max(r["AchievementDate"] for r in first.records("achievements"))

    # A real row, stamped before the next read but after the last row: not skipped.
    (late,) = sandbox.add_achievements(count=1, achievement_date=now - dt.timedelta(hours=1))
    state = [stream_state("achievements", first.bookmarks()["achievements"])]
    second = manifest_read(tmp_path, cfg, state, "second", ["achievements"])
    got = {r["AchievementId"] for r in second.records("achievements")}
    assert late.achievement_id in got
    assert ahead.achievement_id not in got


@pytest.mark.parametrize("since_inclusive", [True, False])
@pytest.mark.parametrize("to_inclusive", [True, False])
def test_rows_at_window_edges_arrive_once_whatever_litmos_makes_of_since_and_to(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, since_inclusive: bool, to_inclusive: bool
) -> None:
    sandbox.configure(org_since_inclusive=since_inclusive, org_to_inclusive=to_inclusive)
    cfg = days_back(config, 10)
    start = dt.datetime.fromisoformat(cfg["start_date"])
    edge = start + WINDOW  # where the first window ends and the second starts
    rows = sandbox.truth("team_users")[:4]
    stamps = [start, edge - dt.timedelta(milliseconds=1), edge, edge + dt.timedelta(seconds=1)]
    for row, stamp in zip(rows, stamps, strict=True):
        sandbox.touch(
            "team_users", (row["TeamId"], row["Id"]), UpdatedDate=stamp.replace(tzinfo=None)
        )
    sandbox.reset_log()
    run = manifest_read(tmp_path, cfg, [], "edges", ["team_users"])
    got = collections.Counter((r["TeamId"], r["Id"]) for r in run.records("team_users"))
    for row in rows:
        assert got[row["TeamId"], row["Id"]] == 1, row
    assert max(got.values()) == 1
    # The tap's widened windows: `since` a second early, `to` 7 days after it.
    # (The CDK reads windows concurrently: in the log, in any order.)
    windows = sorted(
        (r["params"] for r in requests_to(sandbox, "team_users")), key=lambda p: p["since"]
    )
    assert len(windows) == 2
    for params, window_start in zip(windows, [start, edge], strict=True):
        since = window_start - dt.timedelta(seconds=1)
        assert params["since"] == since.strftime("%Y-%m-%d %H:%M:%S")
        assert params["to"] == (since + dt.timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("status", [503, 429])
def test_a_throttle_is_waited_out_and_retried(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict, status: int
) -> None:
    # Two requests a second, then `status` with Retry-After: 1 (without it: 60 s, as the tap).
    sandbox.configure(
        throttle_per_minute=2, throttle_window_seconds=1.0, throttle_status=status, retry_after=1
    )
    cfg = {**days_back(config, 3), "page_size": 2}  # 4 pages of teams
    run = manifest_read(tmp_path, cfg, [], f"throttled-{status}", ["teams"])
    statuses = [r["status"] for r in sandbox.requests]
    assert status in statuses
    assert statuses[-1] == 200
    assert len(run.records("teams")) == len(sandbox.truth("teams"))
    throttled = [r for r in sandbox.requests if r["status"] == status]
    for refused in throttled:  # each refused request was sent again, and answered
        again = [
            r for r in sandbox.requests
            if (r["path"], r["params"], r["status"]) == (refused["path"], refused["params"], 200)
        ]  # fmt: skip
        assert again, refused


def test_the_budget_holds_requests_past_the_limit(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    import subprocess
    import time

    from tests.helpers import manifest_source

    # 3 a minute and one row a page: the 4th request must wait for the minute to pass.
    cfg = {**days_back(config, 3), "max_requests_per_minute": 3, "page_size": 1}
    catalog = configured_catalog(manifest_catalog(tmp_path, cfg, "budget"), ["teams"])
    for name, value in (("config", cfg), ("catalog", catalog), ("state", [])):
        (tmp_path / f"budget-{name}.json").write_text(json.dumps(value))
    sandbox.reset_log()
    proc = subprocess.Popen(
        [
            str(manifest_source.command()), "read",
            "--config", str(tmp_path / "budget-config.json"),
            "--catalog", str(tmp_path / "budget-catalog.json"),
            "--state", str(tmp_path / "budget-state.json"),
            "--manifest-path", str(manifest_source.MANIFEST),
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(sandbox.requests) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sandbox.requests) == 3
        # Were the budget not kept, the other 4 pages would follow within milliseconds.
        time.sleep(3)
        assert len(sandbox.requests) == 3
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
    first = sandbox.requests[0]["time"]
    assert all(r["time"] - first < 60 for r in sandbox.requests)


def test_check_as_the_platform_runs_it(
    tmp_path: Path, sandbox: LitmosSandbox, config: dict
) -> None:
    cfg = days_back(config, 3)
    sandbox.reset_log()
    (good,) = run_manifest("check", tmp_path, config=cfg).of_type("CONNECTION_STATUS")
    assert good["connectionStatus"]["status"] == "SUCCEEDED"
    assert [r["path"] for r in sandbox.requests] == ["/v1.svc/teams"]
    wrong = {**cfg, "api_key": "a-wrong-key-123"}
    run = run_manifest("check", tmp_path, config=wrong, label="wrong")
    (failed,) = run.of_type("CONNECTION_STATUS")
    assert failed["connectionStatus"]["status"] == "FAILED"
    assert "Litmos rejected the API key (HTTP 401)" in failed["connectionStatus"]["message"]
    assert "a-wrong-key-123" not in json.dumps(run.messages)
