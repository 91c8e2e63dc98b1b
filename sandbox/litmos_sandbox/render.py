r"""One JSON and one XML renderer for every endpoint spec (``spec.py``).

Per spec, each field gets one small encoder per format, chosen by its kind; a page is the
rows' fragments joined under a bare JSON array or ``<Root xmlns:i=...>``. JSON strings are
HTML-encoded (§3.3) and every ``/`` is written ``\/`` as WCF does; XML nulls are
``i:nil="true"`` (or ``nil="true"`` with ``xml_nil_style="bare"``), empty strings ``<X/>``.

``raw`` (key -> field -> text) puts a text verbatim on the wire in place of a value and
``extra`` (name -> text) appends unknown fields to every row (client hardening tests).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from litmos_sandbox.wire import XSI_NS, _js, _xml_el, wcf_json_date, xml_date, xml_escape

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from litmos_sandbox.spec import Endpoint


def isoz_text(value: datetime) -> str:
    """``2016-12-09T07:54:27Z`` (``.mmm`` only when the milliseconds are not zero)."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    ms = value.microsecond // 1000
    return f"{text}.{ms:03d}Z" if ms else text + "Z"


def _json_raw(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class PageRenderer:
    """Renders pages of any spec; one instance per set of wire options."""

    def __init__(
        self,
        *,
        json_utc_dates: bool = False,
        xml_nil_style: str = "i",
        html_latin1_entities: bool = False,
        json_true_utc_dates: bool = False,
    ) -> None:
        """Fix the wire options."""
        self.utc = json_utc_dates
        # JSON dates, /org/* ones too, as /Date(<true UTC ms>-0700)/ (wire.wcf_json_date).
        self.true_utc = json_true_utc_dates
        self.nil = 'i:nil="true"' if xml_nil_style == "i" else 'nil="true"'
        self.latin1 = html_latin1_entities
        self._compiled: dict[str, tuple] = {}
        self._ctx = threading.local()  # the raw overrides of the page being rendered

    def _raw(self, ep: Endpoint, row: tuple) -> dict[str, str] | None:
        raw_all = getattr(self._ctx, "raw", None)
        if not raw_all:
            return None
        per = raw_all.get(ep.stream)
        return per.get(ep.key_of(row)) if per else None

    # --- per-kind encoders ----------------------------------------------------------------

    def _json_enc(self, kind: str, child: Endpoint | None) -> Callable[[Any], str]:
        latin1, utc, true_utc = self.latin1, self.utc, self.true_utc
        if kind == "str":
            return lambda v: _js(v, latin1)
        if kind in ("int", "dec"):
            return lambda v: "null" if v is None else str(v)
        if kind == "bool":
            return lambda v: "null" if v is None else ("true" if v else "false")
        if kind == "wcf" or (kind == "org" and true_utc):
            return lambda v: (
                "null" if v is None else f'"{wcf_json_date(v, utc=utc, true_utc=true_utc)}"'
            )
        if kind == "isoz":
            return lambda v: '""' if v is None else f'"{isoz_text(v)}"'
        if kind == "org":
            return lambda v: "null" if v is None else f'"{xml_date(v)}"'
        if kind == "list" and child is not None:
            return lambda v: (
                "[" + ",".join(self.json_row(child, r, self._raw(child, r)) for r in v or ()) + "]"
            )
        msg = f"no JSON encoder for {kind!r}"  # pragma: no cover
        raise ValueError(msg)  # pragma: no cover

    def _xml_enc(self, name: str, kind: str, child: Endpoint | None) -> Callable[[Any], str]:
        nil = self.nil
        empty = f"<{name} {nil}/>"
        if kind == "str":
            return lambda v: _xml_el(name, v, nil)
        if kind in ("int", "dec"):
            return lambda v: empty if v is None else f"<{name}>{v}</{name}>"
        if kind == "bool":
            return lambda v: empty if v is None else f"<{name}>{'true' if v else 'false'}</{name}>"
        if kind in ("wcf", "org"):
            return lambda v: empty if v is None else f"<{name}>{xml_date(v)}</{name}>"
        if kind == "isoz":
            return lambda v: f"<{name}/>" if v is None else f"<{name}>{isoz_text(v)}</{name}>"
        if kind == "list" and child is not None:
            return lambda v: (
                f"<{name}>"
                + "".join(self.xml_row(child, r, self._raw(child, r)) for r in v)
                + f"</{name}>"
                if v
                else f"<{name}/>"
            )
        msg = f"no XML encoder for {kind!r}"  # pragma: no cover
        raise ValueError(msg)  # pragma: no cover

    def _compile(self, ep: Endpoint) -> tuple:
        got = self._compiled.get(ep.stream)
        if got is None:
            got = self._compiled[ep.stream] = (
                [(f'"{f.name}":', self._json_enc(f.kind, f.child)) for f in ep.fields],
                [self._xml_enc(f.name, f.kind, f.child) for f in ep.fields],
            )
        return got

    # --- rows and pages -------------------------------------------------------------------

    def json_row(self, ep: Endpoint, row: tuple, raw: dict[str, str] | None = None) -> str:
        """One JSON object (slashes not yet escaped)."""
        encs = self._compile(ep)[0]
        if raw:
            names = ep.names
            parts = [
                p + (_json_raw(raw[n]) if n in raw else enc(v))
                for (p, enc), v, n in zip(encs, row, names, strict=False)
            ]
            parts += [f'"{n}":{_json_raw(t)}' for n, t in raw.items() if n not in names]
        else:
            parts = [p + enc(v) for (p, enc), v in zip(encs, row, strict=False)]
        return "{" + ",".join(parts) + "}"

    def xml_row(self, ep: Endpoint, row: tuple, raw: dict[str, str] | None = None) -> str:
        """One row element."""
        encs = self._compile(ep)[1]
        if raw:
            names = ep.names
            body = "".join(
                _raw_el(n, raw[n]) if n in raw else enc(v)
                for enc, v, n in zip(encs, row, names, strict=False)
            ) + "".join(_raw_el(n, t) for n, t in raw.items() if n not in names)
        else:
            body = "".join(enc(v) for enc, v in zip(encs, row, strict=False))
        return f"<{ep.row}>{body}</{ep.row}>"

    def json_page(
        self,
        ep: Endpoint,
        rows: list[tuple],
        raw: dict[str, dict[Any, dict[str, str]]] | None = None,
        extra: dict[str, str] | None = None,
    ) -> bytes:
        """A bare JSON array. ``raw``: stream -> key -> field -> text (nested rows too)."""
        self._ctx.raw = raw
        tail = "".join(f',"{n}":{_js(t, self.latin1)}' for n, t in (extra or {}).items())
        key_of = ep.key_of
        parts = []
        top = (raw or {}).get(ep.stream) or {}
        for row in rows:
            text = self.json_row(ep, row, top.get(key_of(row)) if top else None)
            parts.append(text[:-1] + tail + "}" if tail else text)
        return ("[" + ",".join(parts) + "]").replace("/", "\\/").encode()

    def xml_page(
        self,
        ep: Endpoint,
        rows: list[tuple],
        raw: dict[str, dict[Any, dict[str, str]]] | None = None,
        extra: dict[str, str] | None = None,
    ) -> bytes:
        """``<Root xmlns:i=...>`` with one element per row (self-closed when empty)."""
        self._ctx.raw = raw
        if not rows:
            return f'<{ep.root} xmlns:i="{XSI_NS}"/>'.encode()
        tail = "".join(_raw_el(n, t) for n, t in (extra or {}).items())
        close = f"</{ep.row}>"
        key_of = ep.key_of
        parts = []
        top = (raw or {}).get(ep.stream) or {}
        for row in rows:
            text = self.xml_row(ep, row, top.get(key_of(row)) if top else None)
            parts.append(text[: -len(close)] + tail + close if tail else text)
        return (f'<{ep.root} xmlns:i="{XSI_NS}">' + "".join(parts) + f"</{ep.root}>").encode()


def _raw_el(name: str, text: str) -> str:
    return f"<{name}>{xml_escape(text)}</{name}>" if text else f"<{name}/>"
