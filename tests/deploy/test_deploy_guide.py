"""docs/deploy.md says only what is true of the code: its settings exist, its commands parse with
the options it gives them, the commands the set-up tests run are the ones it shows, and its
sizing figures are the README's measured ones."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._click.exceptions import UsageError

from redline.cli import app
from redline.config import Settings
from tests.deploy import test_multi_host, test_team

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(GUIDE) if lang == language]


def command_lines() -> Iterator[str]:
    """Every redline command line in the guide's shell blocks and systemd units."""
    for body in blocks("sh") + blocks("ini"):
        for line in body.splitlines():
            line = line.removeprefix("ExecStart=")
            words = shlex.split(line, comments=True)
            if words and re.fullmatch(r"([^\s=]*/)?redline", words[0]):
                yield shlex.join(["redline", *[w for w in words[1:] if w != "&"]])


@functools.cache
def redline_command() -> Any:
    """The click command tree typer builds for `redline` (built once: it takes a moment)."""
    return typer.main.get_command(app)


def parse(line: str) -> None:
    """Parse a command line as `redline` would, without running it: an unknown command or
    option, a missing argument or a bad value raises (typer's own click's) UsageError."""
    words = shlex.split(line)[1:]
    command = redline_command()
    name = "redline"
    while words and words[0] in getattr(command, "commands", {}):
        name, command, words = words[0], command.commands[words[0]], words[1:]
    try:
        command.make_context(name, words)
    except typer.Exit as done:  # --help, --version
        assert done.exit_code == 0


def test_every_setting_the_guide_names_is_one_of_redline() -> None:
    named = set(re.findall(r"\bREDLINE_([A-Z0-9_]+)", GUIDE))
    assert len(named) >= 10
    unknown = {f"REDLINE_{n}" for n in named if n.lower() not in Settings.model_fields}
    assert unknown == set()


def test_every_command_line_in_the_guide_parses() -> None:
    lines = list(command_lines())
    assert len(lines) >= 20
    for line in lines:
        parse(line)
    # And the commands named in its prose exist (`redline worker`, `redline audit verify`).
    for span in re.findall(r"`(redline [a-z][a-z -]*)", GUIDE):
        parse(" ".join(w for w in span.split() if not w.startswith("-")) + " --help")


def test_a_wrong_option_would_be_caught() -> None:
    with pytest.raises(UsageError):
        parse("redline worker --queue hashing")
    with pytest.raises(UsageError):
        parse("redline serve --workers 0")
    with pytest.raises(UsageError):
        parse("redline token create --user platform --scope items:write")  # no --name


def test_the_set_up_tests_run_the_guides_commands_and_settings() -> None:
    shown = set(command_lines())
    for module in (test_multi_host, test_team):
        missing = [c for c in module.COMMANDS if c not in shown]
        assert missing == [], module.__name__
    # Every setting the multi-host test gives its hosts is in the guide's settings file.
    settings_file = next(b for b in blocks("ini") if "REDLINE_DATABASE_URL=" in b)
    written = set(re.findall(r"^(REDLINE_\w+)=", settings_file, re.MULTILINE))
    given = set(re.findall(r'"(REDLINE_\w+)"', Path(test_multi_host.__file__).read_text()))
    assert given and given <= written | {"REDLINE_QUEUE_PREFIX"}
    assert "REDLINE_QUEUE_PREFIX" in GUIDE


def test_make_run_is_what_the_guide_says() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nrun: $(INSTALLED)\n", 1)[1].split("\n\n", 1)[0]
    run = [line.strip().replace("$(BIN)/", ".venv/bin/") for line in recipe.splitlines()]
    shown = next(b for b in blocks("sh") if "redline demo" in b)
    lines = [shlex.join(shlex.split(line, comments=True)) for line in shown.splitlines()]
    assert lines == ["make install", *run]


def test_the_proxy_takes_the_largest_batch_redline_takes() -> None:
    size = re.search(r"client_max_body_size (\d+)m;", GUIDE)
    assert size is not None
    assert int(size[1]) * 2**20 >= Settings.model_fields["max_items_bytes"].default


def test_the_sizing_figures_are_the_readmes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = GUIDE.split("## Sizing", 1)[1]
    table = "\n".join(line for line in section.split("\n\n##")[0].splitlines() if line[:1] == "|")
    figures = re.findall(r"\d[\d,]*(?:\.\d+)?", table)
    assert len(figures) >= 25
    missing = [f for f in figures if not re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d,])", readme)]
    assert missing == []
