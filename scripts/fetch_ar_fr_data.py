"""Extracts the Arabic and French candidate data sets of data/sources-ar-fr.md into one CSV.

    .venv/bin/python scripts/fetch_ar_fr_data.py OUT.csv [--mirror DIR] [--include-eval-only]

Reads each set from its snapshot under the search tool's mirror directory (one `fetch` per
repository, see data/sources-ar-fr.md), at the commit the table was verified on, with `git show`:
nothing is downloaded. Writes one row per post with the columns

    text, language, source, kind, source_label, group, source_id, licence, tier

`source_label` is the data set's own annotation, verbatim (sarcasm, hate speech, propaganda
technique...), never a redline flag / do-not-flag label: every post still has to be labelled with
docs/labelling-guideline.md. `group` is what splits must keep together (a template, an article, a
sura, a hate-speech prompt), so that a test split never shares one with training. `tier` is `ship`
for licences that allow shipping a model trained on the text, `eval_only` for research-only or
non-commercial sets, which are skipped unless --include-eval-only is given and must never reach a
shipped model. Exact duplicate texts within one source are kept once.

OUT must be outside the repository: these texts are not committed (the project decides after
reading data/sources-ar-fr.md).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from xml.etree import ElementTree

DEFAULT_MIRROR = Path("/work/.mirror")
COLUMNS = (
    "text",
    "language",
    "source",
    "kind",
    "source_label",
    "group",
    "source_id",
    "licence",
    "tier",
)


@dataclass(frozen=True)
class Post:
    text: str
    language: str
    kind: str
    source_label: str = ""
    group: str = ""
    source_id: str = ""


class Snapshot:
    """One fetched repository, read at the commit the sources table was verified on."""

    def __init__(self, mirror: Path, repo: str, commit: str) -> None:
        root = mirror / repo.replace("/", "+") / "repo"
        self.git_dir = root / ".git" if (root / ".git").is_dir() else root
        self.repo = repo
        self.commit = commit

    def read(self, path: str) -> bytes:
        done = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "show", f"{self.commit}:{path}"],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(
                f"{self.repo}@{self.commit[:10]}:{path} is not readable "
                f"({done.stderr.decode(errors='replace').strip()}); fetch github:{self.repo} first"
            )
        return done.stdout

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8")


def csv_rows(data: str, delimiter: str = ",") -> list[dict[str, str]]:
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(data, newline=""), delimiter=delimiter))


XLSX = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet's cells as text, by column position (no spreadsheet library needed)."""
    book = zipfile.ZipFile(io.BytesIO(data))
    shared: list[str] = []
    if "xl/sharedStrings.xml" in book.namelist():
        # The workbook comes from a pinned snapshot verified by hand, not from a user.
        strings = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))  # noqa: S314
        shared = ["".join(t.text or "" for t in si.iter(f"{XLSX}t")) for si in strings]
    sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    rows = []
    for row in sheet.iter(f"{XLSX}row"):
        cells: dict[int, str] = {}
        for cell in row.findall(f"{XLSX}c"):
            letters = re.match(r"[A-Z]+", cell.get("r", "A"))
            column = 0
            for letter in letters.group() if letters else "A":
                column = column * 26 + ord(letter) - 64
            value = cell.find(f"{XLSX}v")
            if cell.get("t") == "inlineStr":
                cells[column - 1] = "".join(t.text or "" for t in cell.iter(f"{XLSX}t"))
            elif value is not None and value.text is not None:
                cells[column - 1] = shared[int(value.text)] if cell.get("t") == "s" else value.text
        if cells:
            rows.append([cells.get(i, "") for i in range(max(cells) + 1)])
    return rows


# --- one reader per data set: what its files are and what its posts are -----------------------


def arsarcasm_v2(snap: Snapshot) -> Iterator[Post]:
    for split in ("training", "testing"):
        for n, row in enumerate(csv_rows(snap.text(f"ArSarcasm-v2/{split}_data.csv"))):
            yield Post(
                row["tweet"],
                "ar",
                "general",
                f"sarcasm={row['sarcasm']};sentiment={row['sentiment']};dialect={row['dialect']}",
                source_id=f"{split}:{n}",
            )


