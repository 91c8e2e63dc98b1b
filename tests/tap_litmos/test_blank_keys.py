"""A row whose primary key is blank text is refused, for every shape of key.

Blank text converts to null: a row with a blank key would reach the target with no key
to place it by (or merge it with every other such row). The date key had tests; here a
primary key, each shape once, in JSON and XML, through the sandbox (`set_raw` puts the
blank on the wire):

- a single key: `users` (`Id`);
- a composite key: `team_users` (`TeamId`, `Id`), either part;
- a child stream's own key, beside the key its parent's context gives: `user_badges`
  (`UserId` from the user, `ID` on the wire) and `ilt_rollcall` (`SessionId`, `Id`).
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from tests.helpers.catalog import catalog_selecting
from tests.helpers.expect import key_of
from tests.helpers.tap import run_tap

if t.TYPE_CHECKING:
    from litmos_sandbox import LitmosSandbox

pytestmark = pytest.mark.unit

CASES = [
    ("users", "Id"),
    ("team_users", "TeamId"),
    ("team_users", "Id"),
    ("user_badges", "ID"),
    ("ilt_rollcall", "Id"),
]


@pytest.mark.parametrize("response_format", ["json", "xml"])
@pytest.mark.parametrize(("stream", "field"), CASES, ids=[f"{s}.{f}" for s, f in CASES])
def test_a_blank_primary_key_fails_the_run(
    sandbox: LitmosSandbox, config: dict, stream: str, field: str, response_format: str
) -> None:
    spec = sandbox.spec(stream)
    row = sandbox.truth(stream)[0]
    sandbox.set_raw(stream, key_of(row, spec.key), field, "  ")
    # A date-window stream starts a day before the row's change (a short walk, the row in
    # it); the others read everything whatever the start.
    changed = row.get("UpdatedDate")
    start = changed - dt.timedelta(days=1) if changed else dt.datetime(2000, 1, 1)
    settings = {
        **config,
        "response_format": response_format,
        "start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    run = run_tap(settings, catalog=catalog_selecting(settings, stream), allow_failure=True)
    assert run.error is not None, f"a blank {field} was accepted"
    assert f"{stream} row without its key: {field} is empty" in str(run.error)
    assert all(r[k] not in {None, "", "  "} for r in run.records(stream) for k in spec.key)
