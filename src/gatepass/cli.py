"""The ``gatepass`` command: serve, migrate, and script users, roles, clients and settings.

Every command is non-interactive. Bad input prints what to fix and exits with code 2.
Commands that write first bring the database schema up to date; commands that only read change nothing.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import secrets
import shutil
import sys
from collections.abc import Callable, Coroutine
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from gatepass.context import Gatepass
    from gatepass.protocol.values import ClientInfo
    from gatepass.services.stores import UserRecord

from gatepass.config import Settings, SettingsError, load_settings, render_config_docs

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


# -- server -----------------------------------------------------------------------------------


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


# -- users and roles --------------------------------------------------------------------------


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
    as_json: bool,
) -> None:
    """Create a user. Without a password the user can only log in through another provider."""
    created = await gatepass.accounts.create_user(
        email, _read_password(password, password_stdin), first_name=first_name, last_name=last_name, roles=roles
    )
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


# -- clients ----------------------------------------------------------------------------------


def _client_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--name", "app_name", help="App name shown on the consent screen."),
        click.option(
            "--public/--confidential",
            "is_public",
            default=None,
            help="Public clients (mobile, single-page) have no secret. Default confidential.",
        ),
        click.option(
            "--auth-method",
            type=click.Choice(["client_secret_basic", "client_secret_post", "none"]),
            help="Token endpoint authentication (default client_secret_basic; none for public).",
        ),
        click.option("--redirect-uri", "redirect_uris", multiple=True, help="Registered redirect URI; repeatable."),
        click.option("--default-redirect-uri", help="Used when a request sends none."),
        click.option(
            "--post-logout-redirect-uri",
            "post_logout_redirect_uris",
            multiple=True,
            help="Where RP-initiated logout may return; repeatable.",
        ),
        click.option(
            "--scope",
            "scopes",
            multiple=True,
            help="A scope the client may request; repeatable. Default: openid profile email roles all.",
        ),
        click.option(
            "--grant-type",
            "grant_types",
            multiple=True,
            type=click.Choice(["authorization_code", "refresh_token", "client_credentials", "implicit"]),
            help="Repeatable. Default: authorization_code and refresh_token.",
        ),
        click.option(
            "--response-type",
            "response_types",
            multiple=True,
            type=click.Choice(["code", "token", "id_token", "id_token token"]),
            help="Repeatable. Default: code.",
        ),
        click.option(
            "--allowed-role",
            "allowed_roles",
            multiple=True,
            help="Only users with one of these roles may authorize the client; repeatable.",
        ),
        click.option(
            "--skip-authorization/--ask-consent", default=None, help="Trusted first-party app: no consent screen."
        ),
        click.option(
            "--require-pkce/--no-require-pkce",
            default=None,
            help="PKCE for confidential clients (always required for public ones). Default on.",
        ),
        click.option(
            "--allow-plain-pkce/--no-allow-plain-pkce", default=None, help="Accept PKCE method plain. Default off."
        ),
        click.option(
            "--frappe-legacy/--no-frappe-legacy",
            default=None,
            help="Accept either secret method and let it introspect any token, as Frappe clients expect.",
        ),
        click.option(
            "--resource-server/--no-resource-server",
            default=None,
            help="May introspect tokens issued to other clients (an API that checks tokens). Default off.",
        ),
        click.option(
            "--id-token-alg",
            type=click.Choice(["RS256", "ES256", "EdDSA", "HS256"]),
            help="id_token signing algorithm. HS256 signs with the client secret (Frappe style).",
        ),
        click.option(
            "--access-token-ttl", type=click.IntRange(60, 86400), help="Seconds; overrides the server default."
        ),
        click.option(
            "--refresh-token-ttl", type=click.IntRange(3600, 31536000), help="Seconds; overrides the default."
        ),
        click.option("--service-user", help="Email of the user client_credentials tokens act as ('' to unset)."),
        click.option("--client-uri", help="Home page of the app, linked on the consent screen."),
        click.option("--logo-uri", help="Logo of the app."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _changes(kwargs: dict[str, Any]) -> Any:
    from gatepass.services.clients import ClientChanges

    is_public = kwargs.pop("is_public")
    auth_method = kwargs.pop("auth_method")
    mapping = {
        "id_token_alg": "id_token_signed_response_alg",
        "access_token_ttl": "access_token_ttl_seconds",
        "refresh_token_ttl": "refresh_token_ttl_seconds",
        "service_user": "service_user_email",
        "skip_authorization": "skip_authorization",
        "frappe_legacy": "is_frappe_legacy",
        "resource_server": "is_resource_server",
    }
    values: dict[str, Any] = {}
    for key, value in kwargs.items():
        if value is None or value == ():
            continue
        values[mapping.get(key, key)] = value
    if is_public is not None:
        values["client_type"] = "public" if is_public else "confidential"
    if auth_method is not None:
        values["token_endpoint_auth_method"] = auth_method
    return ClientChanges(**values)


#: Switches only the authorization endpoint reads: not shown for a client that never goes through it.
#: (Its lists, such as redirect_uris and response_types, stay: empty, they say the same thing.)
_BROWSER_ONLY_FIELDS = (
    "allowed_roles",
    "skip_authorization",
    "require_pkce",
    "allow_plain_pkce",
    "id_token_signed_response_alg",
)


def _is_browser_based(info: ClientInfo) -> bool:
    return "authorization_code" in info.grant_types or "implicit" in info.grant_types


#: The client settings an admin reads, by name. A listed field is printed; any other is not, so a field
#: added later that holds a secret or its digest stays out until someone decides it may be shown.
_CLIENT_FIELDS_SHOWN = (
    "client_id",
    "app_name",
    "client_type",
    "token_endpoint_auth_method",
    "redirect_uris",
    "default_redirect_uri",
    "scopes",
    "grant_types",
    "response_types",
    "allowed_roles",
    "post_logout_redirect_uris",
    "is_enabled",
    "skip_authorization",
    "require_pkce",
    "allow_plain_pkce",
    "id_token_signed_response_alg",
    "access_token_ttl_seconds",
    "refresh_token_ttl_seconds",
    "client_uri",
    "logo_uri",
    "is_frappe_legacy",
    "is_dynamically_registered",
    "contacts",
    "allowed_origins",
    "is_resource_server",
    "has_completed_authorization",
)


def _client_json(info: ClientInfo, service_user: str | None) -> dict[str, Any]:
    """The client as an admin reads it: the service user by email, and only the settings that apply."""
    data = {name: getattr(info, name) for name in _CLIENT_FIELDS_SHOWN if hasattr(info, name)}
    if not _is_browser_based(info):
        for name in _BROWSER_ONLY_FIELDS:
            data.pop(name, None)
    if "client_credentials" in info.grant_types or service_user is not None:
        data["service_user"] = service_user
    return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}


async def _service_user_email(gatepass: Gatepass, info: ClientInfo) -> str | None:
    user = await gatepass.accounts.get_user(info.service_user_id) if info.service_user_id is not None else None
    return None if user is None else str(user.email)


async def _print_client(gatepass: Gatepass, saved: Any, as_json: bool) -> None:
    info, secret, created = saved.info, saved.secret, saved.created_service_user
    service_user = await _service_user_email(gatepass, info)
    if created:
        note = (
            f"Made the service user {created} for this client: its tokens act as this user, who has no password "
            f'and no roles yet. Give it what the integration needs: gatepass user roles {created} --add "ROLE"'
        )
        # With --json, standard output stays one JSON document.
        click.echo(note, err=as_json)
    if as_json:
        body = {"client_id": info.client_id, **({"client_secret": secret} if secret else {})}
        click.echo(json.dumps({**body, **_client_json(info, service_user)}, indent=2))
        return
    click.echo(f"client_id:     {info.client_id}")
    if secret:
        click.echo(f"client_secret: {secret}   (shown only now; store it safely)")
    click.echo(f"name:          {info.app_name} ({info.client_type}, {info.token_endpoint_auth_method})")
    if _is_browser_based(info):
        click.echo(f"redirect URIs: {' '.join(info.redirect_uris) or '-'}")
    click.echo(f"scopes:        {' '.join(info.scopes)}")
    click.echo(f"grant types:   {' '.join(info.grant_types)}")
    if service_user is not None or "client_credentials" in info.grant_types:
        click.echo(f"service user:  {service_user or '-'}")


def _fit_response_types(changes: Any, kwargs: dict[str, Any], current: tuple[str, ...]) -> Any:
    """Grant types given without --response-type bring `code` with authorization_code, and drop it without."""
    grant_types = kwargs.get("grant_types")
    if not grant_types or kwargs.get("response_types"):
        return changes
    kept = tuple(response_type for response_type in current if response_type != "code")
    code = ("code",) if "authorization_code" in grant_types else ()
    return dataclasses.replace(changes, response_types=code + kept)


@main.group()
def client() -> None:
    """Manage OAuth clients."""


@client.command("add")
@click.option("--client-id", help="Choose the client_id (default: random).")
@_client_options
@run_with_gatepass
async def client_add(gatepass: Gatepass, client_id: str | None, as_json: bool, **kwargs: Any) -> None:
    """Register a client. The secret is printed once; only its digest is kept."""
    if not kwargs.get("app_name"):
        fail("--name is required")
    from gatepass.services.service_users import create_client

    await gatepass.doctypes.check_scopes_known(tuple(kwargs.get("scopes") or ()))
    changes = _fit_response_types(_changes(dict(kwargs)), kwargs, ("code",))
    saved = await create_client(gatepass.clients, gatepass.accounts, changes, client_id=client_id)
    await _print_client(gatepass, saved, as_json)


@client.command("update")
@click.argument("client_id")
@click.option("--enable/--disable", "is_enabled", default=None, help="Switch the client on or off.")
@_client_options
@run_with_gatepass
async def client_update(gatepass: Gatepass, client_id: str, as_json: bool, **kwargs: Any) -> None:
    """Change a client; options not given keep their value. Lists given replace the old list."""
    from gatepass.services.service_users import update_client

    await gatepass.doctypes.check_scopes_known(tuple(kwargs.get("scopes") or ()))
    record = await gatepass.clients.get(client_id)
    current = record.info.response_types if record is not None else ()
    changes = _fit_response_types(_changes(dict(kwargs)), kwargs, current)
    saved = await update_client(gatepass.clients, gatepass.accounts, client_id, changes)
    await _print_client(gatepass, saved, as_json)


@client.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def client_list(gatepass: Gatepass, as_json: bool) -> None:
    """List clients."""
    records = await gatepass.clients.list()
    if as_json:
        listed = [_client_json(r.info, await _service_user_email(gatepass, r.info)) for r in records]
        click.echo(json.dumps(listed, indent=2))
        return
    for record in records:
        state = "enabled" if record.info.is_enabled else "disabled"
        click.echo(f"{record.info.client_id}\t{record.info.app_name}\t{record.info.client_type}\t{state}")


@client.command("show")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def client_show(gatepass: Gatepass, client_id: str, as_json: bool) -> None:
    """Show one client (never its secret)."""
    record = await gatepass.clients.get(client_id)
    if record is None:
        fail(f"No client has client_id {client_id}")
    shown = _client_json(record.info, await _service_user_email(gatepass, record.info))
    if as_json:
        click.echo(json.dumps(shown, indent=2))
    else:
        for key, value in shown.items():
            click.echo(f"{key}: {' '.join(value) if isinstance(value, list) else value}")


@client.command("try")
@click.argument("client_id")
@click.option("--redirect-uri", help="One of the client's redirect URIs (default: its default, else its first).")
@click.option("--scope", "scopes", multiple=True, help="A scope to ask for; repeatable. Default: all of the client's.")
@run_with_gatepass
async def client_try(gatepass: Gatepass, client_id: str, redirect_uri: str | None, scopes: tuple[str, ...]) -> None:
    """Print a ready authorization URL with a fresh PKCE pair (S256), and the token request to run after Allow."""
    from gatepass.services.client_trial import build_trial_authorization

    record = await gatepass.clients.get(client_id)
    if record is None:
        fail(f"No client has client_id {client_id}")
    issuer = gatepass.settings.server.issuer
    trial = build_trial_authorization(issuer, record.info, redirect_uri=redirect_uri, scopes=scopes or None)
    minutes, seconds = divmod(gatepass.settings.tokens.code_ttl_seconds, 60)
    lifetime = f"{minutes} minute{'s' if minutes != 1 else ''}" if not seconds else f"{minutes * 60 + seconds} seconds"
    secret_hint = "" if record.info.is_public else "CLIENT_SECRET with the client's secret and "
    click.echo("1. Open this URL in a browser, log in and press Allow:")
    click.echo()
    click.echo(trial.authorization_url)
    click.echo()
    click.echo(f"2. The browser then goes to {trial.redirect_uri}?code=...&state={trial.state}&iss=...")
    click.echo("   If nothing answers at that address, the browser shows an error page: the code is in its")
    click.echo(f"   address bar all the same. The code works once, within {lifetime}.")
    click.echo()
    click.echo(f"3. Exchange the code for tokens: run this, replacing {secret_hint}CODE with the code:")
    click.echo()
    click.echo(trial.token_command)


@client.command("remove")
@click.argument("client_id")
@run_with_gatepass
async def client_remove(gatepass: Gatepass, client_id: str) -> None:
    """Delete a client with all its codes, tokens and consents."""
    if not await gatepass.clients.delete(client_id):
        fail(f"No client has client_id {client_id}")
    click.echo(f"Removed {client_id}.")


@client.command("rotate-secret")
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@run_with_gatepass
async def client_rotate_secret(gatepass: Gatepass, client_id: str, as_json: bool) -> None:
    """Issue a new client secret; the old one stops working at once."""
    secret = await gatepass.clients.rotate_secret(client_id)
    if as_json:
        click.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        click.echo(f"client_secret: {secret}   (shown only now)")


# -- runtime settings -------------------------------------------------------------------------


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


# -- signing keys -----------------------------------------------------------------------------


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


# -- the document API: types, permissions, scopes, API keys ------------------------------------


def _doctype_json(doctype: Any) -> dict[str, Any]:
    return {
        "name": doctype.name,
        "description": doctype.description,
        "is_builtin": doctype.is_builtin,
        "fields": [
            {
                "fieldname": f.fieldname,
                "fieldtype": f.fieldtype,
                "label": f.label,
                "required": f.is_required,
                "default": f.default,
                "options": list(f.options),
            }
            for f in doctype.fields
        ],
    }


def _actions(read: bool, write: bool, create: bool, delete: bool) -> tuple[str, ...]:
    flags = {"read": read, "write": write, "create": create, "delete": delete}
    return tuple(action for action, is_on in flags.items() if is_on)


def _action_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for action in ("delete", "create", "write", "read"):
        func = click.option(f"--{action}", is_flag=True, help=f"Allow {action}.")(func)
    return func


@main.group()
def doctype() -> None:
    """Manage document types (ToDo and Note exist from the start)."""


@doctype.command("add")
@click.argument("name")
@click.option(
    "--field",
    "field_specs",
    multiple=True,
    metavar="NAME:TYPE[:required][:default=V][:label=L][:OPTION...]",
    help="A field; repeatable. TYPE is Data, Text, Int, Float, Check, Date, Datetime, Select or Link. "
    "OPTIONs are a Select's values or a Link's document type. "
    "Example: --field status:Select:default=Open:Open:Closed --field title:Data:required",
)
@click.option(
    "--fields-file",
    type=click.File("r"),
    help='A JSON list of fields instead: [{"fieldname", "fieldtype", "label", "required", "default", "options"}].',
)
@click.option("--description", default="", help="What documents of this type are for.")
@click.option("--json", "as_json", is_flag=True, help="Print the type as JSON.")
@run_with_gatepass
async def doctype_add(
    gatepass: Gatepass, name: str, field_specs: tuple[str, ...], fields_file: Any, description: str, as_json: bool
) -> None:
    """Define a document type with its fields; give permissions with `gatepass permission set`."""
    from gatepass.services.doctypes import fields_from_json, parse_field_spec

    fields = tuple(parse_field_spec(spec) for spec in field_specs)
    if fields_file is not None:
        try:
            fields += fields_from_json(json.load(fields_file))
        except ValueError as exc:
            fail(f"{fields_file.name}: {exc}")
    created = await gatepass.doctypes.add_doctype(name, fields, description)
    if as_json:
        click.echo(json.dumps(_doctype_json(created), indent=2))
    else:
        click.echo(f"Created document type {created.name} with {len(created.fields)} fields.")


@doctype.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def doctype_list(gatepass: Gatepass, as_json: bool) -> None:
    """List document types."""
    doctypes = await gatepass.doctypes.list_doctypes()
    if as_json:
        click.echo(json.dumps([_doctype_json(d) for d in doctypes], indent=2))
        return
    for d in doctypes:
        click.echo(f"{d.name}\t{', '.join(f.fieldname for f in d.fields)}")


@doctype.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def doctype_show(gatepass: Gatepass, name: str, as_json: bool) -> None:
    """Show a document type: its fields, role permissions and scopes."""
    found = await gatepass.doctypes.get_doctype(name)
    permissions = await gatepass.doctypes.list_permissions(name)
    scopes = [s for s in await gatepass.doctypes.list_scopes() if s.doctype == name]
    if as_json:
        body = _doctype_json(found)
        body["permissions"] = [
            {"role": p.role, "if_owner": p.if_owner, "actions": sorted(p.actions)} for p in permissions
        ]
        body["scopes"] = [{"name": s.name, "actions": list(s.actions), "title": s.title} for s in scopes]
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f"{found.name}: {found.description}")
    for f in found.fields:
        extra = " required" if f.is_required else ""
        extra += f" default={f.default}" if f.default is not None else ""
        extra += f" options={'|'.join(f.options)}" if f.options else ""
        click.echo(f"  field {f.fieldname}: {f.fieldtype}{extra}")
    for p in permissions:
        click.echo(f"  role {p.role}: {' '.join(sorted(p.actions))}{' (if owner)' if p.if_owner else ''}")
    for s in scopes:
        click.echo(f"  scope {s.name}: {' '.join(s.actions)}")


@doctype.command("remove")
@click.argument("name")
@click.option("--with-documents", is_flag=True, help="Also delete its documents (refused otherwise).")
@run_with_gatepass
async def doctype_remove(gatepass: Gatepass, name: str, with_documents: bool) -> None:
    """Delete a document type with its permissions and scopes."""
    count = await gatepass.doctypes.remove_doctype(name, with_documents=with_documents)
    click.echo(f"Removed {name}" + (f" and its {count} documents." if count else "."))


@main.group()
def permission() -> None:
    """Manage role permissions on document types."""


@permission.command("set")
@click.argument("doctype_name", metavar="DOCTYPE")
@click.argument("role_name", metavar="ROLE")
@_action_options
@click.option(
    "--if-owner",
    is_flag=True,
    help="This row applies only to documents the user owns. A role can have one row with and one without.",
)
@run_with_gatepass
async def permission_set(
    gatepass: Gatepass,
    doctype_name: str,
    role_name: str,
    read: bool,
    write: bool,
    create: bool,
    delete: bool,
    if_owner: bool,
) -> None:
    """Set what ROLE may do with DOCTYPE to exactly the actions given; none removes the row.

    Every user holds the role "All"; System Manager may do everything.
    """
    actions = _actions(read, write, create, delete)
    await gatepass.doctypes.set_permission(doctype_name, role_name, actions, if_owner=if_owner)
    scope = " on own documents" if if_owner else ""
    click.echo(f"{role_name} on {doctype_name}{scope}: {' '.join(actions) or 'nothing (row removed)'}")


@permission.command("list")
@click.argument("doctype_name", metavar="[DOCTYPE]", required=False)
@read_with_gatepass
async def permission_list(gatepass: Gatepass, doctype_name: str | None) -> None:
    """List role permissions, of one document type or all."""
    for p in await gatepass.doctypes.list_permissions(doctype_name):
        click.echo(f"{p.doctype}\t{p.role}\t{' '.join(sorted(p.actions))}{chr(9) + 'if owner' if p.if_owner else ''}")


@main.group()
def scope() -> None:
    """Manage document scopes: OAuth scopes that name a document type and actions."""


@scope.command("add")
@click.argument("name")
@click.option("--doctype", "doctype_name", required=True, help="The document type the scope covers.")
@_action_options
@click.option("--title", required=True, help="Shown on the consent screen, e.g. 'Read your to-dos'.")
@click.option("--description", default="", help="One sentence under the title on the consent screen.")
@run_with_gatepass
async def scope_add(
    gatepass: Gatepass,
    name: str,
    doctype_name: str,
    read: bool,
    write: bool,
    create: bool,
    delete: bool,
    title: str,
    description: str,
) -> None:
    """Define a document scope; then let clients request it with `client add/update --scope NAME`."""
    created = await gatepass.doctypes.add_scope(
        name, doctype_name, _actions(read, write, create, delete), title, description
    )
    click.echo(f"Created scope {created.name}: {' '.join(created.actions)} on {created.doctype}.")


@scope.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@read_with_gatepass
async def scope_list(gatepass: Gatepass, as_json: bool) -> None:
    """List document scopes (the built-in scopes are openid, profile, email, roles and all)."""
    scopes = await gatepass.doctypes.list_scopes()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(s) for s in scopes], indent=2))
        return
    for s in scopes:
        click.echo(f"{s.name}\t{s.doctype}\t{' '.join(s.actions)}\t{s.title}")


@scope.command("remove")
@click.argument("name")
@run_with_gatepass
async def scope_remove(gatepass: Gatepass, name: str) -> None:
    """Delete a document scope; tokens that carry it no longer reach anything with it."""
    await gatepass.doctypes.remove_scope(name)
    click.echo(f"Removed scope {name}.")


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


# -- login providers ("Log in with …") --------------------------------------------------------


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


# -- dynamic client registration ---------------------------------------------------------------


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
