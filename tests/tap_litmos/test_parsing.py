"""The value rules of tap_litmos.parsing, each against hand-computed expectations."""

from __future__ import annotations

import datetime as dt
import html
import random
from decimal import Decimal

import pytest

from tap_litmos.parsing import (
    LitmosBodyError,
    LitmosShapeError,
    LitmosValueError,
    XmlElements,
    format_datetime,
    format_since,
    json_rows,
    parse_datetime,
    record_converter,
    to_boolean,
    to_datetime_text,
    to_decimal,
    to_integer,
    to_unescaped_text,
    unescape_html,
    xml_rows,
)

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc

# Each JSON value below was computed by hand from the WCF rule: the UTC wall clock W is
# read as America/Los_Angeles local time to get the epoch milliseconds, and the suffix
# is the Los Angeles offset at W. Decoding must give back W as the UTC instant.
WCF_CASES = [
    # summer (PDT): W 2024-07-01 12:00 -> LA local = 19:00Z = 1719860400 s
    ("/Date(1719860400000-0700)/", "2024-07-01T12:00:00.000Z"),
    # winter (PST): W 2024-01-15 08:30 -> 16:30Z = 1705336200 s
    ("/Date(1705336200000-0800)/", "2024-01-15T08:30:00.000Z"),
    # spring forward, 2024-03-10: one second before the change (PST) ...
    ("/Date(1710064799000-0800)/", "2024-03-10T01:59:59.000Z"),
    # ... and at 03:00 PDT: the epoch moved one second, the wall clock 1 h 1 s.
    ("/Date(1710064800000-0700)/", "2024-03-10T03:00:00.000Z"),
    # fall back, 2024-11-03: 01:30 happens twice (PDT then PST), both mean W = 01:30
    ("/Date(1730622600000-0700)/", "2024-11-03T01:30:00.000Z"),
    ("/Date(1730626200000-0800)/", "2024-11-03T01:30:00.000Z"),
    # after the change (PST): W 02:00 -> 10:00Z
    ("/Date(1730628000000-0800)/", "2024-11-03T02:00:00.000Z"),
    # milliseconds survive
    ("/Date(1719860400990-0700)/", "2024-07-01T12:00:00.990Z"),
    # no offset: DateTimeKind.Utc, already UTC
    ("/Date(1710064800000)/", "2024-03-10T10:00:00.000Z"),
    # a positive offset is added the same way
    ("/Date(1710064800123+0100)/", "2024-03-10T11:00:00.123Z"),
    # .NET DateTime.MinValue must not crash
    ("/Date(-62135596800000)/", "0001-01-01T00:00:00.000Z"),
]


@pytest.mark.parametrize(("wire", "expected"), WCF_CASES)
def test_wcf_json_dates_decode_to_the_utc_wall_clock(wire: str, expected: str) -> None:
    assert to_datetime_text(wire) == expected


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        # XML: the UTC wall clock without a zone, .NET trims trailing fraction zeros
        ("2024-03-10T09:30:00.123", "2024-03-10T09:30:00.123Z"),
        ("2024-03-10T09:30:00.12", "2024-03-10T09:30:00.120Z"),
        ("2024-03-10T09:30:00", "2024-03-10T09:30:00.000Z"),
        ("2024-03-10T09:30:00.1234567", "2024-03-10T09:30:00.123Z"),
        ("2024-03-10", "2024-03-10T00:00:00.000Z"),
        ("2024-03-10 09:30:05", "2024-03-10T09:30:05.000Z"),
        # an explicit zone is honoured
        ("2016-12-09T07:54:27Z", "2016-12-09T07:54:27.000Z"),
        ("2024-03-10T09:30:00-07:00", "2024-03-10T16:30:00.000Z"),
        ("2021-09-20T23:25:47.590+0000", "2021-09-20T23:25:47.590Z"),
        ("2024-03-10T01:00:00+05:30", "2024-03-09T19:30:00.000Z"),
        # US text from a few Litmos resources
        ("12/31/2025 12:00:00 AM", "2025-12-31T00:00:00.000Z"),
        ("1/1/2100 12:00:00 PM", "2100-01-01T12:00:00.000Z"),
        ("3/4/2024 1:05:09 PM", "2024-03-04T13:05:09.000Z"),
    ],
)
def test_iso_and_text_dates(wire: str, expected: str) -> None:
    assert to_datetime_text(wire) == expected


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_empty_dates_are_null(empty: str | None) -> None:
    assert to_datetime_text(empty) is None


