"""``spawn()``: the sandbox in a process of its own, ready once it says where it listens.

The demo, the benchmarks and the command-line tests start the sandbox this way, so the
tap's process and the sandbox's never share an interpreter (or a GIL)::

    with spawn(achievements=200_000, users=500, api_key="k") as sandbox:
        ...  # sandbox.base_url, sandbox.requests(), sandbox.reset_log()
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import urllib.request
from typing import IO, TYPE_CHECKING, Any

from litmos_sandbox.options import Options

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from typing_extensions import Self

#: The first line the command line prints (``__main__.py``), the base URL after it.
LISTENING = "Litmos sandbox listening on "


def command_line(**options: Any) -> list[str]:
    """The ``litmos-sandbox`` flags that set ``options`` (validated first)."""
    Options.of(**options)
    flags: list[str] = []
    for f in dataclasses.fields(Options):
        if f.name not in options:
            continue
        value = options[f.name]
        cli = f.metadata["cli"]
        flag = cli.get("flag", "--" + f.name.replace("_", "-"))
        if isinstance(f.default, bool):
            flags.append(flag if value else "--no-" + flag[2:])
        elif f.name == "extra_fields":
            flags += [item for name, text in value.items() for item in (flag, f"{name}={text}")]
        elif cli.get("append"):
            flags += [item for name in value for item in (flag, str(name))]
        elif f.name == "fault_kinds":
            flags += [flag, ",".join(value)]
        elif value is not None:
            flags += [flag, value.isoformat() if f.name == "now" else str(value)]
    return flags


@dataclasses.dataclass
class SpawnedSandbox:
    """A running sandbox process: where it listens, and its admin API over HTTP."""

    process: subprocess.Popen[str]
    base_url: str  # http://127.0.0.1:<port>/v1.svc
    api_key: str

    @property
    def admin_url(self) -> str:
        """``http://127.0.0.1:<port>/_sandbox``."""
        return self.base_url.rsplit("/v1.svc", 1)[0] + "/_sandbox"

    def requests(self) -> list[dict[str, Any]]:
        """The API requests it logged (``GET /_sandbox/requests``)."""
        with urllib.request.urlopen(self.admin_url + "/requests") as response:  # noqa: S310
            return json.load(response)

    def reset_log(self) -> None:
        """Empty its request log (``POST /_sandbox/reset-log``)."""
        request = urllib.request.Request(self.admin_url + "/reset-log", method="POST", data=b"")  # noqa: S310
        urllib.request.urlopen(request).close()  # noqa: S310 (http, built above)

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then wait (SIGKILL after ``timeout`` seconds); the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

    def __enter__(self) -> Self:
        """The running sandbox."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop it."""
        self.stop()


def spawn(
    *args: str,
    python: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    stderr: int | IO[Any] | None = None,
    **options: Any,
) -> SpawnedSandbox:
    """Start ``python -m litmos_sandbox`` with ``options`` (and raw flags ``args``).

    Returns once the sandbox printed its listening line; raises RuntimeError (after
    killing it) if it exits or prints anything else first. ``python`` defaults to this
    interpreter, ``stderr`` to ours; its stdout stays a pipe it never writes to again.
    """
    cmd = [str(python or sys.executable), "-m", "litmos_sandbox", *command_line(**options), *args]
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=cwd
    )
    assert process.stdout is not None  # noqa: S101 (stdout=PIPE above)
    line = process.stdout.readline()
    if not line.startswith(LISTENING):
        process.kill()
        _, err = process.communicate()
        msg = f"the Litmos sandbox did not start: {line!r} {err or ''}".strip()
        raise RuntimeError(msg)
    base_url, _, rest = line[len(LISTENING) :].partition(" (api key: ")
    return SpawnedSandbox(process, base_url, rest.rstrip().removesuffix(")"))
