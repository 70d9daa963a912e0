"""The authorization request (RFC 6749 §4.1.1, §4.2.1; OpenID Connect Core §3.1.2.1).

Two phases, in this order, because errors before the redirect URI is verified must never be
redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1):

1. ``check_client_and_redirect``: known, enabled client and an exactly matching redirect URI.
   Failures here are shown on an HTML page.
2. ``validate_authorization_request``: everything else. Failures here go back to the client
   through the verified redirect URI.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from gatepass.protocol import rfc7636_pkce
from gatepass.protocol.errors import (
    InvalidClient,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from gatepass.protocol.params import parse_scope, require
from gatepass.protocol.rfc6749.redirect_uri import resolve_redirect_uri
from gatepass.protocol.values import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_IMPLICIT,
    AuthorizationRequest,
    ClientInfo,
)

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
_IMPLICIT_RESPONSE_TYPES = frozenset({"token", "id_token", "id_token token"})


def check_client_and_redirect(params: Mapping[str, str], client: ClientInfo | None) -> tuple[ClientInfo, str]:
    """Phase 1: the client exists and is enabled, and the redirect URI is registered exactly."""
    client_id = params.get("client_id")
    if client_id is None:
        raise InvalidRequest("Missing required parameter 'client_id'")
    if client is None:
        raise InvalidClient(f"No client is registered with client_id '{client_id}'")
    if not client.is_enabled:
        raise InvalidClient(f"The client '{client.app_name}' is disabled; ask the administrator to enable it")
    return client, resolve_redirect_uri(params.get("redirect_uri"), client)


_RESPONSE_TYPE_ORDER = ("code", "id_token", "token")


def _normalise_response_type(value: str) -> str:
    # OIDC Core §3: response_type is a space-separated, order-insensitive set of values.
    parts = set(value.split(" ")) - {""}
    if not parts <= set(_RESPONSE_TYPE_ORDER):
        return value
    return " ".join(part for part in _RESPONSE_TYPE_ORDER if part in parts)


def _check_response_type(response_type: str, client: ClientInfo) -> None:
    if response_type == "code":
        if GRANT_AUTHORIZATION_CODE not in client.grant_types or "code" not in client.response_types:
            raise UnauthorizedClient("This client is not allowed to use response_type=code")
        return
    if response_type in _IMPLICIT_RESPONSE_TYPES:
        if GRANT_IMPLICIT not in client.grant_types or response_type not in client.response_types:
            raise UnauthorizedClient(
                f"This client is not allowed to use response_type={response_type}; "
                "the implicit flow must be switched on for the client"
            )
        return
    raise UnsupportedResponseType(
        f"response_type '{response_type}' is not supported; use code (or, for legacy implicit clients, token)"
    )


def _check_scopes(requested: tuple[str, ...], client: ClientInfo) -> tuple[str, ...]:
    if not requested:
        # RFC 6749 §3.3: with no scope sent, use the pre-defined default: the client's scopes (as Frappe).
        return client.scopes
    not_allowed = [scope for scope in requested if scope not in client.scopes]
    if not_allowed:
        raise InvalidScope(
            f"Scope '{not_allowed[0]}' is not registered for this client; allowed: {' '.join(client.scopes)}"
        )
    return requested


def _parse_prompt(value: str | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    prompt = frozenset(value.split(" ")) - {""}
    unknown = prompt - PROMPT_VALUES
    if unknown:
        raise InvalidRequest(f"prompt value '{sorted(unknown)[0]}' is not supported; use none, login or consent")
    # OIDC Core §3.1.2.1: none with any other value is an error.
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other prompt values")
    return prompt


def _parse_max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise InvalidRequest("max_age must be a whole number of seconds")
    return int(value)


def validate_authorization_request(
    params: Mapping[str, str], client: ClientInfo, redirect_uri: str
) -> AuthorizationRequest:
    """Phase 2: every other rule of the request. Raises redirectable OAuthErrors."""
    response_type = _normalise_response_type(require(params, "response_type"))
    _check_response_type(response_type, client)
    scopes = _check_scopes(parse_scope(params.get("scope")), client)
    response_mode = params.get("response_mode")
    is_fragment = response_type != "code"
    if response_mode is not None and response_mode not in ("query", "fragment"):
        raise InvalidRequest(f"response_mode '{response_mode}' is not supported; use query or fragment")
    if response_mode == "query" and is_fragment:
        # OAuth 2.0 Multiple Response Types §2.1: tokens must never go in the query.
        raise InvalidRequest("response_mode=query is not allowed when tokens are returned")
    uses_pkce = response_type == "code"
    challenge, method = rfc7636_pkce.check_code_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        # RFC 9700 §2.1.1: PKCE for every client; a confidential client may be exempted explicitly.
        is_required=uses_pkce and (client.is_public or client.require_pkce),
        allow_plain=client.allow_plain_pkce,
    )
    nonce = params.get("nonce")
    if "id_token" in response_type.split(" ") and nonce is None:
        raise InvalidRequest("nonce is required when an id_token is returned from the authorization endpoint")
    if "id_token" in response_type.split(" ") and "openid" not in scopes:
        raise InvalidScope("response_type with id_token requires the openid scope")
    return AuthorizationRequest(
        client_id=client.client_id,
        response_type=response_type,
        redirect_uri=redirect_uri,
        redirect_uri_was_sent="redirect_uri" in params,
        scopes=scopes,
        state=params.get("state"),
        code_challenge=challenge,
        code_challenge_method=method,
        nonce=nonce,
        prompt=_parse_prompt(params.get("prompt")),
        max_age=_parse_max_age(params.get("max_age")),
        login_hint=params.get("login_hint"),
        resource=params.get("resource"),
        response_mode=response_mode,
    )


def build_authorization_redirect(redirect_uri: str, response: Mapping[str, str | None], *, use_fragment: bool) -> str:
    """The redirect URI with the response added in the query or fragment (RFC 6749 §4.1.2, §4.2.2)."""
    encoded = urlencode([(key, value) for key, value in response.items() if value is not None])
    parts = urlsplit(redirect_uri)
    if use_fragment:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, encoded))
    # RFC 6749 §3.1.2: keep the registered URI's own query component.
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
