"""The schema-driven record converter (tap_litmos.parsing.records).

JSON and XML rows make identical records; a bad value is named, or nulled where allowed.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tap_litmos.parsing import (
    LitmosValueError,
    json_rows,
    record_converter,
    xml_rows,
)

pytestmark = pytest.mark.unit

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
