"""Agreement between the project's labels and an independent second annotation of a sample.

    .venv/bin/python scripts/label-agreement.py [data/labels]

Each ``second_opinion*.csv`` holds a second annotator's labels for posts drawn at random (seeded)
from the hand-labelled tweets (``second_opinion.csv``: 500 of the first two rounds' fanboy and
mixed labels; ``second_opinion_round3.csv``: 400 of the third round's); the annotator saw the texts
only, never the first labels. Prints JSON, per file: the label pairs, raw agreement and Cohen's
kappa on the posts both decided, and the F1 of one annotation against the other (what a perfect
model of one annotator would score against the other), with a bootstrap 95% interval.
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections import Counter
from pathlib import Path


def first_labels(labels: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(labels.glob("fanboy_*.csv")):
        with path.open(encoding="utf-8", newline="") as stream:
            found.update({f"fanboy:{r['tweetid']}": r["label"] for r in csv.DictReader(stream)})
    for path in sorted(labels.glob("mixed_even_*.csv")):
        with path.open(encoding="utf-8", newline="") as stream:
            found.update({f"mixed:{r['row']}": r["label"] for r in csv.DictReader(stream)})
    return found


def f1(pairs: list[tuple[str, str]]) -> float:
    tp = sum(a == b == "1" for a, b in pairs)
    wrong = sum(a != b for a, b in pairs)
    return 2 * tp / (2 * tp + wrong) if tp else 0.0


def main(labels: Path) -> dict[str, dict[str, object]]:
    first = first_labels(labels)
    return {
        path.name: agreement(first, path) for path in sorted(labels.glob("second_opinion*.csv"))
    }


def agreement(first: dict[str, str], path: Path) -> dict[str, object]:
    with path.open(encoding="utf-8", newline="") as stream:
        second = {r["tweetid"]: r["label"] for r in csv.DictReader(stream)}
    pairs = [(first[key], label) for key, label in second.items() if key in first]
    decided = [(a, b) for a, b in pairs if "unsure" not in (a, b)]
    observed = sum(a == b for a, b in decided) / len(decided)
    share_a = sum(a == "1" for a, _ in decided) / len(decided)
    share_b = sum(b == "1" for _, b in decided) / len(decided)
    expected = share_a * share_b + (1 - share_a) * (1 - share_b)
    rng = random.Random(0)  # noqa: S311 - a seeded bootstrap, not a secret
    boot = sorted(f1([rng.choice(decided) for _ in decided]) for _ in range(2000))
    return {
        "posts": len(pairs),
        "pairs": {f"{a}/{b}": n for (a, b), n in sorted(Counter(pairs).items())},
        "both_decided": len(decided),
        "agreement": round(observed, 3),
        "kappa": round((observed - expected) / (1 - expected), 3),
        "f1_second_vs_first": round(f1(decided), 3),
        "f1_95ci": [round(boot[50], 3), round(boot[1949], 3)],
    }


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "data/labels"
    print(json.dumps(main(root), indent=2))