def mlma(snap: Snapshot) -> Iterator[Post]:
    archive = zipfile.ZipFile(io.BytesIO(snap.read("hate_speech_mlma.zip")))
    for language in ("ar", "fr"):
        data = archive.read(f"hate_speech_mlma/{language}_dataset.csv").decode("utf-8")
        for row in csv_rows(data):
            label = f"sentiment={row['sentiment']};target={row['target']};group={row['group']}"
            yield Post(row["tweet"], language, "hate_speech", label, source_id=row["HITId"])


def hatecheck(snap: Snapshot) -> Iterator[Post]:
    for language, name in (("ar", "arabic"), ("fr", "french")):
        path = f"MHC Final Cases/hatecheck_cases_final_{name}.csv"
        for row in csv_rows(snap.text(path)):
            functionality = row["functionality"]
            if functionality.startswith("counter_"):
                kind = "counter_speech"
            elif row["label_gold"] == "hateful":
                kind = "hate_speech"
            else:
                kind = "general"
            yield Post(
                row["test_case"],
                language,
                kind,
                f"{functionality};{row['label_gold']}",
                group=f"template:{row['templ_id']}",
                source_id=row["mhc_case_id"],
            )


def fignews(snap: Snapshot) -> Iterator[Post]:
    votes = {
        (r["batch"], r["source_language"], r["id"]): r
        for r in csv_rows(snap.text("data/FIGNEWS-2024-ALL-CLEAN-FLAT.tsv"), "\t")
        if r["type"] == "IAA"
    }
    for row in csv_rows(snap.text("data/FIGNEWS-2024-TEXT-IAA.tsv"), "\t"):
        language = {"Arabic": "ar", "French": "fr"}.get(row["Source Language"])
        if language is None:
            continue
        key = (row["Batch"], row["Source Language"], row["ID"])
        vote = votes.get(key, {})
        label = (
            f"propaganda_votes={vote.get('Propaganda', '')};"
            f"not_propaganda_votes={vote.get('Not Propaganda', '')}"
        )
        yield Post(row["Text"], language, "news", label, f"batch:{row['Batch']}", ":".join(key))


def arenas_french(snap: Snapshot) -> Iterator[Post]:
    path = "grenade_original/Contrastive_Learning_Approach/datasets/"
    rows = xlsx_rows(snap.read(path + "Multilingual_EN_Corpus_DATA_FRENCH.xlsx"))
    header = rows[1]  # the first row only groups the annotation columns
    for n, cells in enumerate(rows[2:]):
        row = dict(zip(header, cells, strict=False))
        label = (
            f"topic={row.get('Topic', '')};intolerance={row.get('Intolerance', '')};"
            f"tone={row.get('Tone of Post', '').split(' ')[0]}"
        )
        yield Post(row.get("Text", ""), "fr", "general", label, source_id=f"row:{n + 3}")


def quran(snap: Snapshot) -> Iterator[Post]:
    for line in snap.text("quran-simple-clean.txt").splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[0].isdigit():
            sura, aya, verse = parts
            yield Post(verse, "ar", "religious", group=f"sura:{sura}", source_id=f"{sura}:{aya}")


def conan_french(snap: Snapshot) -> Iterator[Post]:
    for row in csv_rows(snap.text("CONAN/CONAN.csv")):
        ident = row["cn_id"]
        if not ident.startswith("FR") or len(ident) != 24:
            continue  # P1/P2 paraphrases and T1 English translations are augmentation
        prompt = ident[:16]  # language, type, sub-topic, hate-speech id: one prompt's replies
        yield Post(row["hateSpeech"], "fr", "hate_speech", "hate_speech", prompt, prompt)
        label = f"counter_narrative;{row['cnType']}"
        yield Post(row["counterSpeech"], "fr", "counter_speech", label, prompt, ident)


