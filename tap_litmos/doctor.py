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
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import email.utils
import json
import os
import re
import statistics
import sys
import time
import typing as t
from pathlib import Path
from urllib.parse import urlsplit
from xml.parsers import expat

import requests
from singer_sdk.exceptions import ConfigValidationError

from tap_litmos import redaction, settings
from tap_litmos.parsing import (
    LitmosBodyError,
    LitmosValueError,
    format_datetime,
    format_since,
    json_rows,
    nested_rows,
    parse_datetime,
    record_converter,
    xml_rows,
)
from tap_litmos.patterns import ChildStream, DateWindowStream
from tap_litmos.progress import duration
from tap_litmos.ratelimit import RateLimitBackendError
from tap_litmos.streams import STREAM_TYPES
from tap_litmos.tap import TapLitmos
from tap_litmos.transport import CrossHostRedirectError, LitmosSession, error_summary

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from tap_litmos.client import LitmosStream

#: Rows asked for per request: enough to compare, small enough to be cheap.
SAMPLE_ROWS = 10
#: A clock further off than this (seconds) fails the check: bookmarks and windows are
#: instants, and a minute is already wider than anything the tap's margins absorb.
CLOCK_TOLERANCE_SECONDS = 60
#: Earlier 7-day windows tried when the last one holds no `/org/*` rows to compare.
MAX_WINDOW_STEPS = 4
#: The most requests one run of the doctor sends (the account's budget is 100 a minute).
MAX_REQUESTS = 40
#: Which `/org/*` stream to compare first: the one with the most date fields.
COMPARE_FIRST = ("course_results", "module_results", "learning_path_results")
#: The report's name unless `--report` says otherwise.
DEFAULT_REPORT = "litmos-doctor.json"

PASS, FAIL, DIFFERS, NOT_CHECKED = "pass", "fail", "differs", "not checked"
_WCF_DATE = re.compile(r"/Date\((-?\d+)(?:([+-])(\d{2})(\d{2}))?\)/")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


# --- Date readings: the tap's, and the others a WCF service could mean -------------------


def _wcf_parts(raw: object) -> tuple[int, int] | None:
    """(epoch ms, offset minutes) of a `/Date(ms±hhmm)/` value, None for anything else."""
    match = _WCF_DATE.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        return None
    millis, sign, hours, minutes = match.groups()
    offset = int(hours or 0) * 60 + int(minutes or 0)
    return int(millis), -offset if sign == "-" else offset


def _wall_clock_reading(raw: object) -> dt.datetime | None:
    """The tap's reading: `UTC(ms) + offset` is the UTC wall clock (parse_datetime)."""
    return parse_datetime(raw)


def _utc_ms_reading(raw: object) -> dt.datetime | None:
    """.NET's documented reading: `ms` is the UTC instant, the offset informational."""
    parts = _wcf_parts(raw)
    if parts is None:
        return parse_datetime(raw)
    return _EPOCH + dt.timedelta(milliseconds=parts[0])


def _minus_offset_reading(raw: object) -> dt.datetime | None:
    """The sign the other way round: `UTC(ms) - offset`."""
    parts = _wcf_parts(raw)
    if parts is None:
        return parse_datetime(raw)
    return _EPOCH + dt.timedelta(milliseconds=parts[0], minutes=-parts[1])


#: name -> (what it means, how it decodes a raw JSON date). The first is the tap's.
READINGS: dict[str, tuple[str, Callable[[object], dt.datetime | None]]] = {
    "wall_clock": (
        "the tap's: /Date(ms±hhmm)/ is UTC(ms) + offset, a UTC wall clock",
        _wall_clock_reading,
    ),
    "utc_ms": ("/Date(ms±hhmm)/ is the UTC instant ms, the offset ignored", _utc_ms_reading),
    "minus_offset": ("/Date(ms±hhmm)/ is UTC(ms) - offset", _minus_offset_reading),
}


# --- One response, as the doctor keeps it ----------------------------------------------


