"""The suite's own machinery under pytest-xdist, as `make test` runs it (``-n``): the fuzz
harnesses' summary adds up every worker's inputs, and a run in which no test passed still fails.

Each case runs a small pytest in a subprocess on throwaway test files, with the suite's plugins.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-p", "no:cacheprovider", *args],
        cwd=directory,
        # Only the plugins named here: the installed ones (schemathesis's) take seconds to import.
        env={**os.environ, "PYTHONPATH": path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_fuzz_summary_adds_up_the_workers_counts(tmp_path: Path) -> None:
    counting = "from tests.fuzz.budget import executions\n\n\ndef test_{n}():\n{body}"
    (tmp_path / "test_one.py").write_text(
        counting.format(n="one", body='    executions["harness a"] += 3\n'), encoding="utf-8"
    )
    (tmp_path / "test_two.py").write_text(
        counting.format(
            n="two", body='    executions["harness a"] += 4\n    executions["harness b"] += 5\n'
        ),
        encoding="utf-8",
    )
    done = run_pytest(tmp_path, "-n", "2", "--dist", "worksteal", "-p", "tests.fuzz.summary")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fuzz executions, bounded (make test)" in done.stdout
    assert "        7  harness a\n" in done.stdout
    assert "        5  harness b\n" in done.stdout
    assert "       12  total\n" in done.stdout


def test_a_run_in_which_no_test_passed_fails_under_xdist(tmp_path: Path) -> None:
    skipping = (
        "import pytest\n\n\n@pytest.mark.skip(reason='no server')\ndef test_{n}():\n    pass\n"
    )
    for n in ("one", "two"):
        (tmp_path / f"test_{n}.py").write_text(skipping.format(n=n), encoding="utf-8")
    done = run_pytest(tmp_path, "-n", "2", "-p", "tests.conftest")
    assert "2 skipped" in done.stdout
    assert done.returncode == 5, done.stdout + done.stderr  # pytest's "no tests collected"
