"""The dates check's reasoning: the readings a WCF date could mean, and JSON against XML.

The tap reads ``/Date(ms±hhmm)/`` as ``UTC(ms) + offset``, a UTC wall clock
(`tap_litmos.parsing.parse_datetime`, the project decision in docs/litmos-api.md). XML
dates carry no such doubt, so decoding one sample in both formats, record by record,
says whether that reading holds for an account, and if not which other reading would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import typing as t

from tap_litmos.parsing import (
    EPOCH,
    LitmosValueError,
    format_datetime,
    parse_datetime,
    record_converter,
    wcf_parts,
)

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tap_litmos.client import LitmosStream


def _wall_clock_reading(raw: object) -> dt.datetime | None:
    """The tap's reading: `UTC(ms) + offset` is the UTC wall clock (parse_datetime)."""
    return parse_datetime(raw)


def _utc_ms_reading(raw: object) -> dt.datetime | None:
    """.NET's documented reading: `ms` is the UTC instant, the offset informational."""
    parts = wcf_parts(raw)
    if parts is None:
        return parse_datetime(raw)
    return EPOCH + dt.timedelta(milliseconds=parts[0])


def _minus_offset_reading(raw: object) -> dt.datetime | None:
    """The sign the other way round: `UTC(ms) - offset`."""
    parts = wcf_parts(raw)
    if parts is None:
        return parse_datetime(raw)
    return EPOCH + dt.timedelta(milliseconds=parts[0], minutes=-parts[1])


#: name -> (what it means, how it decodes a raw JSON date). The first is the tap's.
READINGS: dict[str, tuple[str, Callable[[object], dt.datetime | None]]] = {
    "wall_clock": (
        "the tap's: /Date(ms±hhmm)/ is UTC(ms) + offset, a UTC wall clock",
        _wall_clock_reading,
    ),
    "utc_ms": ("/Date(ms±hhmm)/ is the UTC instant ms, the offset ignored", _utc_ms_reading),
    "minus_offset": ("/Date(ms±hhmm)/ is UTC(ms) - offset", _minus_offset_reading),
}


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
            json_instant, xml_instant = parse_datetime(from_json), parse_datetime(from_xml)
            if json_instant is not None and xml_instant is not None:
                label = str(round((json_instant - xml_instant).total_seconds()))
            self.offsets[label] = self.offsets.get(label, 0) + 1
        for reading, (_, decode) in READINGS.items():
            with contextlib.suppress(TypeError, ValueError):
                got = decode(raw)
                if (format_datetime(got) if got else None) == from_xml:
                    self.agreeing[reading] += 1

    def readings_that_agree(self) -> list[str]:
        return [r for r, n in self.agreeing.items() if self.values and n == self.values]


def compare_records(
    stream: LitmosStream,
    json_rows_: Iterable[dict[str, t.Any]],
    xml_rows_: Iterable[dict[str, t.Any]],
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


#: A record's key -> (the raw row, the record as the tap emits it).
_Decoded = dict[tuple[object, ...], tuple[dict[str, t.Any], dict[str, t.Any]]]


def _decoded(
    stream: LitmosStream, rows: Iterable[dict[str, t.Any]], *, unescape_html: bool
) -> _Decoded:
    """Key -> (raw row, record as the tap emits it); bad values become null, as in a run."""
    convert = record_converter(
        stream.schema, unescape_html=unescape_html, on_bad_value=lambda *_: None
    )
    keys = tuple(stream.primary_keys or ())
    out: _Decoded = {}
    for row in rows:
        try:
            record = convert(row)
        except LitmosValueError:
            continue
        out[tuple(record[k] for k in keys)] = (row, record)
    return out
