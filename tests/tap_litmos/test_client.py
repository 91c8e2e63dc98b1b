"""The base stream's Litmos-wide behaviour: budget, retries and error handling.

Faults come from the sandbox over HTTP; retry waits are recorded instead of slept.
"""

from __future__ import annotations

import typing as t

import pytest

from tap_litmos import run_context
from tests.helpers.expect import expected_record
from tests.helpers.tap import run_achievements

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.unit


def ids(records: list[dict]) -> set[int]:
    return {r["AchievementId"] for r in records}


def truth_ids(sandbox: LitmosSandbox) -> set[int]:
    return {r["AchievementId"] for r in sandbox.truth()}


@pytest.mark.parametrize("kind", ["500", "504", "drop", "truncate", "truncate_json"])
def test_transient_faults_are_retried_and_nothing_is_lost(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float], kind: str
) -> None:
    sandbox.inject(kind, count=2, after=1)  # page 2 fails twice, then succeeds
    run = run_achievements({**config, "page_size": 100})
    assert ids(run.records()) == truth_ids(sandbox)
    assert len(run.records()) == 500  # the failed page was not emitted twice
    assert retry_sleeps == [2.0, 4.0]  # exponential backoff
    starts = [r["params"]["start"] for r in sandbox.requests]
    assert starts == ["0", "100", "100", "100", "200", "300", "400", "500"]


