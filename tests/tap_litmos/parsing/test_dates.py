"""Litmos dates (tap_litmos.parsing.dates), against hand-computed expectations.

The WCF rule, the ISO and US texts, and the one canonical UTC text.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from tap_litmos.parsing import (
    LitmosValueError,
    format_datetime,
    format_since,
    parse_datetime,
    to_datetime_text,
    wcf_parts,
)

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc

# Each JSON value below was computed by hand from the WCF rule: the UTC wall clock W is
# read as America/Los_Angeles local time to get the epoch milliseconds, and the suffix
# is the Los Angeles offset at W. Decoding must give back W as the UTC instant.
WCF_CASES = [
    # summer (PDT): W 2024-07-01 12:00 -> LA local = 19:00Z = 1719860400 s
    ("/Date(1719860400000-0700)/", "2024-07-01T12:00:00.000Z"),
    # winter (PST): W 2024-01-15 08:30 -> 16:30Z = 1705336200 s
    ("/Date(1705336200000-0800)/", "2024-01-15T08:30:00.000Z"),
    # spring forward, 2024-03-10: one second before the change (PST) ...
    ("/Date(1710064799000-0800)/", "2024-03-10T01:59:59.000Z"),
    # ... and at 03:00 PDT: the epoch moved one second, the wall clock 1 h 1 s.
    ("/Date(1710064800000-0700)/", "2024-03-10T03:00:00.000Z"),
    # fall back, 2024-11-03: 01:30 happens twice (PDT then PST), both mean W = 01:30
    ("/Date(1730622600000-0700)/", "2024-11-03T01:30:00.000Z"),
    ("/Date(1730626200000-0800)/", "2024-11-03T01:30:00.000Z"),
    # after the change (PST): W 02:00 -> 10:00Z
    ("/Date(1730628000000-0800)/", "2024-11-03T02:00:00.000Z"),
    # milliseconds survive
    ("/Date(1719860400990-0700)/", "2024-07-01T12:00:00.990Z"),
    # no offset: DateTimeKind.Utc, already UTC
    ("/Date(1710064800000)/", "2024-03-10T10:00:00.000Z"),
    # a positive offset is added the same way
    ("/Date(1710064800123+0100)/", "2024-03-10T11:00:00.123Z"),
    # .NET DateTime.MinValue must not crash
    ("/Date(-62135596800000)/", "0001-01-01T00:00:00.000Z"),
]


@pytest.mark.parametrize(("wire", "expected"), WCF_CASES)
def test_wcf_json_dates_decode_to_the_utc_wall_clock(wire: str, expected: str) -> None:
    assert to_datetime_text(wire) == expected


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        # XML: the UTC wall clock without a zone, .NET trims trailing fraction zeros
        ("2024-03-10T09:30:00.123", "2024-03-10T09:30:00.123Z"),
        ("2024-03-10T09:30:00.12", "2024-03-10T09:30:00.120Z"),
        ("2024-03-10T09:30:00", "2024-03-10T09:30:00.000Z"),
        ("2024-03-10T09:30:00.1234567", "2024-03-10T09:30:00.123Z"),
        ("2024-03-10", "2024-03-10T00:00:00.000Z"),
        ("2024-03-10 09:30:05", "2024-03-10T09:30:05.000Z"),
        # an explicit zone is honoured
        ("2016-12-09T07:54:27Z", "2016-12-09T07:54:27.000Z"),
        ("2024-03-10T09:30:00-07:00", "2024-03-10T16:30:00.000Z"),
        ("2021-09-20T23:25:47.590+0000", "2021-09-20T23:25:47.590Z"),
        ("2024-03-10T01:00:00+05:30", "2024-03-09T19:30:00.000Z"),
        # US text from a few Litmos resources
        ("12/31/2025 12:00:00 AM", "2025-12-31T00:00:00.000Z"),
        ("1/1/2100 12:00:00 PM", "2100-01-01T12:00:00.000Z"),
        ("3/4/2024 1:05:09 PM", "2024-03-04T13:05:09.000Z"),
    ],
)
def test_iso_and_text_dates(wire: str, expected: str) -> None:
    assert to_datetime_text(wire) == expected


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_dates_are_null(empty: str | None) -> None:
    assert to_datetime_text(empty) is None


@pytest.mark.parametrize(
    "bad", ["not-a-date", "/Date(abc)/", "2024-13-01", 12, "2024-02-30T00:00:00"]
)
def test_bad_dates_are_refused(bad: object) -> None:
    with pytest.raises(LitmosValueError):
        parse_datetime(bad)


def test_canonical_format_is_fixed_width_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    value = dt.datetime(2024, 5, 6, 9, 8, 7, 654321, tzinfo=plus_two)
    assert format_datetime(value) == "2024-05-06T07:08:07.654Z"
    naive = dt.datetime(2024, 5, 6, 9, 8, 7)
    assert format_datetime(naive) == "2024-05-06T09:08:07.000Z"


def test_canonical_text_orders_like_time() -> None:
    instants = [
        dt.datetime(2024, 1, 1, 0, 0, 0, 999000, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC),
        dt.datetime(2023, 12, 31, 23, 59, 59, 1000, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
    ]
    assert sorted(format_datetime(i) for i in instants) == [
        format_datetime(i) for i in sorted(instants)
    ]


def test_since_is_seconds_floored_utc_wall_clock() -> None:
    value = dt.datetime(2024, 3, 10, 1, 30, 0, 999000, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    assert format_since(value) == "2024-03-10 09:30:00"


def test_the_fast_date_path_agrees_with_the_general_one() -> None:
    # JSON dates take a shortcut (no datetime objects); it must print exactly what the
    # general path prints, for any instant including negative epochs and leap days.
    rng = random.Random(2024)
    values = [rng.randint(-62_135_596_800_000, 253_402_300_799_000) for _ in range(5000)]
    values += [0, -1, 951_782_400_000, 1_709_164_800_999]  # epoch, 1999-12-31, leap days
    for millis in values:
        wire = f"/Date({millis})/"
        slow = format_datetime(
            dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=millis)
        )
        assert to_datetime_text(wire) == slow, wire


@pytest.mark.parametrize(("wire", "expected"), WCF_CASES)
def test_the_raw_wcf_parts_give_the_wall_clock_by_the_tap_s_rule(wire: str, expected: str) -> None:
    # The doctor's other readings start from these parts; the tap's is ms + offset.
    parts = wcf_parts(wire)
    assert parts is not None
    millis, offset_minutes = parts
    assert str(millis) in wire
    wall_clock = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(
        milliseconds=millis, minutes=offset_minutes
    )
    assert format_datetime(wall_clock) == expected


def test_wcf_parts_of_anything_else_are_none() -> None:
    assert wcf_parts("/Date(1710064800123+0100)/") == (1710064800123, 60)
    assert wcf_parts(" /Date(5-0530)/ ") == (5, -330)
    for other in ("2024-03-10T09:30:00", "", None, 1710064800000, "/Date(x)/"):
        assert wcf_parts(other) is None
