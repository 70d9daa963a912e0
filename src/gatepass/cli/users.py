"""Users, their roles and API keys, and the roles themselves."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from gatepass.cli.app import fail, main, read_with_gatepass, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass
    from gatepass.services.stores import UserRecord


def _user_json(user: UserRecord) -> dict[str, Any]:
    return {
        "email": user.email,
        "sub": user.sub,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": user.full_name,
        "enabled": user.is_enabled,
        "roles": list(user.roles),
    }


async def _user_by_email(gatepass: Gatepass, email: str) -> UserRecord:
    user = await gatepass.accounts.find_user(email)
    if user is None:
        fail(f"No user has the email {email}")
    return user


def _read_password(password: str | None, password_stdin: bool) -> str | None:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return password


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.argument("email")
@click.option("--password", help="Password (prefer --password-stdin, which keeps it out of the process list).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--first-name", default="", help="Given name, shown on pages and in the profile claims.")
@click.option("--last-name", default="", help="Family name, shown on pages and in the profile claims.")
@click.option("--role", "roles", multiple=True, help="A role to give; repeat for several.")
@click.option(
    "--unverified-email",
    is_flag=True,
    help="You have not checked the address: email_verified stays false until its owner opens the link they "
    "can send themselves from their account page.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the user as JSON.")
@run_with_gatepass
async def user_add(
    gatepass: Gatepass,
    email: str,
    password: str | None,
    password_stdin: bool,
    first_name: str,
    last_name: str,
    roles: tuple[str, ...],
    unverified_email: bool,
    as_json: bool,
) -> None:
    """Create a user. Without a password the user can only log in through another provider."""
    created = await gatepass.accounts.create_user(
        email, _read_password(password, password_stdin), first_name=first_name, last_name=last_name, roles=roles,
        is_email_verified=not unverified_email,
    )  # fmt: skip
    click.echo(json.dumps(_user_json(created)) if as_json else f"Created {created.email} (sub {created.sub}).")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def user_list(gatepass: Gatepass, as_json: bool) -> None:
    """List users."""
    users = await gatepass.accounts.list_users()
    if as_json:
        click.echo(json.dumps([_user_json(u) for u in users], indent=2))
        return
    for u in users:
        state = "enabled" if u.is_enabled else "disabled"
        click.echo(f"{u.email}\t{state}\t{', '.join(u.roles)}")


@user.command("set-password")
@click.argument("email")
@click.option("--password", help="New password (prefer --password-stdin, which keeps it out of the process list).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@run_with_gatepass
async def user_set_password(gatepass: Gatepass, email: str, password: str | None, password_stdin: bool) -> None:
    """Set a user's password; the user is signed out everywhere and every app's tokens are revoked."""
    secret = _read_password(password, password_stdin)
    if not secret:
        fail("give the new password with --password or --password-stdin")
    found = await _user_by_email(gatepass, email)
    await gatepass.accounts.set_password(found.id, secret, by="cli")
    click.echo(f"Password of {found.email} changed.")


@user.command("disable")
@click.argument("email")
@run_with_gatepass
async def user_disable(gatepass: Gatepass, email: str) -> None:
    """Disable a user: no login, and every token of theirs stops working."""
    found = await _user_by_email(gatepass, email)
    await gatepass.accounts.set_enabled(found.id, False)
    click.echo(f"Disabled {found.email}.")


@user.command("enable")
@click.argument("email")
@run_with_gatepass
async def user_enable(gatepass: Gatepass, email: str) -> None:
    """Enable a disabled user."""
    found = await _user_by_email(gatepass, email)
    await gatepass.accounts.set_enabled(found.id, True)
    click.echo(f"Enabled {found.email}.")


@user.command("reset-factors")
@click.argument("email")
@run_with_gatepass
async def user_reset_factors(gatepass: Gatepass, email: str) -> None:
    """Remove a user's authenticator app, recovery codes and passkeys (a lost phone or key): the way back in
    for anyone, admins included. Where two-factor login is required, they set up a new app at their next login."""
    found = await _user_by_email(gatepass, email)
    had_any = await gatepass.second_factors.reset(found)
    if not had_any:
        click.echo(f"{found.email} had no second factor; nothing to reset.")
        return
    required = await gatepass.second_factors.is_required_for(found)
    then = "set up a new authenticator app" if required else "log in with their password alone"
    click.echo(f"Reset the second factors of {found.email}: at their next login they {then}.")


@user.command("roles")
@click.argument("email")
@click.option("--add", "added", multiple=True, help="Role to add; repeatable.")
@click.option("--remove", "removed", multiple=True, help="Role to remove; repeatable.")
@run_with_gatepass
async def user_roles(gatepass: Gatepass, email: str, added: tuple[str, ...], removed: tuple[str, ...]) -> None:
    """Show a user's roles, or change them with --add and --remove."""
    found = await _user_by_email(gatepass, email)
    if added or removed:
        roles = tuple(r for r in dict.fromkeys(found.roles + added) if r not in removed)
        await gatepass.accounts.set_roles(found.id, roles)
        found = await _user_by_email(gatepass, email)
    click.echo("\n".join(found.roles) if found.roles else "(no roles)")


@main.group()
def role() -> None:
    """Manage roles."""


@role.command("add")
@click.argument("name")
@click.option("--description", default="", help="What the role is for, shown in `gatepass role list`.")
@run_with_gatepass
async def role_add(gatepass: Gatepass, name: str, description: str) -> None:
    """Create a role."""
    await gatepass.accounts.add_role(name, description)
    click.echo(f"Created role {name.strip()}.")


@role.command("list")
@read_with_gatepass
async def role_list(gatepass: Gatepass) -> None:
    """List roles."""
    for name, is_builtin, description in await gatepass.accounts.list_roles():
        click.echo(f"{name}{' (built in)' if is_builtin else ''}\t{description}")


@user.command("api-key")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@run_with_gatepass
async def user_api_key(gatepass: Gatepass, email: str, as_json: bool) -> None:
    """Issue a new API key and secret (Authorization: token KEY:SECRET); the old pair stops working."""
    found = await _user_by_email(gatepass, email)
    api_key, api_secret = await gatepass.api_keys.issue(found.id)
    if as_json:
        click.echo(json.dumps({"api_key": api_key, "api_secret": api_secret}))
        return
    click.echo(f"api_key:    {api_key}")
    click.echo(f"api_secret: {api_secret}   (shown only now; store it safely)")