def test_throttling_waits_a_minute_before_retrying(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("503", count=1)
    run = run_achievements(config)
    assert ids(run.records()) == truth_ids(sandbox)
    assert retry_sleeps == [60.0]  # Litmos sends no Retry-After; its window is a minute
    assert [r["status"] for r in sandbox.requests] == [503, 200]


def test_giving_up_after_max_retries_fails_the_run(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("500", count=10)
    run = run_achievements({**config, "max_retries": 3}, allow_failure=True)
    assert run.error is not None
    assert "HTTP 500" in str(run.error)
    assert len(sandbox.requests) == 4  # one try and three retries
    assert retry_sleeps == [2.0, 4.0, 8.0]
    assert run.records() == []


@pytest.mark.parametrize(("kind", "status"), [("401", 401), ("403", 403), ("404", 404)])
def test_client_errors_fail_at_once_without_retrying(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float], kind: str, status: int
) -> None:
    sandbox.inject(kind)
    run = run_achievements(config, allow_failure=True)
    assert f"HTTP {status}" in str(run.error)
    assert retry_sleeps == []
    assert len(sandbox.requests) == 1


def test_unknown_user_id_names_the_user(sandbox: LitmosSandbox, config: dict) -> None:
    run = run_achievements({**config, "user_ids": ["no-such-user"]}, allow_failure=True)
    assert "no-such-user" in str(run.error)
    assert "HTTP 404" in str(run.error)


def test_the_request_budget_paces_every_request(
    sandbox: LitmosSandbox, config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]
    sent_at: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    class FakeClockBudget(run_context.RequestBudget):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            super().__init__(*args, clock=lambda: now[0], sleep=sleep, **kwargs)

        def acquire(self) -> None:
            super().acquire()
            sent_at.append(now[0])
            now[0] += 0.5  # each request takes half a second

    monkeypatch.setattr(run_context, "RequestBudget", FakeClockBudget)
    run = run_achievements({**config, "page_size": 50, "max_requests_per_minute": 4})
    assert ids(run.records()) == truth_ids(sandbox)
    assert len(sent_at) == len(sandbox.requests) == 11
    for start in sent_at:  # never more than 4 requests in any 60 s of (fake) time
        assert sum(start <= s < start + 60 for s in sent_at) <= 4
    assert sent_at[-1] >= 120  # 11 requests at 4 a minute need at least two full minutes
    assert run.tap is not None
    assert run.tap.run.request_budget.waited >= 120 - 11 * 0.5


def test_xml_and_json_faults_are_handled_alike(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("truncate_json", count=1)
    run = run_achievements({**config, "response_format": "xml"})
    assert [expected_record(r) for r in sandbox.truth()] == run.records()
    assert retry_sleeps == [2.0]


# --- Hardening: throttles, timeouts, transport ------------------------------------------


def test_429_is_a_throttle_too(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("429", count=1)
    run = run_achievements(config)
    assert ids(run.records()) == truth_ids(sandbox)
    assert retry_sleeps == [60.0]
    assert [r["status"] for r in sandbox.requests] == [429, 200]


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_in_seconds_is_honoured(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float], status: int
) -> None:
    sandbox.configure(retry_after=7)
    sandbox.inject(str(status), count=2)
    run = run_achievements(config)
    assert ids(run.records()) == truth_ids(sandbox)
    assert retry_sleeps == [7.0, 7.0]


def test_retry_after_as_an_http_date_is_honoured(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.configure(retry_after="http-date", retry_after_seconds=30)
    sandbox.inject("503", count=1)
    run = run_achievements(config)
    assert ids(run.records()) == truth_ids(sandbox)
    (wait,) = retry_sleeps
    assert 27.0 <= wait <= 30.0  # the date has whole seconds and the clock moved on


def test_request_timeout_abandons_a_stalled_request_and_retries(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.configure(stall_seconds=3.0)
    sandbox.inject("stall", count=1)
    run = run_achievements({**config, "request_timeout": 0.5})
    assert ids(run.records()) == truth_ids(sandbox)
    assert retry_sleeps == [2.0]  # the stalled attempt timed out and was retried


def test_every_attempt_takes_a_slot_of_the_request_budget(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    sandbox.inject("500", count=2, after=1)
    sandbox.inject("503", count=1)
    run = run_achievements({**config, "page_size": 100})
    assert retry_sleeps == [2.0, 4.0, 60.0]
    assert run.tap is not None
    assert run.tap.run.request_budget.acquired == len(sandbox.requests) == 9


def test_requests_say_who_sends_them(sandbox: LitmosSandbox, config: dict) -> None:
    from tests.helpers.loopback import LoopbackServer

    with LoopbackServer() as api:
        run_achievements({**config, "api_url": f"{api.origin}/v1.svc"})
    (seen,) = api.seen
    assert seen.headers["User-Agent"].startswith("tap-litmos/")
    assert seen.headers["apikey"] == config["api_key"]


def test_a_redirect_to_another_host_fails_the_run_and_the_key_never_goes_there(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float]
) -> None:
    from tests.helpers.loopback import LoopbackServer

    with LoopbackServer("127.0.0.2") as elsewhere:
        sandbox.configure(redirect_base=elsewhere.origin)
        sandbox.inject("redirect", count=1)
        run = run_achievements(config, allow_failure=True)
    assert elsewhere.seen == []
    assert "127.0.0.2" in str(run.error)
    assert "redirect" in str(run.error)
    assert retry_sleeps == []  # not retried: it would only happen again
    assert run.records() == []


@pytest.mark.parametrize("kind", ["redirect", "redirect_301"])
def test_a_redirect_on_the_same_host_is_followed(
    sandbox: LitmosSandbox, config: dict, kind: str
) -> None:
    sandbox.inject(kind, count=1)
    run = run_achievements(config)
    assert ids(run.records()) == truth_ids(sandbox)
    assert [r["status"] for r in sandbox.requests] == [int(kind[9:] or 302), 200]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"Id": 1, "Title": "x"}', "a JSON object (keys 'Id', 'Title') where a list of rows"),
        (b"[1, 2]", "every row of the JSON array to be an object"),
    ],
)
def test_a_body_of_the_wrong_shape_fails_at_once_with_one_line(
    config: dict, retry_sleeps: list[float], body: bytes, message: str
) -> None:
    from tests.helpers.loopback import LoopbackServer

    with LoopbackServer(reply=(200, {"Content-Type": "application/json"}, body)) as api:
        run = run_achievements({**config, "api_url": f"{api.origin}/v1.svc"}, allow_failure=True)
    assert message in str(run.error)
    assert "\n" not in str(run.error)
    assert retry_sleeps == []
    assert len(api.seen) == 1


# --- Hardening: bad values ------------------------------------------------------------


def pick_row(sandbox: LitmosSandbox, **where: t.Any) -> dict:
    return next(r for r in sandbox.truth() if all(r[k] == v for k, v in where.items()))


@pytest.mark.parametrize("response_format", ["json", "xml"])
@pytest.mark.parametrize(
    ("field", "raw"),
    [("CompliantTillDate", "garbage"), ("CertificateId", "12abc"), ("CertificateId", "x" * 300)],
)
def test_a_bad_value_becomes_null_with_a_warning_and_nothing_else_is_lost(
    sandbox: LitmosSandbox,
    config: dict,
    caplog: pytest.LogCaptureFixture,
    response_format: str,
    field: str,
    raw: str,
) -> None:
    victim = sandbox.truth()[40]
    key = victim["AchievementId"]
    sandbox.set_raw("achievements", key, field, raw)
    run = run_achievements({**config, "response_format": response_format, "page_size": 100})
    records = {r["AchievementId"]: r for r in run.records()}
    expected = {r["AchievementId"]: expected_record(r) for r in sandbox.truth()}
    assert records.keys() == expected.keys()
    assert records[key] == {**expected[key], field: None}
    del records[key], expected[key]
    assert records == expected
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    (line,) = [w for w in warnings if "Set to null" in w]
    assert f"achievements AchievementId={key}" in line
    assert field in line
    assert raw[:50] in line
    assert len(line) < 300  # the raw value is quoted only in part
    assert f"1 {field} value(s) of achievements did not convert and were set to null" in warnings
    newest = max(expected_record(r)["AchievementDate"] for r in sandbox.truth())
    assert run.bookmark() == newest  # the run completed and its bookmark moved


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("AchievementId", "12x", "not an integer: '12x'"),
        ("AchievementDate", "garbage", "not a recognised Litmos date: 'garbage'"),
    ],
)
@pytest.mark.parametrize("with_start_date", [False, True])
def test_a_bad_key_or_replication_value_fails_cleanly_before_any_state_covers_it(
    sandbox: LitmosSandbox,
    config: dict,
    field: str,
    raw: str,
    message: str,
    with_start_date: bool,
) -> None:
    victim = sandbox.truth()[-1]  # the oldest row: on the last page
    sandbox.set_raw("achievements", victim["AchievementId"], field, raw)
    extra = {"start_date": "2020-01-01"} if with_start_date else {}
    run = run_achievements({**config, "page_size": 100, **extra}, allow_failure=True)
    text = str(run.error)
    assert text.startswith("Cannot read an achievements record (AchievementId=")
    assert f"field {field}: {message}" in text
    assert all(
        not s.get("bookmarks", {}).get("achievements", {}).get("replication_key_value")
        for s in run.states
    )


def test_an_unknown_field_is_reported_once(
    sandbox: LitmosSandbox, config: dict, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.configure(extra_fields={"BrandNewField": "x"})
    run = run_achievements({**config, "page_size": 100})
    assert ids(run.records()) == truth_ids(sandbox)
    assert all("BrandNewField" not in r for r in run.records())
    warnings = [r.getMessage() for r in caplog.records if "BrandNewField" in r.getMessage()]
    assert warnings == [
        "Litmos sent fields that achievements's schema does not have (not extracted): BrandNewField"
    ]
