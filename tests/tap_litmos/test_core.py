"""singer-sdk's standard tap tests, run against a Litmos sandbox over HTTP.

The SDK builds the test class at import time with a fixed config, so this module
starts its own sandbox right away (and stops it when the session ends).
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from litmos_sandbox import LitmosSandbox
from tap_litmos.tap import TapLitmos
from tests.helpers.catalog import catalog_selecting

_SANDBOX = LitmosSandbox(seed=11, users=10, achievements=300, api_key="core-key").start()
atexit.register(_SANDBOX.stop)

_CONFIG = {
    "api_key": "core-key",
    "api_url": _SANDBOX.base_url,
    "start_date": "2024-01-01",
    "max_requests_per_minute": 0,
}
# Every stream selected, the opt-in fan-outs included: the SDK's checks cover them all.
_EVERY_STREAM = catalog_selecting(_CONFIG, *TapLitmos(config=_CONFIG).streams)

TestTapLitmos = get_tap_test_class(
    tap_class=TapLitmos,
    config=_CONFIG,
    catalog=_EVERY_STREAM,
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=100),
)
