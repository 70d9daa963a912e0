"""Serving and looking after the deployment: serve, migrate, purge, config-docs."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gatepass.cli.app import _settings, main, run_with_gatepass

if TYPE_CHECKING:
    from gatepass.context import Gatepass
from gatepass.config import Settings, render_config_docs


async def bootstrap_admin(gatepass: Gatepass) -> None:
    """On an empty database, create the first System Manager and say how to log in."""
    from gatepass.services.accounts import SYSTEM_MANAGER

    if await gatepass.accounts.has_users():
        return
    email = os.environ.get("GATEPASS_ADMIN_EMAIL", "admin@example.com")
    password = os.environ.get("GATEPASS_ADMIN_PASSWORD")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    await gatepass.accounts.create_user(email, password, first_name="Admin", roles=(SYSTEM_MANAGER,))
    click.echo(f"Created the bootstrap admin {email}.")
    if generated:
        click.echo(f"Its password, shown this once: {password}")


@main.command()
@run_with_gatepass
async def migrate(gatepass: Gatepass) -> None:
    """Create or upgrade the database schema, and the bootstrap admin on an empty database."""
    await bootstrap_admin(gatepass)
    click.echo("The database schema is up to date.")


@main.command()
@click.option("--host", default=None, help="Bind address (default from settings: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default from settings: 8000).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker processes (default 1).")
@click.option("--no-migrate", is_flag=True, help="Do not upgrade the schema before serving.")
def serve(host: str | None, port: int | None, workers: int | None, no_migrate: bool) -> None:
    """Serve HTTP with uvicorn (uvloop, httptools)."""
    import uvicorn

    for key, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"GATEPASS_SERVER_{key}"] = str(value)
    settings = _settings()
    if not no_migrate:
        run_with_gatepass(bootstrap_admin)()
    if settings.server.workers > 1:
        # Workers share their metrics through files in this folder (prometheus_client multiprocess mode).
        metrics_dir = settings.var_path.resolve() / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    _announce(settings)
    uvicorn.run(
        "gatepass.asgi:create_app_from_environment",
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=settings.server.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.server.log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


def _announce(settings: Settings) -> None:
    """The start line, and a WARNING when clients could not reach the server at its issuer."""
    import logging

    from gatepass.config import bind_url, issuer_warnings
    from gatepass.logging import configure_logging

    listening = bind_url(settings.server.host, settings.server.port)
    if listening == settings.server.issuer:
        click.echo(f"Gatepass serving {listening}")
    else:
        click.echo(f"Gatepass serving {settings.server.issuer}, listening on {listening}")
    configure_logging(settings.server.log_level)
    for warning in issuer_warnings(settings):
        logging.getLogger("gatepass.serve").warning(warning)


@main.command()
@run_with_gatepass
async def purge(gatepass: Gatepass) -> None:
    """Delete expired and revoked codes, tokens and sessions (for cron)."""
    click.echo(f"Purged {await gatepass.purge()} rows.")


@main.command("config-docs")
@click.option(
    "--check",
    type=click.Path(dir_okay=False),
    default=None,
    help="Compare with this file instead of printing; exit 1 when it differs.",
)
def config_docs(check: str | None) -> None:
    """Print docs/configuration.md, generated from the settings in code."""
    text = render_config_docs()
    if check is None:
        click.echo(text, nl=False)
        return
    if Path(check).read_text(encoding="utf-8") != text:
        click.echo(f"{check} is out of date: run `gatepass config-docs > {check}`", err=True)
        sys.exit(1)