def armpro(snap: Snapshot) -> Iterator[Post]:
    for split in ("dev", "test"):
        path = f"dataset/text/V2/binary/ArMPro_binary_{split}_V2.jsonl"
        for line in snap.text(path).splitlines():
            if line.strip():
                row = json.loads(line)
                yield Post(
                    row["paragraph"],
                    "ar",
                    "news",
                    f"propagandistic={row['label']}",
                    f"article:{row['page_id']}",
                    f"{split}:{row['page_id']}:{row['paragraph_id']}",
                )


@dataclass(frozen=True)
class Source:
    name: str
    repo: str
    commit: str
    licence: str
    tier: str  # "ship" or "eval_only"
    read: Callable[[Snapshot], Iterator[Post]]


SOURCES = (
    Source(
        "arsarcasm_v2",
        "iabufarha/ArSarcasm-v2",
        "eb85513e133cfc67e30aca4968fadbe2594fcb42",
        "MIT",
        "ship",
        arsarcasm_v2,
    ),
    Source(
        "mlma",
        "HKUST-KnowComp/MLMA_hate_speech",
        "479836984aebfbd8a0270ca92018980f745e4c44",
        "MIT",
        "ship",
        mlma,
    ),
    Source(
        "multilingual_hatecheck",
        "rewire-online/multilingual-hatecheck",
        "a03f2caf2023a402d85064bda243e46d280408f0",
        "CC-BY-4.0",
        "ship",
        hatecheck,
    ),
    Source(
        "fignews_iaa",
        "CAMeL-Lab/FIGNEWS-2024",
        "11c81bc07e82b1141714cf022b8c6a23e4f0210b",
        "MIT",
        "ship",
        fignews,
    ),
    Source(
        "arenas_french",
        "meriemhmdn/GR-EN-A-DE-Explainable-Analysis-for-Extremist-Narratives-in-Social-Media-Research-Project",
        "530734a506965accdc500fd34af1ce789af2d7be",
        "MIT",
        "ship",
        arenas_french,
    ),
    Source(
        "quran_tanzil",
        "abdulbaqi/quranPy",
        "61cb0757b3223a171c0fa5ac9a46ec2345f15bad",
        "CC-BY-3.0 (Tanzil Project, verbatim copies only)",
        "ship",
        quran,
    ),
    Source(
        "conan_french",
        "marcoguerini/CONAN",
        "627faf12d73ee75291d0c99a1dffd54c811a93cb",
        "research use only, no redistribution",
        "eval_only",
        conan_french,
    ),
    Source(
        "armpro",
        "MaramHasanain/ArMPro",
        "4caa4d3b9f45bc749e7865a88a61d1024b090eac",
        "CC-BY-NC-SA-4.0",
        "eval_only",
        armpro,
    ),
)


def extract(mirror: Path, include_eval_only: bool) -> Iterator[tuple[Source, Post]]:
    for source in SOURCES:
        if source.tier == "eval_only" and not include_eval_only:
            continue
        snap = Snapshot(mirror, source.repo, source.commit)
        seen: set[str] = set()
        for post in source.read(snap):
            text = post.text.strip()
            if not text or text in seen:
                continue
            seen.add(text)
            yield source, replace(post, text=text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="CSV to write (outside the repository)")
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR)
    parser.add_argument("--include-eval-only", action="store_true")
    args = parser.parse_args(argv)
    counts: Counter[tuple[str, str, str]] = Counter()
    with args.out.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for source, post in extract(args.mirror, args.include_eval_only):
            writer.writerow(
                (
                    post.text,
                    post.language,
                    source.name,
                    post.kind,
                    post.source_label,
                    post.group,
                    post.source_id,
                    source.licence,
                    source.tier,
                )
            )
            counts[(source.name, post.language, post.kind)] += 1
    for (name, language, kind), n in sorted(counts.items()):
        print(f"{name}\t{language}\t{kind}\t{n}")
    print(f"total\t\t\t{sum(counts.values())}", file=sys.stderr)


if __name__ == "__main__":
    main()
