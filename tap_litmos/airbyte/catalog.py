"""Catalogs and state between Airbyte's shapes and the tap's Singer ones.

- discover: the tap's own Singer catalog (what `tap-litmos --discover` prints) as an
  Airbyte catalog. Incremental streams offer `full_refresh` and `incremental`, with the
  replication key as the source-defined cursor; snapshots offer `full_refresh` only.
- read: the configured catalog becomes the tap's catalog with exactly those streams
  (and, where Airbyte pruned a stream's schema, those fields) selected; the Airbyte
  state becomes the tap's flat Singer state, for the streams read incrementally only.

The tap's state is `{"bookmarks": {stream: {...}}}`; an Airbyte STREAM state carries one
stream's entry as its `stream_state`, so going both ways loses nothing.
"""

from __future__ import annotations

import copy
import typing as t

from singer_sdk.exceptions import ConfigValidationError

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from tap_litmos.tap import TapLitmos

FULL_REFRESH = "full_refresh"
INCREMENTAL = "incremental"


def airbyte_catalog(tap: TapLitmos, fan_outs: Iterable[str]) -> dict[str, t.Any]:
    """The CATALOG message body: every stream the tap selects by default, plus `fan_outs`."""
    wanted = set(fan_outs)
    return {
        "streams": [
            _airbyte_stream(entry)
            for entry in tap.catalog_dict["streams"]
            if _selected_by_default(entry) or entry["tap_stream_id"] in wanted
        ]
    }


def _stream_metadata(entry: Mapping[str, t.Any]) -> dict[str, t.Any]:
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def _selected_by_default(entry: Mapping[str, t.Any]) -> bool:
    return bool(_stream_metadata(entry).get("selected-by-default", True))


def _airbyte_stream(entry: Mapping[str, t.Any]) -> dict[str, t.Any]:
    stream: dict[str, t.Any] = {
        "name": entry["tap_stream_id"],
        "json_schema": entry["schema"],
        "supported_sync_modes": [FULL_REFRESH],
        "source_defined_primary_key": [[key] for key in entry.get("key_properties") or ()],
    }
    cursor = entry.get("replication_key")
    if cursor:
        stream["supported_sync_modes"] = [FULL_REFRESH, INCREMENTAL]
        stream["source_defined_cursor"] = True
        stream["default_cursor_field"] = [cursor]
    return stream


def configured_streams(
    configured: object, offered: Mapping[str, t.Any]
) -> dict[str, dict[str, t.Any]]:
    """The configured catalog's streams by name, each checked against what discover offers.

    `offered` is the CATALOG body for the same config. A stream discover did not offer
    (unknown, or a fan-out its setting does not name) is a config error.
    """
    entries = configured.get("streams") if isinstance(configured, dict) else None
    if not isinstance(entries, list):
        msg = "Configured catalog: expected an object with a `streams` list"
        raise ConfigValidationError(msg, errors=[msg])
    known = {stream["name"] for stream in offered["streams"]}
    streams: dict[str, dict[str, t.Any]] = {}
    problems = []
    for entry in entries:
        stream = entry.get("stream") if isinstance(entry, dict) else None
        name = stream.get("name") if isinstance(stream, dict) else None
        if not isinstance(name, str):
            problems.append(f"Configured catalog: a stream entry without a name: {entry!r:.200}")
        elif name not in known:
            problems.append(
                f"Configured catalog: stream '{name}' is not offered by source-litmos with"
                " this config (a fan-out stream must be named in fan_out_streams)"
            )
        else:
            streams[name] = entry
    if problems:
        summary = "Configured catalog refused"
        raise ConfigValidationError(summary, errors=problems)
    return streams


