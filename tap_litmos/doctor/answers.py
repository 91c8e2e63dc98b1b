"""One request of the doctor and what it got: the request built, the `Answer` kept.

`build_request` is the one place the doctor says what it sends; `read_answer` turns the
response into an `Answer` with the body decoded by the tap's own parsers (rows are
never reported, only counted and compared) and the shapes the wrapper check reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import json
import typing as t
from urllib.parse import quote, urlsplit
from xml.parsers import expat

from tap_litmos import api
from tap_litmos.parsing import LitmosBodyError, json_rows, xml_parser, xml_rows
from tap_litmos.transport import error_summary

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    import requests

    from tap_litmos.api import LitmosRequest
    from tap_litmos.client import LitmosStream
    from tap_litmos.tap import TapLitmos

#: Rows asked for per request: enough to compare, small enough to be cheap.
SAMPLE_ROWS = 10


@dataclasses.dataclass
class Answer:
    """What one request got: status, host, the rows (never reported) and the shapes."""

    stream: str
    fmt: str
    status: int | None
    host: str | None = None
    message: str | None = None
    rows: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    #: JSON: the wrapper's key (None: a bare array); XML: "Root/Row".
    shape: str | None = None
    #: Seconds Litmos's `Date` header was ahead of this machine's clock.
    clock_offset: float | None = None
    params: dict[str, t.Any] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A 200 with a body the tap can read."""
        return self.status == 200 and self.message is None  # noqa: PLR2004


def build_request(  # noqa: PLR0913 (each argument is one part of the request)
    tap: TapLitmos,
    stream: LitmosStream,
    *,
    fmt: str,
    base: str,
    extra: Mapping[str, t.Any],
    parent: Mapping[str, str] | None = None,
) -> LitmosRequest:
    """The GET of `stream`'s first `SAMPLE_ROWS` rows in `fmt` from `base`, with `extra`.

    The tap's own first request of the stream (`api.request_for`, with `tap`'s config), in
    the sample's size and with the doctor's own User-Agent: if the tap's request changes,
    the doctor checks the changed one. A fan-out's path is filled from `parent`, the
    context one parent record gives it (`{"CourseId": ...}`).
    """
    path = stream.path.replace("{when}", "past")
    for name, value in (parent or {}).items():
        path = path.replace(f"{{{name}}}", quote(str(value), safe=""))
    return api.request_for(
        tap.config,
        path,
        extra,
        limit=SAMPLE_ROWS,
        response_format=fmt,
        base_url=base,
        user_agent=f"tap-litmos-doctor/{tap.plugin_version}",
    )


def read_answer(
    answer: Answer, response: requests.Response, local: float, stream: LitmosStream
) -> None:
    """Fill `answer` from `response`, received at `local` (this machine's clock, seconds)."""
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


def json_wrapper(body: bytes) -> str | None:
    """The key of a ``{"Name": [...]}`` JSON page, None for a bare array."""
    data = json.loads(body)
    if isinstance(data, dict) and len(data) == 1:
        return str(next(iter(data)))
    return None


def xml_names(body: bytes) -> str:
    """``Root/Row``: the names of an XML page's root and first row element."""
    names: list[str] = []

    def start(name: str, _attrs: object) -> None:
        if len(names) < 2:  # noqa: PLR2004
            names.append(name.rpartition("}")[2])

    parser = xml_parser()
    parser.StartElementHandler = start
    parser.Parse(body, True)  # noqa: FBT003
    return "/".join(names) if len(names) > 1 else f"{names[0]}/(no rows)"