@dataclasses.dataclass
class Answer:
    """What one request got: status, host, the rows (never reported) and the shapes."""

    stream: str
    fmt: str
    status: int | None
    host: str | None = None
    message: str | None = None
    rows: list[dict] = dataclasses.field(default_factory=list)
    #: JSON: the wrapper's key (None: a bare array); XML: "Root/Row".
    shape: str | None = None
    #: Seconds Litmos's `Date` header was ahead of this machine's clock.
    clock_offset: float | None = None
    params: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A 200 with a body the tap can read."""
        return self.status == 200 and self.message is None  # noqa: PLR2004


def json_wrapper(body: bytes) -> str | None:
    """The key of a ``{"Name": [...]}`` JSON page, None for a bare array."""
    data = json.loads(body)
    if isinstance(data, dict) and len(data) == 1:
        return next(iter(data))
    return None


def xml_names(body: bytes) -> str:
    """``Root/Row``: the names of an XML page's root and first row element."""
    names: list[str] = []

    def start(name: str, _attrs: object) -> None:
        if len(names) < 2:  # noqa: PLR2004
            names.append(name.rpartition("}")[2])

    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.Parse(body, True)  # noqa: FBT003
    return "/".join(names) if len(names) > 1 else f"{names[0]}/(no rows)"


def _refuse(*_args: object) -> t.NoReturn:
    msg = "XML with a document type declaration is refused"
    raise LitmosBodyError(msg)


# --- The doctor -------------------------------------------------------------------------