def singer_catalog(
    tap: TapLitmos, configured: Mapping[str, Mapping[str, t.Any]]
) -> dict[str, t.Any]:
    """The tap's catalog with the configured streams selected and every other one not.

    A configured stream whose `json_schema` lists fewer properties than the tap's
    (Airbyte's field selection) has only those fields selected; its keys stay in.
    """
    catalog = copy.deepcopy(tap.catalog_dict)
    for entry in catalog["streams"]:
        chosen = configured.get(entry["tap_stream_id"])
        fields = None
        if chosen is not None:
            schema = chosen["stream"].get("json_schema")
            if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
                fields = schema["properties"]
        for item in entry["metadata"]:
            breadcrumb = item["breadcrumb"]
            if breadcrumb == []:
                item["metadata"]["selected"] = chosen is not None
            elif chosen is not None and breadcrumb[0] == "properties":  # ["properties", name]
                item["metadata"]["selected"] = fields is None or breadcrumb[-1] in fields
    return catalog


def singer_state(
    airbyte_state: object, configured: Mapping[str, Mapping[str, t.Any]]
) -> tuple[dict[str, t.Any], list[str]]:
    """The tap's Singer state from an Airbyte `--state` file, and notes for the log.

    Airbyte sends a JSON array of per-stream states, with extra keys (`global_`, `data`,
    `sourceStats` ...) and with the states of streams not configured in this read. Only
    the streams configured `incremental` take theirs: `full_refresh` reads from the
    start. STREAM states are what source-litmos writes; the GLOBAL and LEGACY shapes are
    read too (their per-stream parts), so no hand-made or migrated state is lost; a
    LEGACY state with no per-stream parts to read is refused (`_legacy`).
    """
    incremental = {
        name for name, entry in configured.items() if entry.get("sync_mode") == INCREMENTAL
    }
    notes: list[str] = []
    bookmarks: dict[str, dict[str, t.Any]] = {}
    for name, stream_state in _stream_states(airbyte_state, notes):
        if name not in configured:
            continue
        if name not in incremental:
            notes.append(f"Ignored the state of {name}: it is configured full_refresh")
        elif isinstance(stream_state, dict) and stream_state:
            bookmarks[name] = copy.deepcopy(stream_state)
    return ({"bookmarks": bookmarks} if bookmarks else {}), notes


def _stream_states(state: object, notes: list[str]) -> Iterable[tuple[str, object]]:
    """(stream name, stream_state) of every per-stream state in any Airbyte shape."""
    if state in (None, {}, []):
        return
    if isinstance(state, dict):
        state = [{"type": "LEGACY", "data": state}]  # a bare object: the oldest form
    if not isinstance(state, list):
        msg = f"State: expected a JSON array of Airbyte state messages, got {state!r:.100}"
        raise ConfigValidationError(msg, errors=[msg])
    for item in state:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "STREAM" or (kind is None and isinstance(item, dict) and "stream" in item):
            yield from _named(item.get("stream"))
        elif kind == "GLOBAL":
            for stream in (item.get("global") or {}).get("stream_states") or ():
                yield from _named(stream)
        elif kind == "LEGACY":
            yield from _legacy(item.get("data"))
        else:
            notes.append(f"Ignored a state entry source-litmos cannot read: {item!r:.100}")


def _legacy(data: object) -> Iterable[tuple[str, object]]:
    """The per-stream states of a LEGACY state's `data`, or a config error.

    Two shapes hold them: a Singer state, `{"bookmarks": {stream: state}}` (what the tap
    keeps), and the Airbyte CDK's own, `{stream: state}`. Anything else is refused: a
    read that started from scratch instead would re-read every stream without a word.
    """
    streams = data.get("bookmarks") if isinstance(data, dict) and "bookmarks" in data else data
    if not isinstance(streams, dict) or not all(isinstance(s, dict) for s in streams.values()):
        msg = (
            "State: a LEGACY state source-litmos cannot read: its data must be"
            ' {"bookmarks": {stream: state}} or {stream: state}, with an object for each'
            f" stream; got {data!r:.100}"
        )
        raise ConfigValidationError(msg, errors=[msg])
    yield from streams.items()


def _named(stream: object) -> Iterable[tuple[str, object]]:
    if isinstance(stream, dict):
        descriptor = stream.get("stream_descriptor") or {}
        if isinstance(descriptor, dict) and isinstance(descriptor.get("name"), str):
            yield descriptor["name"], stream.get("stream_state")
