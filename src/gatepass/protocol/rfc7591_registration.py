"""Dynamic client registration (RFC 7591) and its management (RFC 7592).

Validates what a client asks to register and decides what it gets: only the authorization code
grant (plus refresh), only ``code``, scopes capped by the server's policy. The answer lists the
metadata as granted, which may be less than asked (RFC 7591 §3.2.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gatepass.protocol.errors import InvalidClientMetadata, InvalidRedirectUri, OAuthError
from gatepass.protocol.oidc.backchannel_logout import check_backchannel_logout_uri
from gatepass.protocol.oidc.pairwise import SUBJECT_PUBLIC, SUBJECT_TYPES
from gatepass.protocol.params import parse_scope
from gatepass.protocol.rfc6749.redirect_uri import check_redirect_uri_for_registration
from gatepass.protocol.rfc7523_client_assertion import ALGORITHMS_BY_METHOD
from gatepass.protocol.rfc9101_request_object import ALGORITHMS as REQUEST_OBJECT_ALGORITHMS
from gatepass.protocol.values import ACCESS_TOKEN_FORMATS, AUTH_BASIC, AUTH_METHODS, AUTH_PRIVATE_KEY_JWT

ALLOWED_GRANT_TYPES = ("authorization_code", "refresh_token")
MAX_CONTACTS = 20
#: RFC 5321 §4.5.3.1: a mailbox is at most 254 characters; other contact forms fit as well.
MAX_CONTACT_LENGTH = 254
#: Characters a URL never holds unescaped (RFC 3986 Appendix C) and that would end an HTML attribute or tag.
_NOT_IN_URL = frozenset(' "<>`')


@dataclass(frozen=True)
class RegistrationRequest:
    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    scopes: tuple[str, ...]
    client_uri: str | None
    logo_uri: str | None
    contacts: tuple[str, ...]
    require_pushed_authorization_requests: bool = False
    #: OpenID Connect Registration §2: public or pairwise subjects, and the document naming the sector.
    subject_type: str = SUBJECT_PUBLIC
    sector_identifier_uri: str | None = None
    #: RFC 7591 §2 and RFC 7523: where a private_key_jwt client's keys are, and the alg it signs with.
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    #: RFC 9449 §5.2: the client always sends DPoP proofs, and wants tokens without one refused.
    dpop_bound_access_tokens: bool = False
    #: A Gatepass extension (no registered metadata names it): "jwt" for RFC 9068 access tokens, "opaque";
    #: None follows the server's default.
    access_token_format: str | None = None
    #: RFC 9101 §10.5: authorization requests only as signed request objects, with this alg when named.
    require_signed_request_object: bool = False
    request_object_signing_alg: str | None = None
    #: OpenID Connect Back-Channel Logout 1.0 §2.2: where logout tokens go, and whether they must carry sid.
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


def _string_list(body: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise InvalidClientMetadata(f"{name} must be a list of strings")
    return tuple(dict.fromkeys(value))


def _https_url(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2048:
        raise InvalidClientMetadata(f"{name} must be a URL of at most 2048 characters")
    # Shown as a link or an image on the consent page: a URL as RFC 3986 writes it, never raw markup.
    if any(c in _NOT_IN_URL or not c.isprintable() for c in value):
        raise InvalidClientMetadata(
            f"{name} must not contain spaces, quotes, angle brackets or control characters; percent-encode them"
        )
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise InvalidClientMetadata(f"{name} must be an https URL")
    return value


def _backchannel_logout_uri(body: Mapping[str, Any]) -> str | None:
    value = body.get("backchannel_logout_uri")
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidClientMetadata("backchannel_logout_uri must be a URL")
    check_backchannel_logout_uri(value)
    return value


def _contacts(body: Mapping[str, Any]) -> tuple[str, ...]:
    contacts = _string_list(body, "contacts") or ()
    if len(contacts) > MAX_CONTACTS:
        raise InvalidClientMetadata(f"contacts lists {len(contacts)} addresses; list at most {MAX_CONTACTS}")
    if any(len(contact) > MAX_CONTACT_LENGTH for contact in contacts):
        raise InvalidClientMetadata(f"each of contacts must be at most {MAX_CONTACT_LENGTH} characters")
    return contacts


def _subject_type(body: Mapping[str, Any]) -> str:
    value = body.get("subject_type", SUBJECT_PUBLIC)
    if value not in SUBJECT_TYPES:
        raise InvalidClientMetadata(f"subject_type must be one of {', '.join(SUBJECT_TYPES)}")
    return str(value)


def _access_token_format(body: Mapping[str, Any]) -> str | None:
    value = body.get("access_token_format")
    if value is not None and value not in ACCESS_TOKEN_FORMATS:
        raise InvalidClientMetadata(f"access_token_format must be one of {', '.join(ACCESS_TOKEN_FORMATS)}")
    return value


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidClientMetadata(f"{name} must be true or false")
    return value


def parse_registration(body: object, *, allowed_scopes: tuple[str, ...]) -> RegistrationRequest:
    """Check the requested metadata (RFC 7591 §2) and decide what is granted."""
    if not isinstance(body, dict):
        raise InvalidClientMetadata("The request body must be a JSON object of client metadata")
    redirect_uris = _string_list(body, "redirect_uris")
    if not redirect_uris:
        raise InvalidRedirectUri("redirect_uris is required: list the URIs the authorization server may redirect to")
    for uri in redirect_uris:
        try:
            check_redirect_uri_for_registration(uri)
        except OAuthError as exc:
            raise InvalidRedirectUri(exc.description) from None
    grant_types = _string_list(body, "grant_types") or ("authorization_code",)
    unsupported = [grant for grant in grant_types if grant not in ALLOWED_GRANT_TYPES]
    if unsupported:
        raise InvalidClientMetadata(
            f"grant type '{unsupported[0]}' cannot be registered; use authorization_code and refresh_token"
        )
    if "authorization_code" not in grant_types:
        raise InvalidClientMetadata("grant_types must include authorization_code")
    response_types = _string_list(body, "response_types") or ("code",)
    if response_types != ("code",):
        raise InvalidClientMetadata('response_types must be ["code"]: only the authorization code flow is offered')
    method = body.get("token_endpoint_auth_method", AUTH_BASIC)
    methods = (*AUTH_METHODS, *ALGORITHMS_BY_METHOD)
    if method not in methods:
        raise InvalidClientMetadata(f"token_endpoint_auth_method must be one of {', '.join(methods)}")
    name = body.get("client_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 140:
        raise InvalidClientMetadata("client_name is required: 1 to 140 characters shown to users on the consent screen")
    scope_text = body.get("scope")
    if scope_text is not None and not isinstance(scope_text, str):
        raise InvalidClientMetadata("scope must be a space-separated string")
    try:
        requested = parse_scope(scope_text)
    except OAuthError as exc:
        raise InvalidClientMetadata(exc.description) from None
    # RFC 7591 §2: the server may replace requested values; the response says what was granted.
    scopes = tuple(scope for scope in requested if scope in allowed_scopes) if requested else allowed_scopes
    if not scopes:
        allowed = " ".join(allowed_scopes)
        raise InvalidClientMetadata(f"None of the requested scopes may be registered; allowed: {allowed}")
    return RegistrationRequest(
        client_name=name.strip(),
        redirect_uris=redirect_uris,
        grant_types=tuple(grant_types),
        response_types=("code",),
        token_endpoint_auth_method=str(method),
        scopes=scopes,
        client_uri=_https_url(body, "client_uri"),
        logo_uri=_https_url(body, "logo_uri"),
        contacts=_contacts(body),
        # RFC 9126 §6: a client may ask to be held to PAR; omitted, it is not.
        require_pushed_authorization_requests=_flag(body, "require_pushed_authorization_requests"),
        subject_type=_subject_type(body),
        sector_identifier_uri=_https_url(body, "sector_identifier_uri"),
        dpop_bound_access_tokens=_flag(body, "dpop_bound_access_tokens"),
        access_token_format=_access_token_format(body),
        require_signed_request_object=_flag(body, "require_signed_request_object"),
        request_object_signing_alg=_request_object_signing_alg(body),
        backchannel_logout_uri=_backchannel_logout_uri(body),
        backchannel_logout_session_required=_flag(body, "backchannel_logout_session_required"),
        **_assertion_metadata(body, str(method)),
    )


def _request_object_signing_alg(body: Mapping[str, Any]) -> str | None:
    alg = body.get("request_object_signing_alg")
    if alg is not None and alg not in REQUEST_OBJECT_ALGORITHMS:
        # OIDC Dynamic Client Registration §2: the alg its request objects use; never none here.
        raise InvalidClientMetadata(f"request_object_signing_alg must be one of {', '.join(REQUEST_OBJECT_ALGORITHMS)}")
    return str(alg) if alg is not None else None


def _assertion_metadata(body: Mapping[str, Any], method: str) -> dict[str, Any]:
    """RFC 7591 §2: jwks or jwks_uri (never both), and the alg a JWT-authenticating client signs with."""
    jwks, jwks_uri = body.get("jwks"), _https_url(body, "jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise InvalidClientMetadata("Send jwks or jwks_uri, not both (RFC 7591 §2)")
    if jwks is not None and (not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list)):
        raise InvalidClientMetadata('jwks must be a JWK Set: {"keys": [...]}')
    if method == AUTH_PRIVATE_KEY_JWT and jwks is None and jwks_uri is None:
        raise InvalidClientMetadata("A private_key_jwt client must register its public keys: jwks or jwks_uri")
    alg = body.get("token_endpoint_auth_signing_alg")
    allowed = ALGORITHMS_BY_METHOD.get(method, ())
    if alg is not None and alg not in allowed:
        raise InvalidClientMetadata(
            f"token_endpoint_auth_signing_alg must be one of {', '.join(allowed)}"
            if allowed
            else f"token_endpoint_auth_signing_alg applies only to private_key_jwt and client_secret_jwt, not {method}"
        )
    return {"jwks": jwks, "jwks_uri": jwks_uri, "token_endpoint_auth_signing_alg": alg}
