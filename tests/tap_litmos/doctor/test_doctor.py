"""tap-litmos-doctor against the sandbox: it passes on the default, and names each other way.

Each case switches the sandbox to one of the other behaviours our knowledge of Litmos
allows and checks that the doctor's JSON report (and its readable one) names that
difference, stays within its request budget, and never carries the key or a value.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from litmos_sandbox import LitmosSandbox
from tap_litmos import doctor
from tap_litmos.streams import STREAM_TYPES
from tap_litmos.tap import TapLitmos
from tests.helpers.expect import API_KEY

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

DEFAULT_STREAMS = sum(s.selected_by_default for s in STREAM_TYPES)
#: The opt-in fan-outs: the access check asks each once, for one parent record.
FAN_OUTS = [s.name for s in STREAM_TYPES if not s.selected_by_default]
PERMISSION = "You do not have the proper permissions for this call."


def run_doctor(
    config: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict, str]:
    """`tap-litmos-doctor --config ... --report ...` in-process: exit code, report, text."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    report = tmp_path / "out" / "doctor.json"
    code = doctor.main(["--config", str(tmp_path / "config.json"), "--report", str(report)])
    out = capsys.readouterr()
    return code, json.loads(report.read_text()), out.out + out.err


def statuses(report: dict) -> dict[str, str]:
    return {name: check["status"] for name, check in report["checks"].items()}


def compared(report: dict) -> dict[str, dict]:
    return {c["stream"]: c for c in report["checks"]["dates"]["compared"]}


def values_in(sandbox: LitmosSandbox) -> set[str]:
    """Every text, number and date value the sandbox could have sent for a default stream."""
    found: set[str] = set()
    for stream in sandbox.streams():
        for row in sandbox.truth(stream):
            for value in row.values():
                if isinstance(value, str) and len(value) >= 3:
                    found.add(value)
                elif isinstance(value, (int, decimal.Decimal)) and abs(value) >= 1000:
                    found.add(str(value))
                elif isinstance(value, dt.datetime):
                    found.add(value.strftime("%Y-%m-%dT%H:%M:%S"))
                elif isinstance(value, list):  # a list of texts (Dropdown)
                    found.update(v for v in value if isinstance(v, str) and len(v) >= 3)
    return found


def strings_in(report: t.Any) -> t.Iterator[str]:
    if isinstance(report, dict):
        for key, value in report.items():
            yield str(key)
            yield from strings_in(value)
    elif isinstance(report, list):
        for item in report:
            yield from strings_in(item)
    else:
        yield str(report)


@pytest.fixture
def doctor_config(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "max_requests_per_minute"}