@pytest.mark.parametrize(
    "bad", ["not-a-date", "/Date(abc)/", "2024-13-01", 12, "2024-02-30T00:00:00"]
)
def test_bad_dates_are_refused(bad: object) -> None:
    with pytest.raises(LitmosValueError):
        parse_datetime(bad)


def test_canonical_format_is_fixed_width_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    value = dt.datetime(2024, 5, 6, 9, 8, 7, 654321, tzinfo=plus_two)
    assert format_datetime(value) == "2024-05-06T07:08:07.654Z"
    naive = dt.datetime(2024, 5, 6, 9, 8, 7)
    assert format_datetime(naive) == "2024-05-06T09:08:07.000Z"


def test_canonical_text_orders_like_time() -> None:
    instants = [
        dt.datetime(2024, 1, 1, 0, 0, 0, 999000, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 0, 0, 1, tzinfo=UTC),
        dt.datetime(2023, 12, 31, 23, 59, 59, 1000, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
    ]
    assert sorted(format_datetime(i) for i in instants) == [
        format_datetime(i) for i in sorted(instants)
    ]


def test_since_is_seconds_floored_utc_wall_clock() -> None:
    value = dt.datetime(2024, 3, 10, 1, 30, 0, 999000, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    assert format_since(value) == "2024-03-10 09:30:00"


@pytest.mark.parametrize(
    ("wire", "expected"),
    [(42, 42), ("42", 42), (" 7 ", 7), ("", None), (None, None), ("4.0", 4), (Decimal(3), 3)],
)
def test_integers(wire: object, expected: int | None) -> None:
    assert to_integer(wire) == expected


@pytest.mark.parametrize("bad", ["4.5", "abc", True, "NaN", 1.5])
def test_bad_integers_are_refused(bad: object) -> None:
    with pytest.raises(LitmosValueError):
        to_integer(bad)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("False", False),
        ("1", True),
        ("0", False),
        ("", None),
        (None, None),
    ],
)
def test_booleans(wire: object, expected: bool | None) -> None:
    assert to_boolean(wire) is expected


def test_string_false_is_false_not_truthy() -> None:
    # The SDK's own conformance would turn "false" into True; ours must not.
    assert to_boolean("false") is False


def test_decimals_keep_their_digits() -> None:
    assert str(to_decimal("0.00")) == "0.00"
    assert to_decimal(Decimal("100.0")) == Decimal("100.0")
    assert to_decimal(50) == Decimal(50)
    assert to_decimal("") is None
    with pytest.raises(LitmosValueError):
        to_decimal("fifty")


@pytest.mark.parametrize(
    "text",
    [
        "&amp;lt;b&amp;gt;",
        "&amp;#39;",
        "Caf&eacute; &amp; &#233;t&#xE9;",
        "a &amp b",
        "&&amp;&",
        "&quot;x&quot; &lt;&gt; &#39;",
        "no entities",
        "&#39;&amp;quot;",
    ],
)
def test_fast_unescape_agrees_with_the_standard_library(text: str) -> None:
    assert unescape_html(text) == html.unescape(text)


def test_html_entities_are_decoded() -> None:
    assert to_unescaped_text("Smith &amp; Sons &#39;Q1&#39; &lt;b&gt;") == "Smith & Sons 'Q1' <b>"
    assert to_unescaped_text("plain") == "plain"
    assert to_unescaped_text(None) is None


SCHEMA = {
    "type": "object",
    "properties": {
        "Name": {"type": ["string", "null"]},
        "When": {"type": ["string", "null"], "format": "date-time"},
        "Count": {"type": ["integer", "null"]},
        "Active": {"type": ["boolean", "null"]},
        "Price": {"type": ["number", "null"]},
        "Missing": {"type": ["string", "null"]},
    },
}


