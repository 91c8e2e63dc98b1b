"""Helpers shared by the tests (no tests here).

- `singer`: the one reader of Singer output (messages by type, states, bookmarks).
- `tap`: run the tap in-process against the sandbox and read what it wrote.
- `resume`: run the tap as a process, SIGKILL it mid-run, resume it, check nothing is lost.
- `expect`: the tap's output format built independently (truth rows as emitted, keys,
  `since`/`to` query values).
- `catalog`: catalogs selecting some streams, stream metadata, the sandbox's request log.
- `loopback`: loopback HTTP servers answering whole replies; `hostile`: byte by byte.
- `meltano`: `meltano` runs with a clean environment, the PostgreSQL loader's settings.
- `servers`: real PostgreSQL and Redis servers; `object_store`: an S3-compatible server
  and Meltano project copies sharing one plugin install.
- `airbyte_source`: `source-litmos` as Airbyte runs it; `pyairbyte_env` builds PyAirbyte's
  own virtualenv, where `pyairbyte_driver` runs.
- `marts_reference`: the dbt marts computed in Python from the sandbox's truth.
"""
