"""OAuth clients: add, update, list, show, try, remove, rotate-secret."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from gatepass.cli.app import fail, main, read_with_gatepass, run_with_gatepass
from gatepass.protocol.values import GRANT_TYPES

if TYPE_CHECKING:
    from gatepass.context import Gatepass
    from gatepass.protocol.values import ClientInfo


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
            type=click.Choice(
                ["client_secret_basic", "client_secret_post", "none", "private_key_jwt", "client_secret_jwt"]
            ),
            help="Token endpoint authentication (default client_secret_basic; none for public). "
            "private_key_jwt needs --jwks-file or --jwks-uri.",
        ),
        click.option(
            "--jwks-file",
            type=click.File("r"),
            help="A JSON file with the client's public keys (a JWK Set), for private_key_jwt.",
        ),
        click.option("--jwks-uri", help="Where the client publishes its public keys (https), for private_key_jwt."),
        click.option(
            "--auth-signing-alg",
            type=click.Choice(["RS256", "PS256", "ES256", "EdDSA", "HS256", "HS384", "HS512"]),
            help="The one alg the client's assertions may use (default: any its auth method allows).",
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
            "--backchannel-logout-uri",
            help="Where logout tokens are POSTed when a user who used the app logs out (OpenID Connect "
            "Back-Channel Logout; https, or http on localhost; '' to unset).",
        ),
        click.option(
            "--backchannel-logout-session-required/--no-backchannel-logout-session-required",
            "backchannel_logout_session_required",
            default=None,
            help="Every logout token names the session (sid), never only the user. Default off.",
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
            type=click.Choice(GRANT_TYPES),
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
            "--require-par/--no-require-par",
            "require_pushed_authorization_requests",
            default=None,
            help="Authorization requests only through the pushed authorization request endpoint (RFC 9126). "
            "Default off.",
        ),
        click.option(
            "--dpop-bound/--no-dpop-bound",
            "dpop_bound_access_tokens",
            default=None,
            help="Every token request must carry a DPoP proof, so its access tokens work only with that key "
            "(RFC 9449). Default off.",
        ),
        click.option(
            "--access-token-format",
            type=click.Choice(["jwt", "opaque", ""]),
            help="jwt: access tokens are RFC 9068 JWTs a resource server checks with the JWKS; opaque: random "
            "strings it introspects ('' to unset: the server's tokens.access_token_format).",
        ),
        click.option(
            "--require-signed-request-object/--no-require-signed-request-object",
            "require_signed_request_object",
            default=None,
            help="Authorization requests only as a request object the client signed (RFC 9101), sent to the "
            "authorization endpoint or pushed. Default off.",
        ),
        click.option(
            "--request-object-alg",
            "request_object_signing_alg",
            type=click.Choice(["RS256", "PS256", "ES256", "EdDSA", "HS256", "HS384", "HS512", ""]),
            help="The one alg the client's request objects may use ('' to unset: any the server accepts).",
        ),
        click.option(
            "--profile",
            "security_profile",
            type=click.Choice(["fapi2", "none"]),
            help="fapi2: hold the client to the FAPI 2.0 Security Profile (PAR, PKCE S256, private_key_jwt, DPoP, "
            "PS256/ES256/EdDSA, 60-second codes; docs/fapi2.md). none: no profile.",
        ),
        click.option(
            "--subject-type",
            type=click.Choice(["public", "pairwise"]),
            help="public: the client is told each user's own sub; pairwise: a sub of its own sector, so clients "
            "of different sectors cannot match users by it (OpenID Connect Core §8). Default public.",
        ),
        click.option(
            "--sector-identifier-uri",
            help="For pairwise: an https URL answering a JSON array of the client's redirect URIs; its host is the "
            "sector. Needed when the redirect URIs are on several hosts ('' to unset).",
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
    jwks_file = kwargs.pop("jwks_file", None)
    mapping = {
        "id_token_alg": "id_token_signed_response_alg",
        "access_token_ttl": "access_token_ttl_seconds",
        "refresh_token_ttl": "refresh_token_ttl_seconds",
        "service_user": "service_user_email",
        "skip_authorization": "skip_authorization",
        "frappe_legacy": "is_frappe_legacy",
        "resource_server": "is_resource_server",
        "auth_signing_alg": "token_endpoint_auth_signing_alg",
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
    if values.get("security_profile") == "none":
        values["security_profile"] = ""
    if jwks_file is not None:
        try:
            values["jwks"] = json.load(jwks_file)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--jwks-file") from None
        if not isinstance(values["jwks"], dict):
            raise click.BadParameter('a JWK Set is a JSON object: {"keys": [...]}', param_hint="--jwks-file")
    return ClientChanges(**values)


#: Switches only the authorization endpoint reads: not shown for a client that never goes through it.
#: (Its lists, such as redirect_uris and response_types, stay: empty, they say the same thing.)
_BROWSER_ONLY_FIELDS = (
    "allowed_roles",
    "skip_authorization",
    "require_pkce",
    "allow_plain_pkce",
    "require_pushed_authorization_requests",
    "id_token_signed_response_alg",
)


#: Settings of clients that sign JWTs (RFC 7523, RFC 9101), their profile, and pairwise subjects: left out while unset.
_CLIENT_ASSERTION_FIELDS = (
    "token_endpoint_auth_signing_alg",
    "jwks_uri",
    "jwks",
    "request_object_signing_alg",
    "security_profile",
)
_PAIRWISE_FIELDS = ("sector_identifier_uri", "pairwise_sector")


def _is_browser_based(info: ClientInfo) -> bool:
    return "authorization_code" in info.grant_types or "implicit" in info.grant_types


#: The client settings an admin reads, by name. A listed field is printed; any other is not, so a field
#: added later that holds a secret or its digest stays out until someone decides it may be shown.
_CLIENT_FIELDS_SHOWN = (
    "client_id",
    "app_name",
    "client_type",
    "token_endpoint_auth_method",
    "token_endpoint_auth_signing_alg",
    "jwks_uri",
    "jwks",
    "redirect_uris",
    "default_redirect_uri",
    "scopes",
    "grant_types",
    "response_types",
    "allowed_roles",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "is_enabled",
    "skip_authorization",
    "require_pkce",
    "allow_plain_pkce",
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
    "access_token_format",
    "require_signed_request_object",
    "request_object_signing_alg",
    "security_profile",
    "subject_type",
    "sector_identifier_uri",
    "pairwise_sector",
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
    for name in (*_CLIENT_ASSERTION_FIELDS, *_PAIRWISE_FIELDS):
        if data.get(name) is None:
            data.pop(name, None)
    if info.backchannel_logout_uri is None:
        data.pop("backchannel_logout_uri", None)
        data.pop("backchannel_logout_session_required", None)
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
    if info.pairwise_sector is not None:
        click.echo(f"subjects:      pairwise, for the sector {info.pairwise_sector}")
    if info.security_profile is not None:
        click.echo(f"profile:       {info.security_profile}")
    if info.dpop_bound_access_tokens:
        click.echo("DPoP:          required: its access tokens are bound to the key of its proofs")
    if info.access_token_format is not None:
        click.echo(f"access tokens: {info.access_token_format}")


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
    trial = await gatepass.pushed_authorization.push_trial(record.info, trial)
    minutes, seconds = divmod(gatepass.settings.tokens.code_ttl_seconds, 60)
    lifetime = f"{minutes} minute{'s' if minutes != 1 else ''}" if not seconds else f"{minutes * 60 + seconds} seconds"
    secret_hint = "" if record.info.is_public else "CLIENT_SECRET with the client's secret and "
    if trial.request_uri_expires_in is None:
        click.echo("1. Open this URL in a browser, log in and press Allow:")
    else:
        click.echo("1. This client must use pushed authorization requests (RFC 9126): the request was pushed")
        click.echo(f"   for it. Open this URL in a browser within {trial.request_uri_expires_in} seconds, log in")
        click.echo("   and press Allow:")
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
