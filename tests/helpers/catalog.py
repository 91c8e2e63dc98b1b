"""Catalog-wide helpers: stream selection, stream metadata, the sandbox's request log.

Shared by the contract, date-window and snapshot tests. Expectations still come from
the sandbox (its specs, ground truth and request log); these only do the bookkeeping.
"""

from __future__ import annotations

import json
import typing as t

from tap_litmos.tap import TapLitmos

API_PREFIX = "/v1.svc"


def catalog_selecting(config: dict[str, t.Any], *streams: str) -> dict:
    """The tap's own catalog (what `--discover` prints) with exactly `streams` selected.

    Every other stream is deselected, so a run requests only what a test checks.
    """
    tap = TapLitmos(config=config, parse_env_config=False, validate_config=False)
    catalog = json.loads(json.dumps(tap.catalog_dict))  # a plain, JSON-ready copy
    known = {entry["tap_stream_id"] for entry in catalog["streams"]}
    unknown = set(streams) - known
    if unknown:
        msg = f"not in the catalog: {sorted(unknown)}"
        raise ValueError(msg)
    for entry in catalog["streams"]:
        wanted = entry["tap_stream_id"] in streams
        for item in entry["metadata"]:
            if item["breadcrumb"] == [] or wanted:
                item["metadata"]["selected"] = wanted
    return catalog


def stream_metadata(catalog: dict, stream: str) -> dict:
    """The stream-level (empty breadcrumb) metadata of `stream` in a catalog dict."""
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def requests_to(sandbox: t.Any, stream: str) -> list[dict]:
    """The logged API requests for `stream`'s endpoint, from the sandbox's own spec.

    Paths with `{...}` parameters (per-parent endpoints) match any value; `ilt_sessions`
    (and its days) match `/sessions/past` and `/sessions/future`.
    """
    path = sandbox.spec(stream).path
    if stream in ("ilt_sessions", "ilt_session_days"):
        wanted = {f"{API_PREFIX}/sessions/past", f"{API_PREFIX}/sessions/future"}
        return [r for r in sandbox.requests if r["path"].lower() in wanted]
    parts = f"{API_PREFIX}{path}".lower().split("/")

    def matches(logged: str) -> bool:
        got = logged.split("/")
        return len(got) == len(parts) and all(
            p.startswith("{") or p == g.lower() for p, g in zip(parts, got, strict=True)
        )

    return [r for r in sandbox.requests if matches(r["path"])]
