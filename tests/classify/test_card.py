"""The model card's and README's evaluation tables are generated from an evaluation, never typed:
the committed ones are what ``redline model card`` makes of the committed evaluation of the
shipped model, and the command touches nothing outside its markers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from redline.classify.card import (
    SUMMARY_BEGIN,
    SUMMARY_END,
    TABLES_BEGIN,
    TABLES_END,
    section,
    summary,
    tables,
)
from redline.classify.model import TextModel
from tests.conftest import CliResult

ROOT = Path(__file__).resolve().parents[2]
EVALUATION = ROOT / "docs" / "model-evaluation.json"


def test_committed_card_and_readme_show_the_committed_evaluation_of_the_shipped_model() -> None:
    evaluation = json.loads(EVALUATION.read_text(encoding="utf-8"))
    card = (ROOT / "MODEL_CARD.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert section(card, TABLES_BEGIN, TABLES_END) == tables(evaluation)
    assert section(readme, SUMMARY_BEGIN, SUMMARY_END) == summary(evaluation)
    # The evaluation is of the model redline ships, on the labels in this repository (a label
    # file added, changed or removed means: evaluate again). The shared data sets' digests are
    # checked where they are read (tests/classify/test_model.py).
    assert evaluation["model"] == TextModel.shipped_version()
    labels = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in [*(ROOT / "data" / "labels").glob("*.csv"), ROOT / "data/eval/benign_posts.csv"]
    }
    assert {name: evaluation["data"].get(name) for name in labels} == labels


def test_card_command_writes_between_the_markers_and_nowhere_else(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    evaluation = json.loads(EVALUATION.read_text(encoding="utf-8"))
    card, readme = tmp_path / "CARD.md", tmp_path / "README.md"
    card.write_text(f"# Our model\n\nintro\n{TABLES_BEGIN}\nold figures\n{TABLES_END}\n\nnotes\n")
    readme.write_text(f"# Tool\n{SUMMARY_BEGIN}\n| typed | by hand |\n{SUMMARY_END}\nmore\n")

    written = cli("model", "card", str(EVALUATION), "--card", str(card), "--readme", str(readme))
    assert written.code == 0, written.err
    assert card.read_text() == (
        f"# Our model\n\nintro\n{TABLES_BEGIN}\n{tables(evaluation)}{TABLES_END}\n\nnotes\n"
    )
    assert (
        readme.read_text() == f"# Tool\n{SUMMARY_BEGIN}\n{summary(evaluation)}{SUMMARY_END}\nmore\n"
    )
    first = card.read_text(), readme.read_text()
    again = cli("model", "card", str(EVALUATION), "--card", str(card), "--readme", str(readme))
    assert again.code == 0 and (card.read_text(), readme.read_text()) == first

    # A file without the markers is refused, and neither file is written.
    card.write_text(f"intro\n{TABLES_BEGIN}\nold figures\n{TABLES_END}\n")
    readme.write_text("# Tool without markers\n")
    refused = cli("model", "card", str(EVALUATION), "--card", str(card), "--readme", str(readme))
    assert refused.code == 2 and "markers" in refused.err
    assert card.read_text() == f"intro\n{TABLES_BEGIN}\nold figures\n{TABLES_END}\n"

    # Something that is not an evaluation is refused too.
    other = tmp_path / "other.json"
    other.write_text('{"model": "x"}')
    wrong = cli("model", "card", str(other), "--card", str(card))
    assert wrong.code == 2 and "not an evaluation" in wrong.err
