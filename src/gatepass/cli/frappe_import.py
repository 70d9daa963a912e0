"""``gatepass import frappe``: a Frappe site's OAuth clients, users, roles and document types, through its REST API."""

from __future__ import annotations

import asyncio
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatepass.cli.app import fail, main, read_with_gatepass, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass
    from gatepass.services.frappe_import import ImportPlan


@main.group("import")
def import_group() -> None:
    """Bring in what another system holds."""


def _read_secret() -> str:
    """The API secret from standard input only: never an argument (process list) and never echoed."""
    secret = getpass.getpass("API secret: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not secret:
        fail("give the API secret on standard input (--api-secret-stdin), e.g. from a password manager")
    return secret


def _read_auth_dump(path: str | None) -> dict[str, str]:
    from gatepass.services.frappe_import import AuthDumpError, parse_auth_dump

    if path is None:
        return {}
    try:
        return parse_auth_dump(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--auth-dump {path}: cannot read it ({exc})")
    except AuthDumpError as exc:
        fail(f"--auth-dump {path}: {exc}")


async def _apply(gatepass: Gatepass, plan: ImportPlan, dry_run: bool) -> None:
    from gatepass.services.frappe_import import FrappeImporter

    importer = FrappeImporter(gatepass.accounts, gatepass.clients, gatepass.doctypes, gatepass.keys.digest_key)
    report = await importer.apply(plan, dry_run=dry_run)
    for line in report.changes:
        click.echo(("would " if dry_run else "") + line)
    if not report.changes:
        click.echo("Gatepass already holds everything the site has: nothing to change.")
    for client_id, secret in report.new_secrets.items():
        click.echo(f"client_secret of {client_id}: {secret}   (shown only now; give it to the app)")
    if dry_run:
        click.echo("Dry run: nothing was changed.")


@import_group.command("frappe")
@click.option("--url", required=True, help="The Frappe site's address, e.g. https://erp.example.com.")
@click.option("--api-key", required=True, help="API key of a Frappe user with the System Manager role.")
@click.option(
    "--api-secret-stdin", is_flag=True, required=True, help="Read the API secret from standard input (required)."
)
@click.option("--doctype", "doctypes", multiple=True, help="A DocType to bring over (fields, permissions); repeat.")
@click.option(
    "--auth-dump",
    type=click.Path(exists=True, dir_okay=False),
    help="Rows of the site's __Auth table (see docs/frappe-migration.md): users keep their passwords.",
)
@click.option("--dry-run", is_flag=True, help="Print what would change and change nothing.")
def import_frappe(
    url: str, api_key: str, api_secret_stdin: bool, doctypes: tuple[str, ...], auth_dump: str | None, dry_run: bool
) -> None:
    """Copy a Frappe site's OAuth clients (same client_id and secret), users with their roles, roles, and the
    named DocTypes into Gatepass. A second run updates; the site is read in full before anything is written."""
    from gatepass.services.frappe_import import plan_import, summarise
    from gatepass.services.frappe_site import FrappeSite, FrappeSiteError, read_site

    secret = _read_secret()
    hashes = _read_auth_dump(auth_dump)

    async def read() -> ImportPlan:
        async with FrappeSite(url, api_key, secret) as site:
            return plan_import(await read_site(site, tuple(dict.fromkeys(doctypes))), hashes)

    try:
        plan = asyncio.run(read())
    except FrappeSiteError as exc:
        fail(str(exc))
    click.echo(f"Read {url.strip().rstrip('/')}: {', '.join(summarise(plan))}.")
    for note in plan.notes:
        click.echo(f"note: {note}")
    # A dry run must not even bring the schema up to date.
    (read_with_gatepass if dry_run else run_with_gatepass)(_apply)(plan, dry_run)
