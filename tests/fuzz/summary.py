"""The fuzz harnesses' session summary: how many inputs each one ran.

A plugin of the whole suite (tests/conftest.py lists it) rather than tests/fuzz's conftest: under
pytest-xdist the harnesses run in worker processes and the summary is printed by the controller,
which collects no tests and so never loads a conftest below tests/. Each worker hands its counts
back through xdist's ``workeroutput``; the controller adds them up as the workers finish.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fuzz.budget import API_EXAMPLES, EXAMPLES, LONG, executions

WORKER_KEY = "redline_fuzz_executions"


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: report to the controller
        workeroutput[WORKER_KEY] = dict(executions)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown (and never called) without xdist
def pytest_testnodedown(node: Any, error: object) -> None:
    executions.update(getattr(node, "workeroutput", {}).get(WORKER_KEY, {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not executions:
        return
    mode = "long (make fuzz)" if LONG else "bounded (make test)"
    terminalreporter.section(
        f"fuzz executions, {mode}: max_examples {EXAMPLES}, API max_examples {API_EXAMPLES}"
    )
    for name, count in sorted(executions.items()):
        terminalreporter.write_line(f"{count:>9,}  {name}")
    terminalreporter.write_line(f"{sum(executions.values()):>9,}  total")
