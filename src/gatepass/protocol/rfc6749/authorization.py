"""The authorization request (RFC 6749 §4.1.1, §4.2.1; OpenID Connect Core §3.1.2.1).

Two phases, in this order, because errors before the redirect URI is verified must never be
redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.1):

1. ``check_client_and_redirect``: known, enabled client and an exactly matching redirect URI.
   Failures here are shown on an HTML page.
2. ``validate_authorization_request``: everything else. Failures here go back to the client
   through the verified redirect URI, when ``is_redirectable`` says the client may be sent them.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

from gatepass.protocol import rfc7636_pkce
from gatepass.protocol.errors import (
    InvalidClient,
    InvalidRedirectUri,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from gatepass.protocol.oauth_response_modes import returns_tokens
from gatepass.protocol.oidc.authentication_context import parse_acr_request
from gatepass.protocol.params import parse_scope, require
from gatepass.protocol.rfc6749.redirect_uri import check_redirect_uri_is_unambiguous, resolve_redirect_uri
from gatepass.protocol.rfc9449_dpop import parse_dpop_jkt
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
    redirect_uri = resolve_redirect_uri(params.get("redirect_uri"), client)
    try:
        # A URI registered before the registration rules refused it still must not be followed.
        check_redirect_uri_is_unambiguous(redirect_uri)
    except InvalidRedirectUri as exc:
        raise InvalidRedirectUri(
            "The redirect URI registered for this app is not safe to use; the administrator must change it",
            detail=exc.description,
        ) from None
    return client, redirect_uri


#: The errors a client is sent back to its redirect URI with (RFC 6749 §4.1.2.1, §4.2.2.1; OIDC
#: Core §3.1.2.6; RFC 8707 §2). Each says something about a request that a client it came from can
#: act on. Every other error, and any error the list does not know yet, is shown on a page: above
#: all invalid_client and invalid_redirect_uri, raised before the client and its redirect URI are
#: known (RFC 6749 §4.1.2.1: MUST NOT redirect), and anything a request before that point fails on
#: (missing or repeated parameters, control characters). invalid_request is sent back: the request
#: is already tied to a client and one of its registered URIs, and a client needs it to learn that
#: its PKCE, nonce or prompt is wrong; an attacker gains nothing from it that invalid_scope would not
#: give them, and that risk is met by the rule on unproven clients below.
REDIRECTABLE_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "consent_required",
        "request_not_supported",
        "request_uri_not_supported",
        "invalid_target",
    }
)


def is_redirectable(error: OAuthError, client: ClientInfo) -> bool:
    """Whether ``error`` may go to the client's verified redirect URI; otherwise it is shown on a page.

    RFC 9700 §4.11.2: an authorization server must only redirect automatically to a URI it trusts.
    Anyone may register a client with any https redirect URI when registration is open, and would
    then own an open redirector on this server's name. So a dynamically registered client is not
    trusted with redirected errors until one user has completed an authorization for it.
    """
    if not error.redirectable or error.error not in REDIRECTABLE_ERRORS:
        return False
    return client.has_completed_authorization or not client.is_dynamically_registered


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


def _check_no_request_object(params: Mapping[str, str]) -> None:
    # A request object by value (RFC 9101) and a pushed request's request_uri (RFC 9126) were read before
    # this point (services/pending_request.py), and their parameters hold neither. Any other request_uri
    # names an object to fetch from elsewhere, which this server does not (OIDC Core §3.1.2.6); ignoring it
    # would act on parameters other than those the client meant.
    if "request" in params:
        raise RequestNotSupported("A request object cannot be sent inside another one")
    if "request_uri" in params:
        raise RequestUriNotSupported(
            "Only a request_uri from this server's pushed authorization request endpoint is accepted: send the "
            "request object by value (request), or push it"
        )


def validate_authorization_request(
    params: Mapping[str, str], client: ClientInfo, redirect_uri: str
) -> AuthorizationRequest:
    """Phase 2: every other rule of the request. Raises OAuthErrors for the client (see ``is_redirectable``)."""
    _check_no_request_object(params)
    response_type = _normalise_response_type(require(params, "response_type"))
    _check_response_type(response_type, client)
    scopes = _check_scopes(parse_scope(params.get("scope")), client)
    response_mode = params.get("response_mode")
    if response_mode is not None and response_mode not in ("query", "fragment"):
        raise InvalidRequest(f"response_mode '{response_mode}' is not supported; use query or fragment")
    if response_mode == "query" and returns_tokens(response_type):
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
    requested_acr, is_acr_essential = parse_acr_request(params.get("acr_values"), params.get("claims"))
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
        requested_acr=requested_acr,
        is_acr_essential=is_acr_essential,
        dpop_jkt=parse_dpop_jkt(params.get("dpop_jkt")),
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
