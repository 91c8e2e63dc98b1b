"""`source-litmos`: tap-litmos speaking the Airbyte protocol (spec, check, discover, read).

One code path with `tap-litmos`: the same `TapLitmos` runs in-process with the same
settings and validation, streams, requests, request budget, retries, parsing and
bookmarks. Only two things differ: the command line (`cli.py`) and the message writer
(`messages.py`), which turns the tap's Singer messages into Airbyte ones.

- `spec.py`: the connection specification, generated from the tap's settings schema.
- `catalog.py`: the Airbyte catalog from the tap's streams, and the configured catalog
  and per-stream Airbyte state turned into the tap's Singer catalog and state.
- `messages.py`: RECORD, STATE, LOG and TRACE lines on stdout, every byte redacted.
- `cli.py`: the four commands; a failure is a TRACE ERROR and a non-zero exit.
"""
