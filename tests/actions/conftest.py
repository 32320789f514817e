"""Fixtures shared by the action tests: the local stand-in of the DSA database's API."""

from tests.actions.test_sor import api, served

__all__ = ["api", "served"]
