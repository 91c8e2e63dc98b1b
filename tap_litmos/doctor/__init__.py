"""`tap-litmos-doctor`: a first contact with a Litmos account, checking what the tap assumes.

The tap was built from public clients and docs, never against a real account
(`docs/litmos-api.md`). What it inferred decides whether every date is right and every
stream reads, so before a first backfill this command asks the account, in at most
about 40 requests (`MAX_REQUESTS`):

- **connection**: the key, `source` and region: which host answered; on a refused key,
  which other region's host accepts it;
- **clock**: Litmos's clock against this machine's, from the `Date` headers;
- **access**: for each default stream, whether this key may read its endpoint (one small
  request each: 200, or the status and Litmos's message);
- **dates**: the first rows of `achievements` and of one `/org/*` stream, read in JSON
  and in XML and decoded by the tap: the tap's date reading (`parse_datetime`, the
  project decision in `docs/litmos-api.md`) holds for this account only if both agree; if
  not, by how much, and which other reading would make them agree;
- **wrappers**: the JSON shape of each list (a bare array, as assumed, or
  ``{"Name": [...]}``) and the XML root and row names;
- **fields**: the fields Litmos sends that the tap's schemas lack (names only).

It prints a readable report and writes a JSON one that a user can attach to a bug
report: names, types, counts, statuses and offsets, never a value or the key (every
byte goes through `redaction.redact`). The exit code is 0 only when every check passed.

The modules: `answers` (what one request sends and what the doctor keeps of it), `readings`
(the date readings, JSON against XML), `checks` (the `Doctor`), `report` (the readable
report), `cli` (`main`, the console script `tap_litmos.doctor:main`).
"""

from __future__ import annotations

from tap_litmos.doctor.answers import SAMPLE_ROWS, Answer, build_request, json_wrapper, xml_names
from tap_litmos.doctor.checks import (
    CLOCK_TOLERANCE_SECONDS,
    COMPARE_FIRST,
    DIFFERS,
    FAIL,
    MAX_REQUESTS,
    MAX_WINDOW_STEPS,
    NOT_CHECKED,
    PASS,
    Doctor,
)
from tap_litmos.doctor.cli import DEFAULT_REPORT, environment_config, main
from tap_litmos.doctor.readings import READINGS, compare_records
from tap_litmos.doctor.report import readable

__all__ = [
    "CLOCK_TOLERANCE_SECONDS",
    "COMPARE_FIRST",
    "DEFAULT_REPORT",
    "DIFFERS",
    "FAIL",
    "MAX_REQUESTS",
    "MAX_WINDOW_STEPS",
    "NOT_CHECKED",
    "PASS",
    "READINGS",
    "SAMPLE_ROWS",
    "Answer",
    "Doctor",
    "build_request",
    "compare_records",
    "environment_config",
    "json_wrapper",
    "main",
    "readable",
    "xml_names",
]
