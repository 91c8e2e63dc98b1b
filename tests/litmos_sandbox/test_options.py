"""The sandbox's options, named once: the dataclass, the generated CLI and configure()."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from litmos_sandbox import LitmosSandbox, Options
from litmos_sandbox.__main__ import _parser
from litmos_sandbox.options import from_arguments
from litmos_sandbox.process import command_line

pytestmark = pytest.mark.unit

#: Every option away from its default (each a value the CLI can carry).
CHANGED = {
    "seed": 7,
    "id_seed": 4,
    "users": 3,
    "achievements": 11,
    "api_key": "k",
    "host": "127.0.0.2",
    "port": 8123,
    "extra_rows": 2,
    "json_utc_dates": True,
    "xml_nil_style": "bare",
    "html_latin1_entities": True,
    "throttle_per_minute": 5,
    "throttle_window_seconds": 2.5,
    "slow_seconds": 0.25,
    "fault_rate": 0.5,
    "fault_kinds": ("500", "drop"),
    "fault_seed": 3,
    "retry_after": "http-date",
    "retry_after_seconds": 9,
    "throttle_status": 429,
    "stall_seconds": 1.5,
    "redirect_base": "http://example.invalid",
    "extra_fields": {"Password": "a=b", "Empty": ""},
    "teams": 2,
    "courses": 17,
    "learning_paths": 5,
    "course_results": 8,
    "module_results": 4,
    "logins": 6,
    "now": datetime(2026, 1, 2, 3, 4, 5),
    "org_since_inclusive": False,
    "org_to_inclusive": True,
    "org_order": "key",
    "json_true_utc_dates": True,
    "json_wrapped": True,
    "forbidden": ("team_users", "users"),
    "clock_offset_seconds": -30.0,
}


def test_every_option_is_covered_here_and_changed() -> None:
    assert list(CHANGED) == list(Options.names())
    defaults = Options()
    assert all(getattr(defaults, n) != v for n, v in CHANGED.items())


def test_the_command_line_carries_every_option() -> None:
    args = _parser().parse_args(command_line(**CHANGED))
    assert Options.of(**from_arguments(args)) == Options.of(**CHANGED)


def test_the_four_options_the_cli_once_lacked() -> None:
    args = _parser().parse_args(
        [
            "--html-latin1-entities",
            "--no-org-since-inclusive",
            "--org-to-inclusive",
            "--org-order",
            "date_desc",
        ]
    )
    options = Options.of(**from_arguments(args))
    assert (
        options.html_latin1_entities,
        options.org_since_inclusive,
        options.org_to_inclusive,
        options.org_order,
    ) == (True, False, True, "date_desc")


def test_flags_not_given_keep_the_dataclass_defaults() -> None:
    assert from_arguments(_parser().parse_args([])) == {}
    assert Options.of(**from_arguments(_parser().parse_args(["--seed", "9"]))) == Options(seed=9)


def test_options_are_frozen_and_validated_on_replace() -> None:
    options = Options()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="org_order"):
        options.replace(org_order="random")
    with pytest.raises(TypeError, match="unknown option"):
        options.replace(colour="blue")
    assert options.replace(forbidden="/org/teams/users").forbidden == ("team_users",)


def test_configure_is_a_replace_and_rebuilds_by_scope() -> None:
    sandbox = LitmosSandbox(achievements=5, now="2026-01-01T00:00:00Z")
    dataset, world = sandbox.dataset, sandbox.world
    sandbox.configure(org_order="key", extra_rows=1)
    assert sandbox.settings == Options.of(
        achievements=5, now="2026-01-01T00:00:00Z", org_order="key", extra_rows=1
    )
    assert (sandbox.dataset, sandbox.world) == (dataset, world)
    sandbox.configure(teams=3)
    assert sandbox.dataset is dataset and sandbox.world is not world
    with pytest.raises(ValueError, match="fault_rate"):
        sandbox.configure(fault_rate=2)
    assert sandbox.settings.fault_rate == 0.0  # a refused change leaves every option
