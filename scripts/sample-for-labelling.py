"""Draws batches of not-yet-labelled fanboy tweets for hand labelling (docs/labelling-guideline.md).

    .venv/bin/python scripts/sample-for-labelling.py SHARED_DATA OUT_DIR SPLIT:LETTER:SIZE ...

Each batch is OUT_DIR/batch_LETTER.csv (tweetid, text), to be labelled into
data/labels/fanboy_more_LETTER.csv. A batch holds tweets of one split's accounts only (accounts are
split as in training), none already labelled, one per distinct normalised text, drawn round-robin
over the accounts in a seeded random order so that no account fills a batch. Batches for the same
split follow one another in the same draw, so they never overlap. OUT_DIR must be outside the
repository: tweets' texts are never committed.
"""

from __future__ import annotations

import csv
import html
import random
import sys
from collections import defaultdict
from pathlib import Path

from redline.classify.data import SPLITS, split_of
from redline.signals.textnorm import tokens_for_matching

LABELS = Path(__file__).resolve().parent.parent / "data" / "labels"


def parse_batches(specs: list[str]) -> list[tuple[str, str, int]]:
    """SPLIT:LETTER:SIZE specs; SystemExit naming the first bad one."""
    parsed = []
    for spec in specs:
        parts = spec.split(":")
        if len(parts) != 3 or parts[0] not in SPLITS or not parts[1] or not parts[2].isdigit():
            raise SystemExit(f"bad batch {spec!r}: want SPLIT:LETTER:SIZE, SPLIT one of {SPLITS}")
        parsed.append((parts[0], parts[1], int(parts[2])))
    return parsed


def main(shared: Path, out: Path, batches: list[str], labels: Path = LABELS) -> None:
    wanted = parse_batches(batches)
    with (shared / "isis_fanboy_tweets.csv").open(encoding="utf-8", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r.get("tweets") and r.get("username")]
    labelled: set[str] = set()
    for path in labels.glob("fanboy_*.csv"):
        with path.open(encoding="utf-8", newline="") as stream:
            labelled |= {r["tweetid"] for r in csv.DictReader(stream)}
    seen = {
        tokens_for_matching(html.unescape(r["tweets"])) for r in rows if r["tweetid"] in labelled
    }
    by_split: dict[str, dict[str, list[dict[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        key = tokens_for_matching(html.unescape(row["tweets"]))
        if row["tweetid"] in labelled or key in seen:
            continue
        seen.add(key)
        by_split[split_of(f"account:{row['username']}")][row["username"]].append(row)
    rng = random.Random(20261202)  # noqa: S311 - a reproducible draw, not a secret
    drawn: dict[str, list[dict[str, str]]] = {}
    for split, accounts in by_split.items():
        queues = [rng.sample(tweets, len(tweets)) for _, tweets in sorted(accounts.items())]
        rng.shuffle(queues)
        order: list[dict[str, str]] = []
        while any(queues):
            order += [q.pop() for q in queues if q]
        drawn[split] = order
    out.mkdir(parents=True, exist_ok=True)
    for split, letter, size in wanted:
        chosen, drawn[split] = drawn.get(split, [])[:size], drawn.get(split, [])[size:]
        with (out / f"batch_{letter}.csv").open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(["tweetid", "text"])
            writer.writerows([r["tweetid"], html.unescape(r["tweets"]).strip()] for r in chosen)
        print(f"batch_{letter}.csv: {len(chosen)} tweets of the {split} split")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
