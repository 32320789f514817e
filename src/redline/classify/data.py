"""Assembling labelled examples from the project's data sets and its own labels.

Sources (``../shared/data`` and ``data/labels`` in the repository):
- ``fanboy``: tweets of 112 pro-IS accounts, labelled tweet by tweet from a stratified sample
  (``data/labels/fanboy_sample.csv``) and a second sample of the accounts that mix propaganda
  with other posts (``fanboy_more_*.csv``); split **by account**, so no account is in two splits;
- ``mixed``: same-period tweets, even rows only (odd rows are reserved for held-out checks and are
  never read here), labelled in ``data/labels/mixed_even_*.csv``; split by normalised text, so a
  re-posted text never sits in two splits;
- ``news``: FA-KES articles on the Syrian war cut into snippets of one to three sentences, all
  reporting (label 0); split by article;
- ``benign``: hand-written harmless posts (religious, counter-speech, research, reporting) in
  ``data/eval/benign_posts.csv``, with their own train/test split.

Every example carries its source, group, language and kind, so evaluation can report per source,
per language and per kind. Splits are deterministic (seeded hashing of the group); a text can
still sit on two sides (the same retweet from two accounts), so evaluation reads the test split
through ``held_out``, which leaves out every test text training or validation also holds.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from redline.classify.language import detect
from redline.ingest.encoding import decode_bytes
from redline.signals.textnorm import tokens_for_matching

CATEGORIES = (
    "support_glorification",
    "official_media_distribution",
    "threat_incitement",
    "recruitment",
)
SPLITS = ("train", "validation", "test")
# The languages evaluation reports on, each on its own; every other code counts as "other".
LANGUAGES = ("en", "ar", "fr", "other")
# Share of groups in each split, for the sources split here.
SHARES = {"train": 0.70, "validation": 0.15, "test": 0.15}
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
TERRORISM_WORDS = re.compile(
    r"\b(IS|ISIS|ISIL|Islamic State|Daesh|Daish|jihadis?t?s?|terror\w*|militant\w*|"
    r"extremis\w*|al-?Qaeda|Nusra|propaganda|suicide|bomb\w*|attack\w*|beheading\w*)\b"
)


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text."""

    text: str
    label: int  # 1 flag, 0 do not flag
    category: str  # one of CATEGORIES, or "none"
    source: str  # fanboy | mixed | news | benign
    group: str  # what must not be split across train/validation/test
    split: str
    lang: str
    kind: str  # propaganda, reporting, commentary, counter_speech, religious, research, ...


def split_of(group: str, salt: str = "redline-text-v1") -> str:
    """The split a group falls in: stable across runs and machines."""
    point = int(hashlib.sha256(f"{salt}:{group}".encode()).hexdigest()[:8], 16) / 2**32
    if point < SHARES["train"]:
        return "train"
    return "validation" if point < SHARES["train"] + SHARES["validation"] else "test"


def _labels(path: Path, key: str) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as stream:
        return {row[key]: row for row in csv.DictReader(stream) if row.get("label") in {"0", "1"}}


def _hand_labelled(text: str, label: dict[str, str], source: str, group: str) -> Example:
    """A text with its row of a labels file: a category only on a flag, the language detected
    when the labeller left it out."""
    return Example(
        text,
        int(label["label"]),
        label["category"] if label["label"] == "1" else "none",
        source,
        group,
        split_of(group),
        label.get("lang") or detect(text),
        label.get("kind") or "other",
    )


# Weak labels: in the training split only, an account whose labelled sample is (nearly) all
# propaganda lends its other tweets as positives, and a (nearly) neutral relay its other tweets as
# negatives. Hand labels always win; validation and test use hand labels only.
WEAK_POSITIVE_SHARE = 0.85
WEAK_NEGATIVE_SHARE = 0.05
WEAK_MIN_LABELLED = 15
WEAK_PER_ACCOUNT = 120


