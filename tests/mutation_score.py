"""The score of `make mutate`: how many of the targeted mutants mutmut's run killed.

Reads mutmut's result files (mutants/**/*.py.meta), keeps the mutants whose names match the
patterns given (the functions that are scored), prints each one that was not killed with
the change it made, and exits 1 when fewer than ``--min`` percent were killed. A mutant that
no test runs ("no tests") counts as a survivor: it is a gap too. Not a test module.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from pathlib import Path

DETECTED = {1, 3, 36, -24, 24, 152, 255}  # killed by a failing test, or timed out (a hang)
TIMED_OUT = {36, -24, 24, 152, 255}  # run again by --list: a hang may be the harness's


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="+", help="mutant name patterns that are scored")
    parser.add_argument("--min", type=float, default=90.0, help="lowest passing score, %%")
    parser.add_argument("--list", action="store_true",
                        help="print the names of the mutants not killed or not checked")
    args = parser.parse_args(argv)
    codes: dict[str, int | None] = {}
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    scored = {name: code for name, code in codes.items()
              if any(fnmatch.fnmatchcase(name, p) for p in args.patterns)}
    if not scored:
        print("no mutants matched: run `mutmut run` first", file=sys.stderr)
        return 1
    unchecked = [name for name, code in scored.items() if code is None]  # an interrupted run
    scored = {name: code for name, code in scored.items() if code is not None}
    survivors = sorted(name for name, code in scored.items() if code not in DETECTED)
    if args.list:
        print("\n".join(survivors + unchecked
                         + sorted(n for n, code in scored.items() if code in TIMED_OUT)))
        return 0
    for name in survivors:
        diff = subprocess.run([sys.executable, "-m", "mutmut", "show", name],
                              capture_output=True, text=True).stdout
        change = [line for line in diff.splitlines()
                  if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        print(f"survived: {name} (exit {scored[name]})")
        for line in change:
            print(f"    {line.strip()}")
    if unchecked:
        print(f"{len(unchecked)} mutants not checked yet: the score covers the others")
    score = 100 * (len(scored) - len(survivors)) / max(1, len(scored))
    print(f"mutation score: {len(scored) - len(survivors)} of {len(scored)} mutants killed "
          f"({score:.1f}%; at least {args.min:g}% required)")
    return 0 if score >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
