"""Drives PyAirbyte for tests/test_pyairbyte.py: runs inside PyAirbyte's own virtualenv.

One process serves every PyAirbyte call of a test module (`import airbyte` takes 4-9 s):
it reads one JSON request a line on stdin and answers one JSON line on the file
descriptor given as its argument (PyAirbyte prints to stdout and stderr as it likes;
both go to stderr here). The calls are what a user's script makes: `get_source` with a
local executable, `check`, `get_available_streams`, `read` into a DuckDB cache, and the
cache's tables and state read back. `validate` parses lines with the Airbyte protocol
models PyAirbyte brings.

Only the standard library, PyAirbyte and what it installs are importable here: this file
must not import the project.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import sys
import traceback
from importlib.metadata import version
from pathlib import Path

import sqlalchemy
from airbyte_protocol.models import AirbyteMessage, AirbyteStateType, Type

import airbyte as ab

_caches: dict[str, object] = {}


def _source(request: dict) -> object:
    source = ab.get_source(
        "source-litmos",
        config=request["config"],
        local_executable=request["executable"],
    )
    streams = request.get("streams")
    if streams == "*":
        source.select_all_streams()
    elif streams:
        source.select_streams(streams)
    return source


def _cache(cache_dir: str) -> object:
    if cache_dir not in _caches:
        _caches[cache_dir] = ab.new_local_cache("litmos", cache_dir=cache_dir)
    return _caches[cache_dir]


def op_spec(request: dict) -> dict:
    return {"spec": _source(request).config_spec}


def op_validate_config(request: dict) -> dict:
    _source(request).validate_config()
    return {}


def op_check(request: dict) -> dict:
    try:
        _source(request).check()
    except ab.exceptions.AirbyteConnectorCheckFailedError as exc:
        return {"status": "FAILED", "reason": (exc.context or {}).get("failure_reason")}
    return {"status": "SUCCEEDED"}


def op_discover(request: dict) -> dict:
    source = _source(request)
    streams = {}
    for stream in source.discovered_catalog.streams:
        streams[stream.name] = {
            "supported_sync_modes": [mode.value for mode in stream.supported_sync_modes],
            "source_defined_cursor": stream.source_defined_cursor,
            "default_cursor_field": stream.default_cursor_field,
            "source_defined_primary_key": stream.source_defined_primary_key,
        }
    return {"available": source.get_available_streams(), "streams": streams}


def op_read(request: dict) -> dict:
    source = _source(request)
    result = source.read(
        cache=_cache(request["cache_dir"]),
        force_full_refresh=request.get("force_full_refresh", False),
        write_strategy=request.get("write_strategy", "auto"),
    )
    return {"processed_records": result.processed_records}


def op_tables(request: dict) -> dict:
    """Every row of the named streams' tables (PyAirbyte's own columns left out; None for
    a table that does not exist), and the cache's stored states."""
    cache = _cache(request["cache_dir"])
    processor = cache.processor
    schema = cache.schema_name
    with processor.get_sql_connection() as connection:
        existing = set(sqlalchemy.inspect(connection).get_table_names(schema=schema))
        tables = {}
        for stream in request["streams"]:
            name = processor.get_sql_table_name(stream)
            if name not in existing:
                tables[stream] = None
                continue
            # Names from PyAirbyte's own catalog of this cache, not from input.
            query = f'select * from {schema}."{name}"'  # noqa: S608
            rows = connection.execute(sqlalchemy.text(query))
            tables[stream] = [
                {k: v for k, v in row.items() if not k.startswith("_airbyte_")}
                for row in rows.mappings()
            ]
        states = {}
        if "_airbyte_state" in existing:
            query = f"select stream_name, state_json from {schema}._airbyte_state"  # noqa: S608
            for name, text in connection.execute(sqlalchemy.text(query)):
                states[name] = json.loads(text)
    return {"tables": tables, "states": states}


def op_validate(request: dict) -> dict:
    """Parse every line of the files with the protocol models; name what fails."""
    problems, types = [], {}
    for path in request["paths"]:
        for number, line in enumerate(Path(path).read_text().splitlines(), 1):
            try:
                message = AirbyteMessage.model_validate_json(line)
            except ValueError as exc:
                problems.append(f"{path}:{number}: {exc}"[:500])
                continue
            types[message.type.value] = types.get(message.type.value, 0) + 1
            if message.type == Type.STATE and message.state.type != AirbyteStateType.STREAM:
                problems.append(f"{path}:{number}: a {message.state.type} state")
    return {"problems": problems, "types": types}


OPS = {name[3:]: fn for name, fn in globals().items() if name.startswith("op_")}


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    return str(value)


def main() -> None:
    answers = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever PyAirbyte prints goes to stderr, never into the answers
    answers.write(json.dumps({"ready": version("airbyte")}) + "\n")
    answers.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"ok": True, **OPS[request["op"]](request)}
        except Exception as exc:  # noqa: BLE001 (the test judges the failure)
            answer = {
                "ok": False,
                "error_type": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exc()[-3000:],
            }
        answers.write(json.dumps(answer, default=_plain) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
