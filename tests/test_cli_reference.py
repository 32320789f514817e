"""docs/cli.md is every command's --help; it must be regenerated whenever a command changes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "scripts/cli-reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_cli_md_is_up_to_date() -> None:
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    if written != _script().render():
        pytest.fail("docs/cli.md is out of date: run scripts/cli-reference.py", pytrace=False)


def test_the_reference_has_every_command_once() -> None:
    text = _script().render()
    for command in (
        "`redline`",
        "`redline ingest`",
        "`redline bank add`",
        "`redline audit verify`",
    ):
        assert text.count(f"## {command}\n") == 1, command
    assert "-h, --help" in text
