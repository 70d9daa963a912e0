"""The root of the ``gatepass`` command, and how its commands get the application.

Every command is non-interactive. Bad input prints what to fix and exits with code 2.
Commands that write first bring the database schema up to date; commands that only read change nothing.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    pass

from gatepass.config import Settings, SettingsError, load_settings

T = TypeVar("T")
_settings_file: dict[str, str | None] = {"path": None}


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _settings() -> Settings:
    try:
        return load_settings(config_file=_settings_file["path"])
    except SettingsError as exc:
        fail(str(exc))


def _system_account() -> str:
    """The operating-system account running a command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. a bare container)
        return f"uid {os.getuid()}"


def run_with_gatepass(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async command that writes: the database schema brought up to date, roles and keys ensured."""
    return _with_gatepass(func, writes=True)


def read_with_gatepass(func: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    """Run an async command that only reads: it changes nothing, not even the schema, and says which
    command to run when the database has no schema yet or an older one."""
    return _with_gatepass(func, writes=False)


def _with_gatepass(func: Callable[..., Coroutine[Any, Any, T]], *, writes: bool) -> Callable[..., T]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        import asyncio

        from sqlalchemy.exc import DBAPIError

        from gatepass.app import build_gatepass
        from gatepass.services.accounts import AccountError
        from gatepass.services.audit import acting_as
        from gatepass.services.stores import Conflict, NotFound

        settings = _settings()

        async def main() -> T:
            gatepass = build_gatepass(settings)
            try:
                if writes:
                    await gatepass.upkeep.migrate()
                    await gatepass.accounts.ensure_builtin_roles()
                    await gatepass.signing_keys.ensure_keys()
                elif not await gatepass.upkeep.has_newest_schema():
                    fail("the database schema is missing or older than this Gatepass: run `gatepass migrate` first")
                with acting_as(f"cli:{_system_account()}"):
                    return await func(gatepass, *args, **kwargs)
            finally:
                # A command that changed a password has a notice under way: it leaves before the process does.
                await gatepass.outbox.drain()
                await gatepass.upkeep.close()

        try:
            return asyncio.run(main())
        except (AccountError, Conflict, NotFound, SettingsError) as exc:
            fail(str(exc))
        except BrokenPipeError:
            # The reader went away (`gatepass client list | head`): nothing left to say.
            sys.stderr.close()
            sys.exit(0)
        except OSError as exc:
            fail(f"cannot reach the database: {exc}")
        except DBAPIError as exc:
            # A wrong user, password or database name: say so, without a traceback.
            fail(f"cannot use the database: {str(exc.orig).strip() or type(exc.orig).__name__}")

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (also GATEPASS_CONFIG). Environment variables override it.",
)
@click.version_option(package_name="gatepass")
def main(config_file: str | None) -> None:
    """Gatepass: OAuth 2.1 authorization server and OpenID Connect provider."""
    _settings_file["path"] = config_file
    if config_file:
        os.environ["GATEPASS_CONFIG"] = str(Path(config_file).resolve())
