r"""How Litmos (a WCF REST service) puts values and errors on the wire.

JSON (docs/litmos-api.md §3.2-3.4): a bare array; strings HTML-encoded first (§3.3, §9 item 7);
dates as ``"\\/Date(ms-0700)\\/"`` under the project's reading of WCF (see "Project
decision: how tap-litmos reads Litmos dates"): the stored UTC wall clock is read as
America/Los_Angeles local time, ``ms`` is that instant's epoch ms and the suffix is that
local offset, so ``UTC(ms) + offset`` gives the wall clock back.

XML (§3.1, §3.3): ``<Achievements xmlns:i=...><Achievement>...`` in field order, nil as
``i:nil="true"``, empty strings as ``<X/>``, dates as the zone-less wall clock.

The value encoders and the error bodies live here; ``render.py`` puts whole rows and
pages of every endpoint together from them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone, tzinfo

from litmos_sandbox.data import EPOCH, to_ms


def _load_pacific() -> tzinfo:
    """America/Los_Angeles from the system tz database, else from the ``tzdata`` package."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:
        import importlib

        importlib.import_module("tzdata")  # makes zoneinfo find the bundled database
        ZoneInfo.clear_cache()
        return ZoneInfo("America/Los_Angeles")


PACIFIC = _load_pacific()
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# --- text encoding ----------------------------------------------------------------------

# ASP.NET HtmlEncode: the five characters below (docs/litmos-api.md §3.3 "HTML entities inside
# JSON strings"). One translate() pass, so "&" is never encoded twice.
_HTML_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
# .NET Framework's HtmlEncode also writes U+00A0..U+00FF as numeric entities ("Zoë" ->
# "Zo&#235;"). Off by default (the brief lists the five above); a server option turns it on.
_HTML_TABLE_LATIN1 = dict(_HTML_TABLE)
_HTML_TABLE_LATIN1.update({c: f"&#{c};" for c in range(0xA0, 0x100)})
_XML_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def html_encode(text: str, *, latin1_entities: bool = False) -> str:
    """Encode like ASP.NET ``HttpUtility.HtmlEncode``."""
    return text.translate(_HTML_TABLE_LATIN1 if latin1_entities else _HTML_TABLE)


def xml_escape(text: str) -> str:
    """Escape element text (plain XML escaping, no HTML double-encoding)."""
    return text.translate(_XML_TABLE)


# --- dates --------------------------------------------------------------------------------


def pacific_offset(wall: datetime) -> timedelta:
    """Offset of America/Los_Angeles at local time ``wall``, fold=0.

    fold=0 in the spring-forward gap gives the offset before the change (-08:00) and in
    the ambiguous fall-back hour the first occurrence (-07:00). Using that one offset for
    both the number and the suffix keeps ``UTC(ms) + offset == wall`` for every value.
    """
    # US-Pacific changes offset only on whole local hours, so one lookup per hour is enough.
    hour = (wall.year, wall.month, wall.day, wall.hour)
    offset = _OFFSET_CACHE.get(hour)
    if offset is None:
        offset = wall.replace(tzinfo=PACIFIC, fold=0).utcoffset()
        if offset is None:  # pragma: no cover - zoneinfo always answers
            raise ValueError(wall)
        if len(_OFFSET_CACHE) > 100_000:
            _OFFSET_CACHE.clear()
        _OFFSET_CACHE[hour] = offset
    return offset


_OFFSET_CACHE: dict[tuple[int, int, int, int], timedelta] = {}


def wcf_json_date(wall: datetime, *, utc: bool = False, true_utc: bool = False) -> str:
    """The JSON date text *before* ``/`` escaping: ``/Date(1719860400000-0700)/``.

    ``utc=True`` gives the ``DateTimeKind.Utc`` form ``/Date(<UTC epoch ms>)/``.
    ``true_utc=True`` gives .NET's documented form for a Local-kind value: ``ms`` the true
    UTC instant and the suffix the Pacific offset at it, informational only (the project's
    reading, ``UTC(ms) + offset``, is then off by that offset).
    """
    if utc:
        return f"/Date({to_ms(wall)})/"
    if true_utc:
        local = wall.replace(tzinfo=timezone.utc).astimezone(PACIFIC).utcoffset()
        return f"/Date({to_ms(wall)}{_offset_suffix(local or timedelta(0))})/"
    offset = pacific_offset(wall)
    offset_ms = offset // timedelta(milliseconds=1)
    return f"/Date({to_ms(wall) - offset_ms}{_offset_suffix(offset)})/"


def _offset_suffix(offset: timedelta) -> str:
    """``-0700`` for a UTC offset of minus seven hours."""
    minutes = offset // timedelta(minutes=1)
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{sign}{hh:02d}{mm:02d}"


def decode_wcf_json_date(text: str) -> datetime:
    """Reference decoder for tests: ``/Date(ms±hhmm)/`` -> naive UTC wall clock."""
    inner = text.replace("\\/", "/").removeprefix("/Date(").removesuffix(")/")
    sign_pos = max(inner.rfind("+"), inner.rfind("-"))
    if sign_pos > 0:
        ms, off = int(inner[:sign_pos]), inner[sign_pos:]
        minutes = int(off[1:3]) * 60 + int(off[3:5])
        if off[0] == "-":
            minutes = -minutes
        return EPOCH + timedelta(milliseconds=ms, minutes=minutes)
    return EPOCH + timedelta(milliseconds=int(inner))