def test_json_and_xml_rows_convert_to_identical_records() -> None:
    json_page = (
        b'[{"Name":"Tom &amp; Jerry&#39;s","When":"\\/Date(1719860400000-0700)\\/",'
        b'"Count":3,"Active":false,"Price":0.00}]'
    )
    xml_page = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<Items xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Item>'
        b"<Name>Tom &amp; Jerry's</Name><When>2024-07-01T12:00:00</When>"
        b"<Count>3</Count><Active>false</Active><Price>0.00</Price></Item></Items>"
    )
    from_json = record_converter(SCHEMA, unescape_html=True)(json_rows(json_page)[0])
    from_xml = record_converter(SCHEMA, unescape_html=False)(xml_rows(xml_page)[0])
    expected = {
        "Name": "Tom & Jerry's",
        "When": "2024-07-01T12:00:00.000Z",
        "Count": 3,
        "Active": False,
        "Price": Decimal("0.00"),
        "Missing": None,
    }
    assert from_json == expected
    assert from_xml == expected
    assert list(from_xml) == list(SCHEMA["properties"])


def test_converter_names_the_bad_field() -> None:
    convert = record_converter(SCHEMA, unescape_html=False)
    with pytest.raises(LitmosValueError, match="field Count"):
        convert({"Name": "x", "Count": "many"})


def test_xml_nil_empty_and_nested() -> None:
    page = (
        b'<Things xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Thing>'
        b'<A i:nil="true"/><B nil="true"/><C/><D>text</D>'
        b"<Days><Day><Id>1</Id></Day><Day><Id>2</Id></Day></Days>"
        b"</Thing></Things>"
    )
    assert xml_rows(page) == [
        {
            "A": None,
            "B": None,
            "C": "",
            "D": "text",
            "Days": XmlElements(
                [("Day", XmlElements([("Id", "1")])), ("Day", XmlElements([("Id", "2")]))]
            ),
        }
    ]


def test_xml_empty_page() -> None:
    assert xml_rows(b'<Achievements xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>') == []


@pytest.mark.parametrize(
    "hostile",
    [
        # entity expansion ("billion laughs")
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<X><Y><Z>&b;</Z></Y></X>",
        # external entity
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<X><Y><Z>&e;</Z></Y></X>",
    ],
)
def test_xml_refuses_dtds_and_entities(hostile: bytes) -> None:
    with pytest.raises(LitmosBodyError):
        xml_rows(hostile)


def test_xml_truncated_is_a_body_error() -> None:
    with pytest.raises(LitmosBodyError):
        xml_rows(b"<Achievements><Achievement><UserId>ab")


def test_json_shapes() -> None:
    assert json_rows(b"[]") == []
    assert json_rows(b'[{"a":1}]') == [{"a": 1}]
    wrappers = ("Achievements", "Achievement")
    assert json_rows(b'{"Achievement":[{"a":1}]}', wrappers=wrappers) == [{"a": 1}]
    assert json_rows(b'{"Achievements":[{"a":1}]}', wrappers=wrappers) == [{"a": 1}]
    for bad in (b'[{"a":1}', b'{"a":1,"b":2}', b'"text"', b"[1,2]", b"<html>"):
        with pytest.raises(LitmosBodyError):
            json_rows(bad, wrappers=wrappers)


def test_only_a_declared_wrapper_holds_rows() -> None:
    # An error envelope is a single-key object holding a list too: read as rows, it
    # would be one record with every field null.
    envelope = b'{"Errors":[{"Message":"Authorization has been denied"}]}'
    with pytest.raises(LitmosShapeError, match="an error instead of rows: 'Authorization has"):
        json_rows(envelope, wrappers=("Courses", "Course"))
    with pytest.raises(LitmosShapeError, match="keys 'Users'"):
        json_rows(b'{"Users":[{"Id":"x"}]}', wrappers=("Courses", "Course"))


def test_json_floats_stay_exact() -> None:
    assert json_rows(b'[{"p":100.10}]')[0]["p"] == Decimal("100.10")


