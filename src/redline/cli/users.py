"""``redline user`` and ``redline token``: console users and API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redline.cli.common import JsonFlag, _print_json, _store, err, out

user_app = typer.Typer(
    help="Manage console users: reviewers, leads, admins, auditors.", no_args_is_help=True
)
token_app = typer.Typer(help="Manage API tokens for /api/v1.", no_args_is_help=True)


def _new_password(random: bool, from_stdin: bool) -> tuple[str, bool]:
    """(password, generated): random, read from stdin, or asked for twice without echo."""
    import secrets

    if random:
        return secrets.token_urlsafe(18), True
    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True), False


RandomPassword = Annotated[
    bool, typer.Option("--random-password", help="Generate a password and print it once.")
]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


@user_app.command("add", epilog="Example: redline user add alice --role reviewer")
def user_add(
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, . _ -")],
    role: Annotated[str, typer.Option(help="reviewer, lead, admin or auditor.")] = "reviewer",
    random_password: RandomPassword = False,
    password_stdin: PasswordStdin = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing (and print nothing) if it exists.")
    ] = False,
) -> None:
    """Create a console user (asks for the password unless told otherwise)."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine):
        if if_missing:
            with engine.connect() as connection:
                if any(u["username"] == username for u in accounts.list_users(connection)):
                    hint = f"redline user passwd {escape(username)} --random-password"
                    err.print(f"User {escape(username)} exists already (new password: {hint})")
                    return
        password, generated = _new_password(random_password, password_stdin)
        with engine.begin() as connection:
            accounts.add_user(connection, username, role, password, cli_actor())
    out.print(f"Added {role} {escape(username)}")
    if generated:
        out.print(f"Password (shown once, write it down): {password}")


@user_app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="User.")],
    random_password: RandomPassword = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's password; it signs them out everywhere."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    password, generated = _new_password(random_password, password_stdin)
    with _store() as (_settings, engine), engine.begin() as connection:
        accounts.set_password(connection, username, password, cli_actor())
    out.print(f"Password of {escape(username)} changed; their sessions are ended")
    if generated:
        out.print(f"Password (shown once, write it down): {password}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="User.")]) -> None:
    """Stop a user from signing in, and sign them out everywhere."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        accounts.set_disabled(connection, username, True, cli_actor())
    out.print(f"Disabled {escape(username)}")


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="User.")]) -> None:
    """Let a disabled user sign in again."""
    from redline.review import accounts
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        accounts.set_disabled(connection, username, False, cli_actor())
    out.print(f"Enabled {escape(username)}")


@user_app.command("list")
def user_list(as_json: JsonFlag = False) -> None:
    """Every user with role and state."""
    from redline.review import accounts

    with _store() as (_settings, engine), engine.connect() as connection:
        users = accounts.list_users(connection)
    if as_json:
        _print_json(users)
        return
    table = Table("user", "role", "state", "created")
    for u in users:
        state = "disabled" if u["disabled"] else "active"
        table.add_row(escape(str(u["username"])), str(u["role"]), state, str(u["created_at"])[:19])
    out.print(table)


@token_app.command(
    "create",
    epilog="Example: redline token create --user bot --name sync "
    "--scope cases:read --scope banks:read",
)
def token_create(
    user: Annotated[str, typer.Option(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    scope: Annotated[
        list[str], typer.Option(help="cases:read, cases:write, banks:read, banks:write.")
    ],
) -> None:
    """Create an API token; the secret is printed once and stored only as a hash."""
    from redline.review import tokens
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        secret = tokens.create_token(connection, user, name, scope, cli_actor())
    out.print(secret)


@token_app.command("list")
def token_list(as_json: JsonFlag = False) -> None:
    """Every token (never its secret)."""
    from redline.review import tokens

    with _store() as (_settings, engine), engine.connect() as connection:
        rows = tokens.list_tokens(connection)
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "name", "user", "scopes", "last used", "revoked")
    for t in rows:
        table.add_row(
            str(t["id"]),
            escape(t["name"]),
            escape(t["user"]),
            " ".join(t["scopes"]),
            str(t["last_used_at"] or "")[:19],
            str(t["revoked_at"] or "")[:19],
        )
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id (see token list).")],
) -> None:
    """Revoke a token at once."""
    from redline.model.base import utcnow
    from redline.review import tokens
    from redline.store.audit import cli_actor

    with _store() as (_settings, engine), engine.begin() as connection:
        tokens.revoke_token(connection, token_id, utcnow(), cli_actor())
    out.print(f"Revoked token {token_id}")
