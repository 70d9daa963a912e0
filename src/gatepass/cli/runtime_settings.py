"""Settings changed while the server runs."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gatepass.cli.app import main, read_with_gatepass, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass


@main.group("settings")
def settings_group() -> None:
    """Show and change runtime settings (kept in the database, seen by every worker)."""


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def settings_show(gatepass: Gatepass, as_json: bool) -> None:
    """Show runtime settings."""
    values = await gatepass.runtime.all()
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    for key, value in values.items():
        click.echo(f"{key} = {value}")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@run_with_gatepass
async def settings_set(gatepass: Gatepass, key: str, value: str) -> None:
    """Change a runtime setting, e.g. `gatepass settings set consent_mode force`."""
    click.echo(f"{key} = {await gatepass.runtime.set(key, value)}")
