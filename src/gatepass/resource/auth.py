"""Who is asking: a Bearer token, a Frappe API key pair, or the browser's login session.

The order follows Frappe's ``validate_auth`` with one fix: when an Authorization header is sent, it
alone decides. A bad or expired token is refused and never falls back to a session cookie, the likely
cause of Frappe's "it runs as the last authorized user". The browser's session cookie needs the
X-Frappe-CSRF-Token header on writes; a cookie is sent by the browser on its own, a header is not.
Frappe's ``sid`` cookie of a script's login needs it only on writes a browser sends (frappe_session).
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from gatepass.http.bearer import presented_token
from gatepass.http.csrf import HEADER as CSRF_HEADER
from gatepass.http.csrf import CsrfTokenError, is_valid_csrf
from gatepass.http.session import current_session
from gatepass.protocol.errors import InvalidToken
from gatepass.protocol.params import find_unusable_text
from gatepass.protocol.values import Principal
from gatepass.resource.context import api_key_verifier, issuer_of, token_verifier
from gatepass.resource.errors import UnusableInput
from gatepass.resource.frappe_session import api_session, is_sent_by_browser

#: A login session acts with the user's full rights in the API, as in Frappe.
SESSION_SCOPES = frozenset({"all"})
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NoCredentials(Exception):
    """Nothing this API understands was sent: answer with the plain Bearer challenge (RFC 6750 §3.1)."""


def _key_pair(text: str) -> tuple[str, str]:
    problem = find_unusable_text(text)
    if problem:
        # Bad input, not a bad key: it must not reach the key lookup, where a database would choke on it.
        raise UnusableInput(
            f"The API key or secret in the Authorization header contains {problem}; send the key pair exactly as issued"
        )
    api_key, separator, api_secret = text.strip().partition(":")
    if not separator or not api_key or not api_secret:
        raise InvalidToken("Send the API key as Authorization: token <api_key>:<api_secret>")
    return api_key, api_secret


def _basic_pair(text: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        # Frappe's words for the same mistake (InvalidAuthorizationToken).
        raise InvalidToken("Failed to decode token, please provide a valid base64-encoded token.") from None
    return _key_pair(decoded)


async def _from_header(request: Request, authorization: str) -> Principal:
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme in ("bearer", "dpop"):
        token, presented = presented_token(request, issuer_of(request))
        if token is None:
            raise NoCredentials()
        return await token_verifier(request).authenticate_bearer(token, presented)
    if scheme == "token":
        return await api_key_verifier(request).authenticate(*_key_pair(value))
    if scheme == "basic":
        return await api_key_verifier(request).authenticate(*_basic_pair(value))
    raise NoCredentials()


async def authenticate(request: Request) -> Principal:
    """The principal of this request; raises NoCredentials, an OAuthError, CsrfTokenError or UnusableInput."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        return await _from_header(request, authorization)
    is_write = request.method in _WRITES
    session = await current_session(request)
    if session is None:
        session = await api_session(request)
        # frappe_session explains why a script's own session writes without the header.
        is_write = is_write and is_sent_by_browser(request)
    if session is None:
        raise NoCredentials()
    if is_write and not is_valid_csrf(request, request.headers.get(CSRF_HEADER)):
        raise CsrfTokenError("Invalid Request: send the X-Frappe-CSRF-Token header with the session's CSRF token")
    return Principal(user_id=session[1].id, client_id=None, scopes=SESSION_SCOPES, via="session")
