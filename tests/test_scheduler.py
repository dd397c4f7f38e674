"""The suite's own scheduler and marks (tests/conftest.py) under pytest-xdist, as `make test`
and `make test-quick` run them.

It leans on a semi-private hook of pytest-xdist 3.8 (``LoadScopeScheduling._split_scope``);
were a new xdist to stop calling it, each worker would quietly build its own copy of every
shared fixture, and the kit could start last. A tiny suite on two workers shows both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

# Each test writes which worker ran it, in the order it ran.
TESTS = """\
import os

import pytest

def _ran(name):
    with open(os.environ["RAN_LOG"], "a") as log:
        log.write(os.environ["PYTEST_XDIST_WORKER"] + " " + name + "\\n")
"""


def test_a_groups_tests_share_a_worker_and_the_longest_groups_go_out_first(tmp_path: Path):
    shutil.copy(ROOT / "tests/conftest.py", tmp_path / "conftest.py")
    # test_a11y and test_report_e2e share the small report; test_truth's three tests are one
    # case, a group of three. The kit has the fewest tests and the quick ones are collected
    # first: in either of xdist's orders (collected, or most tests first) the kit would not
    # go out first.
    modules = {"test_0quick.py": 6, "test_a11y.py": 2, "test_report_e2e.py": 2,
               "test_handout.py": 1, "test_truth.py": 3}
    for module, count in modules.items():
        stem = module[:-3]
        case = "\n@pytest.mark.parametrize('case', ['one'])" if stem == "test_truth" else ""
        (tmp_path / module).write_text(TESTS + "".join(
            f"\n{case}\ndef test_{i}({'case' if case else ''}):\n    _ran('{stem}')\n"
            for i in range(count)))
    # A test that asks for the kit is marked slow before `-m` selects, so it is left out.
    with (tmp_path / "test_0quick.py").open("a") as module:
        module.write("\n@pytest.fixture\ndef kit():\n    return None\n"
                     "\ndef test_with_the_kit(kit):\n    _ran('slow')\n")
    log = tmp_path / "ran.log"
    # Its own --basetemp: pytest's default one is numbered, and making it removes the oldest
    # numbered folders, which on a developer's machine hold the kit's 2.5 GB venvs (~10 s).
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "basetemp"), "-m", "not slow", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "RAN_LOG": str(log)})
    assert result.returncode == 0, result.stdout + result.stderr
    ran = [line.split() for line in log.read_text().splitlines()]
    assert len(ran) == sum(modules.values()), ran  # not the slow one
    workers = {stem: {w for w, s in ran if s == stem} for stem in ("test_a11y", "test_report_e2e")}
    # One unit, so one worker, for both modules of the small report (by module, xdist's
    # default, they would be two units, handed one to each worker at the start).
    assert len(workers["test_a11y"] | workers["test_report_e2e"]) == 1, ran
    # The two longest groups start first, one on each worker.
    first = {w: next(s for v, s in ran if v == w) for w, _ in ran}
    assert sorted(first.values()) == ["test_a11y", "test_handout"], ran
