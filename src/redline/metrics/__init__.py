"""Outcome metrics and the transparency report: what was found, decided and removed, how fast,
and whether removed content came back."""
