"""What every stream promises, checked once as a contract over the whole catalog.

Two runs of the real tap against one sandbox over HTTP, one per `response_format`,
with every stream selected (the fan-outs too) and a `start_date` well before the
data. Each stream's records must equal the sandbox's ground truth (ids and values),
with unique keys, fields named and ordered as its schema, JSON equal to XML, values of
the declared types, and every id that points at another stream found in that stream's
output. Expectations come from the sandbox: its specs (`spec(name)`: keys, field
kinds, references), its ground truth and its request log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t

import pytest

from litmos_sandbox import LitmosSandbox
from litmos_sandbox.spec import ORG_STREAMS
from tap_litmos.streams import STREAM_TYPES
from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import API_KEY, canonical, comparable, key_of, parse_utc
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.helpers.tap import TapRun

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc
FORMATS = ("json", "xml")
STREAMS = LitmosSandbox.streams()  # every endpoint the sandbox serves
FAN_OUT = [s.name for s in STREAM_TYPES if not s.selected_by_default]  # a request per parent
#: The sandbox's field kinds and the JSON Schema each must have in the tap's SCHEMA.
KIND_TYPES = {
    "str": ("string", None),
    "int": ("integer", None),
    "dec": ("number", None),
    "bool": ("boolean", None),
    "wcf": ("string", "date-time"),
    "isoz": ("string", "date-time"),
    "org": ("string", "date-time"),
    "strs": ("array", None),
}
CANONICAL_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
#: The /org/* changes fall in the year before the sandbox's anchor, and an assignment's
#: CreatedDate (its UpdatedDate when never changed) up to 90 days before that.
DAYS_BEFORE_ANCHOR = 470


@dataclasses.dataclass
class Contract:
    sandbox: LitmosSandbox
    start: dt.datetime
    runs: dict[str, TapRun]
    before: dt.datetime  # the clock before the first run began
    after: dt.datetime  # ... and after the last one ended
    out_of_range: dict[str, list[tuple]]  # keys a run covering [start, run start) skips
    requests: dict[str, list[dict]]  # the sandbox's request log of each run

    def records(self, fmt: str, stream: str) -> list[dict]:
        return self.runs[fmt].records(stream)

    def schema_message(self, fmt: str, stream: str) -> dict:
        (message,) = [
            m for m in self.runs[fmt].messages if m["type"] == "SCHEMA" and m["stream"] == stream
        ]
        return message

    def expected(self, fmt: str, stream: str) -> dict[tuple, dict]:
        """Truth rows by key; for a date-window stream those in [start, run start)."""
        spec = self.sandbox.spec(stream)
        rows = self.sandbox.truth(stream)
        if spec.family == "org":
            run_start = parse_utc(self.runs[fmt].bookmark(stream))
            # The walk ends at Litmos's clock: its Date header, in whole seconds.
            assert self.before - dt.timedelta(seconds=1) <= run_start <= self.after
            field = spec.date_field
            rows = [r for r in rows if self.start <= r[field] < run_start]
        elif spec.family == "achievements":  # start_date is its first `since` (inclusive)
            rows = [r for r in rows if r[spec.date_field] >= self.start]
        expected = [comparable(r) for r in rows]
        return {key_of(r, spec.key): r for r in expected}


@pytest.fixture(scope="module")
def contract() -> Iterator[Contract]:
    with LitmosSandbox(seed=31, users=20, achievements=300, api_key=API_KEY) as sandbox:
        anchor = sandbox.world.anchor.replace(tzinfo=UTC)
        start = anchor - dt.timedelta(days=DAYS_BEFORE_ANCHOR)
        before = dt.datetime.now(UTC)
        # One change before start_date and one after the run begins, in every date-window
        # stream: a run covering [start_date, run start) must not emit either.
        out_of_range: dict[str, list[tuple]] = {}
        for stream in ORG_STREAMS:
            spec = sandbox.spec(stream)
            too_early = start - dt.timedelta(days=3)
            too_late = before + dt.timedelta(hours=1)
            if stream == "login_activity":  # the date is part of the key: add new logins
                user = sandbox.truth("users")[3]["Id"]
                rows = [
                    sandbox.add(stream, UserId=user, LoginDate=when)
                    for when in (too_early, too_late)
                ]
            else:
                first, second = sandbox.truth(stream)[:2]
                rows = [
                    sandbox.touch(stream, key_of(first, spec.key), UpdatedDate=too_early),
                    sandbox.touch(stream, key_of(second, spec.key), UpdatedDate=too_late),
                ]
            out_of_range[stream] = [key_of(comparable(r), spec.key) for r in rows]
        config = {
            "api_key": API_KEY,
            "api_url": sandbox.base_url,
            "max_requests_per_minute": 0,
            "start_date": start.date().isoformat(),
        }
        catalog = catalog_selecting(config, *STREAMS)
        runs, requests = {}, {}
        for fmt in FORMATS:
            sandbox.reset_log()
            runs[fmt] = run_tap({**config, "response_format": fmt}, catalog=catalog)
            requests[fmt] = list(sandbox.requests)
        after = dt.datetime.now(UTC)
        yield Contract(sandbox, start, runs, before, after, out_of_range, requests)


def test_the_catalog_has_every_endpoint_of_the_sandbox(contract: Contract) -> None:
    config = {"api_key": API_KEY, "api_url": contract.sandbox.base_url}
    catalog = catalog_selecting(config)
    assert sorted(e["tap_stream_id"] for e in catalog["streams"]) == sorted(STREAMS)
    assert sorted(STREAMS) == sorted(s.name for s in STREAM_TYPES)
    assert set(FAN_OUT) < set(STREAMS)


def test_the_start_date_is_before_every_change(contract: Contract) -> None:
    # So a date-window stream's truth is all its rows but the two moved out of range.
    for stream in ORG_STREAMS:
        field = contract.sandbox.spec(stream).date_field
        early = [r for r in contract.sandbox.truth(stream) if r[field] < contract.start]
        assert len(early) == 1, stream


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stream", STREAMS)
def test_records_equal_the_ground_truth(contract: Contract, stream: str, fmt: str) -> None:
    spec = contract.sandbox.spec(stream)
    records = contract.records(fmt, stream)
    keys = [key_of(r, spec.key) for r in records]
    assert len(keys) == len(set(keys)), "a key was emitted twice"
    expected = contract.expected(fmt, stream)
    assert expected, "the sandbox has rows for every stream"
    got = dict(zip(keys, records, strict=True))
    assert sorted(got, key=repr) == sorted(expected, key=repr)  # the same ids ...
    for key, record in got.items():  # ... and the same values
        assert record == expected[key], key
    if spec.family == "org":
        # Exactly the two rows moved out of [start_date, run start) are not emitted.
        assert len(contract.sandbox.truth(stream)) - len(expected) == 2
        assert not set(contract.out_of_range[stream]) & set(got)
        # Ascending replication key: a window's rows are emitted in order.
        dates = [r[spec.date_field] for r in records]
        assert dates == sorted(dates)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stream", STREAMS)
def test_fields_are_named_and_ordered_as_the_schema(
    contract: Contract, stream: str, fmt: str
) -> None:
    spec = contract.sandbox.spec(stream)
    columns = [f.name for f in spec.fields + spec.parents if f.kind != "list"]
    schema = contract.schema_message(fmt, stream)["schema"]
    assert list(schema["properties"]) == columns  # Litmos's wire order, parent ids last
    for record in contract.records(fmt, stream):
        assert list(record) == columns


@pytest.mark.parametrize("stream", STREAMS)
def test_json_and_xml_give_identical_records(contract: Contract, stream: str) -> None:
    from_json, from_xml = (contract.records(fmt, stream) for fmt in FORMATS)
    assert from_json
    assert from_json == from_xml


@pytest.mark.parametrize("stream", STREAMS)
def test_schema_types_keys_and_replication_keys_follow_the_sandbox_spec(
    contract: Contract, stream: str
) -> None:
    spec = contract.sandbox.spec(stream)
    message = contract.schema_message("json", stream)
    properties = message["schema"]["properties"]
    for field in spec.fields + spec.parents:
        if field.kind == "list":
            continue
        json_type, fmt = KIND_TYPES[field.kind]
        declared = properties[field.name]
        types = declared["type"] if isinstance(declared["type"], list) else [declared["type"]]
        assert json_type in types, (field.name, declared)
        assert set(types) <= {json_type, "null"}, (field.name, declared)
        assert declared.get("format") == fmt, (field.name, declared)
    assert list(message["key_properties"]) == list(spec.key)
    incremental = spec.family in ("org", "achievements")
    assert message.get("bookmark_properties") == ([spec.date_field] if incremental else None)
    assert contract.schema_message("xml", stream) == message


def _value_problem(value: object, declared: dict) -> str | None:  # noqa: PLR0911 (one per type)
    types = declared["type"] if isinstance(declared["type"], list) else [declared["type"]]
    if value is None:
        return None if "null" in types else "null where not nullable"
    if "boolean" in types:
        return None if isinstance(value, bool) else "not a bool"
    if "integer" in types:
        return None if type(value) is int else "not an int"
    if "number" in types:
        return None if type(value) in (int, float) else "not a number"
    if "array" in types:
        items = declared["items"]
        ok = isinstance(value, list) and all(_value_problem(v, items) is None for v in value)
        return None if ok else "not a list of its items' type"
    if declared.get("format") == "date-time":
        ok = isinstance(value, str) and CANONICAL_DATE.fullmatch(value)
        return None if ok else "not YYYY-MM-DDTHH:MM:SS.mmmZ"
    return None if isinstance(value, str) else "not a string"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_value_has_the_type_its_schema_declares(contract: Contract, fmt: str) -> None:
    seen: dict[str, set[str]] = {}
    for stream in STREAMS:
        properties = contract.schema_message(fmt, stream)["schema"]["properties"]
        for record in contract.records(fmt, stream):
            for name, value in record.items():
                problem = _value_problem(value, properties[name])
                assert problem is None, f"{stream}.{name} = {value!r}: {problem}"
                if value is not None:
                    kind = properties[name].get("format") or str(properties[name]["type"])
                    seen.setdefault(kind, set()).add(stream)
    # The data really has every kind of value, in many streams.
    assert len(seen["date-time"]) >= 15
    assert {"['integer', 'null']", "['number', 'null']", "['boolean', 'null']"} <= set(seen)


@pytest.mark.parametrize("fmt", FORMATS)
def test_course_custom_fields_cost_one_request_and_their_values_one_per_course(
    contract: Contract, fmt: str
) -> None:
    paths = [r["path"] for r in contract.requests[fmt] if r["status"] == 200]
    assert paths.count("/v1.svc/coursecustomfields") == 1
    courses = [r["Id"] for r in contract.records(fmt, "courses")]
    per_course = [p for p in paths if re.fullmatch(r"/v1\.svc/courses/[^/]+/coursecustomfields", p)]
    assert sorted(per_course) == sorted(f"/v1.svc/courses/{c}/coursecustomfields" for c in courses)
    # Some courses have no value set (an empty answer), and a dropdown has its choices.
    with_values = {r["CourseId"] for r in contract.records(fmt, "course_custom_field_values")}
    assert 0 < len(with_values) < len(courses)
    assert any(r["Dropdown"] for r in contract.records(fmt, "course_custom_fields"))


def test_dates_keep_their_milliseconds(contract: Contract) -> None:
    # Canonical text of the truth's instants, not just "looks like a date".
    dates = {
        r["UpdatedDate"]
        for r in contract.records("json", "course_results")
        if not r["UpdatedDate"].endswith("000Z")
    }
    assert dates
    truth = {canonical(r["UpdatedDate"]) for r in contract.sandbox.truth("course_results")}
    assert dates <= truth


# --- Joins, on the tap's output --------------------------------------------------------

#: Joins the sandbox's specs do not declare (its data keeps them all the same).
EXTRA_JOINS = [
    ("ilt_sessions", "LocationId", ("locations", "LocationId")),
    ("ilt_sessions", "InstructorUserId", ("instructors", "Id")),
    ("user_badges", "UserId", ("users", "Id")),
]
#: Values that point nowhere on purpose.
NO_TARGET = {
    ("teams", "ParentTeamId"): {""},  # a root team
    ("ilt_sessions", "InstructorUserId"): {"0"},  # "Multiple Instructors"
}


def _joins(contract: Contract) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(stream, field, target streams, target field): every declared reference."""
    joins = []
    for stream in STREAMS:
        spec = contract.sandbox.spec(stream)
        for field in spec.fields + spec.parents:
            if field.ref in STREAMS:
                targets: tuple[str, ...] = (field.ref,)
                if (stream, field.name) == ("achievements", "CourseId"):
                    targets = ("courses", "learning_paths")  # a course or a learning path
                joins.append((stream, field.name, targets, "Id"))
    joins += [(s, f, (target,), tf) for s, f, (target, tf) in EXTRA_JOINS]
    return joins


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_reference_points_at_a_record_of_its_stream(contract: Contract, fmt: str) -> None:
    checked = set()
    for stream, field, targets, target_field in _joins(contract):
        ids = {r[target_field] for target in targets for r in contract.records(fmt, target)}
        values = [r[field] for r in contract.records(fmt, stream)]
        allowed = NO_TARGET.get((stream, field), set()) | {None}
        dangling = [v for v in values if v not in ids and v not in allowed]
        assert not dangling, f"{stream}.{field} -> {targets}: {dangling[:5]}"
        if any(v in ids for v in values):
            checked.add((stream, field))
    # The joins the issue names, among all the others:
    assert {
        ("team_users", "TeamId"),
        ("team_users", "Id"),
        ("course_results", "UserId"),
        ("module_results", "UserId"),
        ("learning_path_results", "UserId"),
        ("course_modules", "CourseId"),
        ("ilt_session_days", "SessionId"),
        ("ilt_rollcall", "SessionId"),
        ("ilt_attendance", "SessionId"),
        ("achievements", "UserId"),
        ("achievements", "CourseId"),
        ("instructors", "Id"),
        ("ilt_sessions", "LocationId"),
        ("user_badges", "UserId"),
    } <= checked
    assert len(checked) >= 35


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_copied_from_a_referenced_record_agree_with_it(contract: Contract, fmt: str) -> None:
    # course_results.Name is its course's Name, team_users.OriginalUserId its user's
    # OriginalId ...: the same value, read from two endpoints, converts the same way.
    checked = 0
    for stream in STREAMS:
        spec = contract.sandbox.spec(stream)
        for field in spec.fields:
            if field.copy is None:
                continue
            ref_field, source = field.copy
            target = spec.field(ref_field).ref
            if target not in STREAMS or source not in contract.sandbox.spec(target).names:
                continue  # copied from a table no stream emits (modules, team ids)
            by_id = {r["Id"]: r for r in contract.records(fmt, target)}
            for record in contract.records(fmt, stream):
                assert record[field.name] == by_id[record[ref_field]][source], (
                    stream,
                    field.name,
                )
                checked += 1
    assert checked > 900


# --- The other shapes Litmos gives the same data ------------------------------------------

WIRE_VARIANTS = [
    ("json", {"json_utc_dates": True}),  # /Date(ms)/ without an offset
    ("json", {"html_latin1_entities": True}),  # &eacute; rather than &#233;
    ("xml", {"xml_nil_style": "bare"}),  # nil="true" without the i: prefix
]


@pytest.mark.parametrize(
    ("fmt", "option"), WIRE_VARIANTS, ids=[next(iter(o)) for _, o in WIRE_VARIANTS]
)
def test_other_wire_variants_give_the_same_records_in_every_stream(
    contract: Contract, fmt: str, option: dict
) -> None:
    sandbox = contract.sandbox
    defaults = {name: sandbox.options[name] for name in option}
    config = {
        "api_key": API_KEY,
        "api_url": sandbox.base_url,
        "max_requests_per_minute": 0,
        "start_date": contract.start.date().isoformat(),
        "response_format": fmt,
    }
    sandbox.configure(**option)
    try:
        run = run_tap(config, catalog=catalog_selecting(config, *STREAMS))
    finally:
        sandbox.configure(**defaults)
    for stream in STREAMS:
        assert run.records(stream) == contract.records(fmt, stream), stream
