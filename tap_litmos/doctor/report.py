"""The doctor's report for a person: one line per check, then a table of the streams.

`readable` renders the JSON-ready report `Doctor.run` returns; it reads nothing else.
"""

from __future__ import annotations

import typing as t

from tap_litmos.doctor.checks import FAIL, NOT_CHECKED, PASS
from tap_litmos.doctor.readings import READINGS
from tap_litmos.progress import count, duration

_LABELS = {
    "connection": "key, source, region",
    "clock": "clock",
    "access": "access per stream",
    "dates": "dates, JSON vs XML",
    "wrappers": "row wrappers",
    "fields": "fields",
}


def _hours(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{abs(seconds) // 3600} h"
    return f"{abs(seconds)} s"


def _connection_text(check: dict[str, t.Any]) -> str:
    if check["status"] == PASS:
        where = "api_url" if check["region"] == "api_url" else f"region {check['region']}"
        return (
            f"{check['host']} ({where}) answered 200: the key is accepted and the"
            f" source ({check['source_characters']} characters) too"
        )
    text = f"{check['host'] or 'no host'} answered {check['http_status']}: {check['message']}"
    if "key_works_in_region" in check:
        text += f"; the key works in region {check['key_works_in_region']}: set region to it"
    return text


def _clock_text(check: dict[str, t.Any]) -> str:
    if check["status"] == NOT_CHECKED:
        return str(check["why"])
    offset = check["offset_seconds"]
    if offset == 0:
        return "Litmos's Date header agrees with this machine's clock (to the second)"
    way = "ahead of" if offset > 0 else "behind"
    text = f"Litmos's Date header is {duration(abs(offset))} {way} this machine's clock"
    if check["status"] == FAIL:
        text += (
            f", more than {check['tolerance_seconds']} s: one of the two clocks is wrong"
            " (check this machine's NTP); bookmarks and date windows are instants"
        )
    return text


def _access_text(check: dict[str, t.Any]) -> list[str]:
    streams = check.get("streams", {})
    asked = {n: r for n, r in streams.items() if r.get("status") is not None or r.get("message")}
    requested = [n for n, r in asked.items() if not r.get("fan_out")]
    fan_outs = [n for n, r in asked.items() if r.get("fan_out")]
    if check["status"] == PASS:
        lines = [f"this key reads all {len(requested)} endpoints of the default streams"]
    else:
        refused = ", ".join(check["refused"])
        text = (
            f"this key may not read {len(check['refused'])} of {len(requested)} endpoints:"
            f" {refused} (the stream table below has Litmos's answers)"
        )
        lines = [text]
    refused_fan_outs = check.get("refused_fan_outs", [])
    if refused_fan_outs:
        lines.append(
            f"and may not read {len(refused_fan_outs)} of the {len(fan_outs)} opt-in fan-outs:"
            f" {', '.join(refused_fan_outs)} (select them only with a key that may)"
        )
    elif fan_outs:
        lines.append(f"and all {len(fan_outs)} opt-in fan-outs, asked once each for one parent")
    return lines


def _dates_text(check: dict[str, t.Any]) -> list[str]:
    if check["status"] == NOT_CHECKED and not check.get("compared"):
        return [check["why"]]
    lines = []
    for c in check["compared"]:
        if c.get("message"):
            lines.append(f"{c['stream']}: the XML request failed: {c['message']}")
            continue
        head = (
            f"{c['stream']}: {count(c['records'], 'record')},"
            f" {count(c['date_values'], 'date value')}"
        )
        if not c["date_values_disagreeing"]:
            lines.append(f"{head}: JSON and XML agree, the tap's date reading holds")
        else:
            spread = ", ".join(
                f"{n} by {duration(abs(int(k)))} ({'JSON earlier' if int(k) < 0 else 'JSON later'})"
                if k.lstrip("-").isdigit()
                else f"{n} {k}"
                for k, n in sorted(c["offsets_seconds"].items())
            )
            agree = [r for r in c["readings_that_agree"] if r != "wall_clock"]
            fix = (
                f'; the reading "{READINGS[agree[0]][0]}" would make them agree'
                if agree
                else "; no reading the doctor knows makes them agree"
            )
            lines.append(f"{head}: {c['date_values_disagreeing']} disagree, {spread}{fix}")
        if c["fields_differing"]:
            lines.append(
                f"{c['stream']}: other fields differ between JSON and XML:"
                f" {', '.join(c['fields_differing'])}"
            )
    if check["status"] == NOT_CHECKED:
        lines.append(check["why"])
    return lines


def _wrappers_text(check: dict[str, t.Any]) -> list[str]:
    xml = sorted(set(check["xml_root_and_row"].values()))
    xml_text = f"XML roots/rows: {', '.join(xml)}" if xml else "no XML read"
    if check["status"] == PASS:
        count = len(check["json_bare_arrays"])
        return [f"JSON: a bare array on all {count} endpoints, as assumed", xml_text]
    wrapped = len(check["json_wrapped"])
    return [
        (
            f'JSON: {wrapped} endpoints wrap their list in an object, {{"Name": [...]}}, not'
            " the bare array assumed (the tap reads both; the names are in the stream table)"
        ),
        xml_text,
    ]


def _fields_text(check: dict[str, t.Any]) -> str:
    if check["status"] == PASS:
        return "every field Litmos sent is in the stream's schema"
    return (
        f"{len(check['unknown'])} streams get fields their schema lacks, not extracted"
        " (the names are in the stream table)"
    )


def _stream_note(name: str, checks: dict[str, t.Any]) -> str:
    access = checks["access"]["streams"][name]
    if access.get("message"):
        return str(access["message"])
    notes = [str(access["note"])] if access.get("note") else []
    if wrapper := checks["wrappers"].get("json_wrapped", {}).get(name):
        notes.append(f'JSON {{"{wrapper}": [...]}}')
    if unknown := checks["fields"].get("unknown", {}).get(name):
        notes.append(f"not in the schema: {', '.join(unknown)}")
    return "; ".join(notes)


def readable(report: dict[str, t.Any], base_url: str) -> str:
    """The report for a person: one line per check, then per stream."""
    checks = report["checks"]
    lines = [f"tap-litmos-doctor {report['version']}: {report['requests']} requests to {base_url}"]
    texts: dict[str, t.Callable[[dict[str, t.Any]], str | list[str]]] = {
        "connection": _connection_text,
        "clock": _clock_text,
        "access": _access_text,
        "dates": _dates_text,
        "wrappers": _wrappers_text,
        "fields": _fields_text,
    }
    for name, check in checks.items():
        if check["status"] == NOT_CHECKED and "why" in check and name != "dates":
            body: str | list[str] = check["why"]
        else:
            body = texts[name](check)
        for i, text in enumerate([body] if isinstance(body, str) else body):
            status = check["status"].upper() if i == 0 else ""
            label = _LABELS[name] if i == 0 else ""
            lines.append(f"  {status:<12}{label:<22}{text}")
    streams = checks["access"].get("streams", {})
    if streams:
        width = max(24, *(len(name) + 2 for name in streams))
        lines += ["", f"  {'stream':<{width}}{'HTTP':>6}{'rows':>6}  note"]
        for name, result in streams.items():
            status, rows = result.get("status"), result.get("rows", "")
            note = _stream_note(name, checks)
            lines.append(f"  {name:<{width}}{status or '-':>6}{rows!s:>6}  {note}".rstrip())
    verdict = (
        "every check passed"
        if report["passed"]
        else "not every check passed: "
        + ", ".join(n for n, c in checks.items() if c["status"] != PASS)
    )
    lines += ["", f"Result: {verdict}."]
    return "\n".join(lines)
