"""Achievements on the wire: JSON and XML rows and pages, the WCF date rule, HTML entities.

Achievements render through the one renderer every endpoint uses (litmos_sandbox.render),
their rows' texts cached; the value encoders are litmos_sandbox.wire's.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from litmos_sandbox import Options
from litmos_sandbox.data import (
    LITMOS_FIELDS,
    Achievement,
    Dataset,
    as_row,
    parse_iso_wall,
    stored_id,
)
from litmos_sandbox.render import PageRenderer
from litmos_sandbox.spec import ACHIEVEMENTS
from litmos_sandbox.wire import decode_wcf_json_date, html_encode, wcf_json_date, xml_date

pytestmark = pytest.mark.unit

XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def renderer(**options: object) -> PageRenderer:
    """A renderer as the sandbox makes one: achievements rendered once each."""
    out = PageRenderer(**options)  # type: ignore[arg-type]
    out.cache_rows("achievements", stored_id, as_row)
    return out


def achievement_json(a: Achievement, *, utc_dates: bool = False) -> str:
    page = renderer(json_utc_dates=utc_dates).json_page(ACHIEVEMENTS, [a]).decode()
    return page[1:-1]


def achievement_xml(a: Achievement, *, nil_style: str = "i") -> str:
    page = renderer(xml_nil_style=nil_style).xml_page(ACHIEVEMENTS, [a]).decode()
    return page[page.index("<Achievement>") : page.rindex("</Achievements>")]


def make(**kw: object) -> Achievement:
    base = {
        "user_id": "-bA-I8jb-tXUrvqg",
        "title": "Health & Safety/101 'A'",
        "description": "",
        "achievement_date": datetime(2024, 7, 1, 12),
        "course_id": "gqYHrApPYuQ1",
        "compliant_till_date": None,
        "score": None,
        "result": "Complete",
        "type": "Course Completed",
        "first_name": "Zoë",
        "last_name": '<O\'Brien> & "Sons"',
        "achievement_id": 91450502,
        "certificate_id": None,
    }
    base.update(kw)
    return Achievement(**base)  # type: ignore[arg-type]


def test_hand_computed_summer_example() -> None:
    # 2024-07-01 12:00 read as PDT (-07:00) is 19:00 UTC = 1719860400 s.
    assert wcf_json_date(datetime(2024, 7, 1, 12)) == "/Date(1719860400000-0700)/"
    assert wcf_json_date(datetime(2024, 1, 15, 12)) == "/Date(1705348800000-0800)/"
    assert wcf_json_date(datetime(2024, 7, 1, 12), utc=True) == "/Date(1719835200000)/"


@pytest.mark.parametrize(
    ("wall", "suffix"),
    [
        (datetime(2024, 7, 1, 12), "-0700"),  # summer
        (datetime(2024, 1, 15, 12, 0, 0, 123000), "-0800"),  # winter
        (datetime(2024, 3, 10, 2, 30), "-0800"),  # nonexistent: fold=0 offset
        (datetime(2024, 3, 10, 1, 59, 59, 997000), "-0800"),
        (datetime(2024, 3, 10, 3), "-0700"),
        (datetime(2024, 11, 3, 1, 30), "-0700"),  # ambiguous: fold=0 = first (PDT)
        (datetime(2024, 11, 3, 2), "-0800"),
        (datetime(2025, 11, 2, 1, 30, 0, 500000), "-0700"),
    ],
)
def test_json_date_round_trip(wall: datetime, suffix: str) -> None:
    text = wcf_json_date(wall)
    assert text.endswith(suffix + ")/")
    ms = int(text[len("/Date(") : -len(suffix + ")/")])
    minutes = (-1 if suffix[0] == "-" else 1) * (int(suffix[1:3]) * 60 + int(suffix[3:]))
    decoded = datetime(1970, 1, 1) + timedelta(milliseconds=ms, minutes=minutes)
    assert decoded == wall
    utc = wcf_json_date(wall, utc=True)
    ms_utc = int(utc[len("/Date(") : -2])
    assert datetime.fromtimestamp(ms_utc / 1000, timezone.utc).replace(tzinfo=None) == wall


def test_every_generated_date_round_trips() -> None:
    for a in Dataset.generate(4, 10, 2000).rows():
        assert decode_wcf_json_date(wcf_json_date(a.achievement_date)) == a.achievement_date
        if a.compliant_till_date:
            assert (
                decode_wcf_json_date(wcf_json_date(a.compliant_till_date)) == a.compliant_till_date
            )


def test_html_encode() -> None:
    assert html_encode("a & b < c > d \"e\" 'f'") == (
        "a &amp; b &lt; c &gt; d &quot;e&quot; &#39;f&#39;"
    )
    assert html_encode("&amp;") == "&amp;amp;"  # no special-casing of existing entities
    assert html_encode("Zoë") == "Zoë"
    assert html_encode("Zoë", latin1_entities=True) == "Zo&#235;"
    assert html.unescape(html_encode('<O\'Brien> & "Sons"')) == '<O\'Brien> & "Sons"'


def test_json_record_text() -> None:
    text = achievement_json(make(compliant_till_date=datetime(2025, 1, 1), certificate_id=7))
    assert text.startswith(
        '{"UserId":"-bA-I8jb-tXUrvqg","Title":"Health &amp; Safety\\/101 &#39;A&#39;"'
    )
    assert '"AchievementDate":"\\/Date(1719860400000-0700)\\/"' in text
    assert '"CompliantTillDate":"\\/Date(1735718400000-0800)\\/"' in text
    assert '"Score":null' in text and '"Description":""' in text
    assert '"AchievementId":91450502,"CertificateId":7}' in text
    assert "/" not in text.replace("\\/", "")  # every slash escaped like WCF
    assert "Zoë" in text  # non-ASCII stays raw
    obj = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    assert [k for k, _ in obj] == list(LITMOS_FIELDS)
    assert dict(obj)["LastName"] == "&lt;O&#39;Brien&gt; &amp; &quot;Sons&quot;"
    utc = achievement_json(make(), utc_dates=True)
    assert '"AchievementDate":"\\/Date(1719835200000)\\/"' in utc


def test_xml_dates_trim_fraction() -> None:
    assert xml_date(datetime(2024, 3, 10, 9, 30, 0, 123000)) == "2024-03-10T09:30:00.123"
    assert xml_date(datetime(2024, 3, 10, 9, 30, 0, 120000)) == "2024-03-10T09:30:00.12"
    assert xml_date(datetime(2024, 3, 10, 9, 30, 0, 100000)) == "2024-03-10T09:30:00.1"
    assert xml_date(datetime(2024, 3, 10, 9, 30)) == "2024-03-10T09:30:00"


def test_xml_record_nil_empty_and_plain_text() -> None:
    a = make(score="")
    text = achievement_xml(a)
    assert "<Description/>" in text and "<Score/>" in text
    assert '<CompliantTillDate i:nil="true"/>' in text
    assert '<CertificateId i:nil="true"/>' in text
    assert '<LastName>&lt;O\'Brien&gt; &amp; "Sons"</LastName>' in text  # not HTML-encoded
    bare = achievement_xml(a, nil_style="bare")
    assert '<CompliantTillDate nil="true"/>' in bare


def test_xml_page_parses_to_truth() -> None:
    rows = Dataset.generate(4, 10, 300).rows()
    body = renderer().xml_page(ACHIEVEMENTS, rows)
    root = ET.fromstring(body)
    assert root.tag == "Achievements"
    assert [c.tag for c in root[0]] == list(LITMOS_FIELDS)
    for el, a in zip(root, rows):
        truth = a.to_truth()
        for child in el:
            want = truth[child.tag]
            if want is None:
                assert child.get(XSI + "nil") == "true" and not child.text
            elif child.tag in ("AchievementDate", "CompliantTillDate"):
                assert parse_iso_wall(child.text).replace(tzinfo=timezone.utc) == want
            elif child.tag in ("AchievementId", "CertificateId"):
                assert int(child.text) == want
            else:
                assert (child.text or "") == want
                assert child.get(XSI + "nil") is None


def test_json_page_decodes_to_truth() -> None:
    rows = Dataset.generate(4, 10, 300).rows()
    data = json.loads(renderer().json_page(ACHIEVEMENTS, rows))
    assert isinstance(data, list) and len(data) == len(rows)
    for obj, a in zip(data, rows):
        truth = a.to_truth()
        for name, value in obj.items():
            want = truth[name]
            if name in ("AchievementDate", "CompliantTillDate") and value is not None:
                assert decode_wcf_json_date(value).replace(tzinfo=timezone.utc) == want
            elif isinstance(value, str):
                assert html.unescape(value) == want
            else:
                assert value == want


def test_empty_pages() -> None:
    r = renderer()
    assert r.json_page(ACHIEVEMENTS, []) == b"[]"
    assert r.xml_page(ACHIEVEMENTS, []) == (
        b'<Achievements xmlns:i="http://www.w3.org/2001/XMLSchema-instance"/>'
    )
    bare = renderer(xml_nil_style="bare").xml_page(ACHIEVEMENTS, [make()])
    assert b'nil="true"' in bare and b"i:nil" not in bare
    with pytest.raises(ValueError, match="xml_nil_style"):
        Options(xml_nil_style="x")


def test_cached_pages_equal_fresh_ones() -> None:
    stored = Dataset.generate(4, 50, 3000).query_stored(count=1000)
    cached = renderer()
    first_json = cached.json_page(ACHIEVEMENTS, stored)  # fills the caches
    first_xml = cached.xml_page(ACHIEVEMENTS, stored)
    fresh = PageRenderer()  # no cache: the rows as tuples, as every other endpoint's
    rows = [as_row(r) for r in stored]
    assert cached.json_page(ACHIEVEMENTS, stored) == first_json
    assert first_json == fresh.json_page(ACHIEVEMENTS, rows)
    assert cached.xml_page(ACHIEVEMENTS, stored) == first_xml
    assert first_xml == fresh.xml_page(ACHIEVEMENTS, rows)
