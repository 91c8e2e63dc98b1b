"""Whatever answers at api_url cannot corrupt the warehouse, leak the key or hang a run.

Each case is a small server on 127.0.0.1 (the sandbox taught the behaviour, a
`LoopbackServer` reply, or a `HostileServer` writing bytes) and the real tap. Cases about
time and memory run the tap as a child process and read its CPU time and peak memory
with wait4; every limit is generous, since each bug they catch costs minutes or
gigabytes.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY
from tests.helpers.hostile import HostileServer, endless, trickle_body, trickle_headers, whole
from tests.helpers.loopback import LoopbackServer
from tests.helpers.singer import parse_text
from tests.helpers.tap import run_achievements, run_tap

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

ROOT = Path(__file__).resolve().parents[2]
#: Every form of the key a leak could take.
KEY_FORMS = (API_KEY.encode(), quote(API_KEY, safe="").encode(), quote(API_KEY).encode())
A_DATE = "/Date(1719835200000)/"  # 2024-07-01T12:00:00Z


@t.final
class CliRun(t.NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes
    cpu_seconds: float
    peak_rss_mb: float
    wall_seconds: float

    def messages(self) -> list[dict]:
        return parse_text(self.stdout.decode(), "tap-litmos")

    def of_type(self, kind: str, stream: str | None = None) -> list[dict]:
        return [
            m
            for m in self.messages()
            if m["type"] == kind and (stream is None or m.get("stream") == stream)
        ]

    def error_lines(self) -> list[str]:
        return [
            line for line in self.stderr.decode(errors="replace").splitlines() if "ERROR" in line
        ]


def run_cli(
    config: dict, tmp_path: Path, *streams: str, level: str = "INFO", timeout: float = 300
) -> CliRun:
    """`tap-litmos --config --catalog` as a child process; its output and resource use."""
    config_file = tmp_path / f"config-{level}.json"
    config_file.write_text(json.dumps(config))
    args = [sys.executable, "-m", "tap_litmos", "--config", str(config_file)]
    if streams:
        catalog_file = tmp_path / f"catalog-{level}.json"
        catalog_file.write_text(json.dumps(catalog_selecting(config, *streams)))
        args += ["--catalog", str(catalog_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_LITMOS_")}
    env["TAP_LITMOS_LOGLEVEL"] = level
    started = time.monotonic()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env
    )
    out: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=n, f=f: out.__setitem__(n, f.read()))
        for n, f in (("stdout", proc.stdout), ("stderr", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    for form in KEY_FORMS:  # every case: the key is in no byte the tap wrote
        assert form not in out["stdout"]
        assert form not in out["stderr"]
    return CliRun(
        proc.returncode,
        out["stdout"],
        out["stderr"],
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        time.monotonic() - started,
    )


def assert_one_clear_failure(run: CliRun, *phrases: str) -> str:
    """Exit != 0, no traceback, the failure in one ERROR line holding `phrases`."""
    assert run.returncode != 0
    text = run.stderr.decode(errors="replace")
    assert "Traceback" not in text
    (line,) = run.error_lines()
    for phrase in phrases:
        assert phrase in line, line
    return line


def assert_key_never_written(*runs: CliRun) -> None:
    for run in runs:
        for form in KEY_FORMS:
            assert form not in run.stdout
            assert form not in run.stderr


def base_config(url: str, **extra: t.Any) -> dict:
    return {"api_key": API_KEY, "api_url": url, "max_requests_per_minute": 0, **extra}


def achievement_rows(*rows: dict) -> bytes:
    full = {"UserId": "u1", "Title": "t", "AchievementDate": A_DATE, "AchievementId": 1}
    return json.dumps([{**full, **row} for row in rows]).encode()


# --- 1, 2. Data that must never be written --------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("response_format", ["json", "xml"])
def test_an_error_envelope_with_status_200_is_never_read_as_rows(
    sandbox: LitmosSandbox, config: dict, response_format: str
) -> None:
    sandbox.inject("error_envelope")
    cfg = {**config, "response_format": response_format}
    run = run_tap(cfg, catalog=catalog_selecting(cfg, "courses"), allow_failure=True)
    assert run.error is not None
    assert run.records("courses") == []
    assert not [m for m in run.messages if m["type"] in {"ACTIVATE_VERSION", "STATE"}]
    if response_format == "json":
        assert "an error instead of rows: 'Authorization has been denied" in str(run.error)
    else:  # XML has no wrapper to check: its one row has no Id
        assert "courses row without its key: Id is missing (row 1" in str(run.error)


MISSING = object()  # a field the row does not carry at all
ROWS_WITHOUT_KEYS = {
    "AchievementId missing": ({"AchievementId": MISSING}, "AchievementId is missing"),
    "AchievementId null": ({"AchievementId": None}, "AchievementId is null"),
    "AchievementDate null": ({"AchievementDate": None}, "AchievementDate is null"),
    "AchievementDate empty": ({"AchievementDate": ""}, "AchievementDate is empty"),
    "AchievementDate blank": ({"AchievementDate": "  "}, "AchievementDate is empty"),
}


def _page(rows: list[dict], response_format: str) -> tuple[bytes, str]:
    """A page of rows as Litmos writes it; MISSING leaves a field out, None is null."""
    if response_format == "json":
        kept = [{k: v for k, v in row.items() if v is not MISSING} for row in rows]
        return json.dumps(kept).encode(), "application/json"
    ns = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"'

    def element(name: str, value: object) -> str:
        return f'<{name} i:nil="true"/>' if value is None else f"<{name}>{value}</{name}>"

    body = "".join(
        "<Achievement>"
        + "".join(element(k, v) for k, v in row.items() if v is not MISSING)
        + "</Achievement>"
        for row in rows
    )
    return f"<Achievements {ns}>{body}</Achievements>".encode(), "application/xml"


@pytest.mark.unit
@pytest.mark.parametrize("response_format", ["json", "xml"])
@pytest.mark.parametrize("case", list(ROWS_WITHOUT_KEYS))
def test_a_row_without_its_key_fails_the_run_before_any_state(
    config: dict, response_format: str, case: str
) -> None:
    change, message = ROWS_WITHOUT_KEYS[case]
    when = A_DATE if response_format == "json" else "2024-07-01T12:00:00"
    good = {"UserId": "u1", "Title": "t", "AchievementDate": when, "AchievementId": 1}
    body, kind = _page([good, {**good, "AchievementId": 2, **change}], response_format)
    with LoopbackServer(reply=(200, {"Content-Type": kind}, body)) as api:
        cfg = {**config, "api_url": f"{api.origin}/v1.svc", "response_format": response_format}
        run = run_achievements(cfg, allow_failure=True)
    assert f"an achievements row without its key: {message}" in str(run.error)
    assert "(row 2 of the page at start=0)" in str(run.error)
    assert run.records() == []  # not even the good row of that page
    assert not [m for m in run.messages if m["type"] == "STATE" and m["value"].get("bookmarks")]


@pytest.mark.unit
def test_a_window_row_without_its_replication_key_fails_the_run(
    sandbox: LitmosSandbox, config: dict
) -> None:
    row = sandbox.truth("course_results")[0]
    body = json.dumps([{"Id": row["Id"], "UserId": row["UserId"], "UpdatedDate": None}]).encode()
    with LoopbackServer(reply=(200, {"Content-Type": "application/json"}, body)) as api:
        cfg = {**config, "api_url": f"{api.origin}/v1.svc", "start_date": "2026-01-01"}
        run = run_tap(cfg, catalog=catalog_selecting(cfg, "course_results"), allow_failure=True)
    assert "course_results row without its key: UpdatedDate is null" in str(run.error)
    assert run.records("course_results") == []
    assert not [m for m in run.messages if m["type"] == "STATE" and m["value"].get("bookmarks")]


# --- 3. The key in no byte of output ----------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_server_echoing_the_key_never_gets_it_into_the_output(
    sandbox: LitmosSandbox, tmp_path: Path, level: str
) -> None:
    first = sandbox.truth()[0]
    sandbox.set_raw("achievements", first["AchievementId"], "CompliantTillDate", f"bad {API_KEY}")
    sandbox.set_raw("achievements", first["AchievementId"], "Title", f"echo {API_KEY} echo")
    sandbox.inject("echo_key_500", count=1, after=0)
    cfg = base_config(sandbox.base_url, max_retries=1)
    run = run_cli(cfg, tmp_path, "achievements", level=level)
    assert run.returncode == 0  # the 500 was retried, the bad value set to null
    assert b"[redacted]" in run.stdout  # the echoed key inside a record value
    assert b"[redacted]" in run.stderr  # ... in the retry line and the null warning
    assert_key_never_written(run)

    sandbox.clear_faults()
    sandbox.inject("echo_key_500", count=5)
    failed = run_cli({**cfg, "max_retries": 0}, tmp_path, "achievements", level=level)
    line = assert_one_clear_failure(failed, "HTTP 500") if level == "INFO" else ""
    assert "[redacted]" in line or level == "DEBUG"
    assert_key_never_written(failed)


@pytest.mark.e2e
def test_a_redis_password_is_never_written(tmp_path: Path) -> None:
    with LoopbackServer() as api:
        password = "s3cret-redis-pass"
        cfg = base_config(
            f"{api.origin}/v1.svc",
            max_requests_per_minute=5,
            rate_limit_backend=f"redis://:{password}@127.0.0.1:1/0",
        )
        for level in ("INFO", "DEBUG"):
            run = run_cli(cfg, tmp_path, "achievements", level=level)
            assert run.returncode != 0
            assert password.encode() not in run.stdout + run.stderr
            assert_key_never_written(run)


# --- 4-7, 9. Bounded time and memory, one clear line -------------------------------------


@pytest.mark.e2e
def test_a_huge_error_page_is_summarised_in_linear_time(tmp_path: Path) -> None:
    # 1 MB of "<": the old tag stripper needed about 13 minutes of CPU for it.
    answer = whole(b"<" * 1_000_000, "text/html")
    with HostileServer(
        lambda path: _with_status(answer(path), b"500 Internal Server Error")
    ) as api:
        run = run_cli(base_config(api.url, max_retries=0), tmp_path, "achievements")
    line = assert_one_clear_failure(run, "HTTP 500")
    assert len(line) < 400
    assert run.cpu_seconds < 20


def _with_status(pieces: t.Iterator[bytes | float], status: bytes) -> t.Iterator[bytes | float]:
    first = next(pieces)
    assert isinstance(first, bytes)
    yield first.replace(b"200 OK", status, 1)
    yield from pieces


BIG = {
    # name: (server answer, config extra, phrase)
    "declared 2 GiB": (
        endless(b"[", b" " * 65536, chunked=False, length=2 * 1024**3),
        {},
        "declares 2,147,483,648 bytes",
    ),
    "2 GiB of garbage, no length": (
        endless(b"", b"\x00garbage" * 8192, chunked=False),
        {},
        "is over 104,857,600 bytes",
    ),
    "endless chunked body": (
        endless(b"[", b'{"AchievementId": 1},' * 3000, chunked=True),
        {"max_response_mb": 5},
        "is over 5,242,880 bytes",
    ),
    "rows of 50 MB each": (
        endless(b'[{"AchievementId": 1, "Title": "', b"x" * 65536, chunked=False),
        {"max_response_mb": 20},
        "is over 20,971,520 bytes",
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("case", list(BIG))
def test_a_body_over_the_limit_fails_unread_in_bounded_memory(tmp_path: Path, case: str) -> None:
    answer, extra, phrase = BIG[case]
    with HostileServer(answer) as api:
        run = run_cli(base_config(api.url, max_retries=0, **extra), tmp_path, "achievements")
        sent = sum(api.sent)
    assert_one_clear_failure(run, phrase, "max_response_mb")
    assert run.of_type("RECORD") == []
    limit_mb = extra.get("max_response_mb", 100)
    assert run.peak_rss_mb < 250 + 3 * limit_mb  # the interpreter, and the body read so far
    assert sent < 2 * 1024**3  # the rest was never read
    assert run.wall_seconds < 120


@pytest.mark.e2e
def test_the_largest_accepted_page_costs_a_small_multiple_of_its_size(tmp_path: Path) -> None:
    rows = [
        {"UserId": "u", "Title": "t", "Description": "d" * 30_000, "AchievementDate": A_DATE,
         "AchievementId": i}
        for i in range(1, 1001)
    ]  # fmt: skip
    body = json.dumps(rows).encode()  # 30 MB, over 100 times a real Litmos page
    first, rest = whole(body), whole(b"[]")
    with HostileServer(lambda path: (first if "start=0&" in path else rest)(path)) as api:
        run = run_cli(base_config(api.url, page_size=1000), tmp_path, "achievements")
    assert run.returncode == 0
    assert len(run.of_type("RECORD")) == 1000
    assert run.peak_rss_mb < 150 + 8 * len(body) / 1024**2


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["body", "headers"])
def test_request_timeout_is_a_deadline_for_the_whole_response(tmp_path: Path, where: str) -> None:
    trickle = trickle_body if where == "body" else trickle_headers
    with HostileServer(trickle(b"[]" + b" " * 60, every=0.5)) as api:
        cfg = base_config(api.url, request_timeout=2, max_retries=1)
        run = run_cli(cfg, tmp_path, "achievements")
        tries = len(api.paths)
    assert_one_clear_failure(run, "no complete response within 2 s", "request_timeout")
    assert tries == 2  # a timeout is retried
    assert run.wall_seconds < 25  # two deadlines and one 2-second wait; trickled: 30 s each


DEEP = {
    "json nested 100 000 deep": ("json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "xml nested 100 000 deep": (
        "xml",
        b"<Achievements>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Achievements>",
        "nested deeper than 64 levels",
    ),
    "invalid UTF-8 in a string": (
        "json",
        b'[{"AchievementId": 1, "AchievementDate": "'
        + A_DATE.encode()
        + b'", "Title": "\xff\xfe"}]',
        "not valid UTF-8",
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
@pytest.mark.parametrize("case", list(DEEP))
def test_unparseable_bodies_fail_in_one_line_at_once(tmp_path: Path, case: str, level: str) -> None:
    response_format, body, phrase = DEEP[case]
    kind = "application/json" if response_format == "json" else "application/xml"
    with HostileServer(whole(body, kind)) as api:
        cfg = base_config(api.url, response_format=response_format)
        run = run_cli(cfg, tmp_path, "achievements", level=level)
        tries = len(api.paths)
    assert tries == 1  # the same bytes would come back: no retry
    if level == "INFO":
        assert_one_clear_failure(run, phrase)
    else:  # the details, the traceback included, are for DEBUG
        assert run.returncode != 0
        assert phrase in run.stderr.decode()


@pytest.mark.e2e
@pytest.mark.parametrize("response_format", ["json", "xml"])
@pytest.mark.parametrize("digits", [5000, 1_000_000])
def test_a_huge_integer_in_a_non_key_field_is_a_bad_value(
    tmp_path: Path, response_format: str, digits: int
) -> None:
    huge = "9" * digits
    if response_format == "json":
        body = (
            b'[{"AchievementId": 7, "AchievementDate": "' + A_DATE.encode()
            + b'", "CertificateId": ' + huge.encode() + b"}]"
        )  # fmt: skip
    else:
        body = (
            f"<Achievements><Achievement><AchievementId>7</AchievementId><AchievementDate>"
            f"2024-07-01T12:00:00</AchievementDate><CertificateId>{huge}</CertificateId>"
            f"</Achievement></Achievements>"
        ).encode()
    kind = f"application/{response_format}"
    with HostileServer(whole(body, kind)) as api:
        run = run_cli(
            base_config(api.url, response_format=response_format), tmp_path, "achievements"
        )
    assert run.returncode == 0, run.stderr[-2000:]
    (record,) = run.of_type("RECORD")
    assert record["record"]["AchievementId"] == 7
    assert record["record"]["CertificateId"] is None
    warning = next(line for line in run.stderr.decode().splitlines() if "Set to null" in line)
    assert "CertificateId" in warning
    assert len(warning) < 400
    assert run.cpu_seconds < 30


@pytest.mark.unit
def test_an_out_of_range_decimal_in_a_non_key_field_is_a_bad_value(config: dict) -> None:
    body = b'[{"Id": "c1", "Name": "Course", "Price": 1e999}, {"Id": "c2", "Price": 12.50}]'
    with LoopbackServer(reply=(200, {"Content-Type": "application/json"}, body)) as api:
        cfg = {**config, "api_url": f"{api.origin}/v1.svc"}
        run = run_tap(cfg, catalog=catalog_selecting(cfg, "courses"))
    prices = {r["Id"]: r["Price"] for r in run.records("courses")}
    assert prices["c1"] is None
    assert prices["c2"] == 12.5
    assert run.tap.run.bad_values["courses", "Price"] == 1  # type: ignore[union-attr]


@pytest.mark.e2e
def test_a_huge_integer_in_a_key_fails_in_one_short_line(tmp_path: Path) -> None:
    body = (
        b'[{"AchievementId": ' + b"9" * 5000 + b', "AchievementDate": "' + A_DATE.encode() + b'"}]'
    )
    with HostileServer(whole(body)) as api:
        run = run_cli(base_config(api.url), tmp_path, "achievements")
    line = assert_one_clear_failure(run, "AchievementId", "64-bit integer")
    assert len(line) < 500


@pytest.mark.e2e
def test_huge_values_are_quoted_short_in_every_line(tmp_path: Path) -> None:
    ten_mb = "k" * 10_000_000
    body = json.dumps(
        [
            {"AchievementId": 1, "AchievementDate": A_DATE, "CompliantTillDate": ten_mb},
            {"AchievementId": ten_mb, "AchievementDate": A_DATE},
        ]
    ).encode()
    with HostileServer(whole(body)) as api:
        run = run_cli(base_config(api.url), tmp_path, "achievements")
    assert_one_clear_failure(run, "AchievementId")
    lines = run.stderr.decode().splitlines()
    assert max(len(line) for line in lines) < 600
    assert len(run.stderr) < 50_000  # the old lines quoted the 10 MB value twice


# --- 8. Every byte written, or a failure -------------------------------------------------
# (tests/tap_litmos/test_writer.py: a stdout that takes a few bytes a call)

# --- 10. Only what can change is retried ------------------------------------------------

DETERMINISTIC = {
    "an HTML page with 200": (b"<html><body>Sign in</body></html>", "text/html", "json"),
    "not JSON": (b"hello, world", "application/json", "json"),
    "XML with a DTD": (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><Achievements/>',
        "application/xml",
        "xml",
    ),
    "a JSON string": (b'"rows"', "application/json", "json"),
}


@pytest.mark.unit
@pytest.mark.parametrize("case", list(DETERMINISTIC))
def test_a_body_that_would_come_back_the_same_is_not_retried(
    config: dict, retry_sleeps: list[float], case: str
) -> None:
    body, kind, response_format = DETERMINISTIC[case]
    with LoopbackServer(reply=(200, {"Content-Type": kind}, body)) as api:
        cfg = {**config, "api_url": f"{api.origin}/v1.svc", "response_format": response_format}
        run = run_achievements(cfg, allow_failure=True)
    assert run.error is not None
    assert "something other than its rows" in str(run.error)
    assert retry_sleeps == []
    assert len(api.seen) == 1


# --- 11. Every redirect hop takes a budget slot -----------------------------------------


@pytest.mark.unit
def test_every_redirect_hop_takes_a_slot_of_the_request_budget(config: dict) -> None:
    with LoopbackServer() as api:
        api.reply = (302, {"Location": f"{api.origin}/v1.svc/achievements"}, b"")
        cfg = {**config, "api_url": f"{api.origin}/v1.svc", "max_retries": 0}
        run = run_achievements(cfg, allow_failure=True)
    assert "redirect" in str(run.error).lower()
    assert 1 < len(api.seen) <= 6  # the first request and at most 5 hops
    assert run.tap is not None
    assert run.tap.run.request_budget.acquired == len(api.seen)


# --- 12. A budget file that can never be locked -----------------------------------------


@pytest.mark.e2e
@pytest.mark.skipif(os.geteuid() != 0, reason="only root may try to create files under /proc")
def test_a_budget_file_that_cannot_be_locked_fails_in_bounded_time(tmp_path: Path) -> None:
    with LoopbackServer() as api:
        cfg = base_config(
            f"{api.origin}/v1.svc",
            max_requests_per_minute=5,
            rate_limit_backend="/proc/tap-litmos-budget.sqlite",
        )
        run = run_cli(cfg, tmp_path, "achievements", timeout=120)
    assert_one_clear_failure(run, "rate_limit_backend", "could not lock")
    assert run.wall_seconds < 60


# --- 13. https never becomes http ------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.unit
def test_a_redirect_from_https_to_http_on_the_same_host_and_port_is_refused(
    config: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            host, port = self.server.server_address[:2]
            self.send_response(302)
            self.send_header("Location", f"http://{host}:{port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert_file))  # trust the test's own CA
    try:
        port = server.server_address[1]
        cfg = {**config, "api_url": f"https://127.0.0.1:{port}/v1.svc"}
        run = run_achievements(cfg, allow_failure=True)
    finally:
        server.shutdown()
        server.server_close()
    assert (
        f"Refused a redirect from the Litmos API to another host (http://127.0.0.1:{port}"
        in str(run.error)
    )
    assert len(seen) == 1  # the https request; nothing went out in clear text


# --- 14. A child request that fails fails the run ---------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("fault", ["401", "500"])
def test_a_failed_child_request_fails_the_run_and_activates_nothing(
    sandbox: LitmosSandbox, config: dict, retry_sleeps: list[float], fault: str
) -> None:
    sandbox.inject(fault, count=3, after=1)  # users' page is fine, the first badges call fails
    cfg = {**config, "max_retries": 2}
    run = run_tap(cfg, catalog=catalog_selecting(cfg, "users", "user_badges"), allow_failure=True)
    assert run.error is not None
    assert f"HTTP {fault}" in str(run.error)
    assert not [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert "no longer has it" not in str(run.error)
