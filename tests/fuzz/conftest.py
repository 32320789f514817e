"""The fuzz harnesses' session summary: how many inputs each one ran."""

from __future__ import annotations

import pytest

from tests.fuzz.budget import API_EXAMPLES, EXAMPLES, LONG, executions


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
