"""Interrupt the tap with SIGKILL and resume it: a reusable check for any stream.

The tap runs as a real process (``python -m tap_litmos``) against a running sandbox.
The helper reads its stdout line by line, as a target would, and sends SIGKILL right
after the k-th Singer message line has been read: the lines read so far are what the
target received (the tap may have written more, or hold more in its 64 KiB RECORD
block; none of that reached the target). The run is then resumed, uninterrupted, with
the last STATE the target received (or the state the interrupted run started from,
when none arrived), and the union of the two runs must hold every expected record.

Typical use, for one stream::

    results = check_interruptions(
        config, stream="achievements", key=lambda r: r["AchievementId"],
        expected={r["AchievementId"]: expected_record(r) for r in sandbox.truth()},
        workdir=tmp_path, points=5, seed=1,
    )

``check_interruptions`` runs the tap once uninterrupted (to learn the sequence of
messages and the final STATE), picks kill points with :func:`choose_kill_points`, and
calls :func:`interrupt_and_resume` for each. Both raise AssertionError on a violation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import signal
import subprocess
import sys
import threading
import typing as t
from pathlib import Path

from tests.helpers.singer import SingerOutput, parse_lines

if t.TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Safety net only (a hung tap must not hang the suite); no assertion depends on time.
RUN_TIMEOUT_SECONDS = 300.0

# Runs the tap as `python -m tap_litmos` would, after setting the SDK's
# STATE_MSG_FREQUENCY (an interim STATE every n records of a stream). Streams that
# emit only a final STATE then have kill points right after an interim STATE.
_LAUNCHER = """\
import runpy, sys
from singer_sdk.streams.core import Stream
Stream.STATE_MSG_FREQUENCY = int(sys.argv.pop(1))
runpy.run_module("tap_litmos", run_name="__main__", alter_sys=True)
"""

Key = t.Any  # a primary key value, as returned by the caller's `key` function


# --- One tap process ------------------------------------------------------------------


@dataclasses.dataclass
class TapProcess(SingerOutput):
    """One tap process: the message lines the target received, and how it ended."""

    returncode: int
    #: True when our SIGKILL ended the process (it was still running when killed).
    killed_running: bool
    stderr: str

    def stderr_tail(self, lines: int = 15) -> str:
        """The end of the tap's log, for failure messages."""
        return "\n".join(self.stderr.splitlines()[-lines:])


def tap_command(*, state_every: int | None = None) -> list[str]:
    """The command that starts the tap (its options follow).

    `python -m tap_litmos`; with `state_every`, the same after setting the SDK's
    `Stream.STATE_MSG_FREQUENCY` (default 10 000): an interim STATE after every
    `state_every` records of a stream, for streams that otherwise write one at the end
    only (a stream class that sets its own frequency keeps it).
    """
    if state_every is None:
        return [sys.executable, "-m", "tap_litmos"]
    if state_every < 1:
        msg = "state_every must be >= 1"
        raise ValueError(msg)
    return [sys.executable, "-c", _LAUNCHER, str(state_every)]


def _write_json(path: Path, value: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def run_tap_process(
    config: Mapping[str, t.Any],
    *,
    workdir: Path,
    state: dict | None = None,
    catalog: dict | None = None,
    kill_after: int | None = None,
    state_every: int | None = None,
    label: str = "run",
) -> TapProcess:
    """Run a sync in a real tap process; SIGKILL it after `kill_after` lines, if given.

    Config, state and catalog go to files in `workdir` (named after `label`), the log
    to `<label>.stderr`. With `kill_after`, exactly the first `kill_after` message lines
    are kept (all of them, if the tap wrote fewer): the tap is killed the moment that
    line has been read, whatever it wrote after it. Without it, the run must succeed.
    `state_every`: see :func:`tap_command`.
    """
    if kill_after is not None and kill_after < 0:
        msg = "kill_after must be >= 0"
        raise ValueError(msg)
    workdir.mkdir(parents=True, exist_ok=True)
    args = ["--config", str(_write_json(workdir / f"{label}.config.json", dict(config)))]
    if state is not None:
        args += ["--state", str(_write_json(workdir / f"{label}.state.json", state))]
    if catalog is not None:
        args += ["--catalog", str(_write_json(workdir / f"{label}.catalog.json", catalog))]
    stderr_path = workdir / f"{label}.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [*tap_command(state_every=state_every), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=REPO_ROOT,  # `-m tap_litmos` imports this checkout
        )
        watchdog = threading.Timer(RUN_TIMEOUT_SECONDS, proc.kill)
        watchdog.start()
        try:
            lines, killed_running = _read_and_kill(proc, kill_after)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    run = TapProcess(
        parse_lines(lines, label),
        proc.returncode,
        # A race (the tap exits between poll and kill) counts as not killed.
        killed_running and proc.returncode == -signal.SIGKILL,
        stderr_path.read_text(encoding="utf-8", errors="replace"),
    )
    if kill_after is None and run.returncode != 0:
        msg = f"{label}: the tap failed (exit code {run.returncode}):\n{run.stderr_tail()}"
        raise AssertionError(msg)
    return run


