"""The admin console's "try it" panel: a ready authorization request for one client, with PKCE.

The verifier is made here and shown to the admin with its S256 challenge (RFC 7636 §4.1-4.2),
so the code that comes back can be exchanged by hand. Nothing is stored: the server only ever
sees the challenge in the URL, as with any client.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from gatepass.protocol.params import format_scope
from gatepass.protocol.rfc7636_pkce import s256_challenge
from gatepass.protocol.values import AUTH_BASIC, AUTH_POST, GRANT_AUTHORIZATION_CODE, ClientInfo
from gatepass.services.accounts import AccountError


@dataclass(frozen=True)
class TrialAuthorization:
    authorization_url: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    nonce: str
    code_verifier: str
    code_challenge: str
    token_endpoint: str
    #: What to send to the token endpoint once the code is back (the code itself left as CODE).
    token_request: str
    #: The same as a POSIX shell command (curl), with CODE and CLIENT_SECRET left for the user to fill in.
    token_command: str
    #: The authorization request's parameters, which the URL carries unless they were pushed.
    authorization_params: Mapping[str, str]
    #: For a request pushed on the client's behalf (RFC 9126): how long its URL may be opened.
    request_uri_expires_in: int | None = None


def build_trial_authorization(
    issuer: str, client: ClientInfo, *, redirect_uri: str | None = None, scopes: tuple[str, ...] | None = None
) -> TrialAuthorization:
    """A fresh authorization-code request with S256 PKCE; raises AccountError when the client cannot use one."""
    if GRANT_AUTHORIZATION_CODE not in client.grant_types or "code" not in client.response_types:
        raise AccountError("This client may not use the authorization code flow", field="grant_types")
    if not client.redirect_uris:
        raise AccountError("This client has no redirect URI", field="redirect_uris")
    chosen_uri = redirect_uri or client.default_redirect_uri or client.redirect_uris[0]
    if chosen_uri not in client.redirect_uris:
        raise AccountError("Choose one of the client's registered redirect URIs", field="redirect_uri")
    chosen_scopes = tuple(scope for scope in (scopes or client.scopes) if scope in client.scopes)
    if not chosen_scopes:
        raise AccountError("Choose at least one of the client's scopes", field="scope")
    verifier = secrets.token_urlsafe(48)
    challenge = s256_challenge(verifier)
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": chosen_uri,
        "scope": format_scope(chosen_scopes),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if "openid" in chosen_scopes:
        params["nonce"] = nonce
    token_endpoint = f"{issuer.rstrip('/')}/oauth/token"
    token_params = {
        "grant_type": "authorization_code",
        "code": "CODE",
        "redirect_uri": chosen_uri,
        "code_verifier": verifier,
    }
    if client.is_public:
        token_params["client_id"] = client.client_id
    return TrialAuthorization(
        authorization_url=f"{issuer.rstrip('/')}/oauth/authorize?{urlencode(params)}",
        redirect_uri=chosen_uri,
        scopes=chosen_scopes,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
        code_challenge=challenge,
        token_endpoint=token_endpoint,
        token_request=urlencode(token_params),
        token_command=_token_command(client, token_endpoint, chosen_uri, verifier),
        authorization_params=params,
    )


def _token_command(client: ClientInfo, token_endpoint: str, redirect_uri: str, verifier: str) -> str:
    """curl for the code exchange, one option a line; the code comes last, where it is easiest to paste."""
    if client.token_endpoint_auth_method == AUTH_BASIC:
        first = ["curl", "-s", "-u", f"{client.client_id}:CLIENT_SECRET", token_endpoint]
    else:
        first = ["curl", "-s", token_endpoint]
    options = [["-d", "grant_type=authorization_code"]]
    if client.token_endpoint_auth_method != AUTH_BASIC:
        options.append(["--data-urlencode", f"client_id={client.client_id}"])
    if client.token_endpoint_auth_method == AUTH_POST:
        options.append(["-d", "client_secret=CLIENT_SECRET"])
    options += [
        ["--data-urlencode", f"redirect_uri={redirect_uri}"],
        ["-d", f"code_verifier={verifier}"],
        ["-d", "code=CODE"],
    ]
    lines = [shlex.join(first), *(f"  {shlex.join(option)}" for option in options)]
    return " \\\n".join(lines)
