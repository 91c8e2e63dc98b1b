"""Quiet by default: the Singer SDK's per-window, per-parent and per-stream chatter at DEBUG.

At INFO the SDK says, for every stream and every parent record, that it begins a sync;
for every empty page (most 7-day windows) that pagination stopped after 0 pages; for
every deselected stream that it skips it; and each request and stream adds a METRIC
line. On a six-month backfill that is some 900 lines in which nothing says how far the
run is. `progress.py` says that in a few lines; the lines below it makes redundant are
demoted to DEBUG here, where they still help a developer (``TAP_LITMOS_LOGLEVEL=DEBUG``).

The demotion is a logging filter on the loggers that emit them (the tap's, one per
stream, and the SDK's own), so it acts before any handler: the terminal, Meltano's log
parser and the Airbyte writer all see the same lines. The METRIC lines keep their own
switch, the `metrics_log_level` setting.
"""

from __future__ import annotations

import logging
import typing as t

from tap_litmos import sdk_seams

if t.TYPE_CHECKING:
    from collections.abc import Iterable

#: The SDK logger that the state helpers write to.
SDK_LOGGER = "singer_sdk"
#: The level of the METRIC lines unless `metrics_log_level` says otherwise.
DEFAULT_METRICS_LEVEL = "WARNING"


class DemoteChatter(logging.Filter):
    """Lets SDK chatter (INFO, one WARNING) through only where DEBUG is on, as DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False drops the record; True passes it (demoted when it is chatter)."""
        if record.levelno > logging.WARNING or not sdk_seams.is_sdk_chatter(record.getMessage()):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


_DEMOTE = DemoteChatter()


def install(tap_logger: str, stream_names: Iterable[str]) -> None:
    """Demote the chatter of the tap's logger, its streams' loggers and the SDK's.

    Idempotent: a process that builds many taps installs the filter once per logger.
    """
    names = [tap_logger, SDK_LOGGER, *(f"{tap_logger}.{name}" for name in stream_names)]
    for name in names:
        logger = logging.getLogger(name)
        if _DEMOTE not in logger.filters:
            logger.addFilter(_DEMOTE)


def set_metrics_level(metrics_logger: logging.Logger, level: str | None) -> None:
    """The METRIC lines at `level`: INFO or DEBUG shows them, WARNING (default) hides them."""
    metrics_logger.setLevel((level or DEFAULT_METRICS_LEVEL).upper())