def _read_and_kill(proc: subprocess.Popen, kill_after: int | None) -> tuple[list[bytes], bool]:
    """Read stdout lines, as a target does; SIGKILL the tap after `kill_after` of them.

    Returns the lines read and whether the tap was still running when killed.
    """
    stdout = proc.stdout
    assert stdout is not None
    lines: list[bytes] = []
    if kill_after != 0:
        for line in stdout:
            lines.append(line)
            if len(lines) == kill_after:
                break
    killed_running = False
    if kill_after is not None:
        # SIGKILL at once: the target has what it read, and nothing more.
        killed_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    stdout.close()
    return lines, killed_running


# --- Kill points ----------------------------------------------------------------------


def kill_point_kind(message_types: Sequence[str], kill_after: int) -> str:
    """Where a kill after line `kill_after` lands, in a run of these message types.

    ``records-before-state``: the last line read is a RECORD and the next one a STATE
    (a page's records arrived, the STATE covering them did not); ``mid-records``:
    between two RECORDs; ``after-state``: right after a STATE that RECORDs precede and
    follow (an interim STATE); ``after-initial-state`` / ``after-final-state``: right
    after a STATE that no RECORD precedes / follows; otherwise ``after-<TYPE>``.
    """
    last = message_types[kill_after - 1] if kill_after else None
    following = message_types[kill_after] if kill_after < len(message_types) else None
    if last == "RECORD" and following == "STATE":
        return "records-before-state"
    if last == "RECORD" and following == "RECORD":
        return "mid-records"
    if last == "STATE":
        if "RECORD" not in message_types[kill_after:]:
            return "after-final-state"
        if "RECORD" not in message_types[:kill_after]:
            return "after-initial-state"
        return "after-state"
    return f"after-{last}" if last else "before-any-message"


def choose_kill_points(message_types: Sequence[str], n: int = 5, seed: int = 0) -> list[int]:
    """`n` distinct kill points (kill after that many lines), sorted, from a seeded RNG.

    `message_types` is the type of each line of an uninterrupted run. Always included:
    one point right after the last RECORD before a STATE (records received, their
    STATE not), one right after a STATE (an interim one if the run has any, else the
    final one), and, when the run has two RECORDs in a row, one between them. The
    points are spread over the run: its lines are cut into `n` equal strata, and the
    point between two RECORDs and then the remaining ones go to strata without a point
    (in a random order) while there are any. The same arguments give the same points.
    """
    types = list(message_types)
    total = len(types)
    if not 3 <= n <= total:  # the three required kinds
        msg = f"need 3 <= n <= {total} (the number of messages), got n={n}"
        raise ValueError(msg)
    rng = random.Random(seed)
    points = range(1, total + 1)
    kinds = {k: kill_point_kind(types, k) for k in points}

    def of_kind(*wanted: str) -> list[int]:
        return [k for k in points if kinds[k] in wanted]

    before_state = of_kind("records-before-state")
    after_state = of_kind("after-state") or of_kind("after-final-state")
    if not before_state or not after_state:
        msg = (
            "the run has no RECORD directly followed by a STATE: "
            "give the stream records to interrupt"
        )
        raise ValueError(msg)

    def stratum(k: int) -> int:
        return (k - 1) * n // total

    chosen = {rng.choice(before_state), rng.choice(after_state)}
    if mid_records := of_kind("mid-records"):
        taken = {stratum(k) for k in chosen}
        chosen.add(rng.choice([k for k in mid_records if stratum(k) not in taken] or mid_records))
    empty = [i for i in range(n) if i not in {stratum(k) for k in chosen}]
    rng.shuffle(empty)
    for i in empty[: n - len(chosen)]:
        chosen.add(rng.choice([k for k in points if stratum(k) == i]))
    if len(chosen) < n:
        chosen.update(rng.sample([k for k in points if k not in chosen], n - len(chosen)))
    return sorted(chosen)