def fanboy(shared: Path, labels: Path, weak: bool = True) -> Iterator[Example]:
    """Tweets of the pro-IS accounts: hand-labelled ones, plus weak labels (train split only);
    split by account."""
    chosen: dict[str, dict[str, str]] = {}
    for path in sorted(labels.glob("fanboy_*.csv")):
        chosen.update(_labels(path, "tweetid"))
    with (shared / "isis_fanboy_tweets.csv").open(encoding="utf-8", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r.get("tweets") and r.get("username")]
    by_account: dict[str, list[int]] = {}
    for row in rows:
        label = chosen.get(row.get("tweetid") or "")
        if label is not None:
            by_account.setdefault(row["username"], []).append(int(label["label"]))
    weak_label: dict[str, int] = {}
    for account, found in by_account.items():
        share = sum(found) / len(found)
        if weak and len(found) >= WEAK_MIN_LABELLED and split_of(f"account:{account}") == "train":
            if share >= WEAK_POSITIVE_SHARE:
                weak_label[account] = 1
            elif share <= WEAK_NEGATIVE_SHARE:
                weak_label[account] = 0
    lent: dict[str, int] = {}
    for row in rows:
        account = row["username"]
        group = f"account:{account}"
        text = html.unescape(row["tweets"]).strip()
        label = chosen.get(row.get("tweetid") or "")
        if label is not None:
            yield _hand_labelled(text, label, "fanboy", group)
        elif account in weak_label and lent.get(account, 0) < WEAK_PER_ACCOUNT and len(text) > 15:
            lent[account] = lent.get(account, 0) + 1
            value = weak_label[account]
            yield Example(
                text,
                value,
                "none",
                "fanboy_weak",
                group,
                "train",
                detect(text),
                "propaganda" if value else "reporting",
            )


def mixed(shared: Path, labels: Path) -> Iterator[Example]:
    """Labelled even rows of the unlabelled same-domain tweets, split by normalised text."""
    chosen: dict[str, dict[str, str]] = {}
    for path in sorted(labels.glob("mixed_even_*.csv")):
        chosen.update(_labels(path, "row"))
    with (shared / "unlabelled_mixed_tweets.csv").open(encoding="utf-8", newline="") as stream:
        rows = csv.reader(stream)
        next(rows)
        for index, row in enumerate(rows):
            if index % 2:  # odd rows are reserved for held-out checks: never read
                continue
            label = chosen.get(str(index))
            if label is None or not row:
                continue
            text = html.unescape(row[0]).strip()
            group = "text:" + hashlib.sha256(tokens_for_matching(text).encode()).hexdigest()[:16]
            yield _hand_labelled(text, label, "mixed", group)


def news(shared: Path) -> Iterator[Example]:
    """FA-KES articles as snippets of one to three sentences (reporting), split by article."""
    data = (shared / "fakes_syria_war_news.csv").read_bytes()
    text, _encoding = decode_bytes(data)
    for row in csv.DictReader(io.StringIO(text, newline="")):
        article = row.get("unit_id") or ""
        group = f"article:{article}"
        split = split_of(group)
        title = (row.get("article_title") or "").strip()
        if title:
            yield Example(title, 0, "none", "news", group, split, "en", _news_kind(title))
        sentences = [
            s.strip()
            for s in _SENTENCE.split(row.get("article_content") or "")
            if len(s.strip()) > 20
        ]
        # Snippets of one, two and three sentences in turn: tweets quote news at every length.
        start, sizes = 0, itertools.cycle((1, 2, 3))
        while start < len(sentences):
            size = next(sizes)
            snippet = " ".join(sentences[start : start + size])
            start += size
            yield Example(snippet, 0, "none", "news", group, split, "en", _news_kind(snippet))


def _news_kind(text: str) -> str:
    # Reporting that mentions terrorism is what the false-positive goal is about.
    return "reporting_terrorism" if TERRORISM_WORDS.search(text) else "reporting"


