"""Dynamic client registration: initial access tokens."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gatepass.cli.app import main, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass


@main.group()
def registration() -> None:
    """Dynamic client registration (RFC 7591): mode with `gatepass settings set registration_mode off|open|token`."""


@registration.command("token")
@click.option("--description", default="", help="Who the token is for.")
@click.option(
    "--ttl",
    "ttl_seconds",
    type=click.IntRange(60, 31536000),
    default=7 * 24 * 3600,
    help="Seconds until it expires (default one week).",
)
@click.option("--uses", type=click.IntRange(1, 10000), default=1, help="How many registrations it allows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@run_with_gatepass
async def registration_token(gatepass: Gatepass, description: str, ttl_seconds: int, uses: int, as_json: bool) -> None:
    """Issue an initial access token for registration_mode=token; shown once, only its digest is kept."""
    token = await gatepass.registration.issue_initial_token(description, ttl_seconds=ttl_seconds, uses=uses)
    if as_json:
        click.echo(json.dumps({"initial_access_token": token, "expires_in": ttl_seconds, "uses": uses}))
    else:
        click.echo(f"Initial access token (shown once): {token}")
        click.echo(f"Send it as Authorization: Bearer … to {gatepass.settings.server.issuer}/oauth/register")