# --- Checks ---------------------------------------------------------------------------


def _comparable(value: object) -> object:
    """Date-time text as an aware datetime (any ISO form), anything else as is."""
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return value


def _bookmark(state: Mapping[str, t.Any], stream: str) -> tuple[str, object] | None:
    """`(replication_key, value)` of the stream's resumable bookmark, if it has one."""
    entry = state.get("bookmarks", {}).get(stream) or {}
    key, value = entry.get("replication_key"), entry.get("replication_key_value")
    return (key, value) if key and value is not None else None


def assert_states_cover(
    messages: Sequence[dict],
    *,
    stream: str,
    key: Callable[[dict], Hashable],
    expected: Mapping[Key, dict],
) -> None:
    """No STATE claims a bookmark beyond a record the target has not received.

    Resuming from a bookmark `b` re-reads the rows whose replication key is >= b, so
    every expected row below `b` must have arrived (as a RECORD of `stream`) before
    the STATE that holds `b`. `messages` is everything the target received, in order
    (several runs may be concatenated).
    """
    received: set[Key] = set()
    for number, message in enumerate(messages, 1):
        if message["type"] == "RECORD" and message["stream"] == stream:
            received.add(key(message["record"]))
        elif message["type"] == "STATE" and (bookmark := _bookmark(message["value"], stream)):
            replication_key, value = bookmark
            limit = _comparable(value)
            missing = [
                pk
                for pk, row in expected.items()
                if pk not in received
                and row.get(replication_key) is not None
                and _comparable(row[replication_key]) < limit  # type: ignore[operator]
            ]
            if missing:
                msg = (
                    f"message {number}: STATE puts the {stream} bookmark at {value!r}, but "
                    f"{len(missing)} earlier record(s) had not been received, e.g. "
                    f"{missing[:5]}: a run resumed from it would lose them"
                )
                raise AssertionError(msg)


def assert_records_match(
    records: Sequence[dict],
    *,
    key: Callable[[dict], Hashable],
    expected: Mapping[Key, dict],
    what: str,
) -> None:
    """The records hold every expected key, no other, and each copy equals its row."""
    seen: set[Key] = set()
    for record in records:
        pk = key(record)
        if pk not in expected:
            msg = f"{what}: record {pk!r} is not expected: {record}"
            raise AssertionError(msg)
        if record != expected[pk]:
            msg = f"{what}: record {pk!r} differs:\n got      {record}\n expected {expected[pk]}"
            raise AssertionError(msg)
        seen.add(pk)
    missing = [pk for pk in expected if pk not in seen]
    if missing:
        msg = f"{what}: {len(missing)} of {len(expected)} records lost, e.g. {missing[:5]}"
        raise AssertionError(msg)


# --- Interrupt and resume -------------------------------------------------------------


@dataclasses.dataclass
class ResumeResult:
    """One interruption and its resumption."""

    kill_after: int
    #: What the target received from the killed run.
    interrupted: TapProcess
    #: The state the resumed run started from (None: no state at all).
    resume_state: dict | None
    resumed: TapProcess
    #: Where the kill landed (see :func:`kill_point_kind`); known when the caller gave
    #: the message types of an uninterrupted run, else judged from the lines read.
    kind: str

    def records(self, stream: str) -> list[dict]:
        """Every record of `stream` the target received, both runs, duplicates kept."""
        return self.interrupted.records(stream) + self.resumed.records(stream)

    @property
    def final_state(self) -> dict | None:
        """The state after the resumed run: its last STATE, else the one it started from."""
        return self.resumed.last_state or self.resume_state


