"""Login providers ("Log in with …")."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from gatepass.cli.app import fail, main, read_with_gatepass, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass


def _provider_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--display-name", help='Shown on the login page as "Log in with <display name>".'),
        click.option(
            "--issuer", help="The provider's base URL; discovery (/.well-known/openid-configuration) does the rest."
        ),
        click.option("--client-id", help="The client id registered at the provider."),
        click.option(
            "--client-secret-stdin", is_flag=True, help="Read the client secret from the first line of standard input."
        ),
        click.option(
            "--scope", "scopes", multiple=True, help="A scope to ask for; repeatable. Default from the preset."
        ),
        click.option(
            "--allow-signup/--no-allow-signup",
            default=None,
            help="Create an account on first login when no user has the email. Default off.",
        ),
        click.option(
            "--allow-unverified-email/--no-allow-unverified-email",
            default=None,
            help="Trust the provider's emails without email_verified=true (Frappe sends none). Default off, "
            "except for the frappe preset.",
        ),
        click.option(
            "--trust-amr/--no-trust-amr",
            default=None,
            help="Pass on how the provider says the user logged in (its amr): a second factor it asked for counts "
            "as one here, and no code is asked again. Default off.",
        ),
        click.option("--default-role", "default_roles", multiple=True, help="Role for users created here; repeatable."),
        click.option(
            "--role-map",
            "role_map",
            multiple=True,
            help="REMOTE=LOCAL: give local role LOCAL when the provider's roles claim has REMOTE; NAME alone maps "
            "the same name; repeatable. Remote roles not mapped are ignored.",
        ),
        click.option(
            "--role-sync",
            type=click.Choice(["replace", "merge", "off"]),
            help="On every login: replace the mapped roles with the provider's, merge (only add), or off.",
        ),
        click.option("--enable/--disable", "is_enabled", default=None, help="Show the provider on the login page."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _provider_changes(kwargs: dict[str, Any]) -> Any:
    from gatepass.services.providers import ProviderChanges, parse_role_map

    secret = sys.stdin.readline().rstrip("\r\n") if kwargs.pop("client_secret_stdin") else None
    if secret is not None and not secret.strip():
        fail("--client-secret-stdin read an empty line; pipe the secret in, e.g. echo SECRET | gatepass provider …")
    role_map = kwargs.pop("role_map")
    values = {key: value for key, value in kwargs.items() if value is not None and value != ()}
    if role_map:
        values["role_map"] = parse_role_map(role_map)
    return ProviderChanges(client_secret=secret, **values)


def _provider_json(gatepass: Gatepass, record: Any) -> dict[str, Any]:
    config = record.config
    return {
        "name": config.name,
        "display_name": config.display_name,
        "preset": config.preset,
        "issuer": config.issuer,
        "client_id": config.client_id,
        "has_client_secret": config.client_secret_encrypted is not None,
        "scopes": list(config.scopes),
        "enabled": config.is_enabled,
        "allow_signup": config.allow_signup,
        "allow_unverified_email": config.allow_unverified_email,
        "trust_amr": config.trust_amr,
        "default_roles": list(config.default_roles),
        "role_map": {remote: local for remote, local in config.role_map},
        "role_sync": config.role_sync,
        "callback_url": gatepass.social.providers.callback_url(config.name),
    }


def _print_provider(gatepass: Gatepass, record: Any, as_json: bool) -> None:
    data = _provider_json(gatepass, record)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    role_map = ", ".join(f"{remote} -> {local}" for remote, local in data["role_map"].items())
    rows = [
        ("name", data["name"]),
        ("display name", data["display_name"]),
        ("preset", data["preset"]),
        ("issuer", data["issuer"]),
        ("client id", data["client_id"]),
        ("client secret", "set (kept encrypted)" if data["has_client_secret"] else "none (public client)"),
        ("scopes", " ".join(data["scopes"])),
        ("enabled", "yes" if data["enabled"] else "no"),
        ("sign-up", "on" if data["allow_signup"] else "off"),
        ("unverified email", "trusted" if data["allow_unverified_email"] else "refused"),
        ("amr", "trusted (its second factor counts here)" if data["trust_amr"] else "not trusted (login is fed)"),
        ("default roles", ", ".join(data["default_roles"]) or "-"),
        ("role map", role_map or "- (no provider role is used)"),
        ("role sync", data["role_sync"]),
        ("callback URL", f"{data['callback_url']}   (register this redirect URI at the provider)"),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':<18}{value}")
    if data["allow_unverified_email"]:
        click.echo(
            "Warning: this provider's emails are trusted without email_verified; a first login with an email "
            "links to the local user who has it. Connect only a provider you administer.",
            err=True,
        )


@main.group()
def provider() -> None:
    """Manage the providers users can log in with ("Log in with …")."""


@provider.command("add")
@click.argument("name")
@click.option(
    "--preset",
    type=click.Choice(["gatepass", "frappe", "google", "github", "oidc"]),
    default="oidc",
    show_default=True,
    help="What kind of provider: another Gatepass, a Frappe server, Google, GitHub, or any OpenID Connect provider.",
)
@_provider_options
@run_with_gatepass
async def provider_add(gatepass: Gatepass, name: str, preset: str, as_json: bool, **kwargs: Any) -> None:
    """Add a provider NAME (used in its URLs). Needs --client-id and, unless the preset fixes it, --issuer."""
    record = await gatepass.social.providers.add(name, preset, _provider_changes(kwargs))
    _print_provider(gatepass, record, as_json)


@provider.command("update")
@click.argument("name")
@_provider_options
@run_with_gatepass
async def provider_update(gatepass: Gatepass, name: str, as_json: bool, **kwargs: Any) -> None:
    """Change a provider; options not given keep their value. Lists given replace the old list."""
    record = await gatepass.social.providers.update(name, _provider_changes(kwargs))
    _print_provider(gatepass, record, as_json)


@provider.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def provider_list(gatepass: Gatepass, as_json: bool) -> None:
    """List providers with their callback URLs."""
    records = await gatepass.social.providers.list_all()
    if as_json:
        click.echo(json.dumps([_provider_json(gatepass, r) for r in records], indent=2))
        return
    for record in records:
        data = _provider_json(gatepass, record)
        state = "enabled" if data["enabled"] else "disabled"
        click.echo(f"{data['name']}\t{data['display_name']}\t{data['preset']}\t{state}\t{data['callback_url']}")


@provider.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def provider_show(gatepass: Gatepass, name: str, as_json: bool) -> None:
    """Show one provider (never its secret) and the callback URL to register at it."""
    record = await gatepass.social.providers.get(name)
    if record is None:
        fail(f"no provider is named {name}; see `gatepass provider list`")
    _print_provider(gatepass, record, as_json)


@provider.command("remove")
@click.argument("name")
@run_with_gatepass
async def provider_remove(gatepass: Gatepass, name: str) -> None:
    """Delete a provider and the links of users to it (the users stay)."""
    if not await gatepass.social.providers.remove(name):
        fail(f"no provider is named {name}; see `gatepass provider list`")
    click.echo(f"Removed provider {name}.")


@provider.command("check")
@click.argument("name")
@run_with_gatepass
async def provider_check(gatepass: Gatepass, name: str) -> None:
    """Test a provider from this server: discovery, the registered callback URL, the client secret."""
    lines = await gatepass.relying_party.check(name)
    marks = {True: "ok  ", False: "FAIL", None: "info"}
    for line in lines:
        click.echo(f"[{marks[line.is_ok]}] {line.label}: {line.text}")
    if any(line.is_ok is False for line in lines):
        sys.exit(1)
