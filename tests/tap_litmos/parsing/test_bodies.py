"""Page bodies (tap_litmos.parsing.bodies): what the JSON and XML decoders accept and refuse.

JSON shapes and wrappers; XML nils, nesting, DTD refusal and truncation.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tap_litmos.parsing import (
    LitmosBodyError,
    LitmosShapeError,
    XmlElements,
    json_rows,
    xml_rows,
)

pytestmark = pytest.mark.unit


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


def test_a_single_object_body_is_one_row_where_the_endpoint_says_so() -> None:
    assert json_rows(b'{"Id":"u1","Name":"x"}', single_object=True) == [{"Id": "u1", "Name": "x"}]
    assert xml_rows(b"<User><Id>u1</Id><Name>x</Name></User>", single_object=True) == [
        {"Id": "u1", "Name": "x"}
    ]
    with pytest.raises(LitmosBodyError):
        json_rows(b'{"Id":"u1","Name":"x"}')  # where a list belongs, it is a shape error
