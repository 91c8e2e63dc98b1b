"""Running the generated manifest as Airbyte's platform runs a Builder connector.

airbyte-cdk's `source-declarative-manifest` (shipped with PyAirbyte, in `.airbyte-venv/`,
tests/helpers/pyairbyte_env.py) reads `airbyte/manifest-only/manifest.yaml` with the
commands the platform sends: `spec`, `check`, `discover`, `read --config --catalog
--state`, each with `--manifest-path`. PyAirbyte 0.71.3 ignores a manifest source's
state, so the incremental reads here drive the command directly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import typing as t
from pathlib import Path

from tests.helpers import pyairbyte_env

if t.TYPE_CHECKING:
    from collections.abc import Mapping

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "airbyte" / "manifest-only" / "manifest.yaml"
#: Safety net only: a hung read must not hang the suite.
RUN_TIMEOUT_SECONDS = 600


@dataclasses.dataclass
class ManifestRun:
    """One `source-declarative-manifest` process: its messages and how it ended."""

    messages: list[dict]
    returncode: int
    stderr: str

    def of_type(self, kind: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream: str) -> list[dict]:
        return [
            m["record"]["data"] for m in self.of_type("RECORD") if m["record"]["stream"] == stream
        ]

    def streams(self) -> set[str]:
        return {m["record"]["stream"] for m in self.of_type("RECORD")}

    def bookmarks(self) -> dict[str, dict]:
        """The last stream_state of each stream."""
        return {
            m["state"]["stream"]["stream_descriptor"]["name"]: m["state"]["stream"]["stream_state"]
            for m in self.of_type("STATE")
        }

    def errors(self) -> list[dict]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    def error_text(self) -> str:
        return " | ".join(
            f"{e.get('message', '')} {e.get('internal_message', '')}" for e in self.errors()
        )


def command() -> Path:
    """`source-declarative-manifest` of PyAirbyte's virtualenv (built on first use)."""
    return pyairbyte_env.python().parent / "source-declarative-manifest"


def run_manifest(
    verb: str,
    workdir: Path,
    *,
    config: Mapping[str, t.Any] | None = None,
    catalog: Mapping[str, t.Any] | None = None,
    state: object = None,
    manifest: Path = MANIFEST,
    label: str | None = None,
) -> ManifestRun:
    """Run `source-declarative-manifest VERB` with its files in `workdir`, each line parsed."""
    label = label or verb
    workdir.mkdir(parents=True, exist_ok=True)
    args = [str(command()), verb]
    for option, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
        if value is not None:
            path = workdir / f"{label}-{option[2:]}.json"
            path.write_text(json.dumps(value), encoding="utf-8")
            args += [option, str(path)]
    args += ["--manifest-path", str(manifest)]
    env = {**os.environ, **pyairbyte_env.OFFLINE_ENV}
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False, env=env
    )
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return ManifestRun(messages, done.returncode, done.stderr)


def configured_catalog(discovered: dict, streams: list[str], *, full_refresh: bool = False) -> dict:
    """A configured catalog of `streams` (incremental where offered, as PyAirbyte asks)."""
    out = []
    for stream in discovered["streams"]:
        if stream["name"] not in streams:
            continue
        incremental = "incremental" in stream["supported_sync_modes"] and not full_refresh
        out.append(
            {
                "stream": stream,
                "sync_mode": "incremental" if incremental else "full_refresh",
                "destination_sync_mode": "append_dedup" if incremental else "overwrite",
                "cursor_field": stream.get("default_cursor_field", []) if incremental else [],
                "primary_key": stream.get("source_defined_primary_key", []),
            }
        )
    return {"streams": out}


def discover(workdir: Path, config: Mapping[str, t.Any], **kwargs: t.Any) -> dict:
    """The manifest's catalog."""
    run = run_manifest("discover", workdir, config=config, **kwargs)
    (catalog,) = run.of_type("CATALOG")
    return catalog["catalog"]  # type: ignore[no-any-return]


def stream_state(stream: str, state: Mapping[str, t.Any]) -> dict:
    """One STREAM state message as Airbyte hands it to a read."""
    return {
        "type": "STREAM",
        "stream": {"stream_descriptor": {"name": stream}, "stream_state": dict(state)},
    }
