"""Litmos scalars (tap_litmos.parsing.values), against hand-computed expectations.

Integers, booleans, decimals and HTML entities.
"""

from __future__ import annotations

import html
from decimal import Decimal

import pytest

from tap_litmos.parsing import (
    LitmosValueError,
    to_boolean,
    to_decimal,
    to_integer,
    to_unescaped_text,
    unescape_html,
)

pytestmark = pytest.mark.unit


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
