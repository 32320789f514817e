"""A fitted linear model as plain arrays: the classifier's and the category model's decisions.

Training fits scikit-learn's ``LogisticRegression`` (``train.py``); scoring needs only its
decision function, a matrix product, computed here as scikit-learn computes it (same operands,
same order), so the scores are the same without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Linear:
    """``coef``: one row of weights a decision (a single row for two classes, where a positive
    score means ``classes[1]``), over every feature column; ``intercept``: one a row."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    def decision_function(self, matrix: Any) -> np.ndarray:
        """Raw scores of a feature matrix's rows: one a row for two classes, else one a class."""
        scores: np.ndarray = np.asarray(matrix @ self.coef.T) + self.intercept
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    def predict(self, matrix: Any) -> np.ndarray:
        """Each row's class."""
        scores = self.decision_function(matrix)
        chosen = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        labels: np.ndarray = self.classes[chosen]
        return labels
