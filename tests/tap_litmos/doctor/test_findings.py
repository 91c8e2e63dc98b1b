"""What the doctor finds about dates, pinned where a small slip would hide a wrong reading.

- JSON and XML dates exactly one hour apart (a daylight-saving reading) disagree: an
  hour is the most likely error of all, never within a tolerance.
- The doctor's own readings of `/Date(ms±hhmm)/`: the tap's (UTC(ms) + offset), .NET's
  (ms alone) and the other sign (UTC(ms) - offset), each pinned by its sign, and the
  offsets it reports are JSON minus XML.
- The report carries no date value the doctor read, in any format: the raw
  `/Date(ms±hhmm)/` or its ms, ISO with or without `Z`, the tap's canonical format, or
  any of the instants the readings give.

In one process: `compare_records` on rows made here, and the doctor against the
in-process sandbox. tests/tap_litmos/doctor/test_doctor.py runs the command itself.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest

from tap_litmos import doctor
from tap_litmos.parsing import parse_datetime
from tap_litmos.tap import TapLitmos
from tests.helpers.expect import API_KEY

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.unit

#: 2023-11-14T22:13:20Z.
MS = 1_700_000_000_000
INSTANT = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


def achievements() -> t.Any:
    tap = TapLitmos(
        config={"api_key": API_KEY, "api_url": "http://127.0.0.1:9/v1.svc"},
        parse_env_config=False,
    )
    return tap.streams["achievements"]


def xml_text(instant: dt.datetime) -> str:
    """An XML date as Litmos writes one: the UTC wall clock, no zone."""
    return instant.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def compare(json_date: str, xml_date: str) -> dict[str, t.Any]:
    json_rows = [{"AchievementId": 1, "UserId": "u1", "AchievementDate": json_date}]
    xml_rows = [{"AchievementId": "1", "UserId": "u1", "AchievementDate": xml_date}]
    return doctor.compare_records(achievements(), json_rows, xml_rows)


@pytest.mark.parametrize(("shift", "label"), [(HOUR, "3600"), (-HOUR, "-3600")])
def test_json_and_xml_exactly_an_hour_apart_disagree(shift: dt.timedelta, label: str) -> None:
    # JSON says INSTANT (no offset: UTC), XML an hour earlier or later.
    result = compare(f"/Date({MS})/", xml_text(INSTANT - shift))
    assert result["date_values"] == 1
    assert result["date_values_disagreeing"] == 1
    assert result["offsets_seconds"] == {label: 1}  # JSON minus XML
    assert result["readings_that_agree"] == []
    text = doctor.readable(report_with(result), "http://litmos")
    assert ("JSON later" if shift > dt.timedelta(0) else "JSON earlier") in text
    assert "1 disagree, 1 by 1 h" in text


def report_with(compared: dict[str, t.Any]) -> dict[str, t.Any]:
    """A report whose one comparison is `compared` (the rest of the checks passed)."""
    checks = {name: {"status": doctor.PASS} for name in ("connection", "clock", "wrappers")}
    checks["connection"] |= {"host": "h", "region": "us", "source_characters": 3}
    checks["clock"] |= {"offset_seconds": 0}
    checks["wrappers"] |= {"json_bare_arrays": [], "xml_root_and_row": {}, "json_wrapped": {}}
    checks["access"] = {"status": doctor.PASS, "refused": [], "streams": {}}
    checks["dates"] = {"status": doctor.FAIL, "compared": [{"stream": "achievements", **compared}]}
    checks["fields"] = {"status": doctor.PASS, "unknown": {}}
    return {"version": "x", "requests": 2, "passed": False, "checks": checks}


@pytest.mark.parametrize(
    ("raw", "wall_clock", "utc_ms", "minus_offset"),
    [
        (f"/Date({MS}+0100)/", INSTANT + HOUR, INSTANT, INSTANT - HOUR),
        (f"/Date({MS}-0530)/", INSTANT - 5.5 * HOUR, INSTANT, INSTANT + 5.5 * HOUR),
        (f"/Date({MS})/", INSTANT, INSTANT, INSTANT),
    ],
)
def test_each_reading_decodes_the_offset_with_its_own_sign(
    raw: str, wall_clock: dt.datetime, utc_ms: dt.datetime, minus_offset: dt.datetime
) -> None:
    decoded = {name: decode(raw) for name, (_, decode) in doctor.READINGS.items()}
    assert decoded == {"wall_clock": wall_clock, "utc_ms": utc_ms, "minus_offset": minus_offset}


@pytest.mark.parametrize(
    ("xml", "offset", "agree"),
    [
        (INSTANT + 2 * HOUR, None, ["wall_clock"]),  # the tap's reading holds
        (INSTANT, "7200", ["utc_ms"]),
        (INSTANT - 2 * HOUR, "14400", ["minus_offset"]),
    ],
)
def test_the_reading_that_agrees_is_named_by_its_sign(
    xml: dt.datetime, offset: str | None, agree: list[str]
) -> None:
    result = compare(f"/Date({MS}+0200)/", xml_text(xml))
    assert result["readings_that_agree"] == agree
    assert result["offsets_seconds"] == ({offset: 1} if offset else {})


# --- No date value in the report -----------------------------------------------------------


def leaves(value: object) -> t.Iterator[object]:
    """Every value inside rows (sessions nest their days)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def date_forms(raw: object) -> set[str]:
    """Every way a date value the doctor read could show in a report (empty: not a date)."""
    if not isinstance(raw, str):
        return set()
    try:
        readings = {decode(raw) for _, decode in doctor.READINGS.values()}
    except (TypeError, ValueError):
        return set()
    forms = {raw.strip()} if len(raw.strip()) >= 8 else set()
    for instant in readings - {None}:
        utc = instant.astimezone(dt.timezone.utc)
        millis = round(utc.timestamp() * 1000)
        forms |= {
            utc.strftime("%Y-%m-%dT%H:%M"),  # ISO with or without Z, canonical, offsets
            utc.strftime("%Y-%m-%d %H:%M"),
            str(millis),
            f"/Date({millis}",
        }
    return forms


