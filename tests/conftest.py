"""Shared fixtures: a migrated database per test on SQLite and PostgreSQL, settings, the CLI.

PostgreSQL runs at 127.0.0.1:5432 (trust auth, database ``test``) on development and CI machines.
Each test session (under pytest-xdist, each worker) creates its own database there and drops it
at the end. Locally a missing server skips the PostgreSQL half of the suite; with CI=true it is an
error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import argon2.profiles
import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from redline.config import Settings, get_settings
from redline.model import Base
from redline.review import accounts
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
        # A commit returns before its WAL record is flushed to disk: 0.1 ms instead of 2 ms here,
        # on thousands of commits. It only loses the last commits if PostgreSQL itself crashes,
        # which no test does (the crash tests kill redline's processes, not the database).
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite database made once per session: each test gets a copy, since
    running every migration costs a second or more a test and a copy a few milliseconds."""
    path = tmp_path_factory.mktemp("template") / "redline.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()  # the last connection closed: the write-ahead log is folded into the file
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a new SQLite file, or the session's PostgreSQL emptied."""
    if request.param == "sqlite":
        path = tmp_path / "redline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    pg: Engine = request.getfixturevalue("pg_engine")
    with pg.begin() as connection:
        connection.exec_driver_sql(EMPTY_POSTGRESQL)
    return str(pg.url.render_as_string(hide_password=False))


# Every table emptied and every sequence restarted, in one round trip. DELETE rather than
# TRUNCATE: on tables holding a test's few rows it takes a twentieth of the time (TRUNCATE makes
# new files for each of the 34 tables). The replica role lets it past the audit trail's trigger,
# which refuses any DELETE a user makes.
EMPTY_POSTGRESQL = " ".join(
    [
        "SET LOCAL session_replication_role = replica;",
        *(f"DELETE FROM {table.name};" for table in reversed(Base.metadata.sorted_tables)),
        "SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S';",
    ]
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test; the CLI sees the same through REDLINE_* variables."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("REDLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("REDLINE_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    return Settings(database_url=database_url, data_dir=data_dir)


SEALING_KEY = "a passphrase that seals secrets at rest, for tests only"


@pytest.fixture
def sealing_key(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """REDLINE_SECRET_KEY set for this process and the commands it runs (``model.sealed``)."""
    monkeypatch.setenv("REDLINE_SECRET_KEY", SEALING_KEY)
    get_settings.cache_clear()
    yield SEALING_KEY
    get_settings.cache_clear()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """argon2-cffi's profile for tests in this process: the shipped parameters cost about 50 ms
    of CPU a hash (seconds on a loaded machine), and the suite makes and checks thousands.
    Servers and commands the tests start as subprocesses keep the shipped ones, and
    tests/review/test_accounts.py checks what ships."""
    shipped = accounts._hasher
    accounts._hasher = PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
    yield
    accounts._hasher = shipped


@pytest.fixture(scope="session", autouse=True)
def _remembered_password_strengths() -> Iterator[None]:
    """zxcvbn's verdict on each password (with its user inputs) computed once per test process:
    the review desk alone signs up five users for each of its 470 tests, 8 ms of CPU each time
    for the same five answers. zxcvbn is a pure function, so the remembered verdict is the one
    it would give; each distinct password is still judged by the real zxcvbn, and commands the
    tests start as subprocesses judge every password afresh."""
    judge = accounts.zxcvbn
    verdicts: dict[tuple[str, tuple[str, ...]], Any] = {}

    def remembered(password: str, user_inputs: list[str] | None = None) -> Any:
        key = (password, tuple(user_inputs or ()))
        if key not in verdicts:
            verdicts[key] = judge(password, user_inputs=user_inputs)
        return verdicts[key]

    accounts.zxcvbn = remembered
    yield
    accounts.zxcvbn = judge


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
