"""meltano.yml's second-account example, run as a user who uncomments it would run it.

The commented block between `accounts-example:start` and `:end` is merged into a copy of
meltano.yml in a project of its own (the plugins stay those `meltano install` put in the
repository's .meltano/, shared through MELTANO_SYS_DIR_ROOT), and its job runs: the first
account through `tap-litmos`, the second through `tap-litmos--eu` into schema
`litmos_eu`, then dbt once over both. The two sandbox accounts accept different keys, so
the second extractor must use its own (`LITMOS_EU_API_KEY`), not inherit the first's;
each keeps its own state, and every mart holds each account's rows equal to that
account's truth (tests/helpers/marts_reference.py).
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import duckdb
import pytest
import yaml

from litmos_sandbox import LitmosSandbox
from tests.helpers import marts_reference as reference
from tests.helpers.expect import API_KEY
from tests.helpers.meltano import ROOT, meltano_cli, meltano_env

if t.TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.platform

UTC = dt.timezone.utc
START_DATE = (dt.datetime.now(UTC) - dt.timedelta(days=370)).date()
START = dt.datetime.combine(START_DATE, dt.time(), UTC)
EU_KEY = "eu-account-key-for-the-example"
MARTS_SCHEMA = "analytics_litmos"


def example() -> dict[str, t.Any]:
    """The commented example of meltano.yml, as YAML."""
    text = (ROOT / "meltano.yml").read_text()
    block = text.split("# accounts-example:start\n", 1)[1].split("# accounts-example:end", 1)[0]
    lines = block.splitlines()
    assert all(line.startswith("# ") or line == "#" for line in lines)
    return yaml.safe_load("\n".join(line[2:] for line in lines))


def project_with_example() -> dict[str, t.Any]:
    """meltano.yml with the example's entries moved into its lists, as the docs say."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extra = example()
    for kind in ("extractors", "loaders"):
        project["plugins"][kind] += extra["plugins"][kind]
    for utility in extra["plugins"]["utilities"]:
        (ours,) = (u for u in project["plugins"]["utilities"] if u["name"] == utility["name"])
        ours["commands"].update(utility["commands"])
    project["jobs"] += extra["jobs"]
    return project


def test_the_example_is_a_second_account_of_its_own() -> None:
    extra = example()
    (extractor,) = extra["plugins"]["extractors"]
    (loader,) = extra["plugins"]["loaders"]
    assert extractor["inherit_from"] == "tap-litmos"
    assert extractor["config"]["region"] == "eu"
    assert extractor["config"]["api_key"].startswith("$")  # from the environment, not here
    assert loader["config"]["default_target_schema"] != "litmos"
    (job,) = extra["jobs"]
    dbt_tasks = [task for task in job["tasks"] if task.startswith("dbt-")]
    assert len(dbt_tasks) == 1  # the models are built once, after both loads
    assert f"{extractor['name']} {loader['name']}" in job["tasks"]


def test_the_examples_job_loads_both_accounts_and_builds_the_models_once(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "meltano.yml").write_text(yaml.safe_dump(project_with_example(), sort_keys=False))
    (project / "transform").symlink_to(ROOT / "transform")  # the dbt project, as it is
    warehouse = tmp_path / "warehouse.duckdb"
    target = tmp_path / "dbt"
    (extractor,) = example()["plugins"]["extractors"]
    (job,) = example()["jobs"]
    with (
        LitmosSandbox(seed=11, id_seed=5, users=20, achievements=200, api_key=API_KEY) as us,
        LitmosSandbox(seed=23, id_seed=5, users=20, achievements=200, api_key=EU_KEY) as eu,
    ):
        env = meltano_env(
            tmp_path / "meltano.db",
            MELTANO_SYS_DIR_ROOT=str(ROOT / ".meltano"),  # the plugins `meltano install` put there
            TAP_LITMOS_API_KEY=API_KEY,
            LITMOS_EU_API_KEY=EU_KEY,
            TAP_LITMOS_API_URL=us.base_url,
            TAP_LITMOS__EU_API_URL=eu.base_url,  # region eu, but the local sandbox
            TAP_LITMOS_START_DATE=START_DATE.isoformat(),
            TAP_LITMOS_MAX_REQUESTS_PER_MINUTE="0",
            TARGET_DUCKDB_FILEPATH=str(warehouse),
            TARGET_DUCKDB__EU_FILEPATH=str(warehouse),
            DBT_DUCKDB_PATH=str(warehouse),
            DBT_DUCKDB_TARGET_PATH=str(target),
            DBT_DUCKDB_LOG_PATH=str(target),
        )
        meltano_cli(meltano_env(tmp_path / "install.db"))(
            "install", "tap-litmos", "target-duckdb", "dbt-duckdb"
        )
        meltano = meltano_cli(env, cwd=project)
        meltano("run", job["name"])
        expected = {
            label: reference.Loaded.from_sandbox(sandbox, START, ilt_fan_outs=False)
            for label, sandbox in (("us", us), ("eu", eu))
        }
        states = meltano("state", "list")

    # Each account read with its own key (the eu sandbox refuses the first one) ...
    assert all(r["status"] == 200 for r in eu.requests), "the eu extractor used another key"
    assert eu.requests
    # ... kept its own state ...
    assert "dev:tap-litmos-to-target-duckdb" in states
    assert f"dev:{extractor['name']}-to-target-duckdb--eu" in states
    # ... and every mart holds both, each equal to its own account's truth.
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert all(r["status"] in ("success", "pass") for r in results)
    got: dict[str, dict[tuple, dict]] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart, keys in reference.ACCOUNT_KEYS.items():
            cursor = con.execute(f"select * from {MARTS_SCHEMA}.{mart}")  # noqa: S608
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
            got[mart] = {tuple(row[k] for k in keys): row for row in rows}
            assert len(got[mart]) == len(rows), mart
    (as_of,) = {r["as_of"] for r in got["learner_course_assignments"].values()}
    for mart in reference.KEYS:
        want: dict[tuple, dict] = {}
        for label, loaded in expected.items():
            computed = reference.marts(loaded, as_of, source_relation=label)[mart]
            want |= {(label, *key): row for key, row in computed.items()}
        assert {k[0] for k in want} == {"us", "eu"}, mart
        assert set(got[mart]) == set(want), mart
        wrong = [k for k in want if {c: got[mart][k][c] for c in want[k]} != want[k]]
        assert not wrong, (mart, wrong[:3])