class Doctor:
    """Runs every check against one account and builds the report (a JSON-ready dict)."""

    def __init__(
        self,
        tap: TapLitmos,
        *,
        regions: Mapping[str, str] = settings.REGION_URLS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Check the account `tap`'s config names; `regions` are the hosts to try."""
        self.tap = tap
        self.config = tap.config
        self.regions = dict(regions)
        self.clock = clock
        self.base_url = settings.base_url(self.config)
        if not self.config.get("api_url"):
            self.base_url = self.regions[self.config.get("region") or "us"].rstrip("/")
        self.answers: list[Answer] = []
        self._sessions: dict[str, LitmosSession] = {}

    # --- Requests ------------------------------------------------------------------

    def _session(self, base: str) -> LitmosSession:
        if base not in self._sessions:
            self._sessions[base] = LitmosSession(base)
        return self._sessions[base]

    def ask(
        self, stream: LitmosStream, fmt: str = "json", base: str | None = None, **extra: t.Any
    ) -> Answer:
        """One GET of `stream`'s endpoint: `SAMPLE_ROWS` rows, in `fmt`, with `extra`."""
        base = base or self.base_url
        path = stream.path.replace("{when}", "past")
        params = {"source": self.config.get("source", "tap-litmos"), "start": 0}
        params |= {"limit": SAMPLE_ROWS, **extra}
        if fmt == "json":
            params["format"] = "json"
        accept = "application/json" if fmt == "json" else "application/xml"
        headers = {
            "apikey": self.config["api_key"],
            "Accept": accept,
            "Content-Type": accept,
            "User-Agent": f"tap-litmos-doctor/{self.tap.plugin_version}",
        }
        answer = Answer(stream.name, fmt, None, params=dict(params))
        self.answers.append(answer)
        self.tap.request_budget.acquire()
        sent = self.clock()
        try:
            response = self._session(base).get(
                base + path,
                params=params,
                headers=headers,
                timeout=float(self.config.get("request_timeout", 300)),
            )
        except CrossHostRedirectError as exc:
            answer.message = str(exc)
            return answer
        except requests.exceptions.RequestException as exc:
            answer.message = f"no answer ({type(exc).__name__})"
            return answer
        self._read(answer, response, (sent + self.clock()) / 2, stream)
        return answer

    def _read(
        self, answer: Answer, response: requests.Response, local: float, stream: LitmosStream
    ) -> None:
        answer.status = response.status_code
        answer.host = urlsplit(response.url).hostname
        date = response.headers.get("Date")
        if date:
            with contextlib.suppress(TypeError, ValueError):
                # The header has whole seconds: its instant lies within the next second.
                sent_at = email.utils.parsedate_to_datetime(date).timestamp() + 0.5
                answer.clock_offset = sent_at - local
        if response.status_code != 200:  # noqa: PLR2004
            answer.message = error_summary(response)
            return
        body = response.content
        try:
            if answer.fmt == "json":
                answer.shape = json_wrapper(body)
                rows = json_rows(body, wrappers=stream.wrappers)
            else:
                answer.shape = xml_names(body)
                rows = xml_rows(body)
        except (LitmosBodyError, ValueError, expat.ExpatError) as exc:
            answer.message = f"a body the tap cannot read: {exc}"
            return
        answer.rows = stream.flatten(rows)

    @property
    def requests_sent(self) -> int:
        """How many requests this run of the doctor has sent."""
        return len(self.answers)

    # --- The checks ----------------------------------------------------------------

    def default_streams(self) -> list[LitmosStream]:
        """Every stream a run reads by default, in the order of the catalog."""
        streams = [self.tap.streams[cls.name] for cls in STREAM_TYPES]
        return [s for s in streams if s.selected_by_default]

    def run(self) -> dict[str, t.Any]:
        """Every check, in at most `MAX_REQUESTS` requests: the report."""
        streams = self.default_streams()
        checks: dict[str, dict[str, t.Any]] = {}
        first = self.ask(streams[0])  # users: also the key, source and region check
        checks["connection"] = self.check_connection(first)
        if checks["connection"]["status"] == PASS or first.status not in {None, 401}:
            access = self.check_access(streams, first)
            checks["access"] = access
            checks["dates"] = self.check_dates(streams)
            checks["wrappers"] = self.check_wrappers()
            checks["fields"] = self.check_fields(streams)
        checks["clock"] = self.check_clock()
        for name in ("access", "dates", "wrappers", "fields"):
            checks.setdefault(name, {"status": NOT_CHECKED, "why": "the key was refused"})
        order = ("connection", "clock", "access", "dates", "wrappers", "fields")
        checks = {name: checks[name] for name in order}
        return {
            "tool": "tap-litmos-doctor",
            "version": self.tap.plugin_version,
            "passed": all(c["status"] == PASS for c in checks.values()),
            "requests": self.requests_sent,
            "checks": checks,
        }

    def check_connection(self, first: Answer) -> dict[str, t.Any]:
        """The key, `source` and region: which host answered the first request."""
        region = "api_url" if self.config.get("api_url") else self.config.get("region") or "us"
        result: dict[str, t.Any] = {
            "host": first.host,
            "region": region,
            "http_status": first.status,
            "source_characters": len(str(self.config.get("source", "tap-litmos"))),
        }
        if first.ok:
            return {"status": PASS, **result}
        result["message"] = first.message
        if first.status == 401 and region != "api_url":  # noqa: PLR2004
            users = self.tap.streams["users"]
            for other, url in self.regions.items():
                if other != region and self.ask(users, base=url.rstrip("/")).ok:
                    result["key_works_in_region"] = other
                    break
        return {"status": FAIL, **result}

    def check_clock(self) -> dict[str, t.Any]:
        """Litmos's clock against this machine's: the median over every `Date` header."""
        offsets = [a.clock_offset for a in self.answers if a.clock_offset is not None]
        if not offsets:
            return {"status": NOT_CHECKED, "why": "no response carried a Date header"}
        offset = round(statistics.median(offsets))
        within = abs(offset) <= CLOCK_TOLERANCE_SECONDS
        return {
            "status": PASS if within else FAIL,
            "offset_seconds": offset,
            "tolerance_seconds": CLOCK_TOLERANCE_SECONDS,
            "responses": len(offsets),
        }

    def _window(self, steps_back: int = 0) -> dict[str, str]:
        """`since`/`to` of the 7-day window ending a day from now, `steps_back` earlier."""
        to = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        to -= steps_back * DateWindowStream.MAX_SPAN
        since = to - DateWindowStream.MAX_SPAN
        return {"since": format_since(since), "to": format_since(to)}

    def check_access(self, streams: Sequence[LitmosStream], first: Answer) -> dict[str, t.Any]:
        """Whether this key may read each default stream's endpoint (one request each)."""
        results: dict[str, dict[str, t.Any]] = {}
        for stream in streams:
            if stream.parent_stream_type is not None and not isinstance(stream, ChildStream):
                parent = stream.parent_stream_type.name
                results[stream.name] = {
                    "status": None,
                    "note": f"no request of its own: inside {parent}",
                }
                continue
            if stream.name == first.stream:
                answer = first
            elif isinstance(stream, DateWindowStream):
                answer = self.ask(stream, **self._window())
            else:
                answer = self.ask(stream)
            results[stream.name] = {
                "status": answer.status,
                "rows": len(answer.rows),
                "message": answer.message,
            }
        refused = sorted(n for n, r in results.items() if r.get("message"))
        return {"status": FAIL if refused else PASS, "refused": refused, "streams": results}

    def check_dates(self, streams: Sequence[LitmosStream]) -> dict[str, t.Any]:
        """JSON against XML for achievements and one `/org/*` stream: whether the dates agree."""
        compared = []
        achievements = self.tap.streams["achievements"]
        json_answer = self._first_json(achievements)
        if json_answer is not None and json_answer.rows:
            compared.append(self._compare(achievements, json_answer))
        windowed = self._org_sample(streams)
        if windowed is not None:
            compared.append(self._compare(*windowed))
        if not compared:
            return {"status": NOT_CHECKED, "why": "no rows to compare", "compared": []}
        failed = any(
            c.get("message") or c["date_values_disagreeing"] or c["fields_differing"]
            for c in compared
        )
        if len(compared) < 2 and not failed:  # noqa: PLR2004
            return {
                "status": NOT_CHECKED,
                "why": "only one of achievements and the /org/* streams had rows",
                "compared": compared,
            }
        return {"status": FAIL if failed else PASS, "compared": compared}

    def _first_json(self, stream: LitmosStream) -> Answer | None:
        return next(
            (a for a in self.answers if a.stream == stream.name and a.fmt == "json" and a.ok),
            None,
        )

    def _org_sample(self, streams: Sequence[LitmosStream]) -> tuple[LitmosStream, Answer] | None:
        """An `/org/*` stream's JSON answer with rows, looking back a few weeks if need be."""
        readable = [s for s in streams if isinstance(s, DateWindowStream) and self._first_json(s)]
        readable.sort(key=lambda s: COMPARE_FIRST.index(s.name) if s.name in COMPARE_FIRST else 9)
        for stream in readable:
            answer = self._first_json(stream)
            if answer is not None and answer.rows:
                return stream, answer
        for steps in range(1, MAX_WINDOW_STEPS + 1):
            if not readable or self.requests_sent >= MAX_REQUESTS - 2:
                break
            answer = self.ask(readable[0], **self._window(steps))
            if answer.ok and answer.rows:
                return readable[0], answer
        return None

    def _compare(self, stream: LitmosStream, json_answer: Answer) -> dict[str, t.Any]:
        extra = {k: v for k, v in json_answer.params.items() if k in {"since", "to"}}
        xml_answer = self.ask(stream, "xml", **extra)
        result: dict[str, t.Any] = {"stream": stream.name, "xml_status": xml_answer.status}
        if not xml_answer.ok:
            result |= {"message": xml_answer.message, "records": 0}
            result |= {"date_values": 0, "date_values_disagreeing": 0, "fields_differing": []}
            return result
        return result | compare_records(stream, json_answer.rows, xml_answer.rows)

    def check_wrappers(self) -> dict[str, t.Any]:
        """The JSON shape of every list read (a bare array assumed) and the XML names."""
        json_shapes = {a.stream: a.shape for a in self.answers if a.fmt == "json" and a.ok}
        xml_shapes = {a.stream: a.shape for a in self.answers if a.fmt == "xml" and a.ok}
        wrapped = {s: w for s, w in json_shapes.items() if w is not None}
        return {
            "status": DIFFERS if wrapped else PASS,
            "json_wrapped": wrapped,
            "json_bare_arrays": sorted(s for s, w in json_shapes.items() if w is None),
            "xml_root_and_row": xml_shapes,
        }

    def check_fields(self, streams: Sequence[LitmosStream]) -> dict[str, t.Any]:
        """Fields Litmos sent (JSON or XML) that the stream's schema lacks: names only."""
        unknown: dict[str, list[str]] = {}
        by_name = {s.name: s for s in streams}
        for answer in self.answers:
            stream = by_name.get(answer.stream)
            if stream is None or not answer.ok:
                continue
            found = set().union(*(row.keys() for row in answer.rows)) - _known(stream)
            if found:
                unknown[stream.name] = sorted(set(unknown.get(stream.name, ())) | found)
            for child in stream.child_streams:  # days inside sessions
                if child.name in by_name and not isinstance(child, ChildStream):
                    rows = [r for row in answer.rows for r in nested_rows(row.get("Days"))]
                    found = set().union(*(r.keys() for r in rows)) - _known(child)
                    if found:
                        unknown[child.name] = sorted(set(unknown.get(child.name, ())) | found)
        return {"status": DIFFERS if unknown else PASS, "unknown": unknown}


def _known(stream: LitmosStream) -> set[str]:
    return set(stream.schema["properties"]) | set(stream.known_fields)


@dataclasses.dataclass
class _DateTally:
    """The date values of one comparison: how many, how far apart, which readings agree."""

    values: int = 0
    disagreeing: int = 0
    offsets: dict[str, int] = dataclasses.field(default_factory=dict)
    agreeing: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(READINGS, 0))

    def add(self, raw: object, from_json: str | None, from_xml: str | None) -> None:
        """One date field of one record: the raw JSON value and both decoded values."""
        if from_json is None and from_xml is None:
            return
        self.values += 1
        if from_json != from_xml:
            self.disagreeing += 1
            label = "null in one format"
            if from_json is not None and from_xml is not None:
                delta = parse_datetime(from_json) - parse_datetime(from_xml)  # type: ignore[operator]
                label = str(round(delta.total_seconds()))
            self.offsets[label] = self.offsets.get(label, 0) + 1
        for reading, (_, decode) in READINGS.items():
            with contextlib.suppress(TypeError, ValueError):
                got = decode(raw)
                if (format_datetime(got) if got else None) == from_xml:
                    self.agreeing[reading] += 1

    def readings_that_agree(self) -> list[str]:
        return [r for r, n in self.agreeing.items() if self.values and n == self.values]


