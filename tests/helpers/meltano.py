"""Meltano and warehouse environments: run `meltano` with a clean environment, point the
PostgreSQL loader at a test server."""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t
from pathlib import Path

from tests.helpers.expect import API_KEY
from tests.helpers.servers import POSTGRES_USER, Server

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).parent / "meltano")


def meltano_env(database: Path, **extra: str) -> dict[str, str]:
    """This process's environment without Meltano, plugin, AWS or libpq settings, with
    Meltano's system database in the file `database`, plus `extra`."""
    dropped = ("MELTANO_", "TAP_LITMOS_", "TARGET_", "AWS_", "FSSPEC_", "PG")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(dropped)},
        "MELTANO_DATABASE_URI": f"sqlite:///{database}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_ENVIRONMENT": "dev",
        **extra,
    }


def target_postgres_env(server: Server, database: str) -> dict[str, str]:
    """The loader's connection to `database` on a test server, as a deployment sets it."""
    return {
        "TARGET_POSTGRES_HOST": server.host,
        "TARGET_POSTGRES_PORT": str(server.port),
        "TARGET_POSTGRES_USER": POSTGRES_USER,
        "TARGET_POSTGRES_PASSWORD": "",  # trust authentication on loopback
        "TARGET_POSTGRES_DATABASE": database,
    }


def run_meltano(
    env: t.Mapping[str, str], *args: str, cwd: Path = ROOT, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`meltano ARGS` in `cwd`, whatever its outcome; asserts the key never shows."""
    result = subprocess.run(
        [MELTANO, *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert API_KEY not in result.stdout + result.stderr
    return result


def meltano_cli(env: t.Mapping[str, str], cwd: Path = ROOT) -> t.Callable[..., str]:
    """`meltano ARGS` in `cwd`: asserts success and that the key never shows; its stdout."""

    def run(*args: str) -> str:
        result = run_meltano(env, *args, cwd=cwd)
        assert result.returncode == 0, (
            f"meltano {' '.join(args)} failed:\n{result.stdout[-3000:]}{result.stderr[-5000:]}"
        )
        return result.stdout

    return run
