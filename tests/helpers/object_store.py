"""A real S3-compatible object store on 127.0.0.1 for the tests: moto in server mode.

    with object_store.s3_server() as s3:        # ServerUnavailable(reason) if none can be had
        bucket = s3.create_bucket("litmos")
        env = {**os.environ, **s3.client_env()}  # boto3, s3fs, Meltano's S3 state backend

    plugins = object_store.MeltanoPlugins(tmp_dir)      # one install of the plugins ...
    plugins.install()
    project_a = plugins.project(tmp_dir / "worker-a")  # ... shared by many project copies

It is an ordinary HTTP server in its own process (`python -m moto.server`: moto with
flask and flask-cors, i.e. `moto[s3]` plus those two, or `moto[server]`, from the dev
extra), on a free port, stopped at the end, with its
data in memory: the code under test talks to it exactly as to AWS S3, through boto3
(Meltano's state backend) and s3fs (the SDK's BATCH files). Built on `tests/helpers/servers.py`
(`start_server`, `pytest_server`, `ServerUnavailable`).

`MeltanoPlugins` lays out copies of this repository's Meltano project, as separate workers
would have them, that share one installation of the plugins (symlinked `.meltano/extractors`
and `.meltano/loaders`): the copies' meltano.yml is the repository's, with what object
storage needs added (s3fs beside the tap and target-postgres, a `batch_config` setting).

`MOTO_SERVER_BIN=/path/to/moto_server` runs that executable instead (another moto, in
another environment). Nothing here ever talks to AWS: every client is given the
loopback endpoint, fixed fake credentials, no config files and no instance metadata.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import importlib.metadata
import importlib.util
import json
import os
import socket
import sys
import typing as t
from pathlib import Path

from tests.helpers.meltano import ROOT, meltano_cli, meltano_env
from tests.helpers.servers import HOST, Server, ServerUnavailable, start_server

if t.TYPE_CHECKING:
    from collections.abc import Iterator


#: Fake credentials: moto accepts any, and AWS would refuse these.
ACCESS_KEY_ID = "testing-key-id"
SECRET_ACCESS_KEY = "testing-secret-key"
REGION = "us-east-1"


def _moto_command() -> list[str]:
    if explicit := os.environ.get("MOTO_SERVER_BIN"):
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):  # noqa: PTH113
            msg = f"MOTO_SERVER_BIN={explicit} is not an executable file"
            raise ServerUnavailable(msg)
        return [explicit]
    for module in ("moto.server", "flask", "flask_cors"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            msg = (
                f"no moto server: the {module} module is missing"
                " (pip install 'moto[s3]' flask flask-cors, or 'moto[server]': the dev extra)"
            )
            raise ServerUnavailable(msg)
    return [sys.executable, "-m", "moto.server"]


def http_ok(port: int) -> bool:
    """True once an HTTP server on HOST:port answers `GET /` with a 200 (no proxy, no library)."""
    with socket.create_connection((HOST, port), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\nHost: " + f"{HOST}:{port}".encode() + b"\r\n\r\n")
        return conn.recv(64).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))


@dataclasses.dataclass
class S3Server:
    """A running S3-compatible server: its endpoint, and helpers to read what was stored."""

    server: Server

    @property
    def endpoint_url(self) -> str:
        return self.server.url

    def client_env(self) -> dict[str, str]:
        """Environment that points every AWS client of a child process at this server.

        - boto3/botocore (Meltano's state backend, moto's own client): the AWS_* names;
          `AWS_ENDPOINT_URL_S3` is botocore's per-service endpoint (botocore >= 1.31).
        - s3fs/aiobotocore (the SDK's BATCH files, in the tap and in the target): the same
          AWS_* names, plus fsspec's own configuration variable `FSSPEC_S3_ENDPOINT_URL`
          (fsspec reads `FSSPEC_<PROTOCOL>_<ARGUMENT>` into the filesystem's arguments).
        - No shared config or credentials file and no instance metadata, so nothing on
          this machine or its network is asked for credentials.
        """
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "FSSPEC_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def meltano_state_env(self, bucket: str, prefix: str) -> dict[str, str]:
        """Meltano's settings for its S3 state backend on this server (`meltano config
        list meltano --filter state_backend`). The keys must be given to Meltano itself:
        Meltano 4.4 passes `state_backend.s3.endpoint_url` to boto3 only when
        `state_backend.s3.aws_access_key_id` and `..._secret_access_key` are set."""
        return {
            "MELTANO_STATE_BACKEND_URI": f"s3://{bucket}/{prefix}",
            "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": self.endpoint_url,
            "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def client(self) -> t.Any:  # a boto3 S3 client
        import boto3

        return boto3.session.Session(
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            region_name=REGION,
        ).client("s3", endpoint_url=self.endpoint_url)

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key under `prefix`, sorted."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def read_url(self, url: str) -> bytes:
        """An `s3://bucket/key` object's bytes."""
        bucket, _, key = url.removeprefix("s3://").partition("/")
        return self.read(bucket, key)

    def jsonl_gz_rows(self, url: str) -> list[dict]:
        """The rows of a gzipped JSON-lines object (an SDK BATCH file)."""
        text = gzip.decompress(self.read_url(url)).decode()
        return [json.loads(line) for line in text.splitlines() if line]


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3-compatible server on 127.0.0.1 (a free port, data in memory)."""
    base = _moto_command()

    def command(port: int, _data_dir: Path) -> list[str]:
        return [*base, "-H", HOST, "-p", str(port)]

    def url(port: int) -> str:
        return f"http://{HOST}:{port}"

    with start_server("moto-s3", command, url, http_ok) as server:
        yield S3Server(server)


# --- Meltano project copies that share one installation of the plugins -------------------


def s3fs_requirement() -> str:
    """`s3fs==<the version installed here>` (the lock pins it), else `s3fs`."""
    try:
        return f"s3fs=={importlib.metadata.version('s3fs')}"
    except importlib.metadata.PackageNotFoundError:
        return "s3fs"


def absolute_pip_url(pip_url: str) -> str:
    """A meltano.yml `pip_url` whose local paths (`.`, `./...`) point into this checkout."""
    return " ".join(
        str(ROOT / word) if word == "." or word.startswith("./") else word
        for word in pip_url.split()
    )


#: The SDK's `batch_config`, declared so Meltano passes `TAP_LITMOS_BATCH_CONFIG` (JSON).
BATCH_CONFIG_SETTING = {
    "name": "batch_config",
    "kind": "object",
    "description": "The SDK's BATCH messages: encoding and storage of the batch files.",
}


def object_storage_meltano_yml() -> str:
    """The repository's meltano.yml, plus what object storage needs.

    - the tap and the loader from this checkout (absolute paths: the copies live
      elsewhere), each with s3fs, so their SDKs can write and read BATCH files on `s3://`;
    - a declared `batch_config` setting on the tap (Meltano ignores undeclared settings in
      the environment).
    """
    import yaml

    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    s3fs = s3fs_requirement()
    plugins = project["plugins"]
    for plugin in [*plugins["extractors"], *plugins["loaders"]]:
        if plugin["name"] in ("tap-litmos", "target-postgres"):
            plugin["pip_url"] = f"{absolute_pip_url(plugin['pip_url'])} {s3fs}"
        if plugin["name"] == "tap-litmos" and not any(
            s["name"] == "batch_config" for s in plugin.get("settings", [])
        ):
            plugin.setdefault("settings", []).append(BATCH_CONFIG_SETTING)
    return yaml.safe_dump(project, sort_keys=False)


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """`meltano_env` for a project copy: its system database in its own `.meltano`."""
    return meltano_env(project / ".meltano" / "meltano.db", **extra)


class MeltanoPlugins:
    """One installation of the plugins, shared by any number of project copies.

    Meltano reinstalls a plugin only when its `pip_url` changes (a fingerprint in the
    venv), so copies with the same meltano.yml use the shared venvs as they are.
    """

    PLUGINS = (
        ("extractor", "tap-litmos"),
        ("loader", "target-jsonl"),
        ("loader", "target-postgres"),
    )

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.meltano_yml = object_storage_meltano_yml()

    def install(self, plugins: t.Iterable[tuple[str, str]] = PLUGINS) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "meltano.yml").write_text(self.meltano_yml)
        meltano = meltano_cli(project_env(self.folder), cwd=self.folder)
        for kind, name in plugins:
            meltano("install", "--plugin-type", kind, name)

    def project(self, path: Path) -> Path:
        """A new project directory: meltano.yml and a `.meltano` of its own (system
        database, run files), whose plugin folders are the shared ones."""
        path.mkdir(parents=True)
        (path / "meltano.yml").write_text(self.meltano_yml)
        (path / ".meltano").mkdir()
        for kind in ("extractors", "loaders"):
            (self.folder / ".meltano" / kind).mkdir(parents=True, exist_ok=True)
            (path / ".meltano" / kind).symlink_to(self.folder / ".meltano" / kind)
        return path