def interrupt_and_resume(
    config: Mapping[str, t.Any],
    *,
    stream: str,
    key: Callable[[dict], Hashable],
    expected: Mapping[Key, dict] | Callable[[], Mapping[Key, dict]],
    kill_after: int,
    workdir: Path,
    catalog: dict | None = None,
    state: dict | None = None,
    final_state: dict | None = None,
    state_every: int | None = None,
    before_resume: Callable[[], None] | None = None,
    message_types: Sequence[str] | None = None,
) -> ResumeResult:
    """Kill a sync after `kill_after` message lines, resume it, and check nothing is lost.

    The interrupted run starts from `state` (None: a first run). The resumed run starts
    from the last STATE the target received before the kill, or from `state` when
    none arrived (a target keeps the state it had), and must succeed. Then, with
    `expected` the records of `stream` by primary key (`key(record)`), or a function
    giving them once the resumed run is over (`before_resume` may change the source
    while the tap is down):

    - the records of both runs together hold every expected key and no other, and
      every copy equals the expected record (duplicates are allowed: at least once);
    - no STATE, in either run, puts a bookmark above a record not yet received
      (:func:`assert_states_cover`);
    - the state after the resumed run (its last STATE, or the state it started from
      if it wrote none) equals `final_state`, when given (typically the last STATE of
      an uninterrupted run from the same `state`).

    `message_types`, the types of an uninterrupted run's lines, only names the kill
    point in the result and in failure messages.

    Raises AssertionError on a violation; returns both runs otherwise.
    """
    interrupted = run_tap_process(
        config,
        workdir=workdir,
        state=state,
        catalog=catalog,
        kill_after=kill_after,
        state_every=state_every,
        label=f"kill-{kill_after}",
    )
    resume_state = interrupted.last_state or state
    if before_resume is not None:
        before_resume()
    resumed = run_tap_process(
        config,
        workdir=workdir,
        state=resume_state,
        catalog=catalog,
        state_every=state_every,
        label=f"resume-{kill_after}",
    )
    kind = kill_point_kind(message_types or interrupted.types, kill_after)
    result = ResumeResult(kill_after, interrupted, resume_state, resumed, kind)
    rows = expected() if callable(expected) else expected
    where = f"killed after message {kill_after} ({result.kind}), then resumed"
    assert_records_match(result.records(stream), key=key, expected=rows, what=where)
    try:
        assert_states_cover(
            interrupted.messages + resumed.messages, stream=stream, key=key, expected=rows
        )
    except AssertionError as exc:
        msg = f"{where}: {exc}"
        raise AssertionError(msg) from None
    if final_state is not None and result.final_state != final_state:
        msg = (
            f"{where}: the final state differs from an uninterrupted run's:\n"
            f" got      {result.final_state}\n expected {final_state}"
        )
        raise AssertionError(msg)
    return result


def check_interruptions(
    config: Mapping[str, t.Any],
    *,
    stream: str,
    key: Callable[[dict], Hashable],
    expected: Mapping[Key, dict],
    workdir: Path,
    points: int = 5,
    seed: int = 0,
    catalog: dict | None = None,
    state: dict | None = None,
    state_every: int | None = None,
) -> list[ResumeResult]:
    """Interrupt a sync at `points` kill points and check every resumption.

    One uninterrupted run from `state` first: alone it must give exactly `expected`,
    its STATEs must cover what preceded them, and its message types and final STATE
    are the reference. Then :func:`interrupt_and_resume` at each point of
    :func:`choose_kill_points` (`points`, `seed`). The source must not change meanwhile.
    """
    baseline = run_tap_process(
        config,
        workdir=workdir,
        state=state,
        catalog=catalog,
        state_every=state_every,
        label="uninterrupted",
    )
    assert_records_match(
        baseline.records(stream), key=key, expected=expected, what="uninterrupted run"
    )
    assert_states_cover(baseline.messages, stream=stream, key=key, expected=expected)
    return [
        interrupt_and_resume(
            config,
            stream=stream,
            key=key,
            expected=expected,
            kill_after=k,
            workdir=workdir,
            catalog=catalog,
            state=state,
            final_state=baseline.last_state or state,
            state_every=state_every,
            message_types=baseline.types,
        )
        for k in choose_kill_points(baseline.types, points, seed)
    ]
