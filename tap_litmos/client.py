"""The one base stream: everything every Litmos endpoint has in common.

The SDK's hooks, each answered from the request protocol (`api.py`: the request, paging,
what an answer means), the run (`run_context.py`: the budget, Litmos's clock, progress)
and the settings, plus value conversion and the incremental rules for Litmos's `since`
filters, so a stream declares only its name, path, keys, schema and its own parameters.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import sys
import typing as t
from urllib.parse import parse_qsl, urlsplit

import backoff
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from tap_litmos import api, sdk_seams, settings
from tap_litmos.api import LitmosAPIError, LitmosPaginator
from tap_litmos.parsing import (
    LitmosBodyError,
    LitmosValueError,
    format_datetime,
    parse_datetime,
    quote,
    record_converter,
)
from tap_litmos.progress import StreamPlan
from tap_litmos.run_context import RunContext
from tap_litmos.transport import LitmosSession, describe_failure, local_now

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    import requests
    from singer_sdk.helpers.types import Context, Record, RequestFunc

if sys.version_info >= (3, 12):
    from typing import override
else:  # Python < 3.12
    from typing_extensions import override

#: `max_response_mb` is in MiB.
MEGABYTE = 1024 * 1024


def _key_value(value: object) -> str:
    """A key value for a message: ids as they are (JSON and XML alike), at most 40 chars."""
    if isinstance(value, str):
        return value if len(value) <= 40 else value[:39] + "…"  # noqa: PLR2004
    return quote(value, 40)


class LitmosStream(RESTStream[int]):
    """A Litmos list endpoint under `/v1.svc`."""

    # Records are built with exact types by `record_converter`, so the SDK's
    # recursive type conformance (half of its per-record cost) has nothing to do.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    #: The endpoint answers one object, not a list (``GET /users/{id}``).
    single_object: t.ClassVar[bool] = False
    #: Names under which a JSON page may wrap its rows (``{"Course": [...]}``): the XML
    #: root and row element names, as Litmos's OpenAPI spec writes its responses. An
    #: object under any other name (an error envelope) is refused, never read as rows.
    wrappers: t.ClassVar[tuple[str, ...]] = ()
    #: Wire fields the stream reads on purpose without extracting (no warning for them).
    known_fields: t.ClassVar[frozenset[str]] = frozenset()
    #: What a child stream's context carries: {context key: field of this record}.
    #: Ids only, so a child's requests and records are all it can change.
    child_context_keys: t.ClassVar[dict[str, str]] = {}
    #: A child's parent is a LitmosStream too (the SDK says any Stream).
    parent_stream_type: type[LitmosStream] | None
    #: Every stream class sets its name (the SDK declares it per instance only).
    name: str
    # One flat bookmark per stream, never one per partition or parent record, so the state
    # stays small (the SDK's per-partition state is quadratic in parents). How a run
    # resumes after an interruption is the access pattern's (patterns.py).
    # A class attribute where the SDK has a property: the SDK reads it per instance.
    state_partitioning_keys: t.ClassVar[list[str] | None] = sdk_seams.FLAT_BOOKMARK

    # --- The run ----------------------------------------------------------------------

    @property
    def run(self) -> RunContext:
        """What this stream uses of the run: budget, clock, progress, writer (run_context.py).

        The contract: a LitmosStream belongs to a tap with a `run` RunContext (TapLitmos).
        """
        run = getattr(sdk_seams.tap_of(self), "run", None)
        if not isinstance(run, RunContext):
            msg = f"{type(self).__name__} needs a tap with a RunContext `run` (TapLitmos)"
            raise TypeError(msg)
        return run

    def plan(self, *, selected: bool = True) -> StreamPlan:
        """How this stream will be read this run, before its first request (progress.py).

        A stream read inside its parent's answer makes no request; any other list is
        read whole, one pass per partition. Each access pattern answers for its own.
        """
        parent = self.parent_stream_type.name if self.parent_stream_type else None
        if parent is not None:
            return StreamPlan(
                self.name, f"inside {parent}, no request", 0, None, None, parent, selected
            )
        passes = len(self.partitions or (None,))
        return StreamPlan(self.name, "snapshot", passes, selected=selected)

    # --- Sync -----------------------------------------------------------------------

    @override  # type: ignore[misc]  # final in the SDK: wrapped on purpose
    def sync(self, context: Context | None = None) -> None:
        with self.run.progress.syncing(self):
            super().sync(context)
            if self.parent_stream_type is None:
                # This stream and its children are read in full: only now may a target drop
                # the rows their new versions lack (writer.py holds ACTIVATE_VERSION until
                # here). A sync that raised, or stopped at a record limit, activates nothing.
                self.run.writer.activate_held_versions()

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        self.run.progress.record_emitted(self.name)
        return row

    # --- Connection -----------------------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        return settings.base_url(self.config)

    @functools.cached_property
    @override
    def authenticator(self) -> APIKeyAuthenticator:
        # The key travels in the `apikey` header only: never in a URL, a log or a message.
        return APIKeyAuthenticator(key="apikey", value=self.config["api_key"], location="header")

    @property
    @override
    def requests_session(self) -> requests.Session:
        return self._litmos_session

    @functools.cached_property
    def _litmos_session(self) -> LitmosSession:
        # Refuses redirects off the API host, so the `apikey` header never leaves it;
        # every request it sends, redirect hops included, takes a slot of the budget.
        return LitmosSession(
            self.url_base,
            before_send=self._before_send,
            max_body_bytes=int(settings.value(self.config, "max_response_mb") * MEGABYTE),
        )

    def _before_send(self) -> None:
        # Every request sent, retries and redirect hops included, takes a slot of the
        # budget and counts in the run's progress: Litmos counts each one.
        self.run.request_budget.acquire()
        self.run.progress.request_sent(self.name)

    @functools.cached_property
    @override
    def user_agent(self) -> str:
        return f"tap-litmos/{self.run.plugin_version}"

    @property
    @override
    def timeout(self) -> float:  # type: ignore[override]  # fractional seconds; the SDK says int
        return float(settings.value(self.config, "request_timeout"))

    @property
    def response_format(self) -> str:
        """`json` or `xml`: what every request of this run asks Litmos for."""
        return str(settings.value(self.config, "response_format"))

    @property
    def page_size(self) -> int:
        """Rows per request (Litmos `limit`)."""
        return int(settings.value(self.config, "page_size"))

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return api.content_headers(self.response_format)

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: int | None
    ) -> dict[str, t.Any]:
        return api.query_params(
            self.config,
            start=next_page_token or 0,
            limit=self.page_size,
            response_format=self.response_format,
            filters=self.filter_params(context),
        )

    def filter_params(self, context: Context | None) -> dict[str, t.Any]:  # noqa: ARG002
        """Query parameters that filter what the endpoint returns (an access pattern's)."""
        return {}

    @override
    def get_new_paginator(self) -> LitmosPaginator:
        return LitmosPaginator(self.page_size, self.page_rows, self.page_reaches_end)

    def page_reaches_end(self, rows: api.Rows) -> bool:  # noqa: ARG002
        """True when a full page still holds the last rows this run needs."""
        return False

    # --- Requests: budget, retries, errors ----------------------------------------------

    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        # Only what can change when asked again is retried (api.RETRIED_FAILURES).
        return backoff.on_exception(
            api.retry_waits,
            api.RETRIED_FAILURES,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=None,
            logger=None,  # backoff_handler logs the one line per retry
        )(func)

    @override
    def backoff_max_tries(self) -> int:
        return int(settings.value(self.config, "max_retries")) + 1

    @override
    def backoff_handler(self, details: t.Any) -> None:
        failure = details.get("exception")
        # Our own retriable errors already say what happened; a network error needs naming.
        reason = (
            str(failure) if isinstance(failure, RetriableAPIError) else describe_failure(failure)
        )
        self.run.progress.retried(self.name)
        self.logger.warning(
            "Retrying %s in %.0f s (attempt %d of %d): %s",
            self.name,
            details["wait"],
            details["tries"] + 1,
            self.backoff_max_tries(),
            reason,
        )

    @override
    def validate_response(self, response: requests.Response) -> None:
        # Every answer, an error too, tells Litmos's time (where walks over changes end).
        self.last_server_date = self.run.clock.observe(response)
        error = api.status_error(response, self.path)
        if error is not None:
            raise error
        try:
            self.page_rows(response)
        except LitmosBodyError as exc:
            raise api.body_error(exc, response, self.path) from exc

    # --- Parsing -----------------------------------------------------------------

    def page_rows(self, response: requests.Response) -> api.Rows:
        """The raw rows of one page, parsed once and kept on the response."""
        return api.page_rows(
            response, self.response_format, single_object=self.single_object, wrappers=self.wrappers
        )

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, t.Any]]:
        rows = self.flatten(self.page_rows(response))
        self._check_keys(rows, response)
        if rows:
            self._warn_unknown_fields(rows[0])
        return rows

    @functools.cached_property
    def _wire_keys(self) -> tuple[str, ...]:
        """The key fields every row must carry itself (not those a parent's context adds)."""
        from_context = set(
            self.parent_stream_type.child_context_keys if self.parent_stream_type else ()
        )
        keys = (
            *(self.primary_keys or ()),
            *((self.replication_key,) if self.replication_key else ()),
        )
        return tuple(dict.fromkeys(k for k in keys if k not in from_context))

    def _check_keys(self, rows: list[dict[str, t.Any]], response: requests.Response) -> None:
        """Fail on a row without a key value: without it no target can place the row.

        Blank text counts as no value: it converts to null. Every stream's keys, and a
        date-window stream's replication key with them, are checked here, once.
        """
        for index, row in enumerate(rows):
            for field in self._wire_keys:
                value = row.get(field)
                if value is None or (isinstance(value, str) and not value.strip()):
                    start = dict(parse_qsl(urlsplit(response.url).query)).get("start", "0")
                    missing = (
                        "missing" if field not in row else "null" if value is None else "empty"
                    )
                    msg = (
                        f"Litmos sent {self._a_name} row without its key: {field} is {missing}"
                        f" (row {index + 1} of the page at start={_key_value(start)})"
                    )
                    raise LitmosAPIError(msg)

    def flatten(self, rows: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        """The stream's rows in a page's rows (a nested endpoint yields its inner rows)."""
        return rows

    @functools.cached_property
    def _convert(self) -> Callable[[Mapping[str, object]], dict[str, t.Any]]:
        # JSON strings carry HTML entities (&amp;, &#39;); XML text is already plain.
        # Keys the state and the target rely on must convert; any other bad value
        # becomes null with a warning, so one odd row never stops a nightly run.
        return record_converter(
            self.schema,
            unescape_html=self.response_format == "json",
            strict=(
                *(self.primary_keys or ()),
                *((self.replication_key,) if self.replication_key else ()),
            ),
            on_bad_value=self._null_bad_value,
        )

    def _null_bad_value(self, row: Mapping[str, object], field: str, raw: object) -> None:
        self.logger.warning(
            "Set to null: a %s value Litmos sent for %s %s that is not a valid %s: %s",
            field,
            self.name,
            self._key_text(row),
            self._field_type_name(field),
            quote(raw),
        )
        self.run.bad_values[self.name, field] += 1

    def _key_text(self, row: Mapping[str, object]) -> str:
        return ", ".join(f"{k}={_key_value(row.get(k))}" for k in self.primary_keys or ())

    def _field_type_name(self, field: str) -> str:
        prop = self.schema["properties"].get(field, {})
        if prop.get("format") == "date-time":
            return "date"
        types = prop.get("type", [])
        types = [types] if isinstance(types, str) else types
        return next((k for k in ("integer", "number", "boolean") if k in types), "value")

    @functools.cached_property
    def _unknown_fields_seen(self) -> set[str]:
        return set()

    def _warn_unknown_fields(self, row: Mapping[str, object]) -> None:
        known = self.schema["properties"].keys() | self.known_fields | self._unknown_fields_seen
        new = row.keys() - known
        if new:
            self._unknown_fields_seen.update(new)
            self.logger.warning(
                "Litmos sent fields that %s's schema does not have (not extracted): %s",
                self.name,
                ", ".join(sorted(new)),
            )

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        # Per record, the SDK copies the context for child streams; most streams have none.
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        # A child's records carry the parent ids of its context (UserId, SessionId ...).
        ids = {k: v for k, v in (context or {}).items() if k in self.schema["properties"]}
        for row in self.request_records(context):
            record = self.to_record({**row, **ids} if ids else row, context)
            if record is not None and self.wanted(record):
                yield record

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context | None:
        return {key: record[field] for key, field in self.child_context_keys.items()}

    def to_record(self, row: Mapping[str, object], context: Context | None) -> Record | None:  # noqa: ARG002
        """One raw Litmos row as a Singer record: every value converted by the schema."""
        try:
            return self._convert(row)
        except LitmosValueError as exc:
            raise self.unreadable(row, str(exc)) from exc

    def unreadable(self, row: Mapping[str, object], why: str) -> LitmosAPIError:
        """The one-line failure for a row whose key values cannot be read."""
        return LitmosAPIError(f"Cannot read {self._a_name} record ({self._key_text(row)}): {why}")

    @property
    def _a_name(self) -> str:
        """How a message names one row of this stream: 'an achievements', 'a courses'."""
        return f"{'an' if self.name[:1] in 'aeiou' else 'a'} {self.name}"

    @override
    def log(self, message: str, *args: t.Any, level: int = logging.INFO, **kwargs: t.Any) -> None:
        # The SDK adds "An unhandled error occurred while syncing 'x'" to every failure;
        # the tap's own error line already names the stream and what went wrong.
        if sdk_seams.is_unhandled_error(message):
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    def wanted(self, record: Record) -> bool:
        """Whether this run emits the record: not older than the starting cutoff."""
        cutoff = self._cutoff_text
        if not cutoff:
            return True
        value = record.get(self.replication_key)  # type: ignore[arg-type]  # a cutoff implies a replication key
        return value is None or value >= cutoff  # canonical text compares as time

    # --- Incremental -------------------------------------------------------------

    @functools.cached_property
    def starting_cutoff(self) -> dt.datetime | None:
        """The earliest replication-key value this run extracts.

        The bookmark minus `lookback_days` and `overlap_minutes`, never before
        `start_date`; on a first run, `start_date`; with neither, None (everything).
        The value is fixed when the stream starts and holds for the whole run.
        """
        if not self.replication_key:
            return None
        state = self.stream_state
        bookmark = None
        if state.get("replication_key") == self.replication_key:
            bookmark = parse_datetime(state.get("replication_key_value"))
        start = parse_datetime(self.config.get("start_date"))
        if bookmark is None:
            return start
        cutoff = bookmark - dt.timedelta(
            days=int(settings.value(self.config, "lookback_days")),
            minutes=int(settings.value(self.config, "overlap_minutes")),
        )
        return max(cutoff, start) if start else cutoff

    @functools.cached_property
    def _cutoff_text(self) -> str | None:
        return format_datetime(self.starting_cutoff) if self.starting_cutoff else None

    @override
    def compare_start_date(self, value: str, start_date_value: str) -> str:
        later = max(parse_datetime(value), parse_datetime(start_date_value))  # type: ignore[type-var]  # two dates, never blank
        return format_datetime(later)  # type: ignore[arg-type]  # as above

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> str | None:
        # The SDK caps an unsorted stream's bookmark at the run's start time and
        # compares the two as strings, so the signpost must be in our canonical form.
        if not self.replication_key:
            return None
        return self._signpost

    @functools.cached_property
    def _signpost(self) -> str:
        return format_datetime(local_now())
