"""The other ways Litmos may behave, as options: what tap-litmos-doctor must tell apart.

JSON dates as true UTC epochs with an offset suffix, an endpoint the key may not read,
JSON lists wrapped in their XML root name, and a clock that is off. Each is checked on
the wire, against the ground truth, never against the tap's own decoding.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time

import pytest

from litmos_sandbox.wire import MSG_401, MSG_403_PERMISSION, PACIFIC

pytestmark = pytest.mark.unit

ORG_WINDOW = {"source": "t", "format": "json", "limit": 1000}


def _epoch_ms(wall: dt.datetime) -> int:
    return round(wall.replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def _suffix(wall: dt.datetime) -> str:
    """The Pacific offset at the UTC instant `wall`, as `-0700`."""
    offset = wall.replace(tzinfo=dt.timezone.utc).astimezone(PACIFIC).utcoffset()
    minutes = int(offset.total_seconds() // 60)  # type: ignore[union-attr]
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def test_json_true_utc_dates_carry_the_utc_instant_and_the_pacific_offset(fresh, api) -> None:
    fresh.configure(json_true_utc_dates=True)
    rows = api(fresh, {"source": "t", "format": "json", "limit": 1000}).json()
    truth = {r["AchievementId"]: r for r in fresh.truth()}
    assert len(rows) == len(truth)
    for row in rows:
        when = truth[row["AchievementId"]]["AchievementDate"].replace(tzinfo=None)
        assert row["AchievementDate"] == f"/Date({_epoch_ms(when)}{_suffix(when)})/"
    # XML is unchanged: the zone-less UTC wall clock.
    xml = api(fresh, {"source": "t", "limit": 1}).body.decode()
    first = fresh.truth()[0]["AchievementDate"]
    assert f"<AchievementDate>{first:%Y-%m-%dT%H:%M:%S}" in xml


def test_json_true_utc_dates_reach_the_org_endpoints_too(fresh, api) -> None:
    fresh.configure(json_true_utc_dates=True)
    truth = fresh.truth("course_results")
    latest = max(r["UpdatedDate"] for r in truth).replace(tzinfo=None)
    since = latest - dt.timedelta(days=6)
    params = {**ORG_WINDOW, "since": f"{since:%Y-%m-%d %H:%M:%S}"}
    params["to"] = f"{latest + dt.timedelta(days=1):%Y-%m-%d %H:%M:%S}"
    rows = api(fresh, params, path="/org/results/details").json()
    assert rows
    for row in rows:
        (wanted,) = [
            t["UpdatedDate"] for t in truth if (t["UserId"], t["Id"]) == (row["UserId"], row["Id"])
        ]
        wall = wanted.replace(tzinfo=None)
        assert row["UpdatedDate"] == f"/Date({_epoch_ms(wall)}{_suffix(wall)})/"


@pytest.mark.parametrize("forbidden", ["course_results", "/org/results/details"])
def test_a_forbidden_endpoint_answers_403_with_litmoss_message(fresh, api, forbidden) -> None:
    fresh.configure(forbidden=[forbidden])
    params = {"source": "t", "since": "2026-01-01", "to": "2026-01-07"}
    refused = api(fresh, params, path="/org/results/details")
    assert (refused.status, refused.body.decode()) == (403, MSG_403_PERMISSION)
    assert refused.reason == MSG_403_PERMISSION
    # Only that endpoint, and a bad key is still a 401 first.
    assert api(fresh, params, path="/org/modules/results").status == 200
    assert api(fresh, params, path="/org/results/details", key="wrong").body.decode() == MSG_401
    fresh.configure(forbidden=[])
    assert api(fresh, params, path="/org/results/details").status == 200


def test_forbidding_ilt_sessions_closes_both_halves(fresh, api) -> None:
    fresh.configure(forbidden=["ilt_sessions"])
    for half in ("past", "future"):
        assert api(fresh, {"source": "t"}, path=f"/sessions/{half}").status == 403


def test_json_wrapped_names_the_list_after_its_xml_root(fresh, api) -> None:
    fresh.configure(json_wrapped=True)
    users = api(fresh, {"source": "t", "format": "json"}, path="/users/details").json()
    assert list(users) == ["Users"]
    assert [u["Id"] for u in users["Users"]] == [u["Id"] for u in fresh.truth("users")]
    achievements = api(fresh, {"source": "t", "format": "json", "limit": 3}).json()
    assert list(achievements) == ["Achievements"]
    assert len(achievements["Achievements"]) == 3
    # XML is unchanged.
    assert api(fresh, {"source": "t"}, path="/users/details").body.startswith(b"<Users ")


@pytest.mark.parametrize("offset", [600, -600])
def test_a_clock_offset_moves_the_date_header_and_the_sandboxs_now(fresh, api, offset) -> None:
    fresh.configure(clock_offset_seconds=offset)
    before = time.time()
    reply = api(fresh, {"source": "t", "limit": 1})
    after = time.time()
    sent = email.utils.parsedate_to_datetime(reply.headers["date"]).timestamp()
    # The header has whole seconds.
    assert before + offset - 1 <= sent <= after + offset
    now = fresh.now().replace(tzinfo=dt.timezone.utc).timestamp()
    assert before + offset - 1 <= now <= time.time() + offset + 1


def test_the_default_date_header_is_the_real_clock(fresh, api) -> None:
    before = time.time()
    sent = email.utils.parsedate_to_datetime(api(fresh, {"source": "t"}).headers["date"])
    assert before - 1 <= sent.timestamp() <= time.time()
