"""Database access: engines, sessions, migrations, and the writers each stage uses."""

from redline.store.engine import make_engine, session_factory
from redline.store.migrate import SchemaOutOfDate, ensure_schema, upgrade

__all__ = ["SchemaOutOfDate", "ensure_schema", "make_engine", "session_factory", "upgrade"]
