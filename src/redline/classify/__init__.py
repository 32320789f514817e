"""Text classification: a first-stage linear model over words and character n-grams, calibrated,
with its operating threshold, categories and explanations (see MODEL_CARD.md)."""

from redline.classify.model import Prediction, TextModel

__all__ = ["Prediction", "TextModel"]
