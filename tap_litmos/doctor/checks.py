"""The doctor's checks: connection, clock, access, dates, wrappers and fields, in one run.

`Doctor.run` asks the account in at most `MAX_REQUESTS` requests and returns the report,
a JSON-ready dict of names, types, counts, statuses and offsets (never a value or the
key). Each check is a method; what one request sends is `answers.build_request`.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
import typing as t

import requests

from tap_litmos import settings
from tap_litmos.doctor.answers import Answer, build_request, read_answer
from tap_litmos.doctor.readings import compare_records
from tap_litmos.parsing import format_since, nested_rows
from tap_litmos.patterns import DateWindowStream, FanOutStream
from tap_litmos.streams import STREAM_TYPES
from tap_litmos.transport import CrossHostRedirectError, LitmosSession

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tap_litmos.client import LitmosStream
    from tap_litmos.tap import TapLitmos

#: A clock further off than this (seconds) fails the check: bookmarks and windows are
#: instants, and a minute is already wider than anything the tap's margins absorb.
CLOCK_TOLERANCE_SECONDS = 60
#: Earlier 7-day windows tried when the last one holds no `/org/*` rows to compare.
MAX_WINDOW_STEPS = 4
#: The most requests one run of the doctor sends (the account's budget is 100 a minute).
MAX_REQUESTS = 40
#: Which `/org/*` stream to compare first: the one with the most date fields.
COMPARE_FIRST = ("course_results", "module_results", "learning_path_results")

PASS, FAIL, DIFFERS, NOT_CHECKED = "pass", "fail", "differs", "not checked"


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

    def _session(self, base: str) -> LitmosSession:
        if base not in self._sessions:
            self._sessions[base] = LitmosSession(base)
        return self._sessions[base]

    def ask(
        self,
        stream: LitmosStream,
        fmt: str = "json",
        base: str | None = None,
        parent: Mapping[str, str] | None = None,
        **extra: t.Any,
    ) -> Answer:
        """One GET of `stream`'s endpoint: `SAMPLE_ROWS` rows, in `fmt`, with `extra`.

        `parent`: a fan-out's context (the ids of the one parent record it is asked for).
        """
        base = base or self.base_url
        request = build_request(self.tap, stream, fmt=fmt, base=base, extra=extra, parent=parent)
        answer = Answer(stream.name, fmt, None, params=dict(request.params))
        self.answers.append(answer)
        self.tap.run.request_budget.acquire()
        sent = self.clock()
        try:
            response = self._session(base).get(
                request.url,
                params=request.params,
                headers=request.headers,
                timeout=float(self.config.get("request_timeout", 300)),
            )
        except CrossHostRedirectError as exc:
            answer.message = str(exc)
            return answer
        except requests.exceptions.RequestException as exc:
            answer.message = f"no answer ({type(exc).__name__})"
            return answer
        read_answer(answer, response, (sent + self.clock()) / 2, stream)
        return answer

    @property
    def requests_sent(self) -> int:
        """How many requests this run of the doctor has sent."""
        return len(self.answers)

    def default_streams(self) -> list[LitmosStream]:
        """Every stream a run reads by default, in the order of the catalog."""
        rank = {cls: i for i, cls in enumerate(STREAM_TYPES)}
        streams = [self._stream(name) for name in self.tap.streams]
        return sorted((s for s in streams if s.selected_by_default), key=lambda s: rank[type(s)])

    def _stream(self, name: str) -> LitmosStream:
        """The tap's stream `name` (the tap discovers `STREAM_TYPES`, LitmosStreams all)."""
        return t.cast("LitmosStream", self.tap.streams[name])

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
            users = self._stream("users")
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

    def _window(self, steps_back: int = 0) -> dict[str, t.Any]:
        """`since`/`to` of the 7-day window ending a day from now, `steps_back` earlier."""
        to = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        to -= steps_back * DateWindowStream.MAX_SPAN
        since = to - DateWindowStream.MAX_SPAN
        return {"since": format_since(since), "to": format_since(to)}

    def check_access(self, streams: Sequence[LitmosStream], first: Answer) -> dict[str, t.Any]:
        """Whether this key may read each default stream's endpoint (one request each)."""
        results: dict[str, dict[str, t.Any]] = {}
        for stream in streams:
            if stream.parent_stream_type is not None and not isinstance(stream, FanOutStream):
                tap_streams = self.tap.streams.values()
                parent = next(p.name for p in tap_streams if stream in p.child_streams)
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
        for stream in self.fan_outs():
            results[stream.name] = self._fan_out_access(stream)
        refused = sorted(n for n, r in results.items() if r.get("message") and not r.get("fan_out"))
        # An opt-in fan-out a key may not read fails no run that leaves it out: named, not failed.
        refused_fan_outs = sorted(
            n for n, r in results.items() if r.get("message") and r.get("fan_out")
        )
        return {
            "status": FAIL if refused else PASS,
            "refused": refused,
            "refused_fan_outs": refused_fan_outs,
            "streams": results,
        }

    def fan_outs(self) -> list[LitmosStream]:
        """The opt-in fan-out streams, in the order of the catalog."""
        streams = [self._stream(cls.name) for cls in STREAM_TYPES]
        return [s for s in streams if isinstance(s, FanOutStream)]

    def _fan_out_access(self, stream: LitmosStream) -> dict[str, t.Any]:
        """One request of a fan-out, for the first record its parent's answer holds."""
        parent = self._stream(t.cast("type[LitmosStream]", stream.parent_stream_type).name)
        parent_answer = self._first_json(parent)
        rows = parent_answer.rows if parent_answer is not None else []  # flattened already
        if not rows:
            why = f"opt-in fan-out: not asked, {parent.name} gave no record to ask for"
            return {"status": None, "fan_out": True, "note": why}
        context = {key: rows[0].get(field) for key, field in parent.child_context_keys.items()}
        answer = self.ask(stream, parent={k: str(v) for k, v in context.items()})
        return {
            "status": answer.status,
            "rows": len(answer.rows),
            "message": answer.message,
            "fan_out": True,
            "note": f"opt-in fan-out: asked for one {parent.name} record",
        }

    def check_dates(self, streams: Sequence[LitmosStream]) -> dict[str, t.Any]:
        """JSON against XML for achievements and one `/org/*` stream: whether the dates agree."""
        compared = []
        achievements = self._stream("achievements")
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
                if child.name in by_name and not isinstance(child, FanOutStream):
                    rows = [r for row in answer.rows for r in nested_rows(row.get("Days"))]
                    found = set().union(*(r.keys() for r in rows)) - _known(by_name[child.name])
                    if found:
                        unknown[child.name] = sorted(set(unknown.get(child.name, ())) | found)
        return {"status": DIFFERS if unknown else PASS, "unknown": unknown}


def _known(stream: LitmosStream) -> set[str]:
    return set(stream.schema["properties"]) | set(stream.known_fields)
