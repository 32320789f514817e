"""Stages that turn stored content into matches, scores and cases."""
