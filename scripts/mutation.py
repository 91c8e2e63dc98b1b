"""Plant bugs on demand and see whether the unit tier catches them: mutmut, then the score.

    python3 scripts/mutation.py                  # mutate what [tool.mutmut] names, run, score
    python3 scripts/mutation.py 'tap_litmos.redaction*'   # only the mutants matching a name
    python3 scripts/mutation.py --score          # the score of the last run, without running
    .venv/bin/mutmut results                     # the surviving mutants, by name
    .venv/bin/mutmut show NAME                   # one mutant's diff

mutmut (the dev extra) copies the package into mutants/ (git-ignored), plants one small
bug at a time in the files `only_mutate` in pyproject.toml's [tool.mutmut] names (each
function's mutants tried in a forked process), and runs the tests marked `unit` that
reach the mutated function. A mutant is killed when a test fails, survives when none
does, and has no tests when no unit test reaches its function. The score is killed out
of killed plus survived; each survivor is a behaviour no unit test pins (or a mutant that
changes nothing: check with `mutmut show`). Not in CI: a run takes many minutes, and the
process tests (tap-litmos and source-litmos as subprocesses) do not see mutants.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = Path(sys.executable).parent / "mutmut"
STATS = ROOT / "mutants" / "mutmut-cicd-stats.json"


def score() -> str:
    """One line: killed, survived, no tests, and the score (killed of the tested)."""
    subprocess.run([MUTMUT, "export-cicd-stats"], cwd=ROOT, check=True, capture_output=True)
    stats = json.loads(STATS.read_text())
    killed, survived = stats["killed"], stats["survived"]
    tested = killed + survived
    share = f"{100 * killed / tested:.0f}%" if tested else "n/a"
    return (
        f"{stats['total']} mutants: {killed} killed, {survived} survived,"
        f" {stats['no_tests']} with no unit test reaching them,"
        f" {stats.get('timeout', 0)} timed out; score {share} ({killed} of {tested})"
    )


def main() -> int:
    """Run mutmut (unless --score), then print the score."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="*", help="only the mutants whose names match")
    parser.add_argument("--score", action="store_true", help="only the last run's score")
    parser.add_argument("--max-children", default="2", help="mutants tried at once")
    args = parser.parse_args()
    if not args.score:
        run = [MUTMUT, "run", "--max-children", args.max_children, *args.names]
        subprocess.run(run, cwd=ROOT, check=False)
    print(score())
    return 0


if __name__ == "__main__":
    sys.exit(main())
