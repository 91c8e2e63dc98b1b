"""Dataset generation, ordering, indexes and runtime additions (litmos_sandbox.data)."""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from litmos_sandbox.data import LITMOS_FIELDS, SPECIAL_DATES, Achievement, Dataset

pytestmark = pytest.mark.unit

ID_RE = re.compile(r"[A-Za-z0-9_-]{12,22}")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return Dataset.generate(3, 40, 3000)


def test_same_seed_same_truth_different_seed_different() -> None:
    a = Dataset.generate(5, 10, 300).truth()
    b = Dataset.generate(5, 10, 300).truth()
    c = Dataset.generate(6, 10, 300).truth()
    assert a == b
    assert a != c
    assert Dataset.generate(5, 10, 300).users == Dataset.generate(5, 10, 300).users


def test_order_newest_first_ties_by_id_desc(ds: Dataset) -> None:
    rows = ds.rows()
    keys = [(a.achievement_date, a.achievement_id) for a in rows]
    assert keys == sorted(keys, reverse=True)
    assert len({a.achievement_id for a in rows}) == len(rows)


def test_ties_and_dst_records_present(ds: Dataset) -> None:
    rows = ds.rows()
    dates = Counter(a.achievement_date for a in rows)
    assert sum(1 for n in dates.values() if n > 1) >= 5
    assert dates[datetime(2025, 1, 15, 12)] >= 3  # the deliberate tie group
    for wall in (
        datetime(2024, 3, 10, 2, 30),  # nonexistent in America/Los_Angeles
        datetime(2024, 11, 3, 1, 30),  # ambiguous in America/Los_Angeles
        datetime(2024, 3, 10, 1, 59, 59, 997000),
        datetime(2024, 3, 10, 3),
        datetime(2024, 11, 3, 0, 59, 59, 990000),
        datetime(2024, 11, 3, 2),
    ):
        assert wall in dates, wall
    assert all(
        datetime(2024, 1, 1) <= d <= datetime(2026, 6, 30, 23, 59, 59, 999000) for d in dates
    )
    assert all(d.microsecond % 1000 == 0 for d in dates)
    ms = Counter(d.microsecond // 1000 for d in dates)
    assert ms[0] > len(dates) / 3
    assert ms[990] and ms[997] and ms[123]


def test_small_dataset_still_has_specials() -> None:
    rows = Dataset.generate(1, 3, len(SPECIAL_DATES)).rows()
    assert sorted(a.achievement_date for a in rows) == sorted(SPECIAL_DATES)


def test_values_nulls_and_awkward_text(ds: Dataset) -> None:
    rows = ds.rows()
    n = len(rows)
    nulls_ctd = sum(a.compliant_till_date is None for a in rows)
    assert n * 0.6 < nulls_ctd < n
    assert any(a.certificate_id is None for a in rows)
    assert any(a.certificate_id is not None for a in rows)
    assert any(a.score == "" for a in rows) and any(a.score is None for a in rows)
    assert any(a.description == "" for a in rows)
    assert any("&" in a.title for a in rows) and any("'" in a.title for a in rows)
    names = {(a.first_name, a.last_name) for a in rows}
    flat = " ".join(f + " " + la for f, la in names)
    for ch in ("&", "'", "<", '"', "ë", "é"):
        assert ch in flat, ch
    assert {a.type for a in rows} == {"Course Completed", "Learning Path Completed"}
    assert {"Complete", "Passed", "Failed"} <= {a.result for a in rows}
    assert all(isinstance(a.score, (str, type(None))) for a in rows)


def test_user_ids_look_like_litmos(ds: Dataset) -> None:
    ids = [u[0] for u in ds.users]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert all(ID_RE.fullmatch(i) for i in ids)
    names = {(f, la) for _, f, la in ds.users}
    assert ("Zoë", "O'Brien") in names and ("José", "Smith & Sons") in names


def test_to_truth_keys_and_types(ds: Dataset) -> None:
    row = next(a for a in ds.rows() if a.compliant_till_date is not None)
    truth = row.to_truth()
    assert tuple(truth) == LITMOS_FIELDS
    assert truth["AchievementDate"].tzinfo is timezone.utc
    assert truth["AchievementDate"].replace(tzinfo=None) == row.achievement_date
    assert truth["CompliantTillDate"].tzinfo is timezone.utc
    assert isinstance(truth["AchievementId"], int)
    with pytest.raises(AttributeError):
        row.title = "x"  # type: ignore[misc]  # frozen


def test_query_since_inclusive_user_and_slices(ds: Dataset) -> None:
    rows = ds.rows()
    pivot = rows[100].achievement_date
    since = ds.query(since=pivot)
    assert since == [a for a in rows if a.achievement_date >= pivot]
    assert since[-1].achievement_date == pivot  # inclusive
    later = ds.query(since=pivot + timedelta(milliseconds=1))
    assert all(a.achievement_date > pivot for a in later)
    uid = ds.users[0][0]
    mine = ds.query(user_id=uid)
    assert mine == [a for a in rows if a.user_id == uid]
    assert ds.query(start=10, count=5) == rows[10:15]
    assert ds.query(start=len(rows) + 5, count=5) == []
    assert ds.query(user_id="nobody") == []
    assert ds.count(since=pivot) == len(since)


def test_add_defaults_are_newest_with_new_ids() -> None:
    ds = Dataset.generate(9, 5, 50)
    top = ds.rows()[0]
    max_id = max(a.achievement_id for a in ds.rows())
    created = ds.add(3)
    assert len(created) == 3
    assert all(a.achievement_id > max_id for a in created)
    assert all(a.achievement_date > top.achievement_date for a in created)
    assert ds.rows()[:3] == sorted(created, key=lambda a: a.achievement_id, reverse=True)
    assert len(ds) == 53


def test_add_with_fields_keeps_order_and_accepts_both_names() -> None:
    ds = Dataset.generate(9, 5, 50)
    tie_date = ds.rows()[20].achievement_date
    uid = ds.users[2][0]
    (a,) = ds.add(AchievementDate=tie_date.isoformat() + "Z", UserId=uid, score="77", Title="T & T")
    assert a.achievement_date == tie_date and a.user_id == uid and a.title == "T & T"
    assert a.first_name == ds.users[2][1]  # defaults follow the user
    rows = ds.rows()
    keys = [(r.achievement_date, r.achievement_id) for r in rows]
    assert keys == sorted(keys, reverse=True)
    # the new row has the highest id, so it leads its tie group
    group = [r for r in rows if r.achievement_date == tie_date]
    assert group[0] == a
    assert a in ds.query(user_id=uid)
    (b,) = ds.add(achievement_date=datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=2))))
    assert b.achievement_date == datetime(2029, 12, 31, 22)
    (c,) = ds.add(user_id="brand-new-user-1", first_name="New", last_name="O'Person")
    assert ("brand-new-user-1", "New", "O'Person") in ds.users
    assert c.last_name == "O'Person"
    with pytest.raises(ValueError, match="unknown achievement field"):
        ds.add(Bogus=1)
    with pytest.raises(ValueError, match="already exists"):
        ds.add(achievement_id=a.achievement_id)


def test_add_is_thread_safe() -> None:
    ds = Dataset.generate(9, 5, 50)
    out: list[Achievement] = []
    lock = threading.Lock()

    def work() -> None:
        made = ds.add(25)
        with lock:
            out.extend(made)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({a.achievement_id for a in out}) == 100
    assert len(ds) == 150
    keys = [(r.achievement_date, r.achievement_id) for r in ds.rows()]
    assert keys == sorted(keys, reverse=True)


def test_a_large_dataset_is_consistent() -> None:
    # Speed is the benchmark's business (benchmarks/); here only correctness at size.
    ds = Dataset.generate(42, 50, 200_000)
    assert len(ds) == 200_000
    page = ds.query(start=100_000, count=1000)
    assert len(page) == 1000
    keys = [(a.achievement_date, a.achievement_id) for a in page]
    assert keys == sorted(keys, reverse=True)
    assert len({a.achievement_id for a in page}) == 1000