def test_the_fast_date_path_agrees_with_the_general_one() -> None:
    # JSON dates take a shortcut (no datetime objects); it must print exactly what the
    # general path prints, for any instant including negative epochs and leap days.
    rng = random.Random(2024)
    values = [rng.randint(-62_135_596_800_000, 253_402_300_799_000) for _ in range(5000)]
    values += [0, -1, 951_782_400_000, 1_709_164_800_999]  # epoch, 1999-12-31, leap days
    for millis in values:
        wire = f"/Date({millis})/"
        slow = format_datetime(
            dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=millis)
        )
        assert to_datetime_text(wire) == slow, wire


NESTED_SCHEMA = {
    "type": "object",
    "properties": {
        "Id": {"type": ["string", "null"]},
        "Address": {
            "type": ["object", "null"],
            "properties": {
                "City": {"type": ["string", "null"]},
                "Zip": {"type": ["integer", "null"]},
            },
        },
        "Tags": {"type": ["array", "null"], "items": {"type": ["string"]}},
        "Scores": {"type": ["array", "null"], "items": {"type": ["integer"]}},
        "Days": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "Id": {"type": ["integer", "null"]},
                    "Start": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        },
    },
}


@pytest.mark.parametrize(
    ("json_page", "xml_inner", "expected"),
    [
        (
            b'[{"Id":"a","Address":{"City":"Caf&#233;ville","Zip":"123"},"Tags":["x","y &amp; z"],'
            b'"Scores":[1,"2"],"Days":[{"Id":1,"Start":"\\/Date(1719860400000-0700)\\/"}]}]',
            b"<Id>a</Id><Address><City>Caf\xc3\xa9ville</City><Zip>123</Zip></Address>"
            b"<Tags><string>x</string><string>y &amp; z</string></Tags>"
            b"<Scores><int>1</int><int>2</int></Scores>"
            b"<Days><Day><Id>1</Id><Start>2024-07-01T12:00:00</Start></Day></Days>",
            {
                "Id": "a",
                "Address": {"City": "Caféville", "Zip": 123},
                "Tags": ["x", "y & z"],
                "Scores": [1, 2],
                "Days": [{"Id": 1, "Start": "2024-07-01T12:00:00.000Z"}],
            },
        ),
        (
            b'[{"Id":"b","Address":null,"Tags":[],"Scores":null,"Days":[]}]',
            b'<Id>b</Id><Address i:nil="true"/><Tags/><Scores i:nil="true"/><Days/>',
            {"Id": "b", "Address": None, "Tags": [], "Scores": None, "Days": []},
        ),
    ],
)
def test_nested_shapes_read_alike_from_json_and_xml(
    json_page: bytes, xml_inner: bytes, expected: dict
) -> None:
    xml_page = (
        b'<Rows xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Row>'
        + xml_inner
        + b"</Row></Rows>"
    )
    from_json = record_converter(NESTED_SCHEMA, unescape_html=True)(json_rows(json_page)[0])
    from_xml = record_converter(NESTED_SCHEMA, unescape_html=False)(xml_rows(xml_page)[0])
    assert from_json == expected
    assert from_xml == expected


def test_a_single_object_body_is_one_row_where_the_endpoint_says_so() -> None:
    assert json_rows(b'{"Id":"u1","Name":"x"}', single_object=True) == [{"Id": "u1", "Name": "x"}]
    assert xml_rows(b"<User><Id>u1</Id><Name>x</Name></User>", single_object=True) == [
        {"Id": "u1", "Name": "x"}
    ]
    with pytest.raises(LitmosBodyError):
        json_rows(b'{"Id":"u1","Name":"x"}')  # where a list belongs, it is a shape error


def test_a_bad_value_nulls_only_its_field_when_a_handler_is_given() -> None:
    seen: list[tuple[str, object]] = []
    convert = record_converter(
        SCHEMA,
        unescape_html=False,
        strict=("Name",),
        on_bad_value=lambda _row, field, raw: seen.append((field, raw)),
    )
    record = convert({"Name": "x", "Count": "many", "When": "soon", "Price": "1.5"})
    assert record == {
        "Name": "x",
        "When": None,
        "Count": None,
        "Active": None,
        "Price": Decimal("1.5"),
        "Missing": None,
    }
    assert seen == [("When", "soon"), ("Count", "many")]
    with pytest.raises(LitmosValueError, match="field Name"):
        convert({"Name": {"not": "text"}, "Count": "many"})