def test_the_default_sandbox_passes_every_check(
    sandbox: LitmosSandbox, doctor_config: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, report, text = run_doctor(doctor_config, tmp_path, capsys)
    assert code == 0, text
    assert report["passed"] is True
    assert set(statuses(report).values()) == {"pass"}, statuses(report)
    checks = report["checks"]
    assert checks["connection"]["host"] == "127.0.0.1"
    assert abs(checks["clock"]["offset_seconds"]) <= 1
    streams = checks["access"]["streams"]
    assert len(streams) == DEFAULT_STREAMS + len(FAN_OUTS)
    assert {s["status"] for n, s in streams.items() if n != "ilt_session_days"} == {200}
    assert [n for n, s in streams.items() if s.get("fan_out")] == FAN_OUTS
    assert checks["access"]["refused_fan_outs"] == []
    # A fan-out is asked once, for the first record of its parent's answer.
    first_course = sandbox.truth("courses")[0]["Id"]
    asked = [r["path"] for r in sandbox.requests if r["path"].endswith("/coursecustomfields")]
    assert asked == [
        "/v1.svc/coursecustomfields",
        f"/v1.svc/courses/{first_course}/coursecustomfields",
    ]
    assert f"and all {len(FAN_OUTS)} opt-in fan-outs, asked once each for one parent" in text
    dates = compared(report)
    assert "achievements" in dates
    assert len(dates) == 2  # and one /org/* stream
    for result in dates.values():
        assert result["records"] > 0
        assert result["date_values"] > 0
        assert result["date_values_disagreeing"] == 0
        assert "wall_clock" in result["readings_that_agree"]
        assert result["fields_differing"] == []
    assert checks["wrappers"]["json_wrapped"] == {}
    assert checks["wrappers"]["xml_root_and_row"]["achievements"] == "Achievements/Achievement"
    assert checks["fields"]["unknown"] == {}
    # At most MAX_REQUESTS, and the report counts them as the sandbox does.
    assert report["requests"] == len(sandbox.requests) <= doctor.MAX_REQUESTS
    assert "Result: every check passed." in text


CASES = {
    # JSON dates as true UTC epochs with the Pacific offset as a suffix (.NET's documented
    # meaning): the tap's reading would put every date 7 or 8 hours early.
    "true_utc_dates": {"json_true_utc_dates": True},
    "forbidden": {"forbidden": ["course_results"]},
    "wrapped": {"json_wrapped": True},
    "extra_field": {"extra_fields": {"FavouriteColour": "blue"}},
    "clock_ahead": {"clock_offset_seconds": 600},
    "clock_behind": {"clock_offset_seconds": -600},
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_doctor_names_each_other_behaviour(
    sandbox: LitmosSandbox,
    doctor_config: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    case: str,
) -> None:
    sandbox.configure(**CASES[case])
    code, report, text = run_doctor(doctor_config, tmp_path, capsys)
    assert code == 1
    assert report["passed"] is False
    failing = {n: s for n, s in statuses(report).items() if s != "pass"}
    checks = report["checks"]
    if case == "true_utc_dates":
        assert failing == {"dates": "fail"}
        for stream, result in compared(report).items():
            assert result["date_values_disagreeing"] == result["date_values"] > 0, stream
            # JSON is 7 h (summer) or 8 h (winter) earlier; reading ms as UTC agrees.
            assert set(result["offsets_seconds"]) <= {"-25200", "-28800"}, stream
            assert result["readings_that_agree"] == ["utc_ms"], stream
        assert "the offset ignored" in text
        assert " h (JSON earlier)" in text
    elif case == "forbidden":
        assert failing == {"access": "fail"}
        assert checks["access"]["refused"] == ["course_results"]
        refused = checks["access"]["streams"]["course_results"]
        assert (refused["status"], refused["message"]) == (403, PERMISSION)
        assert PERMISSION in text
        # The date comparison took another /org/* stream.
        assert "course_results" not in compared(report)
        assert len(compared(report)) == 2
    elif case == "wrapped":
        assert failing == {"wrappers": "differs"}
        wrapped = checks["wrappers"]["json_wrapped"]
        assert wrapped["users"] == "Users"
        assert wrapped["achievements"] == "Achievements"
        assert wrapped["course_results"] == "UserResults"
        # ilt_session_days has no request; each fan-out has one.
        assert len(wrapped) == DEFAULT_STREAMS - 1 + len(FAN_OUTS)
        assert 'JSON {"Users": [...]}' in text
    elif case == "extra_field":
        assert failing == {"fields": "differs"}
        unknown = checks["fields"]["unknown"]
        assert unknown["users"] == unknown["achievements"] == ["FavouriteColour"]
        assert all(names == ["FavouriteColour"] for names in unknown.values())
        assert "not in the schema: FavouriteColour" in text
        assert "blue" not in json.dumps(report)
    else:
        assert failing == {"clock": "fail"}
        offset = CASES[case]["clock_offset_seconds"]
        assert abs(checks["clock"]["offset_seconds"] - offset) <= 1
        assert ("10 min ahead of" if offset > 0 else "10 min behind") in text
    assert report["requests"] == len(sandbox.requests) <= doctor.MAX_REQUESTS


def test_a_fan_out_the_key_may_not_read_is_named_but_fails_nothing(
    sandbox: LitmosSandbox, doctor_config: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Opt-in: a run that leaves it out never asks for it.
    sandbox.configure(forbidden=["course_custom_field_values"])
    code, report, text = run_doctor(doctor_config, tmp_path, capsys)
    assert code == 0, text
    access = report["checks"]["access"]
    assert access["status"] == "pass"
    assert access["refused"] == []
    assert access["refused_fan_outs"] == ["course_custom_field_values"]
    refused = access["streams"]["course_custom_field_values"]
    assert (refused["status"], refused["message"]) == (403, PERMISSION)
    assert f"may not read 1 of the {len(FAN_OUTS)} opt-in fan-outs" in text


def test_json_dates_in_utc_without_an_offset_agree_with_xml(
    sandbox: LitmosSandbox, doctor_config: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`/Date(ms)/` with no suffix is DateTimeKind.Utc: the tap reads it as UTC, rightly."""
    sandbox.configure(json_utc_dates=True)
    code, report, _ = run_doctor(doctor_config, tmp_path, capsys)
    assert code == 0
    assert compared(report)["achievements"]["date_values_disagreeing"] == 0


def test_the_reports_carry_no_key_and_no_value(
    sandbox: LitmosSandbox, doctor_config: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    sandbox.configure(json_true_utc_dates=True, json_wrapped=True, forbidden=["teams"])
    code, report, text = run_doctor(doctor_config, tmp_path, capsys)
    assert code == 1
    raw = (tmp_path / "out" / "doctor.json").read_text()
    assert API_KEY not in raw + text
    values = values_in(sandbox)
    assert values  # names, e-mails, ids, titles, dates ...
    leaked = {s for s in strings_in(report) if s in values}
    assert not leaked
    assert not [v for v in values if v in text and len(v) >= 8]


# --- The key and the region ----------------------------------------------------------------


@pytest.fixture
def regions() -> Iterator[dict[str, LitmosSandbox]]:
    """Three regional "hosts" on loopback; only `eu` knows the key."""
    with (
        LitmosSandbox(seed=7, users=5, achievements=20, api_key="another-key") as us,
        LitmosSandbox(seed=7, users=5, achievements=20, api_key=API_KEY) as eu,
        LitmosSandbox(seed=7, users=5, achievements=20, api_key="a-third-key") as au,
    ):
        yield {"us": us, "eu": eu, "au": au}


def test_a_refused_key_names_the_region_that_accepts_it(
    regions: dict[str, LitmosSandbox],
) -> None:
    tap = TapLitmos(config={"api_key": API_KEY, "region": "us"}, parse_env_config=False)
    hosts = {name: box.base_url for name, box in regions.items()}
    report = doctor.Doctor(tap, regions=hosts).run()
    checks = report["checks"]
    assert checks["connection"]["status"] == "fail"
    assert checks["connection"]["http_status"] == 401
    assert checks["connection"]["key_works_in_region"] == "eu"
    assert {n: c["status"] for n, c in checks.items() if n not in {"connection", "clock"}} == {
        "access": "not checked",
        "dates": "not checked",
        "wrappers": "not checked",
        "fields": "not checked",
    }
    # One request to the configured region, one to the region that accepted the key.
    assert [len(box.requests) for box in regions.values()] == [1, 1, 0]
    assert report["requests"] == 2
    text = doctor.readable(report, hosts["us"])
    assert "the key works in region eu" in text


def test_a_wrong_key_with_api_url_fails_without_trying_regions(
    sandbox: LitmosSandbox, doctor_config: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, report, text = run_doctor({**doctor_config, "api_key": "wrong-key"}, tmp_path, capsys)
    assert code == 1
    assert report["checks"]["connection"]["http_status"] == 401
    assert "key_works_in_region" not in report["checks"]["connection"]
    assert len(sandbox.requests) == 1
    assert "wrong-key" not in text + json.dumps(report)


# --- The command line ------------------------------------------------------------------------


def test_bad_settings_are_refused_before_any_request(
    sandbox: LitmosSandbox, doctor_config: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "config.json").write_text(json.dumps({**doctor_config, "page_size": 0}))
    code = doctor.main(["--config", str(tmp_path / "config.json")])
    err = capsys.readouterr().err
    assert code == 1
    assert "Setting 'page_size'" in err
    assert sandbox.requests == []


def test_the_console_script_reads_its_config_from_the_environment(
    sandbox: LitmosSandbox, tmp_path: Path
) -> None:
    """`tap-litmos-doctor --config ENV`, as the Meltano command runs it."""
    env = {
        "PATH": str(Path(sys.executable).parent),
        "TAP_LITMOS_API_KEY": API_KEY,
        "TAP_LITMOS_API_URL": sandbox.base_url,
        # As Meltano sets every declared setting: text, typed by the schema.
        "TAP_LITMOS_REQUEST_TIMEOUT": "30",
        "TAP_LITMOS_MAX_REQUESTS_PER_MINUTE": "90",
        "TAP_LITMOS_SOURCE": "acme-doctor",
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "tap-litmos-doctor"),
            "--config",
            "ENV",
            "--report",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Result: every check passed." in done.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is True
    assert report["checks"]["connection"]["source_characters"] == len("acme-doctor")
    assert {r["params"]["source"] for r in sandbox.requests} == {"acme-doctor"}
    assert API_KEY not in done.stdout + done.stderr


def test_each_reading_decodes_a_wcf_date_its_own_way() -> None:
    # 1719860400000 ms is 2024-07-01T19:00:00Z; the suffix says -07:00 (420 minutes).
    wire = "/Date(1719860400000-0700)/"
    utc = dt.timezone.utc
    expected = {
        "wall_clock": dt.datetime(2024, 7, 1, 12, 0, tzinfo=utc),  # ms + offset: the tap's
        "utc_ms": dt.datetime(2024, 7, 1, 19, 0, tzinfo=utc),  # ms, the offset ignored
        "minus_offset": dt.datetime(2024, 7, 2, 2, 0, tzinfo=utc),  # ms - offset
    }
    assert {name: decode(wire) for name, (_, decode) in doctor.READINGS.items()} == expected
    # An XML date has no WCF parts: every reading is the tap's.
    xml = dt.datetime(2024, 7, 1, 12, 0, tzinfo=utc)
    assert {decode("2024-07-01T12:00:00") for _, decode in doctor.READINGS.values()} == {xml}
