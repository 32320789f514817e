"""The ``redline`` command: a thin shell; the logic lives in the packages it calls.

One module per command group. They are imported in the order their commands are listed in
``redline --help``: typer lists commands in the order they were registered.
"""

from __future__ import annotations

import os

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from typer._click.exceptions import NoArgsIsHelpError, UsageError

# The commands register themselves as their modules are imported, and `redline --help` lists them
# in that order: these imports are in the order of the help, not the alphabet.
# isort: off
from redline.cli import ingest, status, quarantine, db, config, demo, banks, scan  # noqa: F401
from redline.cli import model, serve, users, orders, referrals, report, scheduler  # noqa: F401
from redline.cli import statements, notices, takedown, audit, webhooks, exchanges  # noqa: F401
from redline.cli import designations

# isort: on
from redline.cli.common import _fail, err, out
from redline.cli.root import app
from redline.ingest.records import UsageProblem
from redline.model.sealed import SecretUnavailable
from redline.review.errors import Invalid, ReviewError
from redline.store import SchemaOutOfDate
from redline.store.media import MediaStoreError
from redline.store.migrate import BrokenReferences

__all__ = ["app", "err", "main", "out"]

app.add_typer(db.db_app, name="db")
app.add_typer(quarantine.quarantine_app, name="quarantine")
app.add_typer(banks.bank_app, name="bank")
app.add_typer(scan.index_app, name="index")
app.add_typer(model.model_app, name="model")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.add_typer(designations.designation_app, name="designated")
app.add_typer(orders.order_app, name="order")
app.add_typer(statements.statements_app, name="statements")
app.add_typer(referrals.referral_app, name="referral")
app.add_typer(referrals.service_app, name="service")
app.add_typer(notices.notice_app, name="notice")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(exchanges.exchange_app, name="exchange")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: usage errors are one line and exit code 2; nothing ends in a traceback."""
    try:
        # Outside standalone mode click returns typer.Exit's code instead of raising it.
        code = app(args=argv, prog_name="redline", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            raise SystemExit(code)
    except NoArgsIsHelpError as help_request:
        out.print(help_request.format_message())
        raise SystemExit(0) from None
    except UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "redline"
        _fail(f"error: {error.format_message()} (see `{where} --help`)", 2)
    except UsageProblem as error:
        _fail(f"error: {error}", 2)
    except ReviewError as error:  # a bad value is a usage error; not found or taken is not
        _fail(f"error: {error}", 2 if isinstance(error, Invalid) else 1)
    except ValidationError as error:
        problems = "; ".join(
            f"REDLINE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in error.errors()
        )
        _fail(f"error: bad setting: {problems}", 2)
    except OSError as error:  # an unreadable input file or data dir, say
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"error: {where}{error.strerror or error}", 1)
    except MediaStoreError as error:
        _fail(f"error: media store: {error}", 1)
    except (SchemaOutOfDate, BrokenReferences, SecretUnavailable) as error:
        _fail(f"error: {error}", 1)
    except OperationalError as error:
        _fail(f"error: database error: {str(error.orig or error).splitlines()[0]}", 1)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
    except Exception as error:  # the last line of defence: never a traceback for users
        if os.environ.get("REDLINE_DEBUG"):
            raise
        _fail(
            f"internal error: {type(error).__name__}: {error} "
            "(set REDLINE_DEBUG=1 for the traceback)",
            1,
        )