@pytest.mark.parametrize(
    "options",
    [{}, {"json_utc_dates": True}, {"json_true_utc_dates": True}],
    ids=["wall-clock-json", "utc-json", "true-utc-json"],
)
def test_the_report_carries_no_date_value_it_read_in_any_format(
    sandbox: LitmosSandbox, config: dict, options: dict
) -> None:
    sandbox.configure(**options)
    tap = TapLitmos(config=config, parse_env_config=False)
    check = doctor.Doctor(tap)
    report = check.run()
    written = json.dumps(report, indent=2) + doctor.readable(report, check.base_url)
    raws = set(leaves([row for answer in check.answers for row in answer.rows]))
    forms = set().union(*map(date_forms, raws))
    # Dates of both formats were read: WCF in JSON, ISO in XML.
    assert any(isinstance(v, str) and v.startswith("/Date(") for v in raws)
    assert any(isinstance(v, str) and v[:4].isdigit() and "T" in v for v in raws)
    assert len(forms) > 50
    assert report["checks"]["dates"]["compared"]
    leaked = sorted(form for form in forms if form in written)
    assert leaked == []


def test_date_forms_finds_each_format_of_one_value() -> None:
    """The check above looks for these: the raw value, ISO, canonical and ms forms."""
    forms = date_forms(f"/Date({MS}-0800)/")
    canonical = (INSTANT - 8 * HOUR).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for text in (
        f"/Date({MS}-0800)/",
        canonical,
        canonical.removesuffix(".000Z"),
        canonical.removesuffix(".000Z") + "Z",
        "2023-11-14T22:13:20+00:00",
        str(MS),
    ):
        assert any(form in text for form in forms), text
    assert parse_datetime(xml_text(INSTANT)) == INSTANT
    assert date_forms("2023-11-14T22:13:20") >= {"2023-11-14T22:13", "1700000000000"}
    assert date_forms("Certified") == set()
