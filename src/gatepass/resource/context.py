"""What the resource server needs from the application, each part found in one place on the application context.

The resource server verifies tokens; it never issues them. It sees the authorization server's access-token
verifier only through TokenVerifier, so the two can change apart, and a renamed part of the
application context is a one-line change here.
"""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request

from gatepass.context import context_of
from gatepass.protocol.values import Principal
from gatepass.services.accounts import LoginResult
from gatepass.services.doctypes import DocTypeService
from gatepass.services.documents import DocumentService
from gatepass.services.oauth.dpop import BEARER, TokenPresentation
from gatepass.services.stores import SessionRecord, UserRecord


class TokenVerifier(Protocol):
    async def authenticate_bearer(self, token: str, presented: TokenPresentation = BEARER) -> Principal:
        """Who an access token acts for here; raises InvalidToken when it is unknown, expired, revoked or not ours,
        and InvalidDpopProof or UseDpopNonce when a DPoP-bound token's proof is not right (RFC 9449 §7)."""
        ...


class ApiKeyVerifier(Protocol):
    async def authenticate(self, api_key: str, api_secret: str) -> Principal:
        """Who a Frappe API key pair acts for; raises InvalidToken when the pair does not match an enabled user."""
        ...


class SessionAccounts(Protocol):
    """The part of the account service that Frappe's session login (``/api/method/login``) uses."""

    async def authenticate(self, email: str, password: str, *, ip: str | None = None) -> LoginResult:
        """The user for a password, or why not (a lockout's wait); failures count towards lockouts."""
        ...

    async def start_session(self, user_id: int, *, user_agent: str | None = None, ip: str | None = None) -> str:
        """A new login session; the cookie value. The User-Agent and address name it in its user's list."""
        ...

    async def get_session(self, cookie: str | None) -> tuple[SessionRecord, UserRecord] | None:
        """The live session of a cookie value and its enabled user."""
        ...

    async def end_session(self, cookie: str | None, user_id: int | None) -> None:
        """Forget a session (audited when the user is known)."""


class UserDirectory(Protocol):
    async def get_user(self, user_id: int) -> UserRecord | None:
        """A user by id, enabled or not."""
        ...


def token_verifier(request: Request) -> TokenVerifier:
    return context_of(request).access_tokens


def api_key_verifier(request: Request) -> ApiKeyVerifier:
    return context_of(request).api_keys


def document_service(request: Request) -> DocumentService:
    return context_of(request).documents


def doctype_service(request: Request) -> DocTypeService:
    return context_of(request).doctypes


def dpop_nonce(request: Request) -> str | None:
    """The DPoP nonce proofs must carry now (RFC 9449 §9), None when this server does not require nonces."""
    return context_of(request).dpop.nonce()


def issuer_of(request: Request) -> str:
    """The realm of every challenge and the base of the resource's metadata URL."""
    return context_of(request).issuer


def session_accounts(request: Request) -> SessionAccounts:
    return context_of(request).accounts


def login_limit_per_minute(request: Request) -> int:
    """Password attempts one client address may make per minute, on the login page and the API alike."""
    return context_of(request).rate_limits.login_per_ip_per_minute


def session_cookie_is_secure(request: Request) -> bool:
    return context_of(request).is_https


def user_directory(request: Request) -> UserDirectory:
    return context_of(request).accounts.users
