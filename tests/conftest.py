"""Shared fixtures: a migrated database per test on SQLite and PostgreSQL, settings, the CLI.

PostgreSQL runs at 127.0.0.1:5432 (trust auth, database ``test``) on development and CI machines.
Each test session (under pytest-xdist, each worker) creates its own database there and drops it
at the end. Locally a missing server skips the PostgreSQL half of the suite; with CI=true it is an
error, never a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from redline.config import Settings, get_settings
from redline.model import Base
from redline.store import ensure_schema, make_engine

# The tiny text model; a review desk; the fuzz harnesses' summary (printed by xdist's controller);
# an S3-protocol server for the media store tests.
pytest_plugins = [
    "tests.text_model",
    "tests.review_desk",
    "tests.fuzz.summary",
    "tests.object_store",
]

ROOT = Path(__file__).resolve().parents[1]
PG_SERVER = os.environ.get("REDLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_data_dir() -> Path | None:
    """The real public data sets (a shared/data beside this checkout or above it), if there."""
    candidates = [os.environ.get("REDLINE_SHARED_DATA")]
    candidates += [str(parent / "shared" / "data") for parent in ROOT.parents]
    for candidate in candidates:
        if candidate and (Path(candidate) / "isis_fanboy_tweets.csv").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("../shared/data is not next to this checkout (set REDLINE_SHARED_DATA)")
    return found


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    name = f"redline_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        message = f"PostgreSQL not reachable at {PG_SERVER}: {error}"
        if IN_CI:
            pytest.fail(f"{message} (CI must run the PostgreSQL tests)")
        pytest.skip(message)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a new SQLite file, or the session's PostgreSQL emptied."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'redline.db'}"
        engine = make_engine(url)
        ensure_schema(engine)
        engine.dispose()
        return url
    pg: Engine = request.getfixturevalue("pg_engine")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with pg.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return str(pg.url.render_as_string(hide_password=False))


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test; the CLI sees the same through REDLINE_* variables."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("REDLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("REDLINE_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    return Settings(database_url=database_url, data_dir=data_dir)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_settings_cache() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``redline ARGS`` in-process; returns exit code and captured output."""
    from redline.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        get_settings.cache_clear()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_redline(
    *args: str, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``redline`` in a real subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "redline", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run in which no test passed is a failure, even when every test was skipped.

    Under pytest-xdist the controller decides: it sees every worker's reports, while a worker
    whose share happened to be all skips must not fail the run.
    """
    if hasattr(session.config, "workerinput"):  # an xdist worker
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = len(reporter.stats.get("passed", [])) if reporter is not None else 0
    if exitstatus == pytest.ExitCode.OK and passed == 0:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
