"""singer-sdk's standard tap tests, run against a Litmos sandbox over HTTP.

The SDK builds the test class at import time with a fixed config dict (it lists the
streams then, with no request). The sandbox starts only when the module's first test
runs (`sandbox_for_the_sdk`, before the SDK's class-scoped `runner` syncs), and its
address goes into that same dict; merely collecting this module starts nothing.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from litmos_sandbox import LitmosSandbox
from tap_litmos.tap import TapLitmos
from tests.helpers.catalog import catalog_selecting

if t.TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.unit

_CONFIG = {
    "api_key": "core-key",
    "api_url": "http://127.0.0.1:9/v1.svc",  # replaced by the sandbox's before any test
    # The sandbox's /org/* changes fall in the year before today: a start a little over a
    # year back reads them in about 60 date windows a stream (2024-01-01 took 150).
    "start_date": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)).date().isoformat(),
    "max_requests_per_minute": 0,
}
# Every stream selected, the fan-outs included: the SDK's checks cover them all.
_EVERY_STREAM = catalog_selecting(_CONFIG, *TapLitmos(config=_CONFIG).streams)


@pytest.fixture(scope="module", autouse=True)
def sandbox_for_the_sdk() -> Iterator[LitmosSandbox]:
    """The sandbox the SDK's tests read, its address in the config they were built with."""
    with LitmosSandbox(seed=11, users=10, achievements=300, api_key="core-key") as box:
        _CONFIG["api_url"] = box.base_url
        yield box


TestTapLitmos = get_tap_test_class(
    tap_class=TapLitmos,
    config=_CONFIG,
    catalog=_EVERY_STREAM,
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=100),
)
