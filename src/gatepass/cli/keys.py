"""The keys that sign id_tokens."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gatepass.cli.app import main, read_with_gatepass, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass


@main.group()
def keys() -> None:
    """Manage id_token signing keys."""


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def keys_list(gatepass: Gatepass, as_json: bool) -> None:
    """List signing keys: next (published, not signing yet), signing, retired (published until unpublish)."""
    states = await gatepass.signing_keys.list()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "kid": k.kid,
                        "alg": k.alg,
                        "state": k.state,
                        "signs_from": k.signs_from.isoformat(),
                        "unpublish_at": k.unpublish_at.isoformat() if k.unpublish_at else None,
                    }
                    for k in states
                ],
                indent=2,
            )
        )
        return
    for k in states:
        unpublish = f"\tunpublished {k.unpublish_at:%Y-%m-%d %H:%M}" if k.unpublish_at else ""
        click.echo(f"{k.kid}\t{k.alg}\t{k.state}\tsigns from {k.signs_from:%Y-%m-%d %H:%M}{unpublish}")


@keys.command("rotate")
@click.option(
    "--grace-seconds",
    type=click.IntRange(0, 604800),
    default=None,
    help="How long the new keys are only published before they sign (default from settings).",
)
@click.option(
    "--alg",
    "algorithms",
    multiple=True,
    type=click.Choice(["RS256", "ES256", "EdDSA"]),
    help="Rotate only these algorithms; repeatable. Default: all.",
)
@run_with_gatepass
async def keys_rotate(gatepass: Gatepass, grace_seconds: int | None, algorithms: tuple[str, ...]) -> None:
    """Make new signing keys; published now, signing after the grace period."""
    grace = gatepass.settings.tokens.key_rotation_grace_seconds if grace_seconds is None else grace_seconds
    kids = await gatepass.signing_keys.rotate(grace_seconds=grace, **({"algorithms": algorithms} if algorithms else {}))
    for kid in kids:
        click.echo(f"New key {kid}: published now, signing in {grace} seconds.")
