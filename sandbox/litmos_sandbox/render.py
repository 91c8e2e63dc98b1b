r"""One JSON and one XML renderer for every endpoint spec (``spec.py``).

Per spec, each field gets one small encoder per format, chosen by its kind; a page is the
rows' fragments joined under a bare JSON array or ``<Root xmlns:i=...>``. JSON strings are
HTML-encoded (docs/litmos-api.md §3.3) and every ``/`` is written ``\/`` as WCF does; XML nulls are
``i:nil="true"`` (or ``nil="true"`` with ``xml_nil_style="bare"``), empty strings ``<X/>``.

``raw`` (key -> field -> text) puts a text verbatim on the wire in place of a value and
``extra`` (name -> text) appends unknown fields to every row (client hardening tests).

Rows that never change once stored (achievements: a million of them in the benchmark)
are rendered once each: :meth:`PageRenderer.cache_rows` gives the renderer a stream's
key reader and row builder, and its pages then reuse each row's text, building no
tuple or datetime for a row it has rendered before.
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


#: The namespace WCF's DataContractSerializer gives the items of a string array.
ARRAYS_NS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"


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
        cache_limit: int = 2_000_000,
    ) -> None:
        """Fix the wire options (``cache_limit``: rows' texts kept per stream and format)."""
        self.utc = json_utc_dates
        # JSON dates, /org/* ones too, as /Date(<true UTC ms>-0700)/ (wire.wcf_json_date).
        self.true_utc = json_true_utc_dates
        self.nil = 'i:nil="true"' if xml_nil_style == "i" else 'nil="true"'
        self.latin1 = html_latin1_entities
        self._compiled: dict[str, tuple] = {}
        self._ctx = threading.local()  # the raw overrides of the page being rendered
        #: stream -> (stored row -> key, stored row -> spec-order tuple), see cache_rows.
        self._stored: dict[str, tuple[Callable[[Any], Any], Callable[[Any], tuple]]] = {}
        #: (stream, "json" | "xml") -> key -> the row's text, for the streams above.
        self._texts: dict[tuple[str, str], dict[Any, bytes]] = {}
        self._cache_limit = cache_limit

    def cache_rows(
        self, stream: str, key_of: Callable[[Any], Any], to_row: Callable[[Any], tuple]
    ) -> None:
        """Render each row of ``stream`` once: its rows never change once stored.

        Pages of ``stream`` then take stored rows: ``key_of`` reads one's key without
        building it, ``to_row`` builds its spec-order tuple (only on a first rendering).
        """
        self._stored[stream] = (key_of, to_row)

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
        if kind == "strs":
            return lambda v: (
                "null" if v is None else "[" + ",".join(_js(t, latin1) for t in v) + "]"
            )
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
        if kind == "strs":
            return lambda v: (
                empty
                if v is None
                else f'<{name} xmlns:a="{ARRAYS_NS}">'
                + "".join(_xml_el("a:string", t, nil) for t in v)
                + f"</{name}>"
                if v
                else f"<{name}/>"
            )
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
        rows: list[Any],
        raw: dict[str, dict[Any, dict[str, str]]] | None = None,
        extra: dict[str, str] | None = None,
    ) -> bytes:
        """A bare JSON array. ``raw``: stream -> key -> field -> text (nested rows too)."""
        self._ctx.raw = raw
        # Extra fields: HTML-encoded like every string; on /achievements never with the
        # Latin-1 entities (as that endpoint has always sent them).
        latin1 = self.latin1 and ep.stream not in self._stored
        tail = "".join(f',"{n}":{_js(t, latin1)}' for n, t in (extra or {}).items())
        parts = self._texts_of(ep, rows, raw, "json")
        if tail:
            end = _wcf_json(tail) + b"}"
            parts = [text[:-1] + end for text in parts]
        return b"[" + b",".join(parts) + b"]"

    def xml_page(
        self,
        ep: Endpoint,
        rows: list[Any],
        raw: dict[str, dict[Any, dict[str, str]]] | None = None,
        extra: dict[str, str] | None = None,
    ) -> bytes:
        """``<Root xmlns:i=...>`` with one element per row (self-closed when empty)."""
        self._ctx.raw = raw
        if not rows:
            return f'<{ep.root} xmlns:i="{XSI_NS}"/>'.encode()
        tail = "".join(_raw_el(n, t) for n, t in (extra or {}).items()).encode()
        close = f"</{ep.row}>".encode()
        parts = self._texts_of(ep, rows, raw, "xml")
        if tail:
            parts = [text[: -len(close)] + tail + close for text in parts]
        return (
            f'<{ep.root} xmlns:i="{XSI_NS}">'.encode() + b"".join(parts) + f"</{ep.root}>".encode()
        )

    def _texts_of(
        self,
        ep: Endpoint,
        rows: list[Any],
        raw: dict[str, dict[Any, dict[str, str]]] | None,
        fmt: str,
    ) -> list[bytes]:
        """Each row's bytes; a stored stream's from its cache unless ``raw`` patches it."""
        if fmt == "json":

            def render(ep: Endpoint, row: tuple, patch: dict[str, str] | None = None) -> bytes:
                return _wcf_json(self.json_row(ep, row, patch))

        else:

            def render(ep: Endpoint, row: tuple, patch: dict[str, str] | None = None) -> bytes:
                return self.xml_row(ep, row, patch).encode()

        top = (raw or {}).get(ep.stream) or {}
        stored = self._stored.get(ep.stream)
        if stored is None:
            key_of = ep.key_of
            return [render(ep, row, top.get(key_of(row)) if top else None) for row in rows]
        key_of, to_row = stored
        cache = self._texts.setdefault((ep.stream, fmt), {})
        if len(cache) > self._cache_limit:
            cache.clear()
        parts = []
        for row in rows:
            key = key_of(row)
            patch = top.get(key) if top else None
            if patch:
                parts.append(render(ep, to_row(row), patch))
                continue
            text = cache.get(key)
            if text is None:
                text = cache[key] = render(ep, to_row(row))
            parts.append(text)
        return parts


def _wcf_json(text: str) -> bytes:
    r"""JSON text as WCF writes it: every ``/`` as ``\/`` (dates' ``\/Date(..)\/`` too)."""
    return text.replace("/", "\\/").encode()


def _raw_el(name: str, text: str) -> str:
    return f"<{name}>{xml_escape(text)}</{name}>" if text else f"<{name}/>"