def benign(path: Path) -> Iterator[Example]:
    """The hand-written harmless posts; their file says which are for training."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            split = "train" if row["split"] == "train" else "test"
            # A fifth of the training rows check the threshold instead (never the test rows).
            if split == "train" and split_of(f"benign:{row['id']}") != "train":
                split = "validation"
            yield Example(
                row["text"],
                0,
                "none",
                "benign",
                f"benign:{row['id']}",
                split,
                row["lang"],
                row["kind"],
            )


def language_of(example: Example) -> str:
    """The example's language as evaluation groups it: en, ar, fr or other ("und" included)."""
    return example.lang if example.lang in LANGUAGES else "other"


def held_out(
    examples: Sequence[Example], split: str = "test"
) -> tuple[list[Example], list[Example]]:
    """The examples of ``split`` that no other split shares a group or a text with, and those
    left out. Groups never cross splits by construction; texts can: the fanboy tweets are split
    by account and the same retweet is posted by accounts on both sides, the same news sentence
    runs in two articles, a mixed tweet is also a fanboy tweet. A text training read (as
    near-duplicate matching reads it: ``tokens_for_matching``) measures memory, not the model,
    so evaluation leaves it out; training itself is unchanged."""
    elsewhere = [e for e in examples if e.split != split]
    seen_groups = {e.group for e in elsewhere}
    seen_texts = {tokens_for_matching(e.text) for e in elsewhere}
    kept: list[Example] = []
    left_out: list[Example] = []
    for example in examples:
        if example.split != split:
            continue
        seen = example.group in seen_groups or tokens_for_matching(example.text) in seen_texts
        (left_out if seen else kept).append(example)
    return kept, left_out


def load_examples(shared: Path, labels: Path, benign_path: Path) -> list[Example]:
    """Every labelled example available."""
    return [*fanboy(shared, labels), *mixed(shared, labels), *news(shared), *benign(benign_path)]


def fingerprint(paths: list[Path]) -> dict[str, str]:
    """SHA-256 of each input file, for the model card."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def decisions(engine: Engine) -> list[Example]:
    """Reviewers' final decisions on texts, as labelled examples: the console's decisions are
    the classifier's next training data.

    One example per distinct text (its latest final decision wins), split by the text's hash
    like every other group, so a text decided in review is never on both sides of a split.
    """
    from sqlalchemy import select

    from redline.model import Case, Decision, Item, TextBody

    final = ("violating", "not_violating")
    query = (
        select(
            Item.text_sha256,
            TextBody.body,
            Case.status,
            Case.category,
            Case.lang,
            Decision.reason,
            Decision.created_at,
        )
        .join(Item, Item.id == Case.item_id)
        .join(TextBody, TextBody.sha256 == Item.text_sha256)
        .join(Decision, Decision.case_id == Case.id)
        .where(Case.status.in_(final), Decision.status_after == Case.status)
        .where(Decision.undone_at.is_(None))
        .order_by(Decision.created_at, Decision.id)
    )
    latest: dict[str, Example] = {}
    with engine.connect() as connection:
        for sha, body, status, category, lang, reason, _at in connection.execute(query):
            violating = status == "violating"
            label_category = category if violating and category in CATEGORIES else "none"
            latest[str(sha)] = Example(
                body,
                int(violating),
                label_category if violating else "none",
                "review",
                f"review:{sha}",
                split_of(f"review:{sha}"),
                lang or detect(body),
                "propaganda" if violating else (reason or "other"),
            )
    return list(latest.values())


def decisions_fingerprint(examples: list[Example]) -> str:
    """One SHA-256 over the review-decision examples, for the model's data hashes."""
    digest = hashlib.sha256()
    for example in sorted(examples, key=lambda e: e.group):
        digest.update(f"{example.group}\t{example.label}\t{example.category}\n".encode())
    return digest.hexdigest()
