"""Every option of the sandbox, named once: default, help text, validation and CLI form.

:class:`Options` is a frozen dataclass. ``LitmosSandbox(**options)`` builds one,
``configure(**changes)`` replaces it (``dataclasses.replace``, which validates again) and
the command line (``__main__.py``) is generated from its fields. Each field's metadata
says what a change to it rebuilds (``scope``), its help text and, when the flag is not
the plain ``--field-name VALUE``, its command-line form.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litmos_sandbox.faults import DEFAULT_RANDOM_KINDS, FAULT_KINDS, check_kinds
from litmos_sandbox.routes import forbidden_streams
from litmos_sandbox.tables import ORG_ORDERS
from litmos_sandbox.values import wall

if TYPE_CHECKING:
    from datetime import datetime

#: What a change of an option rebuilds: the achievements dataset and the world, the world
#: only, the wire renderers, nothing (read on every request), or (host, port) nothing at
#: all: they cannot change while the sandbox is serving.
SCOPES = ("dataset", "world", "wire", "runtime", "fixed")
XML_NIL_STYLES = ("i", "bare")
THROTTLE_STATUSES = (503, 429)


def _opt(default: Any, help_text: str, scope: str = "runtime", **cli: Any) -> Any:
    """A field with its help text, scope and (``cli``) any command-line particulars.

    ``cli`` keys: ``flag`` (another flag name), ``type`` (parses the text), ``choices``,
    ``metavar``, ``append`` (repeatable; ``type`` parses each item).
    """
    meta = {"help": help_text, "scope": scope, "cli": cli}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _flag(help_text: str, scope: str = "runtime", *, default: bool = False) -> Any:
    """A boolean option: ``--name`` / ``--no-name`` on the command line."""
    return _opt(default, help_text, scope)


def _retry_after(text: str) -> int | str:
    if text == "http-date":
        return text
    try:
        return int(text)
    except ValueError:
        msg = "must be an int or 'http-date'"
        raise argparse.ArgumentTypeError(msg) from None


def _kinds(text: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in text.split(",") if k.strip())


def _name_text(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    return name, value


@dataclass(frozen=True)
class Options:
    """The sandbox's options (see the sandbox README for what each changes on the wire)."""

    seed: int = _opt(42, "dataset seed", "dataset")
    id_seed: int | None = _opt(
        None,
        "seed of the ids alone (users, courses, teams, modules, AchievementIds ...; default: "
        "drawn with the data): sandboxes of one id_seed and size but different seeds are "
        "accounts whose ids collide and whose data differ",
        "dataset",
        type=int,
    )
    users: int = _opt(20, "number of users", "dataset")
    achievements: int = _opt(500, "number of achievements", "dataset")
    api_key: str = _opt("sandbox-key", "accepted apikey header value")
    host: str = _opt("127.0.0.1", "bind address", "fixed")
    port: int = _opt(0, "port; 0 picks a free one", "fixed")
    extra_rows: int = _opt(0, "return limit+K rows per page (Litmos's 'more than limit' quirk)")
    json_utc_dates: bool = _flag(
        "JSON dates as /Date(utc-ms)/ without an offset (DateTimeKind.Utc form)", "wire"
    )
    xml_nil_style: str = _opt(
        "i", 'XML nulls as i:nil="true" (i) or nil="true" (bare)', "wire", choices=XML_NIL_STYLES
    )
    html_latin1_entities: bool = _flag(
        "JSON strings with U+00A0..U+00FF as numeric entities too (.NET Framework HtmlEncode)",
        "wire",
    )
    throttle_per_minute: int | None = _opt(
        None,
        "answer the throttle status beyond N requests per sliding window (Litmos: 100)",
        type=int,
    )
    throttle_window_seconds: float = _opt(60.0, "length of the throttle window")
    slow_seconds: float = _opt(0.0, "delay used by the 'slow' fault")
    fault_rate: float = _opt(0.0, "probability of a random fault (0..1)")
    fault_kinds: tuple[str, ...] = _opt(
        DEFAULT_RANDOM_KINDS,
        f"comma-separated random fault kinds, from: {', '.join(sorted(FAULT_KINDS))}",
        type=_kinds,
    )
    fault_seed: int = _opt(0, "seed of the random faults")
    retry_after: int | str | None = _opt(
        None,
        "send Retry-After on throttle replies: N seconds, or 'http-date' (retry_after_seconds "
        "ahead); default none, like Litmos",
        type=_retry_after,
    )
    retry_after_seconds: int = _opt(30, "how far ahead an http-date Retry-After points")
    throttle_status: int = _opt(
        503, "status of the sliding-window throttle (503, like Litmos, or 429)", choices=(503, 429)
    )
    stall_seconds: float = _opt(5.0, "delay before any byte, used by the 'stall' fault")
    redirect_base: str | None = _opt(
        None, "target of the 'redirect' faults (default: this sandbox)", type=str
    )
    extra_fields: dict[str, str] = _opt(  # noqa: RUF009 (a fresh dict each time)
        {},
        "add a field the tap's schema lacks to every row (repeatable)",
        flag="--extra-field",
        append=True,
        type=_name_text,
        metavar="NAME=TEXT",
    )
    teams: int = _opt(6, "number of teams (a hierarchy)", "world")
    courses: int = _opt(
        16, "number of courses (at least the 16 of the achievements catalog)", "world"
    )
    learning_paths: int = _opt(4, "number of learning paths (at least 4)", "world")
    course_results: int | None = _opt(
        None, "number of course results (default 4 per user)", "world", type=int
    )
    module_results: int | None = _opt(
        None, "number of module results (default half the course results)", "world", type=int
    )
    logins: int | None = _opt(None, "number of login rows (default 5 per user)", "world", type=int)
    now: datetime | None = _opt(  # noqa: RUF009 (None or an immutable datetime)
        None,
        "freeze the sandbox clock at this ISO date-time (default: real time; the world is "
        "anchored at today's UTC midnight)",
        "world",
        type=str,
    )
    org_since_inclusive: bool = _flag("/org/* since bound inclusive (else exclusive)", default=True)
    org_to_inclusive: bool = _flag("/org/* to bound inclusive (else exclusive)")
    org_order: str = _opt("date", "order of /org/* rows", choices=ORG_ORDERS)
    json_true_utc_dates: bool = _flag(
        "JSON dates (and /org/* dates) as /Date(<true UTC ms>-0700)/: the offset only "
        "informational, so the tap's reading is off by it",
        "wire",
    )
    json_wrapped: bool = _flag('JSON lists wrapped in their XML root name: {"Users": [...]}')
    forbidden: tuple[str, ...] = _opt(
        (),
        "answer 403 'You do not have the proper permissions for this call.' for this stream's "
        "endpoint (a stream name or API path; repeatable)",
        flag="--forbid",
        append=True,
        type=str,
        metavar="STREAM",
    )
    clock_offset_seconds: float = _opt(
        0.0,
        "run the sandbox's clock (its Date header and its now) this far ahead; negative: behind",
    )

    def __post_init__(self) -> None:
        """Normalise (stream names, wall clocks, tuples) and validate every option."""
        normal = {
            "fault_kinds": check_kinds(self.fault_kinds),
            "extra_fields": dict(self.extra_fields or {}),
            "now": wall(self.now),
            "org_since_inclusive": bool(self.org_since_inclusive),
            "org_to_inclusive": bool(self.org_to_inclusive),
            "json_true_utc_dates": bool(self.json_true_utc_dates),
            "json_wrapped": bool(self.json_wrapped),
            "forbidden": forbidden_streams(self.forbidden or ()),
            "clock_offset_seconds": float(self.clock_offset_seconds),
        }
        for name, value in normal.items():
            object.__setattr__(self, name, value)
        self._validate()

    def _validate(self) -> None:
        for name in ("users", "achievements", "extra_rows", "teams", "courses", "learning_paths"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                msg = f"{name} must be a non-negative int"
                raise ValueError(msg)
        for name in ("course_results", "module_results", "logins", "throttle_per_minute"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                msg = f"{name} must be None or a non-negative int"
                raise ValueError(msg)
        for name, allowed, msg in (
            ("org_order", ORG_ORDERS, f"org_order must be one of {ORG_ORDERS}"),
            ("xml_nil_style", XML_NIL_STYLES, "xml_nil_style must be 'i' or 'bare'"),
            ("throttle_status", THROTTLE_STATUSES, "throttle_status must be 503 or 429"),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(msg)
        if not 0.0 <= float(self.fault_rate) <= 1.0:
            msg = "fault_rate must be between 0 and 1"
            raise ValueError(msg)
        if float(self.slow_seconds) < 0 or float(self.throttle_window_seconds) <= 0:
            msg = "slow_seconds must be >= 0 and throttle_window_seconds > 0"
            raise ValueError(msg)
        if float(self.stall_seconds) < 0:
            msg = "stall_seconds must be >= 0"
            raise ValueError(msg)
        ra = self.retry_after
        if (
            ra is not None
            and ra != "http-date"
            and (isinstance(ra, bool) or not isinstance(ra, int) or ra < 0)
        ):
            msg = "retry_after must be None, a non-negative int or 'http-date'"
            raise ValueError(msg)
        if not isinstance(self.retry_after_seconds, int) or self.retry_after_seconds < 0:
            msg = "retry_after_seconds must be a non-negative int"
            raise ValueError(msg)
        base = self.redirect_base
        if base is not None and not (
            isinstance(base, str) and base.startswith(("http://", "https://"))
        ):
            msg = "redirect_base must be None or an http(s) URL"
            raise ValueError(msg)
        if not all(
            isinstance(k, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k) and isinstance(v, str)
            for k, v in self.extra_fields.items()
        ):
            msg = "extra_fields must map element names to text"
            raise ValueError(msg)

    # --- building and changing ----------------------------------------------------------

    @classmethod
    def names(cls, scope: str | None = None) -> tuple[str, ...]:
        """Every option name, in declaration order (only those of ``scope`` if given)."""
        return tuple(
            f.name for f in dataclasses.fields(cls) if scope is None or f.metadata["scope"] == scope
        )

    @classmethod
    def of(cls, **options: Any) -> Options:
        """Options from keywords (TypeError naming any unknown one)."""
        return cls().replace(**options)

    def replace(self, **changes: Any) -> Options:
        """A copy with ``changes``, normalised and validated again."""
        unknown = set(changes) - set(self.names())
        if unknown:
            msg = f"unknown option(s): {sorted(unknown)}"
            raise TypeError(msg)
        return dataclasses.replace(self, **changes)

    def changed(self, other: Options, scope: str) -> bool:
        """Whether any option of ``scope`` differs between ``self`` and ``other``."""
        return any(getattr(self, n) != getattr(other, n) for n in self.names(scope))

    def as_dict(self) -> dict[str, Any]:
        """Name -> value, in declaration order (``LitmosSandbox.options``)."""
        return {name: getattr(self, name) for name in self.names()}

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (``GET /_sandbox/configure``): lists for tuples, ISO text for now."""
        out = self.as_dict()
        out["fault_kinds"] = list(out["fault_kinds"])
        if out["now"] is not None:
            out["now"] = out["now"].isoformat()
        return out


# --- the command line, generated from the fields ------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per option: ``--field-name`` (bools ``--x/--no-x``), defaults from Options.

    Flags the user does not give are absent from the parsed namespace, so the dataclass
    stays the one place defaults live.
    """
    groups = {
        "dataset": parser.add_argument_group("the achievements dataset (and the world)"),
        "world": parser.add_argument_group("the world behind every other endpoint"),
        "wire": parser.add_argument_group("how values go on the wire"),
        "runtime": parser.add_argument_group("behaviours, throttling and faults"),
        "fixed": parser.add_argument_group("where to listen"),
    }
    for f in dataclasses.fields(Options):
        cli = dict(f.metadata["cli"])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = cli.pop("flag", "--" + f.name.replace("_", "-"))
        shown = ",".join(default) if f.name == "fault_kinds" else default
        kwargs: dict[str, Any] = {
            "dest": f.name,
            "default": argparse.SUPPRESS,
            "help": f"{f.metadata['help']} (default: {shown})",
        }
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            if cli.pop("append", False):
                kwargs["action"] = "append"
            kwargs["type"] = cli.pop("type", type(default))
            kwargs.update(cli)
        groups[f.metadata["scope"]].add_argument(flag, **kwargs)


def from_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options a parsed command line gives (repeatable ones gathered)."""
    given = dict(vars(args))
    if "extra_fields" in given:
        given["extra_fields"] = dict(given["extra_fields"])
    if "forbidden" in given:
        given["forbidden"] = tuple(given["forbidden"])
    return given