def compare_records(
    stream: LitmosStream, json_rows_: Iterable[dict], xml_rows_: Iterable[dict]
) -> dict[str, t.Any]:
    """Decode both samples as the tap does and compare them record by record (by key).

    Returns counts, the names of fields whose values differ, and for date-times the
    offsets (JSON minus XML, seconds) and the readings of the JSON dates that agree.
    """
    dates = [
        name
        for name, prop in stream.schema["properties"].items()
        if prop.get("format") == "date-time"
    ]
    from_json = _decoded(stream, json_rows_, unescape_html=True)
    from_xml = _decoded(stream, xml_rows_, unescape_html=False)
    common = sorted(set(from_json) & set(from_xml), key=repr)
    differing: set[str] = set()
    tally = _DateTally()
    for key in common:
        (json_raw, json_record), (_, xml_record) = from_json[key], from_xml[key]
        differing |= {
            name
            for name in json_record
            if name not in dates and json_record[name] != xml_record[name]
        }
        for name in dates:
            tally.add(json_raw.get(name), json_record[name], xml_record[name])
    return {
        "records": len(common),
        "key": list(stream.primary_keys or ()),
        "only_in_json": len(set(from_json) - set(from_xml)),
        "only_in_xml": len(set(from_xml) - set(from_json)),
        "date_fields": dates,
        "date_values": tally.values,
        "date_values_disagreeing": tally.disagreeing,
        "offsets_seconds": tally.offsets,
        "readings_that_agree": tally.readings_that_agree(),
        "fields_differing": sorted(differing),
    }