def xml_date(wall: datetime) -> str:
    """.NET round-trip style without zone, trailing fractional zeros trimmed."""
    text = (
        f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}"
        f"T{wall.hour:02d}:{wall.minute:02d}:{wall.second:02d}"
    )
    ms = wall.microsecond // 1000
    if ms:
        text += "." + f"{ms:03d}".rstrip("0")
    return text


# --- records ------------------------------------------------------------------------------


# Most strings repeat (names, ids, titles), so their encoded form is memoised.
_JS_CACHE: dict[tuple[str, bool], str] = {}
_JS_CACHE_LIMIT = 100_000


def _js(value: str | None, latin1: bool) -> str:
    if value is None:
        return "null"
    key = (value, latin1)
    out = _JS_CACHE.get(key)
    if out is None:
        if len(_JS_CACHE) > _JS_CACHE_LIMIT:
            _JS_CACHE.clear()
        out = _JS_CACHE[key] = json.dumps(
            html_encode(value, latin1_entities=latin1), ensure_ascii=False
        )
    return out


_XML_EL_CACHE: dict[tuple[str, str], str] = {}


def _xml_el(name: str, value: str | None, nil: str) -> str:
    if value is None:
        return f"<{name} {nil}/>"
    if value == "":
        return f"<{name}/>"
    key = (name, value)
    out = _XML_EL_CACHE.get(key)
    if out is None:  # names, ids and titles repeat: memoise the element text
        if len(_XML_EL_CACHE) > 100_000:
            _XML_EL_CACHE.clear()
        out = _XML_EL_CACHE[key] = f"<{name}>{xml_escape(value)}</{name}>"
    return out


JSON_CONTENT_TYPE = "application/json; charset=utf-8"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"

# --- error bodies (docs/litmos-api.md §2, §4, §7, §8) --------------------------------------------

MSG_401 = (
    "The API key that you have used for this request is either not valid or your account "
    "is not enabled for API access."
)
MSG_403 = "Forbidden. Please check your API key, content-type, parameters, etc."
MSG_403_PERMISSION = "You do not have the proper permissions for this call."  # SAP-OAS, §2
MSG_400 = "Bad Request. Please check that your URI and request body are properly formed."
MSG_404 = "Not Found. The record you requested does not exist."
MSG_406_LIMIT = (  # sic: "maxminum" is Litmos's spelling
    "The maxminum number of records to return is 1000. You can use paging parameters to "
    "return records in groups of 1000"
)
MSG_406_SINCE = (
    'Please provide a valid since parameter. Valid formats are - "yyyy-MM-dd HH:mm:ss" or '
    '"yyyy-MM-dd HH:mm" or "yyyy-MM-dd"'
)
MSG_406_RANGE = "Please provide a valid since and to query string parameters"
MSG_503 = "Service Unavailable. The API rating limit has been exceeded."


def msg_user_not_found(user_id: str) -> str:
    """404 text for an unknown ``userid``."""
    return f"User - {user_id} was not found"


_WCF_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 '
    'Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
    '<html xmlns="http://www.w3.org/1999/xhtml" version="-//W3C//DTD XHTML 2.0//EN" '
    'xml:lang="en" xsi:schemaLocation="http://www.w3.org/1999/xhtml '
    'http://www.w3.org/MarkUp/SCHEMA/xhtml2.xsd" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
)

#: The WCF "Request Error" page (docs/litmos-api.md §8, CQ module_complete.yml).
REQUEST_ERROR_HTML = (
    _WCF_HEAD + '<HEAD><TITLE>Request Error</TITLE></HEAD><BODY><DIV id="content">'
    "<P class=\"heading1\"><B>Error Status Code:</B> 'InternalServerError'</P>"
    "<P><B>Details: </B>The server encountered an error processing the request. Please "
    "see the server logs for more details.</P><!-- Padding " + "x" * 256 + "--></DIV></BODY></html>"
).encode()

#: WCF's page for a URI that matches no operation.
ENDPOINT_NOT_FOUND_HTML = (
    _WCF_HEAD + '<head><title>Service</title></head><body><div id="content">'
    '<p class="heading1">Service</p><p>Endpoint not found.</p></div></body></html>'
).encode()

#: WCF's page for a known URI with the wrong HTTP method.
METHOD_NOT_ALLOWED_HTML = (
    _WCF_HEAD + '<head><title>Service</title></head><body><div id="content">'
    '<p class="heading1">Service</p><p>Method not allowed.</p></div></body></html>'
).encode()

#: A load balancer's 504 page (BATON retries 503 and 504, docs/litmos-api.md §7).
GATEWAY_TIMEOUT_HTML = (
    b"<html><head><title>504 Gateway Time-out</title></head><body><center>"
    b"<h1>504 Gateway Time-out</h1></center></body></html>"
)

MSG_429 = "Too Many Requests. The API rating limit has been exceeded."

#: The throttle answer: no Retry-After, small HTML body (docs/litmos-api.md §7).
THROTTLED_HTML = (
    "<html><head><title>Service Unavailable</title></head><body><p>"
    + MSG_503
    + "</p></body></html>"
).encode()
