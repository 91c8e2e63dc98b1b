"""A run stopped by SIGINT (Ctrl-C) or SIGTERM mid-stream says so: in its summary and exit code.

The tap runs as a real process against the sandbox, every response slowed by a second;
the signal goes once the first records are out and the tap waits on its next request.
The `SUMMARY:` line an orchestrator reads must not say `succeeded`, and the exit code
must not be 0 (128 + the signal, as a shell reports it): a stopped run passing for a
finished one would leave the rest of the data unread without a word.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest

from litmos_sandbox import LitmosSandbox
from tap_litmos.progress import SUMMARY_MARKER
from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.e2e

#: A hung tap must not hang the suite.
TIMEOUT_SECONDS = 120


@pytest.fixture
def sandbox() -> Iterator[LitmosSandbox]:
    with LitmosSandbox(seed=7, users=20, achievements=500, api_key=API_KEY) as box:
        yield box


def wait_for(condition: t.Callable[[], bool], what: str) -> None:
    ends = time.monotonic() + 60
    while not condition():
        if time.monotonic() > ends:
            msg = f"gave up waiting for {what}"
            raise AssertionError(msg)
        time.sleep(0.01)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_stopped_mid_stream_does_not_say_it_succeeded(
    sandbox: LitmosSandbox, tmp_path: Path, stop: int
) -> None:
    config = {
        "api_key": API_KEY,
        "api_url": sandbox.base_url,
        "max_requests_per_minute": 0,
        "page_size": 50,
        "start_date": "2020-01-01",
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    catalog = catalog_selecting(config, "achievements")
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    sandbox.inject("slow", count=100)  # slow_seconds: 1 s before each answer
    sandbox.configure(slow_seconds=1.0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_litmos", "--config", str(tmp_path / "config.json"),
         "--catalog", str(tmp_path / "catalog.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    watchdog = threading.Timer(TIMEOUT_SECONDS, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if b'"type":"RECORD"' in line:
                break
        # The tap has asked for its next page: it waits a second for the answer.
        asked = len(sandbox.requests)
        wait_for(lambda: len(sandbox.requests) > asked, "the next request")
        proc.send_signal(stop)
        out, err = proc.communicate()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = err.decode()
    assert len(sandbox.requests) < 10, "the run was not stopped mid-stream"  # 11 pages
    summaries = [line.split(SUMMARY_MARKER, 1)[1] for line in log.splitlines()
                 if SUMMARY_MARKER in line]  # fmt: skip
    assert len(summaries) == 1, log[-3000:]
    summary = json.loads(summaries[0])
    assert summary["status"] == "failed"
    assert summary["failed_stream"] == "achievements"
    assert summary["streams"]["achievements"]["status"] == "failed"
    assert "Summary: failed in achievements" in log
    assert proc.returncode == 128 + stop, log[-3000:]
    assert "Traceback" not in log
    assert API_KEY.encode() not in b"".join(lines) + out + err


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="reads /proc/PID/wchan")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_stopped_while_the_target_is_slow_does_not_say_it_succeeded(
    tmp_path: Path, stop: int
) -> None:
    """Ctrl-C while the tap waits for a slow target to take its output (a full pipe)."""
    with LitmosSandbox(seed=7, users=20, achievements=2000, api_key=API_KEY) as box:
        config = {"api_key": API_KEY, "api_url": box.base_url, "max_requests_per_minute": 0}
        (tmp_path / "config.json").write_text(json.dumps(config))
        catalog = catalog_selecting(config, "achievements")
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        proc = subprocess.Popen(
            [sys.executable, "-m", "tap_litmos", "--config", str(tmp_path / "config.json"),
             "--catalog", str(tmp_path / "catalog.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        watchdog = threading.Timer(TIMEOUT_SECONDS, proc.kill)
        watchdog.start()
        try:
            # Nothing reads stdout: the tap fills the pipe, then blocks writing to it.
            wchan = Path(f"/proc/{proc.pid}/wchan")
            wait_for(lambda: "pipe_write" in wchan.read_text(), "the tap to block writing")
            proc.send_signal(stop)
            _, err = proc.communicate()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    log = err.decode()
    summaries = [line for line in log.splitlines() if SUMMARY_MARKER in line]
    assert len(summaries) == 1, log[-3000:]
    assert json.loads(summaries[0].split(SUMMARY_MARKER, 1)[1])["status"] == "failed"
    assert proc.returncode == 128 + stop
    assert "Traceback" not in log