def _decoded(
    stream: LitmosStream, rows: Iterable[dict], *, unescape_html: bool
) -> dict[tuple, tuple[dict, dict]]:
    """Key -> (raw row, record as the tap emits it); bad values become null, as in a run."""
    convert = record_converter(
        stream.schema, unescape_html=unescape_html, on_bad_value=lambda *_: None
    )
    keys = tuple(stream.primary_keys or ())
    out = {}
    for row in rows:
        try:
            record = convert(row)
        except LitmosValueError:
            continue
        out[tuple(record[k] for k in keys)] = (row, record)
    return out


# --- The readable report ----------------------------------------------------------------

_LABELS = {
    "connection": "key, source, region",
    "clock": "clock",
    "access": "access per stream",
    "dates": "dates, JSON vs XML",
    "wrappers": "row wrappers",
    "fields": "fields",
}


def _hours(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{abs(seconds) // 3600} h"
    return f"{abs(seconds)} s"


def _connection_text(check: dict[str, t.Any]) -> str:
    if check["status"] == PASS:
        where = "api_url" if check["region"] == "api_url" else f"region {check['region']}"
        return (
            f"{check['host']} ({where}) answered 200: the key is accepted and the"
            f" source ({check['source_characters']} characters) too"
        )
    text = f"{check['host'] or 'no host'} answered {check['http_status']}: {check['message']}"
    if "key_works_in_region" in check:
        text += f"; the key works in region {check['key_works_in_region']}: set region to it"
    return text


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def _clock_text(check: dict[str, t.Any]) -> str:
    if check["status"] == NOT_CHECKED:
        return check["why"]
    offset = check["offset_seconds"]
    if offset == 0:
        return "Litmos's Date header agrees with this machine's clock (to the second)"
    way = "ahead of" if offset > 0 else "behind"
    text = f"Litmos's Date header is {duration(abs(offset))} {way} this machine's clock"
    if check["status"] == FAIL:
        text += (
            f", more than {check['tolerance_seconds']} s: one of the two clocks is wrong"
            " (check this machine's NTP); bookmarks and date windows are instants"
        )
    return text


def _access_text(check: dict[str, t.Any]) -> str:
    streams = check.get("streams", {})
    requested = [n for n, r in streams.items() if r.get("status") is not None or r.get("message")]
    if check["status"] == PASS:
        return f"this key reads all {len(requested)} endpoints of the default streams"
    return (
        f"this key may not read {len(check['refused'])} of {len(requested)} endpoints:"
        f" {', '.join(check['refused'])} (the stream table below has Litmos's answers)"
    )


def _dates_text(check: dict[str, t.Any]) -> list[str]:
    if check["status"] == NOT_CHECKED and not check.get("compared"):
        return [check["why"]]
    lines = []
    for c in check["compared"]:
        if c.get("message"):
            lines.append(f"{c['stream']}: the XML request failed: {c['message']}")
            continue
        head = (
            f"{c['stream']}: {_count(c['records'], 'record')},"
            f" {_count(c['date_values'], 'date value')}"
        )
        if not c["date_values_disagreeing"]:
            lines.append(f"{head}: JSON and XML agree, the tap's date reading holds")
        else:
            spread = ", ".join(
                f"{n} by {duration(abs(int(k)))} ({'JSON earlier' if int(k) < 0 else 'JSON later'})"
                if k.lstrip("-").isdigit()
                else f"{n} {k}"
                for k, n in sorted(c["offsets_seconds"].items())
            )
            agree = [r for r in c["readings_that_agree"] if r != "wall_clock"]
            fix = (
                f'; the reading "{READINGS[agree[0]][0]}" would make them agree'
                if agree
                else "; no reading the doctor knows makes them agree"
            )
            lines.append(f"{head}: {c['date_values_disagreeing']} disagree, {spread}{fix}")
        if c["fields_differing"]:
            lines.append(
                f"{c['stream']}: other fields differ between JSON and XML:"
                f" {', '.join(c['fields_differing'])}"
            )
    if check["status"] == NOT_CHECKED:
        lines.append(check["why"])
    return lines


def _wrappers_text(check: dict[str, t.Any]) -> list[str]:
    xml = sorted(set(check["xml_root_and_row"].values()))
    xml_text = f"XML roots/rows: {', '.join(xml)}" if xml else "no XML read"
    if check["status"] == PASS:
        count = len(check["json_bare_arrays"])
        return [f"JSON: a bare array on all {count} endpoints, as assumed", xml_text]
    wrapped = len(check["json_wrapped"])
    return [
        (
            f'JSON: {wrapped} endpoints wrap their list in an object, {{"Name": [...]}}, not'
            " the bare array assumed (the tap reads both; the names are in the stream table)"
        ),
        xml_text,
    ]


def _fields_text(check: dict[str, t.Any]) -> str:
    if check["status"] == PASS:
        return "every field Litmos sent is in the stream's schema"
    return (
        f"{len(check['unknown'])} streams get fields their schema lacks, not extracted"
        " (the names are in the stream table)"
    )


def _stream_note(name: str, checks: dict[str, t.Any]) -> str:
    access = checks["access"]["streams"][name]
    if access.get("message") or access.get("note"):
        return access.get("message") or access.get("note")
    notes = []
    if wrapper := checks["wrappers"].get("json_wrapped", {}).get(name):
        notes.append(f'JSON {{"{wrapper}": [...]}}')
    if unknown := checks["fields"].get("unknown", {}).get(name):
        notes.append(f"not in the schema: {', '.join(unknown)}")
    return "; ".join(notes)


def readable(report: dict[str, t.Any], base_url: str) -> str:
    """The report for a person: one line per check, then per stream."""
    checks = report["checks"]
    lines = [f"tap-litmos-doctor {report['version']}: {report['requests']} requests to {base_url}"]
    texts: dict[str, t.Callable[[dict[str, t.Any]], str | list[str]]] = {
        "connection": _connection_text,
        "clock": _clock_text,
        "access": _access_text,
        "dates": _dates_text,
        "wrappers": _wrappers_text,
        "fields": _fields_text,
    }
    for name, check in checks.items():
        if check["status"] == NOT_CHECKED and "why" in check and name != "dates":
            body: str | list[str] = check["why"]
        else:
            body = texts[name](check)
        for i, text in enumerate([body] if isinstance(body, str) else body):
            status = check["status"].upper() if i == 0 else ""
            label = _LABELS[name] if i == 0 else ""
            lines.append(f"  {status:<12}{label:<22}{text}")
    streams = checks["access"].get("streams", {})
    if streams:
        lines += ["", f"  {'stream':<24}{'HTTP':>6}{'rows':>6}  note"]
        for name, result in streams.items():
            status, rows = result.get("status"), result.get("rows", "")
            note = _stream_note(name, checks)
            lines.append(f"  {name:<24}{status or '-':>6}{rows!s:>6}  {note}".rstrip())
    verdict = (
        "every check passed"
        if report["passed"]
        else "not every check passed: "
        + ", ".join(n for n, c in checks.items() if c["status"] != PASS)
    )
    lines += ["", f"Result: {verdict}."]
    return "\n".join(lines)


# --- Command line -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-litmos-doctor",
        description=(
            "Check a Litmos account against what tap-litmos assumes (key, region, clock,"
            f" access, dates, shapes), in at most {MAX_REQUESTS} requests."
        ),
    )
    parser.add_argument(
        "--config",
        required=True,
        help="the tap's config file, or ENV to read TAP_LITMOS_* variables (as Meltano sets)",
    )
    parser.add_argument(
        "--report",
        default=DEFAULT_REPORT,
        help=f"where to write the JSON report (default {DEFAULT_REPORT}); no key, no values",
    )
    return parser


def environment_config(environ: Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The settings in `TAP_LITMOS_*` variables, typed as the schema says.

    What `--config ENV` reads: Meltano puts every declared setting of the extractor in a
    command's environment, as text. (The SDK's own reader leaves numbers as text.)
    """
    environ = os.environ if environ is None else environ
    config: dict[str, t.Any] = {}
    for name, prop in settings.CONFIG_SCHEMA["properties"].items():
        text = environ.get(f"TAP_LITMOS_{name.upper()}")
        if text is None:
            continue
        types = prop.get("type", [])
        try:
            if "integer" in types:
                config[name] = int(text)
            elif "number" in types:
                config[name] = float(text)
            elif "array" in types:
                config[name] = json.loads(text) if text.startswith("[") else text.split(",")
            else:
                config[name] = text
        except ValueError:
            config[name] = text  # validation names the setting
    return config


def _load_tap(config_arg: str) -> TapLitmos:
    if config_arg == "ENV":
        config = environment_config()
    else:
        config = json.loads(Path(config_arg).read_text())
    redaction.protect(redaction.secret_values(config))
    return TapLitmos(config=config, parse_env_config=False, validate_config=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the doctor; 0 when every check passed, 1 otherwise."""
    args = _parser().parse_args(argv)
    try:
        tap = _load_tap(args.config)
    except ConfigValidationError as exc:
        for problem in exc.errors:
            sys.stderr.write(redaction.redact(f"{problem}\n"))
        sys.stderr.write("Invalid configuration: nothing was requested from Litmos.\n")
        return 1
    except (OSError, ValueError) as exc:
        sys.stderr.write(redaction.redact(f"Cannot read the config {args.config}: {exc}\n"))
        return 1
    doctor = Doctor(tap)
    try:
        report = doctor.run()
    except RateLimitBackendError as exc:
        sys.stderr.write(redaction.redact(f"{exc}\n"))
        return 1
    finally:
        tap.request_budget.close()
    path = Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redaction.redact(json.dumps(report, indent=2)) + "\n")
    text = readable(report, doctor.base_url)
    sys.stdout.write(redaction.redact(f"{text}\nJSON report (no key, no values): {path}\n"))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
