"""The OAuth errors a client can see, one class per registered error code.

RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OpenID Connect Core §3.1.2.6, RFC 7591 §3.2.2,
RFC 8707 §2. ``description`` is public; ``detail`` is for logs only and never leaves the server.
"""

from __future__ import annotations

import re
from typing import ClassVar

# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_DESCRIPTION_CHARS = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class OAuthError(Exception):
    """Base of every client-visible protocol failure."""

    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400
    #: False where the error must never be sent to the redirect URI (unknown client, bad URI).
    redirectable: ClassVar[bool] = True

    def __init__(self, description: str, *, detail: str | None = None) -> None:
        super().__init__(description)
        self.description = _DESCRIPTION_CHARS.sub("'", description)
        self.detail = detail

    def to_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status_code = 401
    redirectable = False


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class UnsupportedTokenType(OAuthError):
    error = "unsupported_token_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = 403


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503


class InvalidRedirectUri(OAuthError):
    error = "invalid_redirect_uri"
    redirectable = False


class InvalidToken(OAuthError):
    error = "invalid_token"
    status_code = 401


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status_code = 403

    def __init__(self, description: str, *, scope: str, detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        self.scope = scope


class InteractionRequired(OAuthError):
    error = "interaction_required"


class LoginRequired(OAuthError):
    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class RequestNotSupported(OAuthError):
    """OIDC Core §3.1.2.6: the ``request`` parameter (a request object, §6.1) is not supported."""

    error = "request_not_supported"


class RequestUriNotSupported(OAuthError):
    """OIDC Core §3.1.2.6: the ``request_uri`` parameter (§6.2) is not supported."""

    error = "request_uri_not_supported"


class InvalidRequestObject(OAuthError):
    """RFC 9101 §6.1, OIDC Core §3.1.2.6: the request object is unsigned, wrongly signed, for another server,
    expired, or its claims contradict the request.

    Never redirected: the redirect URI it names is not known to be the client's until the object is verified.
    """

    error = "invalid_request_object"
    redirectable = False


class InvalidRequestUri(OAuthError):
    """RFC 9101 §6.2, used by RFC 9126 §4: the request_uri is unknown, used, expired or another client's.

    Never redirected: the redirect URI is among the parameters the request_uri stood for.
    """

    error = "invalid_request_uri"
    redirectable = False


class InvalidTarget(OAuthError):
    error = "invalid_target"


class InvalidClientMetadata(OAuthError):
    error = "invalid_client_metadata"


class SlowDown(OAuthError):
    error = "slow_down"
    status_code = 429

    def __init__(self, description: str, *, retry_after_seconds: int, detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        self.retry_after_seconds = retry_after_seconds


class InvalidDpopProof(OAuthError):
    """RFC 9449 §5 and §7.1: the DPoP proof is missing where needed, malformed, wrongly signed, stale, replayed,
    or made for another request. A resource server answers it with 401 (http/bearer.py)."""

    error = "invalid_dpop_proof"


class UseDpopNonce(OAuthError):
    """RFC 9449 §8 and §9: the proof must carry the nonce this server gives in its ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, *, nonce: str, detail: str | None = None) -> None:
        super().__init__(description, detail=detail)
        self.nonce = nonce
